r"""The update rules of first-order optimizers, written once.

Each rule updates a parameter array **in place** from its gradient and a per-parameter ``state``
dict (created empty by the caller, filled on the first step). They are shared by
`plainnet.optimize.minimize()` (where the parameter is the point ``x``) and by the neural-network
optimizers of [`plainnet.optim`][plainnet.optim] (one call per parameter). The equations and
defaults are PyTorch's, so results match step for step. The rules call only NumPy functions that
hand CuPy arrays on to CuPy, so state arrays are made on the parameter's device.

Beside each rule's NumPy form lies the same update as one `ElementwiseKernel` (C
statements): on a GPU the whole update of a parameter is then one kernel launch instead of a
dozen, which is what limits small networks there. On the CPU the NumPy form runs.

In the formulas $\theta$ is the parameter, $g$ its gradient, $\eta$ the
learning rate and $t$ the step count (from 1).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from ..backend import device_of
from ..kernels import ElementwiseKernel, run_fused

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

    $$
    b_t = \mu b_{t-1} + (1 - \tau) g \;(b_1 = g), \qquad
    \theta \leftarrow \theta - \eta \,(g + \mu b_t \text{ if Nesterov else } b_t)
    $$

    With ``momentum=0`` this is the notes' step $\theta \leftarrow \theta - \eta g$.
    """
    if momentum:
        buf = state.get("momentum_buffer")
        first = buf is None
        if first and type(param) is not np.ndarray:  # b_1 = g: from zeros, undamped
            buf = state["momentum_buffer"] = np.zeros_like(param)
        kernel = _SGD_NESTEROV if nesterov else _SGD_MOMENTUM
        if run_fused(kernel, param, grad=grad, lr=lr, momentum=momentum,
                     one_minus_dampening=1.0 if first else 1 - dampening,
                     param=param, momentum_buffer=buf):
            return
        if first:
            buf = state["momentum_buffer"] = _copy(grad)
        else:
            buf *= momentum
            buf += (1 - dampening) * grad
        step = grad + momentum * buf if nesterov else buf
    else:
        if run_fused(_SGD, param, grad=grad, lr=lr, param=param):
            return
        step = grad
    param -= lr * step


_SGD = ElementwiseKernel("sgd", ("grad", "lr"), ("param",), "param -= lr * grad;")


def _sgd_momentum_kernel(nesterov: bool) -> ElementwiseKernel:
    step = "grad + momentum * momentum_buffer" if nesterov else "momentum_buffer"
    return ElementwiseKernel(
        "sgd_nesterov" if nesterov else "sgd_momentum",
        ("grad", "lr", "momentum", "one_minus_dampening"),
        ("param", "momentum_buffer"),
        "momentum_buffer = momentum * momentum_buffer + one_minus_dampening * grad;\n"
        f"param -= lr * ({step});",
    )


_SGD_MOMENTUM, _SGD_NESTEROV = _sgd_momentum_kernel(False), _sgd_momentum_kernel(True)


def adagrad(param, grad, state, lr, lr_decay=0.0, eps=1e-10, initial_accumulator_value=0.0):
    r"""Adagrad: per-coordinate steps shrinking with the sum of squared gradients.

    $$
    s_t = s_{t-1} + g^2, \qquad
    \theta \leftarrow \theta - \frac{\eta}{1 + (t-1)\delta} \frac{g}{\sqrt{s_t} + \epsilon}
    $$
    """
    t = state["step"] = state.get("step", 0) + 1
    acc = state.get("sum")
    if acc is None:
        acc = state["sum"] = np.full_like(param, initial_accumulator_value)
    clr = lr / (1 + (t - 1) * lr_decay)
    if run_fused(_ADAGRAD, param, grad=grad, clr=clr, eps=eps, param=param, acc=acc):
        return
    acc += grad * grad
    param -= clr * grad / (np.sqrt(acc) + eps)


_ADAGRAD = ElementwiseKernel(
    "adagrad",
    ("grad", "clr", "eps"),
    ("param", "acc"),
    "acc += grad * grad;\nparam -= clr * grad / (sqrt(acc) + eps);",
)


