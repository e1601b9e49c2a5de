"""Every differentiable operation: its forward and its vector-Jacobian product, side by side.

Adding an op is one :class:`~plainnet.autodiff.engine.Op` here (and one line in the gradient
tests). A vjp ``(i, g, out, *args, **kw)`` returns the gradient of argument ``i``; it uses only
operators, methods shared by arrays and Tensors, and the functions of this module, so that it
also runs on Tensors when the backward pass is itself differentiated. Broadcast gradients are
summed back to each input's shape by the engine, not here.

Gradients at kinks and singularities: ``relu'(0) = 0``, ``abs'(0) = 0``, ``clip`` passes the
gradient where ``lo <= x <= hi``, ties of ``max``/``min``/``maximum``/``minimum`` share the
gradient evenly, and a zero upstream gradient stays zero through ``log``, ``sqrt``, ``/`` and
``**`` even where they are singular, so the unselected branch of :func:`where` cannot poison
a gradient with NaN.
"""

from __future__ import annotations

import builtins
import numbers

import numpy as np

from .engine import Op, Tensor, apply_or_array


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _normalize_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, numbers.Integral):
        axis = (axis,)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axis))


def _keepdims_shape(shape, axis):
    axes = _normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _safe_div(g, d):
    """``g / d``, but exactly 0 wherever ``g`` is 0 (even where ``d`` is 0 or inf)."""
    if isinstance(g, Tensor) or isinstance(d, Tensor):
        return where(_raw(g) == 0, 0.0, g / where(_raw(g) == 0, 1.0, d))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = g / d
    if q.ndim == 0:
        return q if g != 0 else np.zeros_like(q)
    return np.where(g == 0, 0, q).astype(q.dtype, copy=False)


# --------------------------------------------------------------------------- arithmetic
ADD = Op("add", np.add, lambda i, g, out, a, b: g)
SUB = Op("sub", np.subtract, lambda i, g, out, a, b: g if i == 0 else -g)
MUL = Op("mul", np.multiply, lambda i, g, out, a, b: g * b if i == 0 else g * a)
NEG = Op("neg", np.negative, lambda i, g, out, a: -g)


def _div_vjp(i, g, out, a, b):
    return _safe_div(g, b) if i == 0 else -_safe_div(g * out, b)


DIV = Op("div", np.true_divide, _div_vjp)


def _pow_forward(a, b):
    return np.power(a, b)


def _pow_vjp(i, g, out, a, b):
    if i == 0:
        if isinstance(b, numbers.Number) and not isinstance(b, Tensor):
            if b == 0:
                return g * 0.0
            if b == 1:
                return g
            if b == 2:
                return g * 2 * a
        return _safe_div(g * b * out, a) if not _is_int_power(b) else g * b * a ** (b - 1)
    positive = _raw(a) > 0
    return g * out * log(where(positive, a, 1.0)) * positive


def _is_int_power(b) -> bool:
    return isinstance(b, numbers.Integral) or (
        isinstance(b, float) and b.is_integer() and b >= 1
    )


POW = Op("pow", _pow_forward, _pow_vjp)


def _matmul_vjp(i, g, out, a, b):
    if i == 0:
        if b.ndim == 1:  # out = a @ b sums the last axis of a: broadcast g over it
            return expand_dims(g, -1) * b
        if a.ndim == 1:
            return (matmul(b, expand_dims(g, -1)))[..., 0]
        return matmul(g, swapaxes(b, -1, -2))
    if a.ndim == 1:
        return expand_dims(a, -1) * expand_dims(g, -2) if b.ndim > 1 else g * a
    if b.ndim == 1:
        return (matmul(swapaxes(a, -1, -2), expand_dims(g, -1)))[..., 0]
    return matmul(swapaxes(a, -1, -2), g)


MATMUL = Op("matmul", np.matmul, _matmul_vjp)


# --------------------------------------------------------------------------- elementwise
EXP = Op("exp", np.exp, lambda i, g, out, a: g * out)
LOG = Op("log", np.log, lambda i, g, out, a: _safe_div(g, a))
SQRT = Op("sqrt", np.sqrt, lambda i, g, out, a: _safe_div(g, 2 * out))
ABS = Op("abs", np.abs, lambda i, g, out, a: g * np.sign(_raw(a)))
TANH = Op("tanh", np.tanh, lambda i, g, out, a: g * (1 - out * out))


def _sigmoid_forward(a):
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


