r"""Cyclical schedules that change the learning rate (and the momentum) every batch:
``OneCycleLR`` (Smith and Topin's 1cycle policy) and ``CyclicLR`` (Smith's cyclical learning
rates), with PyTorch's equations and parameter-group keys.

Both are stepped after every batch, not every epoch. With ``cycle_momentum`` the momentum
moves against the learning rate: ``group["momentum"]`` for [`SGD`][plainnet.optim.SGD], the
first of ``group["betas"]`` for [`Adam`][plainnet.optim.Adam] and AdamW.
"""

from __future__ import annotations

import math
import numbers

from .. import _checks
from ..optimizer import Optimizer
from .base import LRScheduler


def _per_group(value, name: str, optimizer: Optimizer, owner: str) -> list[float]:
    """One number per parameter group: ``value`` repeated, or a list of that length."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{owner}: expected {n} values of {name} (one per parameter "
                             f"group); got {len(value)}")
        return [_checks.real(v, name, owner) for v in value]
    return [_checks.real(value, name, owner)] * n


def _momentum_key(optimizer: Optimizer, owner: str) -> str:
    if "betas" in optimizer.defaults:
        return "betas"
    if "momentum" in optimizer.defaults:
        return "momentum"
    raise ValueError(f"{owner}: cycle_momentum needs an optimizer with 'momentum' or 'betas' "
                     f"(SGD, Adam, AdamW); {type(optimizer).__name__} has neither. Pass "
                     "cycle_momentum=False")


def _set_momentum(group: dict, key: str, value: float) -> None:
    if key == "betas":
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy: the learning rate rises from ``max_lr / div_factor`` to ``max_lr``
    during the first ``pct_start`` of ``total_steps`` steps, then anneals to
    ``max_lr / (div_factor * final_div_factor)`` (``three_phase``: back down to the start
    first, then to the minimum); the momentum does the opposite between ``max_momentum`` and
    ``base_momentum``. Each phase anneals along a cosine
    $e + (s - e)(1 + \cos \pi p)/2$ or a line (``anneal_strategy="linear"``), ``p`` the
    fraction of the phase done.

    Give ``total_steps``, or ``epochs`` and ``steps_per_epoch``; step once per batch.
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1):
        owner = "OneCycleLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{owner} needs a plainnet.optim Optimizer; got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.total_steps = self._total(total_steps, epochs, steps_per_epoch)
        pct = _checks.real(pct_start, "pct_start", owner)
        if not 0.0 <= pct <= 1.0:
            raise ValueError(f"{owner}: pct_start must be in [0, 1]; got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{owner}: anneal_strategy must be 'cos' or 'linear'; got "
                             f"{anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        self.phases = self._phases(pct, bool(three_phase))
        div = _checks.positive(div_factor, "div_factor", owner)
        final = _checks.positive(final_div_factor, "final_div_factor", owner)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups,
                                  _per_group(max_lr, "max_lr", optimizer, owner), strict=True):
                group["initial_lr"] = top / div
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final
        self.cycle_momentum = _checks.flag(cycle_momentum, "cycle_momentum", owner)
        if self.cycle_momentum:
            self.momentum_key = _momentum_key(optimizer, owner)
            if last_epoch == -1:
                for group, high, low in zip(
                        optimizer.param_groups,
                        _per_group(max_momentum, "max_momentum", optimizer, owner),
                        _per_group(base_momentum, "base_momentum", optimizer, owner),
                        strict=True):
                    _set_momentum(group, self.momentum_key, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _total(self, total_steps, epochs, steps_per_epoch) -> int:
        owner = "OneCycleLR"
        if total_steps is not None:
            return _checks.integer(total_steps, "total_steps", owner, minimum=1)
        if epochs is None or steps_per_epoch is None:
            raise ValueError(f"{owner}: give total_steps, or epochs and steps_per_epoch")
        return (_checks.integer(epochs, "epochs", owner, minimum=1)
                * _checks.integer(steps_per_epoch, "steps_per_epoch", owner, minimum=1))

    def _phases(self, pct: float, three_phase: bool) -> list[dict]:
        n = self.total_steps
        if three_phase:
            return [
                {"end": float(pct * n) - 1, "lr": ("initial_lr", "max_lr"),
                 "momentum": ("max_momentum", "base_momentum")},
                {"end": float(2 * pct * n) - 2, "lr": ("max_lr", "initial_lr"),
                 "momentum": ("base_momentum", "max_momentum")},
                {"end": n - 1, "lr": ("initial_lr", "min_lr"),
                 "momentum": ("max_momentum", "max_momentum")},
            ]
        return [
            {"end": float(pct * n) - 1, "lr": ("initial_lr", "max_lr"),
             "momentum": ("max_momentum", "base_momentum")},
            {"end": n - 1, "lr": ("max_lr", "min_lr"),
             "momentum": ("base_momentum", "max_momentum")},
        ]

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR was stepped {step} times, more than total_steps="
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self.phases):
                end = phase["end"]
                if step <= end or i == len(self.phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[phase["lr"][0]], group[phase["lr"][1]], pct))
                    if self.cycle_momentum:
                        m0, m1 = phase["momentum"]
                        _set_momentum(group, self.momentum_key,
                                      self._anneal(group[m0], group[m1], pct))
                    break
                start = end
        return lrs


def _triangular(x: float) -> float:
    return 1.0


def _triangular2(x: float) -> float:
    return 1.0 / (2.0 ** (x - 1))


class CyclicLR(LRScheduler):
    r"""Cyclical learning rates: the rate goes from ``base_lr`` up to ``max_lr`` in
    ``step_size_up`` steps and back in ``step_size_down`` (default the same), the height of
    each cycle scaled by ``mode``: ``"triangular"`` (constant), ``"triangular2"`` (halved every
    cycle), ``"exp_range"`` ($\gamma^{\text{step}}$), or ``scale_fn(x)`` of the cycle
    (``scale_mode="cycle"``) or the step (``"iterations"``). The momentum cycles the other way
    between ``max_momentum`` and ``base_momentum``. Step once per batch.
    """

    def __init__(self, optimizer: Optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn=None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum=0.8, max_momentum=0.9,
                 last_epoch: int = -1):
        owner = "CyclicLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{owner} needs a plainnet.optim Optimizer; got "
                            f"{type(optimizer).__name__}")
        base_lrs = _per_group(base_lr, "base_lr", optimizer, owner)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=True):
                group["lr"] = lr
        self.max_lrs = _per_group(max_lr, "max_lr", optimizer, owner)
        up = float(_checks.positive(step_size_up, "step_size_up", owner))
        down = up if step_size_down is None else float(
            _checks.positive(step_size_down, "step_size_down", owner))
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"{owner}: mode must be 'triangular', 'triangular2' or "
                             f"'exp_range' (or give scale_fn); got {mode!r}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"{owner}: scale_mode must be 'cycle' or 'iterations'; got "
                             f"{scale_mode!r}")
        self.mode = mode
        self.gamma = _checks.positive(gamma, "gamma", owner)
        self._scale(scale_fn, scale_mode)
        self.cycle_momentum = _checks.flag(cycle_momentum, "cycle_momentum", owner)
        if self.cycle_momentum:
            self.momentum_key = _momentum_key(optimizer, owner)
            self.base_momentums = _per_group(base_momentum, "base_momentum", optimizer, owner)
            self.max_momentums = _per_group(max_momentum, "max_momentum", optimizer, owner)
            if last_epoch == -1:
                for group, high, low in zip(optimizer.param_groups, self.max_momentums,
                                            self.base_momentums, strict=True):
                    _set_momentum(group, self.momentum_key, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _scale(self, scale_fn, scale_mode: str) -> None:
        if scale_fn is not None:
            if not callable(scale_fn):
                raise TypeError(f"CyclicLR: scale_fn must be callable; got {scale_fn!r}")
            self.scale_fn, self.scale_mode = scale_fn, scale_mode
        elif self.mode == "triangular":
            self.scale_fn, self.scale_mode = _triangular, "cycle"
        elif self.mode == "triangular2":
            self.scale_fn, self.scale_mode = _triangular2, "cycle"
        else:
            gamma = self.gamma
            self.scale_fn, self.scale_mode = (lambda x: gamma ** x), "iterations"

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        factor = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (
            self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
            raise TypeError(f"CyclicLR: scale_fn must return a number; got {scale!r}")
        lrs = [b + (m - b) * factor * scale
               for b, m in zip(self.base_lrs, self.max_lrs, strict=True)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums,
                                        self.max_momentums, strict=True):
                _set_momentum(group, self.momentum_key, high - (high - low) * factor * scale)
        return lrs

    def state_dict(self) -> dict:
        return {k: v for k, v in super().state_dict().items() if k != "scale_fn"}
