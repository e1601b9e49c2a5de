r"""``ReduceLROnPlateau``: lower the learning rate when a monitored metric stops improving."""

from __future__ import annotations

import math

from .. import _checks
from ..optimizer import Optimizer
from .base import LRScheduler


class ReduceLROnPlateau(LRScheduler):
    r"""Multiply the learning rate by ``factor`` when a metric has stopped improving.

    ``step(metric)`` once per epoch. A value improves on the best so far when (``mode="min"``)
    it is below $\text{best}\,(1 - \text{threshold})$ (``threshold_mode="rel"``) or
    $\text{best} - \text{threshold}$ (``"abs"``); ``"max"`` mirrors this. After more
    than ``patience`` epochs without improvement each rate becomes
    $\max(\eta\cdot\text{factor}, \text{min\_lr})$, then ``cooldown`` epochs pass
    before bad epochs count again. A change smaller than ``eps`` is skipped.

    Parameters
    ----------
    optimizer : Optimizer
    mode : {"min", "max"}, default "min"
    factor : float, default 0.1
        In ``[0, 1)``.
    patience : int, default 10
    threshold : float, default 1e-4
    threshold_mode : {"rel", "abs"}, default "rel"
    cooldown : int, default 0
    min_lr : float or list of float, default 0
        A floor per parameter group.
    eps : float, default 1e-8
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0.0,
        eps: float = 1e-8,
    ):
        owner = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{owner} needs a plainnet.optim Optimizer; got "
                            f"{type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"{owner}: mode must be 'min' or 'max'; got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{owner}: threshold_mode must be 'rel' or 'abs'; got "
                             f"{threshold_mode!r}")
        self.factor = _checks.in_unit_interval(factor, "factor", owner)
        self.patience = _checks.integer(patience, "patience", owner, minimum=0)
        self.cooldown = _checks.integer(cooldown, "cooldown", owner, minimum=0)
        self.threshold = _checks.non_negative(threshold, "threshold", owner)
        self.eps = _checks.non_negative(eps, "eps", owner)
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"{owner}: expected {n} min_lr values (one per parameter "
                                 f"group); got {len(min_lr)}: {min_lr!r}")
            self.min_lrs = [_checks.non_negative(v, "min_lr", owner) for v in min_lr]
        else:
            self.min_lrs = [_checks.non_negative(min_lr, "min_lr", owner)] * n
        self.optimizer = optimizer
        self.mode = mode
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best = self.mode_worse
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = self._current()

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether ``a`` improves on ``best`` by more than the threshold."""
        rel = self.threshold_mode == "rel"
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if rel else best - self.threshold)
        return a > (best * (1.0 + self.threshold) if rel else best + self.threshold)

    def step(self, metrics) -> None:  # type: ignore[override]
        """Record this epoch's ``metrics`` value and reduce the rates if it has plateaued."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current()

    def _reduce_lr(self) -> None:
        for group, floor in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
            old = float(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                group["lr"] = new