SIGMOID = Op("sigmoid", _sigmoid_forward, lambda i, g, out, a: g * (out * (1 - out)))
RELU = Op("relu", lambda a: np.maximum(a, 0), lambda i, g, out, a: g * (_raw(a) > 0))
SOFTPLUS = Op(
    "softplus",
    lambda a: np.logaddexp(np.zeros((), a.dtype), a),
    lambda i, g, out, a: g * sigmoid(a),
)


def _erf_forward(a):
    from ..functions.activations import _erf

    return _erf(a)


ERF = Op(
    "erf",
    _erf_forward,
    lambda i, g, out, a: g * (2 / np.sqrt(np.pi)) * exp(-(a * a)),
)


def _clip_vjp(i, g, out, a, lo, hi):
    r = _raw(a)
    mask = np.ones(r.shape, bool)
    if lo is not None:
        mask &= r >= lo
    if hi is not None:
        mask &= r <= hi
    return g * mask


CLIP = Op("clip", lambda a, lo, hi: np.clip(a, lo, hi), _clip_vjp)


def _where_vjp(i, g, out, cond, a, b):
    if i == 1:
        return where(cond, g, 0.0)
    if i == 2:
        return where(cond, 0.0, g)
    return None


WHERE = Op("where", np.where, _where_vjp)


MAXIMUM = Op("maximum", np.maximum, lambda i, g, out, a, b: g * _share(i, a, b, np.greater))
MINIMUM = Op("minimum", np.minimum, lambda i, g, out, a, b: g * _share(i, a, b, np.less))


def _share(i, a, b, better):
    ra, rb = _raw(a), _raw(b)
    own, other = (ra, rb) if i == 0 else (rb, ra)
    return better(own, other) + 0.5 * (own == other)


def _astype_vjp(i, g, out, a, dtype):
    return g.astype(_raw(a).dtype)


ASTYPE = Op("astype", lambda a, dtype: a.astype(dtype), _astype_vjp)


# --------------------------------------------------------------------------- reductions
def _sum_vjp(i, g, out, a, axis=None, keepdims=False):
    shape = _raw(a).shape
    if not keepdims:
        g = g.reshape(_keepdims_shape(shape, axis))
    return broadcast_to(g, shape)


SUM = Op("sum", lambda a, axis=None, keepdims=False: np.sum(a, axis, keepdims=keepdims), _sum_vjp)


def _mean_forward(a, axis=None, keepdims=False):
    return np.mean(a, axis, keepdims=keepdims)


def _mean_vjp(i, g, out, a, axis=None, keepdims=False):
    shape = _raw(a).shape
    n = builtins.max(int(np.prod([shape[k] for k in _normalize_axis(axis, len(shape))])), 1)
    return _sum_vjp(i, g, out, a, axis, keepdims) / n


MEAN = Op("mean", _mean_forward, _mean_vjp)


def _extreme_vjp(i, g, out, a, axis=None, keepdims=False):
    ra = _raw(a)
    kd = _keepdims_shape(ra.shape, axis)
    winners = ra == _raw(out).reshape(kd)
    share = winners / winners.sum(axis=_normalize_axis(axis, ra.ndim), keepdims=True)
    if not keepdims:
        g = g.reshape(kd)
    return g * share.astype(ra.dtype)


MAX = Op("max", lambda a, axis=None, keepdims=False: np.max(a, axis, keepdims=keepdims),
         _extreme_vjp)
MIN = Op("min", lambda a, axis=None, keepdims=False: np.min(a, axis, keepdims=keepdims),
         _extreme_vjp)