def rmsprop(param, grad, state, lr, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
    r"""RMSprop: divide the step by a running root-mean-square of the gradient.

    $$
    v_t = \alpha v_{t-1} + (1 - \alpha) g^2, \qquad
    \theta \leftarrow \theta - \eta \frac{g}{\sqrt{v_t - \bar g_t^2} + \epsilon}
    $$

    where $\bar g_t$ (running mean of ``g``) is used only when ``centered``; with
    ``momentum`` the ratio is accumulated in a buffer first.
    """
    sq = state.get("square_avg")
    if sq is None:
        sq = state["square_avg"] = np.zeros_like(param)
    if centered and "grad_avg" not in state:
        state["grad_avg"] = np.zeros_like(param)
    if momentum and "momentum_buffer" not in state:
        state["momentum_buffer"] = np.zeros_like(param)
    if run_fused(_RMSPROP[bool(centered), bool(momentum)], param, grad=grad, lr=lr, alpha=alpha,
                 one_minus_alpha=1 - alpha, eps=eps, momentum=momentum, param=param,
                 square_avg=sq, grad_avg=state.get("grad_avg"),
                 momentum_buffer=state.get("momentum_buffer")):
        return
    sq *= alpha
    sq += (1 - alpha) * grad * grad
    if centered:
        ga = state["grad_avg"]
        ga *= alpha
        ga += (1 - alpha) * grad
        avg = np.sqrt(sq - ga * ga) + eps
    else:
        avg = np.sqrt(sq) + eps
    if momentum:
        buf = state["momentum_buffer"]
        buf *= momentum
        buf += grad / avg
        param -= lr * buf
    else:
        param -= lr * grad / avg


def _rmsprop_kernel(centered: bool, momentum: bool) -> ElementwiseKernel:
    body = ["square_avg = alpha * square_avg + one_minus_alpha * grad * grad;"]
    outputs = ["param", "square_avg"]
    if centered:
        body += ["grad_avg = alpha * grad_avg + one_minus_alpha * grad;",
                 "T avg = sqrt(square_avg - grad_avg * grad_avg) + eps;"]
        outputs.append("grad_avg")
    else:
        body.append("T avg = sqrt(square_avg) + eps;")
    if momentum:
        body += ["momentum_buffer = momentum * momentum_buffer + grad / avg;",
                 "param -= lr * momentum_buffer;"]
        outputs.append("momentum_buffer")
    else:
        body.append("param -= lr * grad / avg;")
    return ElementwiseKernel(
        f"rmsprop{'_centered' * centered}{'_momentum' * momentum}",
        ("grad", "lr", "alpha", "one_minus_alpha", "eps") + (("momentum",) if momentum else ()),
        tuple(outputs),
        "\n".join(body),
    )


_RMSPROP = {(c, m): _rmsprop_kernel(c, m) for c in (False, True) for m in (False, True)}


def adam(param, grad, state, lr, betas=(0.9, 0.999), eps=1e-8, amsgrad=False):
    r"""Adam: momentum on the gradient and on its square, with bias correction.

    $$
    m_t = \beta_1 m_{t-1} + (1-\beta_1) g, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g^2,
    \quad \theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}
    \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}
    $$

    With ``amsgrad`` the running maximum of $v_t$ replaces $v_t$ in the step.
    """
    beta1, beta2 = betas
    t = state["step"] = state.get("step", 0) + 1
    m = state.get("exp_avg")
    if m is None:
        m = state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
    v = state["exp_avg_sq"]
    if amsgrad and "max_exp_avg_sq" not in state:
        state["max_exp_avg_sq"] = np.zeros_like(param)
    # sqrt(v / b2) + eps == (sqrt(v) + eps sqrt(b2)) / sqrt(b2): one pass fewer
    root_bias2 = math.sqrt(1 - beta2**t)
    step_size = lr * root_bias2 / (1 - beta1**t)
    if run_fused(_ADAM_AMSGRAD if amsgrad else _ADAM, param, grad=grad, beta1=beta1,
                 one_minus_beta1=1 - beta1, beta2=beta2, one_minus_beta2=1 - beta2,
                 step_size=step_size, eps_hat=eps * root_bias2, param=param, exp_avg=m,
                 exp_avg_sq=v, max_exp_avg_sq=state.get("max_exp_avg_sq")):
        return
    tmp = _scratch(param)
    m *= beta1
    np.multiply(grad, 1 - beta1, out=tmp)
    m += tmp
    v *= beta2
    np.multiply(grad, grad, out=tmp)
    tmp *= 1 - beta2
    v += tmp
    if amsgrad:
        vmax = state["max_exp_avg_sq"]
        np.maximum(vmax, v, out=vmax)
        v = vmax
    np.sqrt(v, out=tmp)
    tmp += eps * root_bias2
    np.divide(m, tmp, out=tmp)
    tmp *= step_size
    param -= tmp


_ADAM_INPUTS = ("grad", "beta1", "one_minus_beta1", "beta2", "one_minus_beta2", "step_size",
                "eps_hat")
_ADAM_MOMENTS = ("exp_avg = beta1 * exp_avg + one_minus_beta1 * grad;\n"
                 "exp_avg_sq = beta2 * exp_avg_sq + grad * grad * one_minus_beta2;\n")
_ADAM = ElementwiseKernel(
    "adam", _ADAM_INPUTS, ("param", "exp_avg", "exp_avg_sq"),
    _ADAM_MOMENTS + "param -= exp_avg / (sqrt(exp_avg_sq) + eps_hat) * step_size;",
)
_ADAM_AMSGRAD = ElementwiseKernel(
    "adam_amsgrad", _ADAM_INPUTS, ("param", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    _ADAM_MOMENTS + "max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq);\n"
    "param -= exp_avg / (sqrt(max_exp_avg_sq) + eps_hat) * step_size;",
)


KERNELS = (_SGD, _SGD_MOMENTUM, _SGD_NESTEROV, _ADAGRAD, *_RMSPROP.values(), _ADAM, _ADAM_AMSGRAD)
"""Every fused form of the rules (compiled on first use on a GPU)."""

RULES = {"sgd": sgd, "adagrad": adagrad, "rmsprop": rmsprop, "adam": adam}
