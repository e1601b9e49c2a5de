"""``Diagnostics``: a `plainnet.fit()` callback that watches the model while it trains."""

from __future__ import annotations

from ..callbacks import Callback
from .report import report
from .watch import Watch


class Diagnostics(Callback):
    """Record per-layer activation, gradient and update statistics during `plainnet.fit()`.

    Parameters
    ----------
    every : int, default 10
        Record one batch in ``every``.
    sample_size : int, default 4096
        Values kept of the last recorded activations and gradients, for histograms.

    Attributes
    ----------
    watch : Watch
        The records (set when training begins), for `plainnet.diagnostics.report()` and
        the pictures in [`plainnet.plot`][plainnet.plot].
    """

    def __init__(self, every: int = 10, sample_size: int = 4096):
        self.every = every
        self.sample_size = sample_size
        self.watch: Watch | None = None

    def on_train_begin(self, logs: dict) -> None:
        self.watch = Watch(self.model, every=self.every, sample_size=self.sample_size)

    def on_batch_begin(self, batch: int, logs: dict) -> None:
        self.watch.begin_step()

    def on_batch_end(self, batch: int, logs: dict) -> None:
        self.watch.end_step()

    def on_train_end(self, logs: dict) -> None:
        self.watch.close()

    def report(self, window: int = 5, print_report: bool = False):
        """`plainnet.diagnostics.report()` of what was recorded."""
        if self.watch is None:
            raise RuntimeError("Diagnostics has recorded nothing yet: pass it to pn.fit first")
        return report(self.watch, window=window, print_report=print_report)
