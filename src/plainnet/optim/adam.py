"""``Adam`` and ``AdamW``: momentum on the gradient and on its square, with bias correction."""

from __future__ import annotations

import numpy as np

from ..optimize import rules
from . import _checks
from .optimizer import Optimizer


class Adam(Optimizer):
    r"""Adam, as ``torch.optim.Adam``.

    With step count $t$ (from 1), moments starting at zero:

    $$
    g_t &\leftarrow g_t + \lambda \theta_{t-1} \\
    m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
    v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
    \hat v_t &= \max(\hat v_{t-1}, v_t) \text{ if amsgrad else } v_t \\
    \theta_t &= \theta_{t-1} - \frac{\eta}{1 - \beta_1^t}
    \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}
    $$

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the first and second moment estimates, each in ``[0, 1)``.
    eps : float, default 1e-8
    weight_decay : float, default 0
        L2 penalty $\lambda$ added to the gradient (see `AdamW` for decoupled
        decay).
    amsgrad : bool, default False
        Use the running maximum of $v_t$ (AMSGrad).
    maximize : bool, default False
    """

    _elementwise = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict) -> None:
        owner = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            group[key] = _checks.non_negative(group[key], key, owner)
        group["betas"] = _checks.betas(group["betas"], owner)
        group["amsgrad"] = _checks.flag(group["amsgrad"], "amsgrad", owner)
        group["maximize"] = _checks.flag(group["maximize"], "maximize", owner)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        self._adam(param, grad, state, group)

    @staticmethod
    def _adam(param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        rules.adam(
            param,
            grad,
            state,
            group["lr"],
            betas=group["betas"],
            eps=group["eps"],
            amsgrad=group["amsgrad"],
        )


class AdamW(Adam):
    r"""Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    The weight decay shrinks the parameter directly instead of entering the gradient:

    $$
    \theta_{t-1} \leftarrow \theta_{t-1}\,(1 - \eta\lambda), \qquad
    \text{then the Adam step of } g_t \text{ (see } `Adam`).
    $$

    Parameters are those of `Adam`, except ``weight_decay`` defaults to ``1e-2``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ):
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            param *= 1 - group["lr"] * group["weight_decay"]
        self._adam(param, grad, state, group)
