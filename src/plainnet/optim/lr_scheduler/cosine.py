r"""Cosine schedules: annealing (``CosineAnnealingLR``) and annealing with warm restarts
(``CosineAnnealingWarmRestarts``, SGDR), with PyTorch's equations."""

from __future__ import annotations

import math

from .. import _checks
from ..optimizer import Optimizer
from .base import LRScheduler


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rate along a cosine from $\eta_0$ to ``eta_min`` in ``T_max``
    epochs (then back up, periodically, as in PyTorch):

    $$
    \eta_t = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})
    \left(1 + \cos\frac{\pi t}{T_{max}}\right)
    $$

    Computed recursively from the current rate, as PyTorch does, so that changes made to
    ``group["lr"]`` by other code carry on.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        self.T_max = _checks.integer(T_max, "T_max", "CosineAnnealingLR", minimum=1)
        self.eta_min = _checks.non_negative(eta_min, "eta_min", "CosineAnnealingLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return self._current()
        if self._step_count == 1 and t > 0:
            return [lo + (base - lo) * (1 + math.cos(t * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (base - lo) * (1 - math.cos(math.pi / T)) / 2
                    for lr, base in zip(self._current(), self.base_lrs, strict=True)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - lo) + lo for lr in self._current()]

    def closed_form(self) -> list[float]:
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        return [lo + (b - lo) * (1 + math.cos(math.pi * t / T)) / 2 for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing restarted every $T_i$ epochs, the period growing by ``T_mult``
    at each restart (SGDR, Loshchilov and Hutter):

    $$
    \eta_t = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})
    \left(1 + \cos\frac{\pi T_{cur}}{T_i}\right)
    $$

    with $T_{cur}$ the epochs since the last restart. ``step(epoch)`` accepts a fractional
    epoch (e.g. ``epoch + batch / n_batches``) to anneal within epochs, as in PyTorch.
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):
        owner = "CosineAnnealingWarmRestarts"
        self.T_0 = _checks.integer(T_0, "T_0", owner, minimum=1)
        self.T_mult = _checks.integer(T_mult, "T_mult", owner, minimum=1)
        self.eta_min = _checks.non_negative(eta_min, "eta_min", owner)
        self.T_i = self.T_0
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lo = self.eta_min
        return [lo + (b - lo) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for b in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or go to ``epoch`` (a float is allowed)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            epoch = _checks.non_negative(epoch, "epoch", "CosineAnnealingWarmRestarts")
            self.T_cur, self.T_i = self._position(epoch)
        self._step_count += 1
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _position(self, epoch: float) -> tuple[float, int]:
        """``(T_cur, T_i)`` at ``epoch``: where in which period it falls."""
        if epoch < self.T_0:
            return epoch, self.T_0
        if self.T_mult == 1:
            return epoch % self.T_0, self.T_0
        n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
        return (epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1),
                self.T_0 * self.T_mult ** n)
