"""The record of a training run."""

from __future__ import annotations


class History:
    """What `plainnet.fit` returns: per-epoch lists of every logged quantity.

    Attributes
    ----------
    history : dict of str to list
        ``loss``, ``val_loss``, each metric and ``val_`` metric, ``lr`` and ``epoch_time``
        (seconds), one entry per completed epoch.
    epoch : list of int
        The epoch numbers (from 1).
    stop_reason : str
        Why training ended: ``"epochs"`` (all ran), ``"early_stopping"``, ``"diverged"`` or
        ``"callback"``.
    """

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.stop_reason = "epochs"
        self.params: dict = {}

    def record(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History(epochs={len(self)}, keys=[{keys}], stop_reason={self.stop_reason!r})"
