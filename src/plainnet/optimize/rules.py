r"""The update rules of first-order optimizers, written once.

Each rule updates a parameter array **in place** from its gradient and a per-parameter
``state`` dict (created empty by the caller, filled on the first step). They are shared by
:func:`plainnet.optimize.minimize` (where the parameter is the point ``x``) and by the
neural-network optimizers of :mod:`plainnet.optim` (one call per parameter). The equations
and defaults are PyTorch's, so results match step for step. The rules call only NumPy functions
that hand CuPy arrays on to CuPy, so state arrays are made on the parameter's device.

In the formulas :math:`\theta` is the parameter, :math:`g` its gradient, :math:`\eta` the
learning rate and :math:`t` the step count (from 1).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from ..backend import device_of

_local = threading.local()


def _scratch(like: np.ndarray) -> np.ndarray:
    """A reusable work array shaped and typed like ``like`` (one per thread, shape and dtype).

    Updating in place through one scratch array instead of fresh temporaries saves an
    allocation (and, for large arrays, fresh zeroed pages) per operation.
    """
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    if type(like) is np.ndarray:
        key = (like.shape, like.dtype.str)
    else:  # one scratch array per device
        key = (like.shape, like.dtype.str, device_of(like))
    buf = cache.get(key)
    if buf is None:
        buf = cache[key] = np.empty_like(like)
    return buf


def _copy(a):
    """A copy of the array ``a`` on its own device."""
    return np.array(a, copy=True) if isinstance(a, (np.ndarray, np.generic)) else a.copy()


def sgd(param, grad, state, lr, momentum=0.0, dampening=0.0, nesterov=False):
    r"""Gradient descent, with optional (Nesterov) momentum.

    .. math::
        b_t = \mu b_{t-1} + (1 - \tau) g \;(b_1 = g), \qquad
        \theta \leftarrow \theta - \eta \,(g + \mu b_t \text{ if Nesterov else } b_t)

    With ``momentum=0`` this is the notes' step :math:`\theta \leftarrow \theta - \eta g`.
    """
    if momentum:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = _copy(grad)
        else:
            buf *= momentum
            buf += (1 - dampening) * grad
        step = grad + momentum * buf if nesterov else buf
    else:
        step = grad
    param -= lr * step


def adagrad(param, grad, state, lr, lr_decay=0.0, eps=1e-10, initial_accumulator_value=0.0):
    r"""Adagrad: per-coordinate steps shrinking with the sum of squared gradients.

    .. math::
        s_t = s_{t-1} + g^2, \qquad
        \theta \leftarrow \theta - \frac{\eta}{1 + (t-1)\delta} \frac{g}{\sqrt{s_t} + \epsilon}
    """
    t = state["step"] = state.get("step", 0) + 1
    acc = state.get("sum")
    if acc is None:
        acc = state["sum"] = np.full_like(param, initial_accumulator_value)
    acc += grad * grad
    clr = lr / (1 + (t - 1) * lr_decay)
    param -= clr * grad / (np.sqrt(acc) + eps)


def rmsprop(param, grad, state, lr, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
    r"""RMSprop: divide the step by a running root-mean-square of the gradient.

    .. math::
        v_t = \alpha v_{t-1} + (1 - \alpha) g^2, \qquad
        \theta \leftarrow \theta - \eta \frac{g}{\sqrt{v_t - \bar g_t^2} + \epsilon}

    where :math:`\bar g_t` (running mean of ``g``) is used only when ``centered``; with
    ``momentum`` the ratio is accumulated in a buffer first.
    """
    sq = state.get("square_avg")
    if sq is None:
        sq = state["square_avg"] = np.zeros_like(param)
    sq *= alpha
    sq += (1 - alpha) * grad * grad
    if centered:
        ga = state.get("grad_avg")
        if ga is None:
            ga = state["grad_avg"] = np.zeros_like(param)
        ga *= alpha
        ga += (1 - alpha) * grad
        avg = np.sqrt(sq - ga * ga) + eps
    else:
        avg = np.sqrt(sq) + eps
    if momentum:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = np.zeros_like(param)
        buf *= momentum
        buf += grad / avg
        param -= lr * buf
    else:
        param -= lr * grad / avg


def adam(param, grad, state, lr, betas=(0.9, 0.999), eps=1e-8, amsgrad=False):
    r"""Adam: momentum on the gradient and on its square, with bias correction.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g^2,
        \quad \theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}
        \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    With ``amsgrad`` the running maximum of :math:`v_t` replaces :math:`v_t` in the step.
    """
    beta1, beta2 = betas
    t = state["step"] = state.get("step", 0) + 1
    m = state.get("exp_avg")
    if m is None:
        m = state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
    v = state["exp_avg_sq"]
    tmp = _scratch(param)
    m *= beta1
    np.multiply(grad, 1 - beta1, out=tmp)
    m += tmp
    v *= beta2
    np.multiply(grad, grad, out=tmp)
    tmp *= 1 - beta2
    v += tmp
    if amsgrad:
        vmax = state.get("max_exp_avg_sq")
        if vmax is None:
            vmax = state["max_exp_avg_sq"] = np.zeros_like(param)
        np.maximum(vmax, v, out=vmax)
        v = vmax
    # sqrt(v / b2) + eps == (sqrt(v) + eps sqrt(b2)) / sqrt(b2): one pass fewer
    root_bias2 = math.sqrt(1 - beta2**t)
    np.sqrt(v, out=tmp)
    tmp += eps * root_bias2
    np.divide(m, tmp, out=tmp)
    tmp *= lr * root_bias2 / (1 - beta1**t)
    param -= tmp


RULES = {"sgd": sgd, "adagrad": adagrad, "rmsprop": rmsprop, "adam": adam}
