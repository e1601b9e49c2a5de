"""Callbacks: code that runs at fixed points of `plainnet.fit`.

A callback subclasses `Callback` and overrides any of ``on_train_begin``,
``on_train_end``, ``on_epoch_begin``, ``on_epoch_end``, ``on_batch_begin`` and
``on_batch_end``. Each receives a ``logs`` dict (after an epoch: ``loss``, ``val_loss``,
metrics, ``lr``). ``self.model``, ``self.optimizer`` and ``self.trainer`` are set before
training starts; setting ``self.trainer.stop_training = True`` ends training after the
current batch or epoch.
"""

from __future__ import annotations

import math
import warnings

import numpy as np


class Callback:
    """Base class: every hook does nothing."""

    model = None
    optimizer = None
    trainer = None

    def set_context(self, trainer) -> None:
        self.trainer = trainer
        self.model = trainer.model
        self.optimizer = trainer.optimizer

    def on_train_begin(self, logs: dict) -> None: ...

    def on_train_end(self, logs: dict) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...

    def on_batch_begin(self, batch: int, logs: dict) -> None: ...

    def on_batch_end(self, batch: int, logs: dict) -> None: ...


class _Monitor(Callback):
    """Shared logic of callbacks that watch one logged quantity for improvement."""

    def __init__(self, monitor: str, mode: str, min_delta: float):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'; got {mode!r}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0; got {min_delta!r}")
        self.monitor = monitor
        self.min_delta = float(min_delta)
        if mode == "auto":
            mode = "max" if any(k in monitor for k in ("acc", "r2")) else "min"
        self.mode = mode
        self.best = math.inf if mode == "min" else -math.inf

    def _value(self, logs: dict) -> float | None:
        key = self.monitor
        if key not in logs and key.startswith("val_") and key[4:] in logs:
            if not getattr(self, "_warned_fallback", False):
                warnings.warn(
                    f"{type(self).__name__}: {key!r} is not logged (no validation data); "
                    f"monitoring {key[4:]!r} instead",
                    stacklevel=3,
                )
                self._warned_fallback = True
            key = key[4:]
        value = logs.get(key)
        if value is None:
            raise ValueError(
                f"{type(self).__name__} monitors {self.monitor!r}, which is not logged; "
                f"logged: {sorted(logs)}"
            )
        return float(value)

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    r"""Stop when the monitored quantity stops improving, and keep the best weights.

    An epoch counts as an improvement when the value beats the best so far by more than
    ``min_delta`` (the notes' *threshold*): $v < v_{\mathrm{best}} - \delta$ for a loss.
    After ``patience`` epochs without one, training stops. With ``restore_best_weights``
    the weights of the best epoch are put back at the end, whether training stopped early
    or ran out of epochs.

    Parameters
    ----------
    monitor : str, default "val_loss"
        Falls back to ``"loss"`` (with a warning) when there is no validation data.
    min_delta : float, default 0.0
    patience : int, default 0
    mode : {"auto", "min", "max"}
    restore_best_weights : bool, default True
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "auto",
        restore_best_weights: bool = True,
    ):
        super().__init__(monitor, mode, min_delta)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an integer >= 0; got {patience!r}")
        self.patience = patience
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs):
        self.wait = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        self.best_weights = None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs):
        value = self._value(logs)
        if self._improved(value):
            self.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True
            self.trainer.stop_reason = "early_stopping"

    def on_train_end(self, logs):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when the monitored quantity plateaus.

    A thin callback around `plainnet.optim.lr_scheduler.ReduceLROnPlateau`, stepped
    once per epoch with the monitored value.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ):
        super().__init__(monitor, mode, min_delta)
        self.kwargs = dict(
            mode=self.mode, factor=factor, patience=patience, threshold=min_delta,
            threshold_mode="abs", cooldown=cooldown, min_lr=min_lr,
        )

    def on_train_begin(self, logs):
        from .optim.lr_scheduler import ReduceLROnPlateau as Scheduler

        self.scheduler = Scheduler(self.optimizer, **self.kwargs)

    def on_epoch_end(self, epoch, logs):
        self.scheduler.step(self._value(logs))


class LearningRateScheduler(Callback):
    """Set the learning rate each epoch: from a schedule of `plainnet.optim.lr_scheduler`
    (stepped after each epoch), or from a function ``schedule(epoch, lr) -> new lr`` called
    before each epoch, as in Keras (``epoch`` counted from 0, ``lr`` the current rate of the
    first parameter group; the new rate is set in every group).

    Examples
    --------
    >>> halve = LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr / 2)
    """

    def __init__(self, schedule):
        if not callable(getattr(schedule, "step", None)) and not callable(schedule):
            raise TypeError("LearningRateScheduler takes a schedule of "
                            "plainnet.optim.lr_scheduler or a function (epoch, lr) -> lr; got "
                            f"{type(schedule).__name__}")
        self.scheduler = schedule
        self.function = not callable(getattr(schedule, "step", None))

    def on_epoch_begin(self, epoch, logs):
        if not self.function:
            return
        lr = self.optimizer.param_groups[0]["lr"]
        new = self.scheduler(epoch - 1, lr)
        if isinstance(new, bool) or not isinstance(new, (int, float, np.floating)) \
                or not (math.isfinite(new) and new >= 0):
            raise ValueError(f"LearningRateScheduler: schedule({epoch - 1}, {lr}) returned "
                             f"{new!r}; it must return a finite learning rate >= 0")
        for group in self.optimizer.param_groups:
            group["lr"] = float(new)

    def on_epoch_end(self, epoch, logs):
        if not self.function:
            self.scheduler.step()


class CSVLogger(Callback):
    """Write each epoch's logs (``epoch``, ``loss``, metrics, ``val_`` ones, ``lr``,
    ``epoch_time``) as a row of a CSV file, flushed after every epoch, as Keras's does.

    Parameters
    ----------
    filename : str or path
        Replaced at the start of training, unless ``append``.
    separator : str, default ","
    append : bool, default False
        Add rows to an existing file (its header is kept).
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        self.filename = str(filename)
        self.separator = separator
        self.append = append
        self.keys = None
        self.file = None

    def on_train_begin(self, logs):
        import os
        import stat

        if os.path.exists(self.filename) and not stat.S_ISREG(os.stat(self.filename).st_mode):
            raise ValueError(f"CSVLogger: {self.filename!r} exists and is not a regular file")
        had_rows = self.append and os.path.exists(self.filename) \
            and os.path.getsize(self.filename) > 0
        self.file = open(self.filename, "a" if self.append else "w", encoding="utf-8",
                         newline="")
        self.keys = self._header(self.filename) if had_rows else None

    def _header(self, path):
        import csv

        with open(path, encoding="utf-8", newline="") as f:
            first = next(csv.reader(f, delimiter=self.separator), None)
        return first[1:] if first else None

    def on_epoch_end(self, epoch, logs):
        import csv

        writer = csv.writer(self.file, delimiter=self.separator)
        if self.keys is None:
            self.keys = list(logs)
            writer.writerow(["epoch", *self.keys])
        writer.writerow([epoch, *(logs.get(k, "") for k in self.keys)])
        self.file.flush()

    def on_train_end(self, logs):
        if self.file is not None:
            self.file.close()
            self.file = None


