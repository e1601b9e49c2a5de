"""``SGD``: stochastic gradient descent with optional (Nesterov) momentum and weight decay."""

from __future__ import annotations

import numpy as np

from ..optimize import rules
from . import _checks
from .optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent, as ``torch.optim.SGD``.

    With gradient $g_t$ of the parameter $\theta_{t-1}$, weight decay
    $\lambda$, momentum $\mu$, dampening $\tau$ and learning rate
    $\eta$:

    $$
    g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
    b_t &= \mu b_{t-1} + (1 - \tau) g_t \qquad (b_1 = g_t) \\
    \theta_t &= \theta_{t-1} - \eta \,(g_t + \mu b_t \text{ if nesterov else } b_t)
    $$

    With ``momentum=0`` this is the notes' gradient-descent step
    $\theta \leftarrow \theta - \eta g$.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or parameter groups (see `Optimizer`).
    lr : float, default 1e-3
        Learning rate $\eta$ (PyTorch 2's default).
    momentum : float, default 0
    dampening : float, default 0
    weight_decay : float, default 0
        L2 penalty $\lambda$, added to the gradient.
    nesterov : bool, default False
        Nesterov momentum; needs ``momentum > 0`` and ``dampening = 0``.
    maximize : bool, default False
        Ascend instead of descend.
    """

    _elementwise = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        group["lr"] = _checks.non_negative(group["lr"], "lr", "SGD")
        group["momentum"] = _checks.non_negative(group["momentum"], "momentum", "SGD")
        group["dampening"] = _checks.real(group["dampening"], "dampening", "SGD")
        group["weight_decay"] = _checks.non_negative(group["weight_decay"], "weight_decay", "SGD")
        group["nesterov"] = _checks.flag(group["nesterov"], "nesterov", "SGD")
        group["maximize"] = _checks.flag(group["maximize"], "maximize", "SGD")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "SGD: nesterov=True requires momentum > 0 and dampening = 0; got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        rules.sgd(
            param,
            grad,
            state,
            group["lr"],
            momentum=group["momentum"],
            dampening=group["dampening"],
            nesterov=group["nesterov"],
        )
