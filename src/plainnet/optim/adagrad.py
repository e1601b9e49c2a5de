"""``Adagrad``: per-coordinate learning rates that shrink with the sum of squared gradients."""

from __future__ import annotations

import numpy as np

from ..optimize import rules
from . import _checks
from .optimizer import Optimizer


class Adagrad(Optimizer):
    r"""Adagrad, as ``torch.optim.Adagrad``.

    With weight decay $\lambda$, learning-rate decay $\delta$ and step count
    $t$ (from 1):

    $$
    g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
    s_t &= s_{t-1} + g_t^2 \qquad (s_0 = \text{initial\_accumulator\_value}) \\
    \theta_t &= \theta_{t-1} - \frac{\eta}{1 + (t - 1)\delta}
    \frac{g_t}{\sqrt{s_t} + \epsilon}
    $$

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float, default 1e-2
    lr_decay : float, default 0
    weight_decay : float, default 0
    initial_accumulator_value : float, default 0
    eps : float, default 1e-10
    maximize : bool, default False
    """

    _elementwise = True

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            group[key] = _checks.non_negative(group[key], key, "Adagrad")
        group["maximize"] = _checks.flag(group["maximize"], "maximize", "Adagrad")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        rules.adagrad(
            param,
            grad,
            state,
            group["lr"],
            lr_decay=group["lr_decay"],
            eps=group["eps"],
            initial_accumulator_value=group["initial_accumulator_value"],
        )
