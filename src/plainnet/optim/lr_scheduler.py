r"""Learning-rate schedules: step, exponential, cosine annealing, reduce on plateau.

As in ``torch.optim.lr_scheduler``: a scheduler changes ``group["lr"]`` of its optimizer's
parameter groups; call ``scheduler.step()`` once per epoch, *after* the epoch's
``optimizer.step()`` calls (``ReduceLROnPlateau.step(metric)`` takes the monitored value).
Making a scheduler records each group's ``"initial_lr"`` and counts as epoch 0.
"""

from __future__ import annotations

import copy
import math

from . import _checks
from .optimizer import Optimizer


class LRScheduler:
    """Base class: sets the learning rates from :meth:`get_lr` at every :meth:`step`.

    Parameters
    ----------
    optimizer : Optimizer
    last_epoch : int, default -1
        The index of the last epoch, to resume a schedule; -1 starts afresh. Resuming needs
        ``"initial_lr"`` in every parameter group (prefer :meth:`load_state_dict`).

    Attributes
    ----------
    base_lrs : list of float
        Each group's initial learning rate.
    last_epoch : int
        The number of :meth:`step` calls since epoch 0.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        owner = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{owner} needs a plainnet.optim Optimizer; got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        last_epoch = _checks.integer(last_epoch, "last_epoch", owner, minimum=-1)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{owner}: param group {i} has no 'initial_lr', needed to resume at "
                        f"last_epoch={last_epoch}"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """The learning rates for epoch ``last_epoch`` (from the current ones)."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr")

    def step(self) -> None:
        """Advance one epoch and set every group's learning rate."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group as set by the last :meth:`step`."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (which has its own ``state_dict``)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Resume from :meth:`state_dict` output."""
        self.__dict__.update(copy.deepcopy(state_dict))

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    .. math:: \eta_t = \eta_0 \, \gamma^{\lfloor t / \text{step\_size} \rfloor}
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


class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every epoch: :math:`\eta_t = \eta_0 \gamma^t`."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = _checks.positive(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return self._current()
        return [lr * self.gamma for lr in self._current()]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rate along a cosine from :math:`\eta_0` to ``eta_min`` in ``T_max``
    epochs (then back up, periodically, as in PyTorch):

    .. math::
        \eta_t = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})
                 \left(1 + \cos\frac{\pi t}{T_{max}}\right)

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


class ReduceLROnPlateau(LRScheduler):
    r"""Multiply the learning rate by ``factor`` when a metric has stopped improving.

    ``step(metric)`` once per epoch. A value improves on the best so far when (``mode="min"``)
    it is below :math:`\text{best}\,(1 - \text{threshold})` (``threshold_mode="rel"``) or
    :math:`\text{best} - \text{threshold}` (``"abs"``); ``"max"`` mirrors this. After more
    than ``patience`` epochs without improvement each rate becomes
    :math:`\max(\eta\cdot\text{factor}, \text{min\_lr})`, then ``cooldown`` epochs pass
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