def _logsumexp_forward(a, axis=-1, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _logsumexp_vjp(i, g, out, a, axis=-1, keepdims=False):
    kd = _keepdims_shape(_raw(a).shape, axis)
    if not keepdims:
        g, out = g.reshape(kd), out.reshape(kd)
    return g * exp(a - out)


LOGSUMEXP = Op("logsumexp", _logsumexp_forward, _logsumexp_vjp)


def _softmax_forward(a, axis=-1):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


SOFTMAX = Op(
    "softmax",
    _softmax_forward,
    lambda i, g, out, a, axis=-1: out * (g - (g * out).sum(axis=axis, keepdims=True)),
)


def _log_softmax_forward(a, axis=-1):
    return a - _logsumexp_forward(a, axis=axis, keepdims=True)


LOG_SOFTMAX = Op(
    "log_softmax",
    _log_softmax_forward,
    lambda i, g, out, a, axis=-1: g - exp(out) * g.sum(axis=axis, keepdims=True),
)


# --------------------------------------------------------------------------- shapes
RESHAPE = Op("reshape", np.reshape, lambda i, g, out, a, shape: g.reshape(_raw(a).shape))


def _transpose_vjp(i, g, out, a, axes=None):
    if axes is None:
        return transpose(g)
    return transpose(g, tuple(np.argsort(axes)))


TRANSPOSE = Op("transpose", lambda a, axes=None: np.transpose(a, axes), _transpose_vjp)
SWAPAXES = Op(
    "swapaxes",
    np.swapaxes,
    lambda i, g, out, a, axis1, axis2: swapaxes(g, axis1, axis2),
)
SQUEEZE = Op(
    "squeeze",
    lambda a, axis=None: np.squeeze(a, axis),
    lambda i, g, out, a, axis=None: g.reshape(_raw(a).shape),
)
EXPAND_DIMS = Op(
    "expand_dims",
    np.expand_dims,
    lambda i, g, out, a, axis: g.reshape(_raw(a).shape),
)
BROADCAST_TO = Op("broadcast_to", np.broadcast_to, lambda i, g, out, a, shape: g)


def _concatenate_forward(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


def _concatenate_vjp(i, g, out, *arrays, axis=0):
    sizes = [_raw(x).shape[axis] for x in arrays]
    start = builtins.sum(sizes[:i])
    index = [slice(None)] * _raw(g).ndim
    index[axis] = slice(start, start + sizes[i])
    return g[tuple(index)]


CONCATENATE = Op("concatenate", _concatenate_forward, _concatenate_vjp)


def _stack_forward(*arrays, axis=0):
    return np.stack(arrays, axis=axis)


def _stack_vjp(i, g, out, *arrays, axis=0):
    index = [slice(None)] * _raw(g).ndim
    index[axis] = i
    return g[tuple(index)]


STACK = Op("stack", _stack_forward, _stack_vjp)


def _is_basic_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(k, (slice, numbers.Integral)) or k is None or k is Ellipsis for k in items
    )


def _scatter_add_forward(g, index, shape):
    z = np.zeros(shape, dtype=g.dtype)
    if _is_basic_index(index):
        z[index] += g
    else:
        np.add.at(z, index, g)
    return z


SCATTER_ADD = Op(
    "scatter_add",
    _scatter_add_forward,
    lambda i, g, out, src, index, shape: g[index],
)
GETITEM = Op(
    "getitem",
    lambda a, index: a[index],
    lambda i, g, out, a, index: scatter_add(g, index, _raw(a).shape),
)


# --------------------------------------------------------------------------- functions
def _unwrap_index(index):
    if isinstance(index, tuple):
        return tuple(_raw(k) for k in index)
    if isinstance(index, list):
        return np.asarray(index)
    return _raw(index)


def add(x, y):
    """Elementwise ``x + y`` with broadcasting."""
    return apply_or_array(ADD, x, y)


def subtract(x, y):
    """Elementwise ``x - y``."""
    return apply_or_array(SUB, x, y)


def multiply(x, y):
    """Elementwise ``x * y``."""
    return apply_or_array(MUL, x, y)


def divide(x, y):
    r"""Elementwise ``x / y``; :math:`\partial/\partial y = -x / y^2`."""
    return apply_or_array(DIV, x, y)


def power(x, y):
    r"""Elementwise ``x ** y``; :math:`\partial/\partial x = y x^{y-1}`,
    :math:`\partial/\partial y = x^y \log x` (for ``x > 0``, else 0)."""
    return apply_or_array(POW, x, y)


def matmul(x, y):
    """Matrix product ``x @ y`` (1-D, 2-D and batched, as :func:`numpy.matmul`)."""
    return apply_or_array(MATMUL, x, y)


def negative(x):
    return apply_or_array(NEG, x)


def exp(x):
    r"""Elementwise :math:`e^x`; derivative :math:`e^x`."""
    return apply_or_array(EXP, x)


def log(x):
    r"""Natural logarithm; derivative :math:`1/x`."""
    return apply_or_array(LOG, x)


def sqrt(x):
    r"""Square root; derivative :math:`1/(2\sqrt x)`."""
    return apply_or_array(SQRT, x)


def abs(x):  # noqa: A001 - NumPy's name
    r"""Absolute value; derivative :math:`\mathrm{sign}(x)` (0 at 0)."""
    return apply_or_array(ABS, x)


def erf(x):
    r"""The error function; derivative :math:`\frac{2}{\sqrt\pi} e^{-x^2}`."""
    return apply_or_array(ERF, x)


def sigmoid(x):
    r"""The logistic sigmoid :math:`1/(1+e^{-x})`, derivative :math:`\sigma(1-\sigma)`."""
    return apply_or_array(SIGMOID, x)


def clip(x, a_min=None, a_max=None):
    """Limit values to ``[a_min, a_max]``; the gradient passes where ``a_min <= x <= a_max``."""
    return apply_or_array(CLIP, x, a_min, a_max)


def where(condition, x, y):
    """``x`` where ``condition`` holds, else ``y``; each gradient flows only where selected."""
    return apply_or_array(WHERE, _raw(condition), x, y)


def maximum(x, y):
    """Elementwise maximum; where ``x == y`` each gets half the gradient."""
    return apply_or_array(MAXIMUM, x, y)


def minimum(x, y):
    """Elementwise minimum; where ``x == y`` each gets half the gradient."""
    return apply_or_array(MINIMUM, x, y)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Sum over ``axis`` (int, tuple or None for all)."""
    return apply_or_array(SUM, x, axis=_axis(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis``."""
    return apply_or_array(MEAN, x, axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Maximum over ``axis``; tied maxima share the gradient evenly."""
    return apply_or_array(MAX, x, axis=_axis(axis), keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Minimum over ``axis``; tied minima share the gradient evenly."""
    return apply_or_array(MIN, x, axis=_axis(axis), keepdims=keepdims)


def var(x, axis=None, ddof=0, keepdims=False):
    r"""Variance :math:`\frac{1}{N - \mathrm{ddof}} \sum (x - \bar x)^2` over ``axis``."""
    if not isinstance(x, Tensor):
        return np.var(x, axis=_axis(axis), ddof=ddof, keepdims=keepdims)
    axis = _axis(axis)
    n = int(np.prod([x.shape[k] for k in _normalize_axis(axis, x.ndim)]))
    centered = x - mean(x, axis=axis, keepdims=True)
    return sum(centered * centered, axis=axis, keepdims=keepdims) / (n - ddof)


def logsumexp(x, axis=-1, keepdims=False):
    r"""Stable :math:`\log \sum e^x`; its gradient is :func:`softmax`."""
    return apply_or_array(LOGSUMEXP, x, axis=_axis(axis), keepdims=keepdims)


def softmax(x, axis=-1):
    r"""Stable softmax; vjp :math:`s \odot (g - \langle g, s\rangle)`."""
    return apply_or_array(SOFTMAX, x, axis=axis)


def log_softmax(x, axis=-1):
    r"""Stable log-softmax; vjp :math:`g - \mathrm{softmax}(x) \sum g`."""
    return apply_or_array(LOG_SOFTMAX, x, axis=axis)


def reshape(x, shape):
    return apply_or_array(RESHAPE, x, tuple(shape) if not isinstance(shape, int) else (shape,))


def transpose(x, axes=None):
    return apply_or_array(TRANSPOSE, x, axes=None if axes is None else tuple(axes))


def swapaxes(x, axis1, axis2):
    return apply_or_array(SWAPAXES, x, axis1, axis2)


def squeeze(x, axis=None):
    return apply_or_array(SQUEEZE, x, axis=axis)


def expand_dims(x, axis):
    return apply_or_array(EXPAND_DIMS, x, axis)


def broadcast_to(x, shape):
    return apply_or_array(BROADCAST_TO, x, tuple(shape))


def concatenate(tensors, axis=0):
    """Join a sequence of tensors along an existing axis."""
    return apply_or_array(CONCATENATE, *tensors, axis=axis)


def stack(tensors, axis=0):
    """Join a sequence of same-shaped tensors along a new axis."""
    return apply_or_array(STACK, *tensors, axis=axis)


def getitem(x, index):
    """``x[index]``: slices, integers, integer arrays and boolean masks; repeated indices
    accumulate their gradients."""
    return apply_or_array(GETITEM, x, _unwrap_index(index))


def scatter_add(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (the vjp of indexing)."""
    return apply_or_array(SCATTER_ADD, g, index, tuple(shape))


def astype(x, dtype):
    return apply_or_array(ASTYPE, x, np.dtype(dtype))


def _axis(axis):
    if axis is None or isinstance(axis, numbers.Integral):
        return axis
    return tuple(axis)
