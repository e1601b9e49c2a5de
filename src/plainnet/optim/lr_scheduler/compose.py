"""Schedules made of schedules: ``SequentialLR`` (one after another, switching at milestones)
and ``ChainedScheduler`` (all at once, their factors multiplied), as in PyTorch."""

from __future__ import annotations

import bisect

from .. import _checks
from ..optimizer import Optimizer
from .base import LRScheduler
from .plateau import ReduceLROnPlateau


def _check_schedulers(schedulers, optimizer, owner: str) -> list:
    if not isinstance(schedulers, (list, tuple)) or not schedulers:
        raise ValueError(f"{owner} needs a non-empty list of schedulers; got {schedulers!r}")
    for i, s in enumerate(schedulers):
        if not isinstance(s, LRScheduler):
            raise TypeError(f"{owner}: schedulers[{i}] is not a learning-rate scheduler; got "
                            f"{type(s).__name__}")
    optimizer = optimizer if optimizer is not None else schedulers[0].optimizer
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner} needs a plainnet.optim Optimizer; got "
                        f"{type(optimizer).__name__}")
    for i, s in enumerate(schedulers):
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{owner} does not take ReduceLROnPlateau (schedulers[{i}]): it "
                             "steps on a metric, not on epochs")
        if s.optimizer is not optimizer:
            raise ValueError(f"{owner}: schedulers[{i}] drives another optimizer")
    return list(schedulers)


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` (restarted at its
    own epoch 0) until ``milestones[1]``, ...: e.g. a ``LinearLR`` warm-up followed by a
    ``CosineAnnealingLR`` decay."""

    def __init__(self, optimizer: Optimizer, schedulers, milestones, last_epoch: int = -1):
        owner = "SequentialLR"
        self._schedulers = _check_schedulers(schedulers, optimizer, owner)
        try:
            self._milestones = [_checks.integer(m, "milestones", owner, minimum=0)
                                for m in milestones]
        except TypeError as err:
            raise TypeError(f"{owner}: milestones must be a list of ints") from err
        if len(self._milestones) != len(self._schedulers) - 1:
            raise ValueError(f"{owner}: expected {len(self._schedulers) - 1} milestones (one "
                             f"fewer than schedulers); got {len(self._milestones)}")
        self.optimizer = optimizer
        self.last_epoch = _checks.integer(last_epoch, "last_epoch", owner, minimum=-1) + 1
        self._step_count = 0
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for s in self._schedulers:  # undo the step each made when it was created
            s.last_epoch -= 1
        first = self._schedulers[0]
        first._step_count = 0
        first.step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:  # type: ignore[override]
        """Advance one epoch on the schedule in force (restarting it at its milestone)."""
        self._step_count += 1
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler.step(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        for s, sub in zip(self._schedulers, state.pop("_schedulers"), strict=True):
            s.load_state_dict(sub)
        self.__dict__.update(state)


class ChainedScheduler(LRScheduler):
    """Step every scheduler of ``schedulers`` at each `step()`: their effects compose (e.g.
    a ``ConstantLR`` warm-up on top of an ``ExponentialLR`` decay)."""

    def __init__(self, schedulers, optimizer: Optimizer | None = None):
        self._schedulers = _check_schedulers(schedulers, optimizer, "ChainedScheduler")
        self.optimizer = self._schedulers[0].optimizer
        self._step_count = 0
        self.last_epoch = 0
        self._last_lr = self._current()

    def step(self) -> None:  # type: ignore[override]
        """Step every scheduler, in order."""
        self._step_count += 1
        self.last_epoch += 1
        for s in self._schedulers:
            s.step()
        self._last_lr = self._current()

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict
