"""``RMSprop``: divide each step by a running root-mean-square of the gradient."""

from __future__ import annotations

import numpy as np

from ..optimize import rules
from . import _checks
from .optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop, as ``torch.optim.RMSprop``.

    $$
    g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
    v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
    \bar g_t &= \alpha \bar g_{t-1} + (1 - \alpha) g_t
    \qquad \text{(only when centered)} \\
    d_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \text{ if centered else } \sqrt{v_t} + \epsilon \\
    b_t &= \mu b_{t-1} + g_t / d_t,\quad \theta_t = \theta_{t-1} - \eta b_t
    \qquad \text{(momentum } \mu > 0) \\
    \theta_t &= \theta_{t-1} - \eta\, g_t / d_t \qquad \text{(no momentum)}
    $$

    All of $v, \bar g, b$ start at zero.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float, default 1e-2
    alpha : float, default 0.99
        Smoothing constant of the running averages, in ``[0, 1]``.
    eps : float, default 1e-8
    weight_decay : float, default 0
    momentum : float, default 0
    centered : bool, default False
        Normalize by an estimate of the gradient's variance instead of its second moment.
    maximize : bool, default False
    """

    _elementwise = True

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        for key in ("lr", "eps", "weight_decay", "momentum"):
            group[key] = _checks.non_negative(group[key], key, "RMSprop")
        group["alpha"] = _checks.in_unit_interval(group["alpha"], "alpha", "RMSprop", closed=True)
        group["centered"] = _checks.flag(group["centered"], "centered", "RMSprop")
        group["maximize"] = _checks.flag(group["maximize"], "maximize", "RMSprop")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        state["step"] = state.get("step", 0) + 1
        rules.rmsprop(
            param,
            grad,
            state,
            group["lr"],
            alpha=group["alpha"],
            eps=group["eps"],
            momentum=group["momentum"],
            centered=group["centered"],
        )
