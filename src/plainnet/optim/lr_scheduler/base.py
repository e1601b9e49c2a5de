"""The base of every learning-rate schedule (PyTorch's ``LRScheduler``)."""

from __future__ import annotations

import copy

from .. import _checks
from ..optimizer import Optimizer


class LRScheduler:
    """Base class: sets the learning rates from `get_lr()` at every `step()`.

    Parameters
    ----------
    optimizer : Optimizer
    last_epoch : int, default -1
        The index of the last epoch, to resume a schedule; -1 starts afresh. Resuming needs
        ``"initial_lr"`` in every parameter group (prefer `load_state_dict()`).

    Attributes
    ----------
    base_lrs : list of float
        Each group's initial learning rate.
    last_epoch : int
        The number of `step()` calls since epoch 0.
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

    def closed_form(self) -> list[float] | None:
        """The learning rates at ``last_epoch`` computed from the base rates alone, or None
        for schedules defined only step by step (used by `step()` with an epoch)."""
        return None

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch and set every group's learning rate.

        ``step(epoch)`` jumps to ``epoch`` instead (as PyTorch's deprecated form does, and as
        `SequentialLR` uses to restart a schedule): the rates come from
        `closed_form()` where the schedule has one, else from `get_lr()`.
        """
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = _checks.integer(epoch, "epoch", type(self).__name__, minimum=0)
            values = self.closed_form()
            if values is None:
                values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group as set by the last `step()`."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (which has its own ``state_dict``)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Resume from `state_dict()` output."""
        self.__dict__.update(copy.deepcopy(state_dict))

    def _current(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]
