r"""The learning-rate range test (Smith 2017; fastai's ``lr_find``): train for a few batches
while the learning rate grows exponentially, and watch the loss.

At step $i$ of $n$ the rate is $\eta_i = \eta_{start}
(\eta_{end}/\eta_{start})^{i/(n-1)}$. The loss is smoothed by an exponential moving average
with bias correction, $s_i = \beta s_{i-1} + (1-\beta) L_i$,
$\hat s_i = s_i / (1 - \beta^{i+1})$, and the test stops when $\hat s_i$ exceeds
``diverge`` times its minimum (or a loss or gradient is not finite). Two suggestions are read
off the curve: ``steepest``, the rate where the smoothed loss falls fastest against
$\log \eta$ (the usual choice), and ``minimum / 10``, a tenth of the rate at the lowest
smoothed loss. The model's weights and the optimizer's state are put back afterwards.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from ..random import get_rng
from .loop import _loss_name, prepare_data
from .step import check_on_host, train_step


@dataclass(frozen=True)
class LRFinderResult:
    """The curve of a range test and the rates it suggests."""

    lrs: np.ndarray
    """The learning rate of each step."""
    losses: np.ndarray
    """The smoothed (bias-corrected) loss after each step."""
    raw_losses: np.ndarray
    """Each step's batch loss."""
    steepest: float
    """The rate where the smoothed loss falls fastest against log(rate): the suggestion."""
    minimum: float
    """The rate at the lowest smoothed loss (a tenth of it is a common choice)."""
    stop_reason: str
    """``"end"`` (``num_iter`` steps), ``"diverged"`` or ``"not finite"``."""

    @property
    def suggestion(self) -> float:
        """The suggested learning rate: `steepest`."""
        return self.steepest


def _check(start_lr, end_lr, num_iter, smooth, diverge) -> None:
    if not (isinstance(start_lr, (int, float)) and isinstance(end_lr, (int, float))
            and 0 < start_lr < end_lr and math.isfinite(end_lr)):
        raise ValueError(f"lr_find needs 0 < start_lr < end_lr (finite); got start_lr="
                         f"{start_lr!r}, end_lr={end_lr!r}")
    if isinstance(num_iter, bool) or not isinstance(num_iter, int) or num_iter < 5:
        raise ValueError(f"num_iter must be an int >= 5; got {num_iter!r}")
    if not 0.0 <= smooth < 1.0:
        raise ValueError(f"smooth must be in [0, 1); got {smooth!r}")
    if not diverge > 1.0:
        raise ValueError(f"diverge must be > 1; got {diverge!r}")


def _batches(source, rng):
    """Batches of ``source``, epoch after epoch, for as long as they are asked for."""
    while True:
        empty = True
        for batch in source.epoch(rng):
            empty = False
            yield batch
        if empty:
            raise ValueError("lr_find got no batches from the data")


def _suggestions(lrs: np.ndarray, losses: np.ndarray) -> tuple[float, float]:
    minimum = float(lrs[int(np.argmin(losses))])
    if len(lrs) < 3:
        return minimum, minimum
    skip_start, skip_end = min(10, len(lrs) // 5), min(5, len(lrs) // 10)
    window = slice(skip_start, len(lrs) - skip_end if skip_end else None)
    slopes = np.gradient(losses[window], np.log(lrs[window]))
    return float(lrs[window][int(np.argmin(slopes))]), minimum


def lr_find(model, X, y=None, loss="cross_entropy", optimizer="adam",
            start_lr: float = 1e-7, end_lr: float = 10.0, num_iter: int = 100,
            batch_size: int = 32, smooth: float = 0.98, diverge: float = 4.0,
            seed=None) -> LRFinderResult:
    """Run the learning-rate range test on ``model`` (see the module docstring).

    Parameters
    ----------
    model : Module
    X, y : arrays, or a DataLoader / iterable of batches with ``y`` None
        The training data, as for [`plainnet.fit()`][plainnet.fit].
    loss : str or callable, default "cross_entropy"
    optimizer : str, class or Optimizer, default "adam"
        Its learning rate is overwritten at every step; its state is restored afterwards.
    start_lr, end_lr : float
        The range of rates, swept geometrically.
    num_iter : int, default 100
        The number of steps (batches, cycling through the data as often as needed).
    batch_size : int, default 32
    smooth : float, default 0.98
        $\\beta$ of the moving average of the loss.
    diverge : float, default 4
        Stop when the smoothed loss exceeds this times its minimum.
    seed : int or Generator, optional
        Seeds the shuffling of the batches.

    Returns
    -------
    LRFinderResult
        ``lrs``, ``losses`` (smoothed), ``suggestion``; draw it with
        [`plainnet.plot.lr_find()`][plainnet.plot.lr_find].
    """
    from ..losses import get as get_loss
    from ..optim import get_optimizer

    _check(start_lr, end_lr, num_iter, smooth, diverge)
    loss_fn = get_loss(loss)
    optimizer = get_optimizer(optimizer, model.parameters())
    saved_model = model.state_dict()
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    source = prepare_data(model, X, y, None, None, _loss_name(loss), batch_size, True, None)
    params = model.parameters()
    factor = (end_lr / start_lr) ** (1.0 / (num_iter - 1))
    lrs, smoothed, raw, average, best, reason = [], [], [], 0.0, math.inf, "end"
    was_training = model.training
    model.train()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            batches = _batches(source, get_rng(seed))
            for i in range(num_iter):
                lr = start_lr * factor ** i
                for group in optimizer.param_groups:
                    group["lr"] = lr
                _, value, finite = train_step(model, loss_fn, optimizer, next(batches),
                                             lambda out: check_on_host(out, params))
                if not finite:
                    reason = "not finite"
                    break
                average = smooth * average + (1 - smooth) * value
                current = average / (1 - smooth ** (i + 1))
                lrs.append(lr)
                raw.append(value)
                smoothed.append(current)
                best = min(best, current)
                if current > diverge * best:
                    reason = "diverged"
                    break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        model.train(was_training)
    if not lrs:
        raise ValueError("lr_find: the loss was not finite at the first step (start_lr="
                         f"{start_lr:g}); check the data and the model")
    lrs_a, losses_a = np.array(lrs), np.array(smoothed)
    steepest, minimum = _suggestions(lrs_a, losses_a)
    return LRFinderResult(lrs_a, losses_a, np.array(raw), steepest, minimum, reason)
