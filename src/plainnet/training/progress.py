"""Progress reporting for :func:`plainnet.fit`: a tqdm bar per epoch, or one line per epoch."""

from __future__ import annotations

import sys

from ..callbacks import Callback


def _format(logs: dict) -> str:
    parts = []
    for key, value in logs.items():
        if key in ("epoch_time", "lr"):
            continue
        parts.append(f"{key}={value:.4g}")
    return " ".join(parts)


class ProgressLogger(Callback):
    """``verbose=1``: a tqdm bar per epoch (notebook widgets through ``tqdm.auto``) on a
    terminal or notebook, else one line per epoch; ``verbose=2``: one line per epoch.
    Nothing per batch goes to a file that is not a terminal."""

    def __init__(self, verbose: int, epochs: int, n_batches: int, file=None):
        self.file = file if file is not None else sys.stderr
        interactive = _in_notebook() or getattr(self.file, "isatty", lambda: False)()
        self.use_bar = verbose == 1 and interactive
        self.epochs = epochs
        self.n_batches = n_batches
        self.bar = None

    def on_epoch_begin(self, epoch, logs):
        if self.use_bar:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=self.n_batches, desc=f"epoch {epoch}/{self.epochs}", file=self.file,
                leave=True, unit="batch", dynamic_ncols=True,
            )

    def on_batch_end(self, batch, logs):
        if self.bar is not None:
            self.bar.update(1)
            if batch % 10 == 0 or batch == self.n_batches - 1:
                self.bar.set_postfix_str(f"loss={logs['loss']:.4g}", refresh=False)

    def on_epoch_end(self, epoch, logs):
        if self.bar is not None:
            self.bar.set_postfix_str(_format(logs))
            self.bar.close()
            self.bar = None
        else:
            print(
                f"epoch {epoch}/{self.epochs} {_format(logs)} ({logs['epoch_time']:.2f}s)",
                file=self.file,
                flush=True,
            )

    def on_train_end(self, logs):
        if self.bar is not None:
            self.bar.close()


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except AttributeError:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"