def format_path(template: str, values: dict) -> str:
    """``template`` with ``{name}`` / ``{name:spec}`` fields filled from ``values``; braces
    that are not such a field (a ``{`` in a folder's name, an unknown key) stay as they are.

    Examples
    --------
    >>> format_path("runs/{exp/model-{epoch:02d}.st", {"epoch": 3})
    'runs/{exp/model-03.st'
    """
    import re

    def fill(match):
        name, spec = match.group(1), match.group(2) or ""
        if name not in values:
            return match.group(0)
        try:
            return format(values[name], spec)
        except (ValueError, TypeError):
            return match.group(0)

    return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}", fill, template)


class ModelCheckpoint(_Monitor):
    """Save the model to ``path`` after an epoch (only when it improved, by default).

    Writes are atomic (`plainnet.save`), so an interrupted save never leaves a broken
    file. ``path`` may contain ``{epoch}`` and any logged key, e.g. ``"model-{epoch:03d}.st"``;
    any other brace is part of the name (`format_path`).
    """

    def __init__(
        self,
        path,
        monitor: str = "val_loss",
        save_best_only: bool = True,
        mode: str = "auto",
        min_delta: float = 0.0,
    ):
        super().__init__(monitor, mode, min_delta)
        self.path = str(path)
        self.save_best_only = save_best_only
        self.saved: list[str] = []

    def on_epoch_end(self, epoch, logs):
        from .io import save

        if self.save_best_only:
            value = self._value(logs)
            if not self._improved(value):
                return
            self.best = value
        path = format_path(self.path, {**logs, "epoch": epoch})
        save(self.model, path)
        self.saved.append(path)


class TerminateOnNaN(Callback):
    """Stop as soon as a batch loss is NaN or infinite."""

    def on_batch_end(self, batch, logs):
        loss = logs.get("loss")
        if loss is not None and not np.isfinite(loss):
            self.trainer.stop_training = True
            self.trainer.stop_reason = "nan"


__all__ = [
    "CSVLogger",
    "Callback",
    "Diagnostics",  # noqa: F822 (loaded on first use, below)
    "EarlyStopping",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)


def __getattr__(name: str):
    # pn.callbacks.Diagnostics lives with its records in plainnet.diagnostics (which imports
    # this module), so it is looked up on first use.
    if name == "Diagnostics":
        from .diagnostics.callback import Diagnostics

        return Diagnostics
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
