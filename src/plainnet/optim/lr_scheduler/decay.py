r"""Schedules that multiply the learning rate: step, multi-step, exponential, constant,
linear, polynomial, lambda and multiplicative (PyTorch's equations, step for step).

Each ``get_lr`` is PyTorch's recursive form (from the current rates, so that other code's
changes to ``group["lr"]`` carry on) and ``closed_form`` its closed form.
"""

from __future__ import annotations

import bisect
import numbers
from collections import Counter

from .. import _checks
from ..optimizer import Optimizer
from .base import LRScheduler


class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    $$
    \eta_t = \eta_0 \, \gamma^{\lfloor t / \text{step\_size} \rfloor}
    $$
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        self.step_size = _checks.integer(step_size, "step_size", "StepLR", minimum=1)
        self.gamma = _checks.positive(gamma, "gamma", "StepLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def closed_form(self) -> list[float]:
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every epoch: $\eta_t = \eta_0 \gamma^t$."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = _checks.positive(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]

    def closed_form(self) -> list[float]:
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` at each milestone epoch:
    $\eta_t = \eta_0 \gamma^{|\{m \le t\}|}$ (a milestone listed twice counts twice)."""

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1,
                 last_epoch: int = -1):
        try:
            values = [_checks.integer(m, "milestones", "MultiStepLR", minimum=0)
                      for m in milestones]
        except TypeError as err:
            raise TypeError(f"MultiStepLR: milestones must be a list of ints; got "
                            f"{milestones!r}") from err
        self.milestones = Counter(values)
        self.gamma = _checks.positive(gamma, "gamma", "MultiStepLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current()]

    def closed_form(self) -> list[float]:
        n = bisect.bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [b * self.gamma ** n for b in self.base_lrs]


class ConstantLR(LRScheduler):
    r"""Multiply the learning rate by ``factor`` for the first ``total_iters`` epochs, then
    restore it: $\eta_t = \eta_0 (\text{factor} \text{ if } t < \text{total\_iters}
    \text{ else } 1)$."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1):
        self.factor = _checks.in_unit_interval(factor, "factor", "ConstantLR", closed=True)
        self.total_iters = _checks.integer(total_iters, "total_iters", "ConstantLR", minimum=0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current()]
        if self.last_epoch != self.total_iters:
            return self._current()
        return [lr / self.factor for lr in self._current()]

    def closed_form(self) -> list[float]:
        f = self.factor if self.last_epoch < self.total_iters else 1.0
        return [b * f for b in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Scale the learning rate linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs (a warm-up when ``start_factor < 1``):

    $$
    \eta_t = \eta_0 \left(s + (e - s)\frac{\min(t, T)}{T}\right)
    $$
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        owner = "LinearLR"
        start = _checks.real(start_factor, "start_factor", owner)
        if not 0.0 < start <= 1.0:
            raise ValueError(f"{owner}: start_factor must be in (0, 1]; got {start_factor!r}")
        self.start_factor = start
        self.end_factor = _checks.in_unit_interval(end_factor, "end_factor", owner, closed=True)
        self.total_iters = _checks.integer(total_iters, "total_iters", owner, minimum=1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, s, e, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return [lr * s for lr in self._current()]
        if t > n:
            return self._current()
        factor = 1.0 + (e - s) / (n * s + (t - 1) * (e - s))
        return [lr * factor for lr in self._current()]

    def closed_form(self) -> list[float]:
        t, s, e, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        return [b * (s + (e - s) * min(n, t) / n) for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Decay the learning rate to 0 in ``total_iters`` epochs along a polynomial:
    $\eta_t = \eta_0 (1 - \min(t, T)/T)^{p}$."""

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1):
        self.total_iters = _checks.integer(total_iters, "total_iters", "PolynomialLR",
                                           minimum=1)
        self.power = _checks.real(power, "power", "PolynomialLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, n = self.last_epoch, self.total_iters
        if t == 0 or t > n:
            return self._current()
        factor = ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power
        return [lr * factor for lr in self._current()]

    def closed_form(self) -> list[float]:
        t, n = self.last_epoch, self.total_iters
        return [b * (1.0 - min(n, t) / n) ** self.power for b in self.base_lrs]


def _functions(lr_lambda, optimizer: Optimizer, owner: str) -> list:
    n = len(optimizer.param_groups)
    if callable(lr_lambda):
        return [lr_lambda] * n
    if isinstance(lr_lambda, (list, tuple)) and len(lr_lambda) == n and all(
            callable(f) for f in lr_lambda):
        return list(lr_lambda)
    raise TypeError(f"{owner}: lr_lambda must be a function of the epoch or a list of {n} "
                    f"(one per parameter group); got {lr_lambda!r}")


def _factor(value, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: lr_lambda must return a number; got {value!r}")
    return float(value)


class LambdaLR(LRScheduler):
    r"""The learning rate times a function of the epoch: $\eta_t = \eta_0\,\lambda(t)$.

    ``lr_lambda`` is one function or a list of one per parameter group. (Like every
    plainnet object, a scheduler holding a lambda is not saved to files: save the
    optimizer's state and rebuild the schedule in code.)
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _functions(lr_lambda, optimizer, "LambdaLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [b * _factor(f(self.last_epoch), "LambdaLR")
                for f, b in zip(self.lr_lambdas, self.base_lrs, strict=True)]

    def state_dict(self) -> dict:
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}


class MultiplicativeLR(LRScheduler):
    r"""Multiply the learning rate by a function of the epoch at every epoch after the first:
    $\eta_t = \eta_{t-1}\,\lambda(t)$."""

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _functions(lr_lambda, optimizer, "MultiplicativeLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return self._current()
        return [lr * _factor(f(self.last_epoch), "MultiplicativeLR")
                for f, lr in zip(self.lr_lambdas, self._current(), strict=True)]

    def state_dict(self) -> dict:
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}
