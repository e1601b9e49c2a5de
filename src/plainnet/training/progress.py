"""Progress reporting for `plainnet.fit`: a tqdm bar per epoch, or one line per epoch.

The bar's last line keeps the validation numbers in sight: it is made to fit the terminal
(80 columns at least), leaving out the training metrics before ``val_loss`` and the
``val_`` metrics, and the bar itself before any number.
"""

from __future__ import annotations

import shutil
import sys

from ..callbacks import Callback

#: Keys never shown: they are in the History.
HIDDEN = ("epoch_time", "lr")


def _priority(key: str) -> int:
    """Which numbers go first when the line is too long (higher stays longer)."""
    if key == "val_loss":
        return 4
    if key.startswith("val_"):
        return 3
    return 2 if key == "loss" else 1


def format_logs(logs: dict, width: int | None = None) -> str:
    """``key=value`` pairs of ``logs`` (4 significant digits), in their order, leaving out the
    least important until the line is at most ``width`` characters."""
    items = [(k, f"{k}={v:.4g}") for k, v in logs.items() if k not in HIDDEN]
    if width is not None:  # the last-listed of equals goes first: the first is the main one
        ranked = sorted(items, key=lambda kv: (_priority(kv[0]), -items.index(kv)))
        while ranked and len(" ".join(t for _, t in items)) > width:
            drop = ranked.pop(0)
            items.remove(drop)
    return " ".join(t for _, t in items)


def terminal_width(file) -> int:
    """The terminal's width (80 where it can't be told)."""
    if file in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__):
        return shutil.get_terminal_size((80, 24)).columns
    return 80


def epoch_line(epoch: int, epochs: int, logs: dict, width: int = 80) -> str:
    """The line that ends an epoch: ``epoch 3/10 [2.1s] loss=... val_loss=...``, at most
    ``width`` characters."""
    head = f"epoch {epoch}/{epochs} [{logs.get('epoch_time', 0.0):.1f}s]"
    return f"{head} {format_logs(logs, width - len(head) - 1)}"


class ProgressLogger(Callback):
    """``verbose=1``: a tqdm bar per epoch (notebook widgets through ``tqdm.auto``) on a
    terminal or notebook, replaced at the epoch's end by `epoch_line`, else one line per
    epoch; ``verbose=2``: one line per epoch. Nothing per batch goes to a file that is not a
    terminal."""

    def __init__(self, verbose: int, epochs: int, n_batches: int | None, file=None):
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
                leave=False, unit="batch", dynamic_ncols=True,
            )

    def on_batch_end(self, batch, logs):
        if self.bar is not None:
            self.bar.update(1)
            if batch % 10 == 0 or batch == self.n_batches - 1:
                self.bar.set_postfix_str(f"loss={logs['loss']:.4g}", refresh=False)

    def on_epoch_end(self, epoch, logs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        width = terminal_width(self.file) if self.use_bar else None
        line = (epoch_line(epoch, self.epochs, logs, width) if width
                else f"epoch {epoch}/{self.epochs} {format_logs(logs)} "
                     f"({logs['epoch_time']:.2f}s)")
        print(line, file=self.file, flush=True)

    def on_train_end(self, logs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except AttributeError:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"
