"""Every differentiable operation: its forward and its vector-Jacobian product, side by side.

Adding an op is one [`Op`][plainnet.autodiff.engine.Op] here (and one line in the gradient
tests). A vjp ``(i, g, out, *args, **kw)`` returns the gradient of argument ``i``; it uses only
operators, methods shared by arrays and Tensors, and the functions of this module, so that it
also runs on Tensors when the backward pass is itself differentiated. Broadcast gradients are
summed back to each input's shape by the engine, not here.

Gradients at kinks and singularities: ``relu'(0) = 0``, ``abs'(0) = 0``, ``clip`` passes the
gradient where ``lo <= x <= hi``, ties of ``max``/``min``/``maximum``/``minimum`` share the
gradient evenly, and a zero upstream gradient stays zero through every elementwise vjp (via
`_times()` and `_over()` in the engine's careful pass) even where the op is singular,
so the unselected branch of `where()` cannot poison a gradient with NaN.

A constant (array, list or NumPy scalar) combined with a floating Tensor takes the Tensor's
dtype, so float32 computations stay float32; Python numbers are weak, as in NumPy. Lists and
numbers go to the Tensor's device; an array must already be there (NumPy arrays are on the
CPU), or the op raises [`DeviceMismatchError`][plainnet.backend.DeviceMismatchError].

The forwards call NumPy functions, which hand CuPy arrays to CuPy (through
``__array_ufunc__`` and ``__array_function__``), so the same code runs on every device. The
few calls that do not dispatch (creating arrays, ``np.add.at``, ``erf``) go through
[`plainnet.backend`][plainnet.backend].
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend as _backend
from ..functions.activations import _log_softmax, _logsumexp, _softmax
from ..kernels import ElementwiseKernel, run_fused
from .engine import STATE, Op, Tensor, apply, apply_or_array


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _is_int(x) -> bool:
    return type(x) is int or isinstance(x, numbers.Integral)


def _normalize_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if _is_int(axis):
        axis = (axis,)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axis))


def _keepdims_shape(shape, axis):
    axes = _normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _constant(c, like: Tensor):
    """A non-Tensor operand of the Tensor ``like``: an array of numbers in ``like``'s dtype.

    Python ints and floats pass unchanged (NumPy treats them as weak); arrays, lists and NumPy
    scalars are cast to a floating ``like``'s dtype, so float32 stays float32.
    """
    tc = type(c)
    if tc is float or tc is int:
        return c
    if not isinstance(c, (np.ndarray, np.generic)) and not _backend.is_device_array(c):
        try:
            c = np.asarray(c)
        except (TypeError, ValueError) as err:
            raise TypeError(f"cannot combine a Tensor with {tc.__name__}") from err
        data = like.data
        if type(data) is not np.ndarray and _backend.is_device_array(data):
            c = _backend.to_device(c, _backend.device_of(data))  # a list: numbers, no device
    if c.dtype.kind not in "biuf":
        raise TypeError(f"cannot combine a Tensor with {tc.__name__} of dtype {c.dtype}")
    dtype = like.data.dtype
    if dtype.kind == "f" and c.dtype != dtype:
        c = c.astype(dtype)
    return c


def _with_constants(args):
    """``args`` with every non-Tensor cast by `_constant()` to the first Tensor's dtype."""
    like = next((a for a in args if isinstance(a, Tensor)), None)
    if like is None:
        return args
    return [a if isinstance(a, Tensor) else _constant(a, like) for a in args]


def _zero_where_zero(g, value):
    if isinstance(g, Tensor) or isinstance(value, Tensor):
        return where(_raw(g) == 0, 0.0, value)
    return np.where(g == 0, 0, value)


def _finite_number(x, nonzero: bool = False) -> bool:
    """Whether ``x`` is a Python number, finite (and not 0, with ``nonzero``): a factor that
    keeps a zero gradient zero by itself."""
    return (type(x) is float or type(x) is int) and math.isfinite(x) and not (nonzero and x == 0)


def _times(g, f):
    """``g * f``; in the engine's careful pass exactly 0 wherever ``g`` is 0 (even if f is inf
    or NaN). Outside it, records that the pass used a guarded product (``STATE.guarded``),
    unless ``f`` is a finite Python number (a zero ``g`` stays zero)."""
    if STATE.careful:
        return _zero_where_zero(g, g * f)
    if not _finite_number(f):
        STATE.guarded = True
    return g * f


def _over(g, d):
    """``g / d``; in the careful pass exactly 0 wherever ``g`` is 0 (even where ``d`` is 0).
    Outside it, records a guarded quotient unless ``d`` is a finite nonzero Python number."""
    if STATE.careful:
        return _zero_where_zero(g, g / d)
    if not _finite_number(d, nonzero=True):
        STATE.guarded = True
    return g / d


# --------------------------------------------------------------------------- arithmetic
ADD = Op("add", lambda a, b: a + b, lambda i, g, out, a, b: g)
SUB = Op("sub", lambda a, b: a - b, lambda i, g, out, a, b: g if i == 0 else -g)
MUL = Op("mul", lambda a, b: a * b, lambda i, g, out, a, b: _times(g, b if i == 0 else a))
SCALE = Op("scale", lambda a, c: a * c, lambda i, g, out, a, c: g * c)
NEG = Op("neg", lambda a: -a, lambda i, g, out, a: -g)


def _div_vjp(i, g, out, a, b):
    return _over(g, b) if i == 0 else -_over(_times(g, out), b)


DIV = Op("div", lambda a, b: a / b, _div_vjp)


def _pow_vjp(i, g, out, a, b):
    if i == 0:
        if type(b) is int or type(b) is float:
            if b == 2:
                return _times(g, 2 * a)
            if b == 1:
                return g
            if b == 0:
                return g * 0.0
            return _times(g, b * a ** (b - 1))
        # d/dx x^y = y x^(y-1) is 0 where y = 0 (also at x = 0, where x^(y-1) is inf)
        zero = _raw(b) == 0
        return _times(g, where(zero, 0.0, b * a ** where(zero, 1.0, b - 1)))
    positive = _raw(a) > 0
    return where(positive, _times(g, out * log(where(positive, a, 1.0))), 0.0)


POW = Op("pow", lambda a, b: a ** b, _pow_vjp)


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


MATMUL = Op("matmul", _backend.matmul, _matmul_vjp)


# --------------------------------------------------------------------------- elementwise
EXP = Op("exp", np.exp, lambda i, g, out, a: _times(g, out))
LOG = Op("log", np.log, lambda i, g, out, a: _over(g, a))
SQRT = Op("sqrt", np.sqrt, lambda i, g, out, a: _over(g, 2 * out))
ABS = Op("abs", np.abs, lambda i, g, out, a: _times(g, np.sign(_raw(a))))
TANH = Op("tanh", np.tanh, lambda i, g, out, a: _times(g, 1 - out * out))


def _sigmoid_forward(a):
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


SIGMOID = Op("sigmoid", _sigmoid_forward, lambda i, g, out, a: _times(g, out * (1 - out)))
_RELU_BACKWARD = ElementwiseKernel(
    "relu_backward", ("g", "x"), ("grad",), "grad = x <= 0 ? 0 : g;"
)


def _relu_vjp(i, g, out, a):
    """``g`` where not ``a <= 0`` (so a NaN passes ``g``, as PyTorch's ReLU): on a GPU one
    kernel (not a comparison, then a product)."""
    x = _raw(a)
    if type(g) is not np.ndarray and not isinstance(g, Tensor):
        grad = np.empty_like(g)
        if run_fused(_RELU_BACKWARD, x, g=g, x=x, grad=grad):
            return grad
    return g * ~(x <= 0)


RELU = Op("relu", lambda a: np.maximum(a, 0), _relu_vjp)
SOFTPLUS = Op(
    "softplus",
    lambda a: np.logaddexp(a.dtype.type(0), a),
    lambda i, g, out, a: _times(g, sigmoid(a)),
)


def _erf_forward(a):
    if type(a) is np.ndarray or isinstance(a, np.generic):
        from ..functions.activations import _erf

        return _erf(a)
    return _backend.erf(a)


ERF = Op(
    "erf",
    _erf_forward,
    lambda i, g, out, a: _times(g, (2 / math.sqrt(math.pi)) * exp(-(a * a))),
)


def _clip_vjp(i, g, out, a, lo, hi):
    """As PyTorch's clamp: ``x`` where ``lo <= x <= hi``; a Tensor bound where it is the
    result: ``lo`` where ``x < lo < hi``, ``hi`` where ``x > hi`` or ``hi < lo``."""
    r = _raw(a)
    rlo, rhi = _raw(lo), _raw(hi)
    if i == 0:
        mask = np.ones_like(r, dtype=bool)
        if lo is not None:
            mask &= r >= rlo
        if hi is not None:
            mask &= r <= rhi
    elif i == 1:
        mask = r < rlo if hi is None else (r < rlo) & (rlo < rhi)
    else:
        mask = r > rhi if lo is None else (r > rhi) | (rhi < rlo)
    return g * mask


CLIP = Op("clip", lambda a, lo, hi: np.clip(a, lo, hi), _clip_vjp)


def _where_vjp(i, g, out, cond, a, b):
    if i == 1:
        return where(cond, g, 0.0)
    if i == 2:
        return where(cond, 0.0, g)
    return None


WHERE = Op("where", np.where, _where_vjp)


def _share(i, a, b, better):
    ra, rb = _raw(a), _raw(b)
    own, other = (ra, rb) if i == 0 else (rb, ra)
    return better(own, other) + 0.5 * (own == other)


MAXIMUM = Op("maximum", np.maximum, lambda i, g, out, a, b: g * _share(i, a, b, np.greater))
MINIMUM = Op("minimum", np.minimum, lambda i, g, out, a, b: g * _share(i, a, b, np.less))


def _astype_vjp(i, g, out, a, dtype):
    return g.astype(_raw(a).dtype)


ASTYPE = Op("astype", lambda a, dtype: a.astype(dtype), _astype_vjp)


# --------------------------------------------------------------------------- reductions
def _sum_forward(a, axis=None, keepdims=False):
    return a.sum(axis=axis, keepdims=keepdims)


def _sum_vjp(i, g, out, a, axis=None, keepdims=False):
    shape = _raw(a).shape
    if not keepdims:
        g = g.reshape(_keepdims_shape(shape, axis))
    return broadcast_to(g, shape)


SUM = Op("sum", _sum_forward, _sum_vjp)


def _mean_forward(a, axis=None, keepdims=False):
    return a.mean(axis=axis, keepdims=keepdims)


def _mean_vjp(i, g, out, a, axis=None, keepdims=False):
    shape = _raw(a).shape
    n = builtins.max(math.prod(shape[k] for k in _normalize_axis(axis, len(shape))), 1)
    return _sum_vjp(i, g, out, a, axis, keepdims) / n


MEAN = Op("mean", _mean_forward, _mean_vjp)


def _extreme_vjp(i, g, out, a, axis=None, keepdims=False):
    ra = _raw(a)
    kd = _keepdims_shape(ra.shape, axis)
    winners = ra == np.reshape(_raw(out), kd)
    share = winners / winners.sum(axis=_normalize_axis(axis, ra.ndim), keepdims=True)
    if not keepdims:
        g = g.reshape(kd)
    return g * share.astype(ra.dtype)


MAX = Op("max", lambda a, axis=None, keepdims=False: a.max(axis=axis, keepdims=keepdims),
         _extreme_vjp)
MIN = Op("min", lambda a, axis=None, keepdims=False: a.min(axis=axis, keepdims=keepdims),
         _extreme_vjp)


def _logsumexp_vjp(i, g, out, a, axis=-1, keepdims=False):
    kd = _keepdims_shape(_raw(a).shape, axis)
    if not keepdims:
        g, out = g.reshape(kd), out.reshape(kd)
    return _times(g, exp(a - out))


LOGSUMEXP = Op("logsumexp", _logsumexp, _logsumexp_vjp)


SOFTMAX = Op(
    "softmax",
    _softmax,
    lambda i, g, out, a, axis=-1: out * (g - (g * out).sum(axis=axis, keepdims=True)),
)


LOG_SOFTMAX = Op(
    "log_softmax",
    _log_softmax,
    lambda i, g, out, a, axis=-1: g - exp(out) * g.sum(axis=axis, keepdims=True),
)


# --------------------------------------------------------------------------- shapes
RESHAPE = Op("reshape", np.reshape, lambda i, g, out, a, shape: g.reshape(_raw(a).shape))


def _transpose_vjp(i, g, out, a, axes=None):
    if axes is None:
        return transpose(g)
    ndim = len(axes)
    return transpose(g, tuple(int(k) for k in np.argsort([k % ndim for k in axes])))


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


def _without_repeats(index) -> bool:
    """Whether ``index`` selects each element at most once (basic indexing or a mask)."""
    t = type(index)
    if t is int or t is slice or index is None or index is Ellipsis:
        return True
    if t is np.ndarray:
        return index.dtype == bool
    if t is tuple:
        return builtins.all(
            isinstance(k, (slice, numbers.Integral)) or k is None or k is Ellipsis
            for k in index
        )
    if isinstance(index, numbers.Integral):
        return True
    dtype = getattr(index, "dtype", None)  # an index array of another device
    return dtype is not None and dtype.kind == "b"


def _scatter_add_forward(g, index, shape):
    if type(g) is np.ndarray or isinstance(g, np.generic):
        z = np.zeros(shape, dtype=g.dtype)
    else:
        z = _backend.array_module(g).zeros(shape, dtype=g.dtype)
    if _without_repeats(index):
        z[index] = g
    elif type(z) is np.ndarray:
        np.add.at(z, index, g)
    else:
        _backend.add_at(z, index, g)
    return z


SCATTER_ADD = Op(
    "scatter_add",
    _scatter_add_forward,
    lambda i, g, out, src, index, shape: g[index] if i == 0 else None,
)


def _getitem_vjp(i, g, out, a, index):
    if isinstance(g, Tensor):
        return scatter_into(g, index, _raw(a).shape)
    return _scatter_add_forward(g, index, a.shape)


GETITEM = Op("getitem", lambda a, index: a[index], _getitem_vjp)


# --------------------------------------------------------------------------- functions
def _unwrap_index(index):
    t = type(index)
    if t is int or t is slice:
        return index
    if t is tuple:
        return tuple(_unwrap_index(k) if type(k) is list else _raw(k) for k in index)
    if t is list:
        return np.asarray(index)
    return _raw(index)


def _binary(op, ufunc, x, y):
    if isinstance(x, Tensor):
        return apply(op, x, y if isinstance(y, Tensor) else _constant(y, x))
    if isinstance(y, Tensor):
        return apply(op, _constant(x, y), y)
    return ufunc(x, y)


def add(x, y):
    """Elementwise ``x + y`` with broadcasting."""
    return _binary(ADD, np.add, x, y)


def subtract(x, y):
    """Elementwise ``x - y``."""
    return _binary(SUB, np.subtract, x, y)


def multiply(x, y):
    """Elementwise ``x * y``."""
    return _binary(MUL, np.multiply, x, y)


def scale(x: Tensor, c) -> Tensor:
    """``x * c`` for a constant ``c`` (a number or array, not differentiated) that the caller
    knows to be finite, such as a batch's total weight on a GPU. Unlike `multiply()`, the
    backward pass never reads the gradient to look for NaN (``g c`` is zero wherever ``g``
    is): on a GPU it does not wait."""
    return apply(SCALE, x, _constant(c, x))


def divide(x, y):
    r"""Elementwise ``x / y``; $\partial/\partial y = -x / y^2$."""
    return _binary(DIV, np.true_divide, x, y)


def power(x, y):
    r"""Elementwise ``x ** y``; $\partial/\partial x = y x^{y-1}$,
    $\partial/\partial y = x^y \log x$ (for ``x > 0``, else 0)."""
    return _binary(POW, np.power, x, y)


def matmul(x, y):
    """Matrix product ``x @ y`` (1-D, 2-D and batched, as `numpy.matmul()`)."""
    return _binary(MATMUL, _backend.matmul, x, y)


def negative(x):
    """``-x``."""
    return apply_or_array(NEG, x) if isinstance(x, Tensor) else np.negative(x)


def exp(x):
    r"""Elementwise $e^x$; derivative $e^x$."""
    return apply_or_array(EXP, x)


def log(x):
    r"""Natural logarithm; derivative $1/x$."""
    return apply_or_array(LOG, x)


def sqrt(x):
    r"""Square root; derivative $1/(2\sqrt x)$."""
    return apply_or_array(SQRT, x)


def abs(x):  # noqa: A001 - NumPy's name
    r"""Absolute value; derivative $\mathrm{sign}(x)$ (0 at 0)."""
    return apply_or_array(ABS, x)


def tanh(x):
    r"""Hyperbolic tangent; derivative $1 - \tanh^2 x$."""
    return apply_or_array(TANH, x)


def relu(x):
    r"""``max(x, 0)``; derivative $[x > 0]$ (0 at the kink)."""
    return apply_or_array(RELU, x)


def softplus(x):
    r"""Stable $\log(1 + e^x)$; derivative $\sigma(x)$."""
    return apply_or_array(SOFTPLUS, x)


def erf(x):
    r"""The error function; derivative $\frac{2}{\sqrt\pi} e^{-x^2}$."""
    return apply_or_array(ERF, x)


def sigmoid(x):
    r"""The logistic sigmoid $1/(1+e^{-x})$, derivative $\sigma(1-\sigma)$."""
    return apply_or_array(SIGMOID, x)


def clip(x, a_min=None, a_max=None):
    """Limit values to ``[a_min, a_max]``; the gradient passes where ``a_min <= x <= a_max``.

    Tensor bounds get a gradient as in PyTorch's ``clamp``: ``a_min`` where it is the result
    (``x < a_min < a_max``), ``a_max`` where ``x > a_max`` or ``a_max < a_min``."""
    like = next((v for v in (x, a_min, a_max) if isinstance(v, Tensor)), None)
    if like is None:
        return np.clip(x, a_min, a_max)
    x, a_min, a_max = (
        v if v is None or isinstance(v, Tensor) else _constant(v, like) for v in (x, a_min, a_max)
    )
    return apply(CLIP, x, a_min, a_max)


def where(condition, x, y):
    """``x`` where ``condition`` holds, else ``y``; each gradient flows only where selected."""
    cond = _raw(condition)
    if isinstance(x, Tensor) or isinstance(y, Tensor):
        return apply(WHERE, cond, *_with_constants([x, y]))
    return np.where(cond, x, y)


def maximum(x, y):
    """Elementwise maximum; where ``x == y`` each gets half the gradient."""
    return _binary(MAXIMUM, np.maximum, x, y)


def minimum(x, y):
    """Elementwise minimum; where ``x == y`` each gets half the gradient."""
    return _binary(MINIMUM, np.minimum, x, y)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Sum over ``axis`` (int, tuple or None for all)."""
    if isinstance(x, Tensor):
        return apply(SUM, x, axis=_axis(axis), keepdims=keepdims)
    return np.sum(x, axis=_axis(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis``."""
    if isinstance(x, Tensor):
        return apply(MEAN, x, axis=_axis(axis), keepdims=keepdims)
    return np.mean(x, axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Maximum over ``axis``; tied maxima share the gradient evenly."""
    if isinstance(x, Tensor):
        return apply(MAX, x, axis=_axis(axis), keepdims=keepdims)
    return np.max(x, axis=_axis(axis), keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Minimum over ``axis``; tied minima share the gradient evenly."""
    if isinstance(x, Tensor):
        return apply(MIN, x, axis=_axis(axis), keepdims=keepdims)
    return np.min(x, axis=_axis(axis), keepdims=keepdims)


def var(x, axis=None, ddof=0, keepdims=False):
    r"""Variance $\frac{1}{N - \mathrm{ddof}} \sum (x - \bar x)^2$ over ``axis``."""
    if not isinstance(x, Tensor):
        return np.var(x, axis=_axis(axis), ddof=ddof, keepdims=keepdims)
    axis = _axis(axis)
    n = math.prod(x.shape[k] for k in _normalize_axis(axis, x.ndim))
    centered = x - mean(x, axis=axis, keepdims=True)
    return sum(centered * centered, axis=axis, keepdims=keepdims) / (n - ddof)


def logsumexp(x, axis=-1, keepdims=False):
    r"""Stable $\log \sum e^x$; its gradient is `softmax()`."""
    return apply_or_array(LOGSUMEXP, x, axis=_axis(axis), keepdims=keepdims)


def softmax(x, axis=-1):
    r"""Stable softmax; vjp $s \odot (g - \langle g, s\rangle)$."""
    return apply_or_array(SOFTMAX, x, axis=axis)


def log_softmax(x, axis=-1):
    r"""Stable log-softmax; vjp $g - \mathrm{softmax}(x) \sum g$."""
    return apply_or_array(LOG_SOFTMAX, x, axis=axis)


def reshape(x, shape):
    """Same data, new ``shape`` (one entry may be -1)."""
    return apply_or_array(RESHAPE, x, (shape,) if _is_int(shape) else tuple(shape))


def transpose(x, axes=None):
    """Permute the axes (reverse them when ``axes`` is None)."""
    return apply_or_array(TRANSPOSE, x, axes=None if axes is None else tuple(axes))


def swapaxes(x, axis1, axis2):
    """Exchange two axes."""
    return apply_or_array(SWAPAXES, x, axis1, axis2)


def squeeze(x, axis=None):
    """Remove axes of length one (all of them, or ``axis``)."""
    return apply_or_array(SQUEEZE, x, axis=_axis(axis))


def expand_dims(x, axis):
    """Insert an axis of length one at ``axis``."""
    return apply_or_array(EXPAND_DIMS, x, _axis(axis))


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` (its gradient is summed back by the engine)."""
    return apply_or_array(BROADCAST_TO, x, tuple(shape))


def concatenate(tensors, axis=0):
    """Join a sequence of tensors along an existing axis."""
    return apply_or_array(CONCATENATE, *_with_constants(list(tensors)), axis=axis)


def stack(tensors, axis=0):
    """Join a sequence of same-shaped tensors along a new axis."""
    return apply_or_array(STACK, *_with_constants(list(tensors)), axis=axis)


def getitem(x, index):
    """``x[index]``: slices, integers, integer arrays and boolean masks; repeated indices
    accumulate their gradients."""
    return apply_or_array(GETITEM, x, _unwrap_index(index))


def scatter_into(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (the vjp of indexing; repeated
    indices accumulate). PyTorch's ``scatter_add`` is `scatter_add()`."""
    return apply_or_array(SCATTER_ADD, g, index, tuple(shape))


def astype(x, dtype):
    """The values converted to ``dtype`` (the gradient is converted back)."""
    return apply_or_array(ASTYPE, x, np.dtype(dtype))


# =========================================================================== tensor ops
# The ops a PyTorch user expects (issue 16): reductions and scans, more elementwise functions,
# indexing and assembly. Where an op is a composition of the ops above (an index, a product),
# its gradient, and every higher derivative, comes from theirs.
Operand = Any
"""A Tensor, or an array (the result is then an array, with no graph)."""
Axis = int | tuple | None
"""An axis, a tuple of axes, or None for all."""


def _xp(x):
    """The array module of ``x``'s data (NumPy, or CuPy for a GPU array)."""
    x = _raw(x)
    return np if type(x) is np.ndarray else _backend.array_module(x)


def _operand(x):
    """A Tensor or array as it is; anything else (a list, a number) as a NumPy array."""
    if isinstance(x, Tensor) or isinstance(x, np.ndarray) or _backend.is_device_array(x):
        return x
    try:
        x = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"expected a Tensor or array; got {type(x).__name__}") from err
    if x.dtype.kind not in "biuf":
        raise TypeError(f"expected numbers; got data of dtype {x.dtype}")
    return x


def _either(axis, dim, default=None):
    """``axis`` or PyTorch's name for it, ``dim`` (not both); ``default`` if neither."""
    if dim is None:
        return default if axis is None else axis
    if axis is not None:
        raise TypeError("pass the axis once: as axis= (NumPy's name) or dim= (PyTorch's), "
                        "not both")
    return dim


def _one_axis(axis, ndim: int, what: str) -> int:
    """``axis`` as an int in ``[0, ndim)``, or a clear error."""
    if not _is_int(axis) or type(axis) is bool:
        raise TypeError(f"{what}: the axis must be an int; got {type(axis).__name__}")
    if ndim == 0:
        raise ValueError(f"{what} needs a tensor of at least one dimension; got a scalar")
    if not -ndim <= int(axis) < ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for {ndim} dimensions")
    return int(axis) % ndim


def _zero_grad(i, g, out, *args, **kw):
    """The vjp of a piecewise-constant op: zeros shaped like ``g`` (never NaN, even where
    ``g`` is inf)."""
    zeros = _xp(g).zeros_like(_raw(g))
    return Tensor(zeros) if isinstance(g, Tensor) else zeros


def _along(index, axis: int, sizes) -> tuple:
    """The integer index that picks ``index[..., k, ...]`` along ``axis``: ``index`` at
    ``axis`` and ``arange(sizes[d])`` (shaped to broadcast) at every other axis ``d``."""
    xp = _xp(index)
    ndim = len(sizes)
    parts = []
    for d in range(ndim):
        if d == axis:
            parts.append(index)
        else:
            shape = [1] * ndim
            shape[d] = sizes[d]
            parts.append(xp.arange(sizes[d]).reshape(shape))
    return tuple(parts)


def _int_index(index, like, what: str):
    """``index`` (a Tensor, array or list of integers) as an integer array on ``like``'s
    device."""
    index = _raw(index)
    if not (isinstance(index, np.ndarray) or _backend.is_device_array(index)):
        index = np.asarray(index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{what} must hold integers; got dtype {index.dtype}")
    return _backend.match_device(index, _raw(like), what)


def _check_bounds(index, n: int, what: str) -> None:
    """Raise for indices outside ``[-n, n)`` (on the CPU; a device's values stay there)."""
    if type(index) is np.ndarray and index.size and (index.min() < -n or index.max() >= n):
        bad = index[(index < -n) | (index >= n)].flat[0]
        raise IndexError(f"{what}: index {bad} is out of range for an axis of length {n}")


def _shifted(c, axis: int, first):
    """``[first, c_0, ..., c_{n-2}]`` along ``axis``: a cumulative result made exclusive."""
    head_shape = list(c.shape)
    head_shape[axis] = 1
    head = _xp(c).full(tuple(head_shape), first, dtype=_raw(c).dtype)
    body = [slice(None)] * c.ndim
    body[axis] = slice(0, c.shape[axis] - 1)
    return concatenate([head, c[tuple(body)]], axis=axis)


def _reverse_cumsum(x, axis: int):
    """``sum_{j >= k} x_j`` along ``axis``."""
    return flip(cumsum(flip(x, axis), axis), axis)


# --------------------------------------------------------------------------- reductions, scans
def _std_forward(a, axis=None, ddof=0, keepdims=False):
    return a.std(axis=axis, ddof=ddof, keepdims=keepdims)


def _std_vjp(i, g, out, a, axis=None, ddof=0, keepdims=False):
    shape = _raw(a).shape
    n = math.prod(shape[k] for k in _normalize_axis(axis, len(shape)))
    if not keepdims:
        kd = _keepdims_shape(shape, axis)
        g, out = g.reshape(kd), out.reshape(kd)
    flat = _raw(out) == 0  # a constant slice: gradient 0, as the norm's at 0
    scale = _over(g, where(flat, 1.0, out * (n - ddof)))
    return where(flat, 0.0, scale * (a - mean(a, axis=axis, keepdims=True)))


STD = Op("std", _std_forward, _std_vjp)


def std(x: Operand, axis: Axis = None, ddof: int = 0, keepdims: bool = False, *,
        dim: Axis = None) -> Operand:
    r"""Standard deviation $\sqrt{\frac{1}{N-\mathrm{ddof}}\sum (x-\bar x)^2}$ over
    ``axis`` (NumPy's default ``ddof=0``; PyTorch's ``std`` defaults to ``ddof=1``).

    Gradient $(x - \bar x) / ((N - \mathrm{ddof})\,\sigma)$; 0 where
    $\sigma = 0$ (a constant slice), as PyTorch's.
    """
    axis = _axis(_either(axis, dim))
    return apply_or_array(STD, _operand(x), axis=axis, ddof=ddof, keepdims=keepdims)


def _exclusive_products(a, axis: int):
    r"""$\prod_{j \ne k} a_j$ along ``axis`` for every ``k``: the product of what comes
    before ``k`` times the product of what comes after. Exact when ``a`` holds zeros (no
    division)."""
    if a.shape[axis] == 0:
        return a
    before = _shifted(cumprod(a, axis), axis, 1)
    after = flip(_shifted(cumprod(flip(a, axis), axis), axis, 1), axis)
    return before * after


def _prod_vjp(i, g, out, a, axis=None, keepdims=False):
    shape = _raw(a).shape
    axes = _normalize_axis(axis, len(shape))
    if not keepdims:
        g = g.reshape(_keepdims_shape(shape, axis))
    if not axes:
        return broadcast_to(g, shape)
    keep = [k for k in range(len(shape)) if k not in axes]
    order = keep + list(axes)
    merged = tuple(shape[k] for k in keep) + (math.prod(shape[k] for k in axes),)
    excl = _exclusive_products(reshape(transpose(a, order), merged), -1)
    back = transpose(reshape(excl, tuple(shape[k] for k in order)), np.argsort(order))
    return _times(g, back)


PROD = Op(
    "prod", lambda a, axis=None, keepdims=False: a.prod(axis=axis, keepdims=keepdims), _prod_vjp
)


def prod(x: Operand, axis: Axis = None, keepdims: bool = False, *, dim: Axis = None) -> Operand:
    r"""Product over ``axis``. Gradient $\prod_{j \ne k} x_j$, computed from two
    cumulative products (no division), so it is exact where ``x`` has zeros."""
    axis = _axis(_either(axis, dim))
    return apply_or_array(PROD, _operand(x), axis=axis, keepdims=keepdims)


def _cumsum_vjp(i, g, out, a, axis):
    return _reverse_cumsum(g, axis)


CUMSUM = Op("cumsum", lambda a, axis: np.cumsum(a, axis=axis), _cumsum_vjp)


def _cumprod_vjp(i, g, out, a, axis):
    r"""Gradient of $y_i = \prod_{j \le i} x_j$, $G_k = \sum_{i \ge k} g_i
    \prod_{j \le i, j \ne k} x_j$, without dividing by a zero: before the first zero ``z``
    of the slice $G_k = \sum_{i \ge k} g_i y_i / x_k$; at ``z`` the cumulative product
    with $x_z$ set to 1 replaces $y$; after ``z`` it is $x_z$ (0, but not
    a constant) times the same sums with $x_z$ set to 1 (and at the second zero, that
    one too). Every term is a polynomial identity, so second derivatives are exact as well;
    beyond the second zero the gradient is a product of two zeros."""
    zero = _raw(a) == 0
    seen = np.cumsum(zero, axis=axis)
    before = seen == 0
    first = zero & (seen == 1)
    between = (seen == 1) & ~zero
    second = zero & (seen == 2)
    part = _over(_reverse_cumsum(_times(g, out), axis), where(before, a, 1.0))
    without_first = _reverse_cumsum(_times(g, cumprod(where(first, 1.0, a), axis)), axis)
    x_first = sum(where(first, a, 0.0), axis=axis, keepdims=True)
    after_first = x_first * _over(without_first, where(between, a, 1.0))
    without_both = cumprod(where(first | second, 1.0, a), axis)
    at_second = x_first * _reverse_cumsum(_times(g, without_both), axis)
    return where(before, part, where(first, without_first, where(
        between, after_first, where(second, at_second, 0.0))))


CUMPROD = Op("cumprod", lambda a, axis: np.cumprod(a, axis=axis), _cumprod_vjp)


def _scan(op, x, axis, dim, what):
    x = _operand(x)
    axis = _either(axis, dim)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    return apply_or_array(op, x, axis=_one_axis(axis, x.ndim, what))


def cumsum(x: Operand, axis: int | None = None, *, dim: int | None = None) -> Operand:
    r"""Cumulative sum $y_i = \sum_{j \le i} x_j$ along ``axis`` (None: over the
    flattened values, as NumPy). Gradient: the reversed cumulative sum of ``g``."""
    return _scan(CUMSUM, x, axis, dim, "cumsum")


def cumprod(x: Operand, axis: int | None = None, *, dim: int | None = None) -> Operand:
    r"""Cumulative product $y_i = \prod_{j \le i} x_j$ along ``axis`` (None: over the
    flattened values). The gradient and the second derivatives are exact where ``x`` has
    zeros (no division by them)."""
    return _scan(CUMPROD, x, axis, dim, "cumprod")


def _norm2_vjp(i, g, out, a, axis=None, keepdims=False):
    if not keepdims:
        kd = _keepdims_shape(_raw(a).shape, axis)
        g, out = g.reshape(kd), out.reshape(kd)
    zero = _raw(out) == 0
    return where(zero, 0.0, _over(g, where(zero, 1.0, out)) * a)


NORM2 = Op(
    "norm2",
    lambda a, axis=None, keepdims=False: np.sqrt((a * a).sum(axis=axis, keepdims=keepdims)),
    _norm2_vjp,
)

_NORMS = "1, 2, inf, -inf, 0 or 'fro'"


def norm(x: Operand, p: float | str = "fro", axis: Axis = None, keepdims: bool = False, *,
         dim: Axis = None) -> Operand:
    r"""The vector ``p``-norm over ``axis`` (None: all values), as `torch.norm()`.

    ``p`` is 2 or ``"fro"`` ($\sqrt{\sum x^2}$, the Frobenius norm of a matrix), 1
    ($\sum |x|$), ``inf``/``-inf`` ($\max |x|$, $\min |x|$) or 0 (the
    number of nonzero values, no gradient). At ``x = 0`` the gradient is 0 for every ``p``
    (a subgradient, as PyTorch's); tied maxima of the inf-norm share it evenly.
    """
    x = _operand(x)
    axis = _axis(_either(axis, dim))
    if isinstance(p, str):
        if p != "fro":
            raise ValueError(f"norm: p must be {_NORMS}; got {p!r}")
        p = 2
    elif not isinstance(p, numbers.Real) or isinstance(p, bool):
        raise TypeError(f"norm: p must be {_NORMS}; got {type(p).__name__}")
    if p == 2:
        return apply_or_array(NORM2, x, axis=axis, keepdims=keepdims)
    if p == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    if p == math.inf:
        return max(abs(x), axis=axis, keepdims=keepdims)
    if p == -math.inf:
        return min(abs(x), axis=axis, keepdims=keepdims)
    if p == 0:
        data = _raw(x)
        count = (data != 0).sum(axis=axis, keepdims=keepdims).astype(
            data.dtype if data.dtype.kind == "f" else np.float64
        )
        return Tensor(count) if isinstance(x, Tensor) else count
    raise ValueError(f"norm: p must be {_NORMS}; got {p!r}")


def _arg_extreme(fn, x, axis, keepdims, dim):
    data = _raw(_operand(x))
    axis = _either(axis, dim)
    if axis is not None:
        axis = _one_axis(axis, data.ndim, fn.__name__)
    result = fn(data, axis=axis, keepdims=keepdims)
    return Tensor(result) if isinstance(x, Tensor) else result


def argmax(x: Operand, axis: int | None = None, keepdims: bool = False, *,
           dim: int | None = None) -> Operand:
    """Index of the largest value along ``axis`` (None: of the flattened values); the first
    one where several tie (as NumPy and PyTorch). An integer Tensor, not differentiable."""
    return _arg_extreme(np.argmax, x, axis, keepdims, dim)


def argmin(x: Operand, axis: int | None = None, keepdims: bool = False, *,
           dim: int | None = None) -> Operand:
    """Index of the smallest value along ``axis``; the first one of ties. Not
    differentiable."""
    return _arg_extreme(np.argmin, x, axis, keepdims, dim)


def _sort_order(data, axis: int, descending: bool):
    key = data
    if descending:  # order-reversing, with no overflow: -x for floats, ~x = -x - 1 for ints
        key = -data if data.dtype.kind == "f" else ~data
    if type(data) is np.ndarray:
        return np.argsort(key, axis=axis, kind="stable")
    return _xp(data).argsort(key, axis=axis)  # CuPy's sort is stable


def sort(x: Operand, axis: int | None = None, descending: bool = False, *,
         dim: int | None = None) -> tuple[Operand, Operand]:
    """``(values, indices)`` of ``x`` sorted along ``axis``, as `torch.sort()`.

    The sort is stable (equal values keep their order, also with ``descending``); NaN sorts
    last in both directions (PyTorch puts it first when ``descending``). The values are
    differentiable (the gradient goes back to where each value came from); the indices are
    an integer Tensor.
    """
    x = _operand(x)
    data = _raw(x)
    axis = _one_axis(_either(axis, dim, default=-1), data.ndim, "sort")
    order = _sort_order(data, axis, bool(descending))
    values = take_along_axis(x, order, axis)
    return values, (Tensor(order) if isinstance(x, Tensor) else order)


def topk(x: Operand, k: int, axis: int | None = None, largest: bool = True,
         sorted: bool = True, *, dim: int | None = None) -> tuple[Operand, Operand]:  # noqa: A002
    """``(values, indices)`` of the ``k`` largest (or smallest) values along ``axis``, as
    `torch.topk()`: always sorted, ties in their original order."""
    x = _operand(x)
    data = _raw(x)
    axis = _one_axis(_either(axis, dim, default=-1), data.ndim, "topk")
    if not _is_int(k) or not 0 <= k <= data.shape[axis]:
        raise ValueError(f"topk: k must be an int in [0, {data.shape[axis]}]; got {k!r}")
    order = _sort_order(data, axis, bool(largest))
    take = [slice(None)] * data.ndim
    take[axis] = slice(0, int(k))
    order = order[tuple(take)]
    values = take_along_axis(x, order, axis)
    return values, (Tensor(order) if isinstance(x, Tensor) else order)


def median(x: Operand, axis: int | None = None, keepdims: bool = False, *,
           dim: int | None = None):
    """The lower median, as `torch.median()`: of an even count, the smaller of the two
    middle values (NumPy's ``np.median`` averages them); NaN where the values hold NaN.

    With no axis, the median of all values; with ``axis`` (or ``dim``), ``(values,
    indices)``. The gradient goes to the entry chosen (the first in the stable sort of
    ties).
    """
    x = _operand(x)
    axis = _either(axis, dim)
    whole = axis is None
    if whole:
        x, axis = reshape(x, (-1,)), 0
    axis = _one_axis(axis, x.ndim, "median")
    n = x.shape[axis]
    if n == 0:
        raise ValueError(f"median of an empty axis (axis {axis} has length 0)")
    data = _raw(x)
    order = _sort_order(data, axis, False)
    position = _xp(data).full(_keepdims_shape(data.shape, axis), (n - 1) // 2, dtype=np.intp)
    if data.dtype.kind == "f":  # NaN sorts last: the first NaN is at n - (number of NaN)
        nans = np.isnan(data).sum(axis=axis, keepdims=True)
        position = np.where(nans > 0, n - nans, position)
    index = np.take_along_axis(order, position, axis)
    values = take_along_axis(x, index, axis)
    if whole:
        return reshape(values, ())
    if not keepdims:
        values, index = squeeze(values, axis), np.squeeze(index, axis)
    return values, (Tensor(index) if isinstance(x, Tensor) else index)


# --------------------------------------------------------------------------- more elementwise
SIN = Op("sin", np.sin, lambda i, g, out, a: _times(g, cos(a)))
COS = Op("cos", np.cos, lambda i, g, out, a: _times(g, -sin(a)))
TAN = Op("tan", np.tan, lambda i, g, out, a: _times(g, 1 + out * out))
LOG1P = Op("log1p", np.log1p, lambda i, g, out, a: _over(g, 1 + a))
EXPM1 = Op("expm1", np.expm1, lambda i, g, out, a: _times(g, out + 1))
LOG2 = Op("log2", np.log2, lambda i, g, out, a: _over(g, a * math.log(2)))
LOG10 = Op("log10", np.log10, lambda i, g, out, a: _over(g, a * math.log(10)))
SQUARE = Op("square", np.square, lambda i, g, out, a: _times(g, 2 * a))
RSQRT = Op("rsqrt", lambda a: 1 / np.sqrt(a), lambda i, g, out, a: _times(g, -0.5 * out ** 3))
RECIPROCAL = Op("reciprocal", lambda a: 1 / a, lambda i, g, out, a: _times(g, -(out * out)))
SIGN = Op("sign", np.sign, _zero_grad)
FLOOR = Op("floor", np.floor, _zero_grad)
CEIL = Op("ceil", np.ceil, _zero_grad)
ROUND = Op("round", lambda a, decimals=0: np.round(a, decimals), _zero_grad)


def sin(x: Operand) -> Operand:
    r"""Sine; derivative $\cos x$."""
    return apply_or_array(SIN, _operand(x))


def cos(x: Operand) -> Operand:
    r"""Cosine; derivative $-\sin x$."""
    return apply_or_array(COS, _operand(x))


def tan(x: Operand) -> Operand:
    r"""Tangent; derivative $1 + \tan^2 x$."""
    return apply_or_array(TAN, _operand(x))


def log1p(x: Operand) -> Operand:
    r"""$\log(1 + x)$, accurate for small ``x``; derivative $1/(1+x)$."""
    return apply_or_array(LOG1P, _operand(x))


def expm1(x: Operand) -> Operand:
    r"""$e^x - 1$, accurate for small ``x``; derivative $e^x$."""
    return apply_or_array(EXPM1, _operand(x))


def log2(x: Operand) -> Operand:
    r"""Base-2 logarithm; derivative $1/(x \ln 2)$."""
    return apply_or_array(LOG2, _operand(x))


def log10(x: Operand) -> Operand:
    r"""Base-10 logarithm; derivative $1/(x \ln 10)$."""
    return apply_or_array(LOG10, _operand(x))


def square(x: Operand) -> Operand:
    r"""$x^2$; derivative $2x$."""
    return apply_or_array(SQUARE, _operand(x))


def rsqrt(x: Operand) -> Operand:
    r"""$1/\sqrt x$; derivative $-\frac12 x^{-3/2}$."""
    return apply_or_array(RSQRT, _operand(x))


def reciprocal(x: Operand) -> Operand:
    r"""$1/x$ (a float result, also for integers); derivative $-1/x^2$."""
    return apply_or_array(RECIPROCAL, _operand(x))


def sign(x: Operand) -> Operand:
    """-1, 0 or 1 by the sign of ``x``; gradient 0 everywhere (as PyTorch)."""
    return apply_or_array(SIGN, _operand(x))


def floor(x: Operand) -> Operand:
    """The largest integer ``<= x``; gradient 0."""
    return apply_or_array(FLOOR, _operand(x))


def ceil(x: Operand) -> Operand:
    """The smallest integer ``>= x``; gradient 0."""
    return apply_or_array(CEIL, _operand(x))


def round(x: Operand, decimals: int = 0) -> Operand:  # noqa: A001 - NumPy's and PyTorch's name
    """Round to ``decimals`` places, halves to even (as NumPy and PyTorch); gradient 0."""
    if not _is_int(decimals):
        raise TypeError(f"round: decimals must be an int; got {type(decimals).__name__}")
    return apply_or_array(ROUND, _operand(x), decimals=int(decimals))


# --------------------------------------------------------------------------- indexing, assembly
def take_along_axis(x: Operand, indices: Operand, axis: int) -> Operand:
    """``x``'s values at ``indices`` along ``axis``, as `numpy.take_along_axis()` (the
    other axes broadcast). Repeated indices accumulate their gradients."""
    x = _operand(x)
    data = _raw(x)
    axis = _one_axis(axis, data.ndim, "take_along_axis")
    index = _int_index(indices, x, "take_along_axis's indices")
    _check_bounds(index, data.shape[axis], "take_along_axis")
    if index.ndim != data.ndim:
        raise ValueError(
            f"take_along_axis: indices need as many dimensions as x ({data.ndim}); "
            f"got {index.ndim}"
        )
    pairs = zip(index.shape, data.shape, strict=True)
    if any(n != m and 1 not in (n, m) for d, (n, m) in enumerate(pairs) if d != axis):
        raise ValueError(f"take_along_axis: indices of shape {index.shape} do not broadcast "
                         f"with x of shape {data.shape} along the axes other than {axis}")
    return getitem(x, _along(index, axis, data.shape))


def gather(x: Operand, dim: int, index: Operand) -> Operand:
    """``out[i][j] = x[index[i][j]][j]`` for ``dim=0`` (and so on), as `torch.gather()`:
    ``index`` has ``x``'s number of dimensions and is no larger than ``x`` along the other
    ones. Repeated indices accumulate their gradients."""
    x = _operand(x)
    data = _raw(x)
    dim = _one_axis(dim, data.ndim, "gather")
    index = _int_index(index, x, "gather's index")
    _check_index_shape("gather", index, data.shape, dim)
    _check_bounds(index, data.shape[dim], "gather")
    return getitem(x, _along(index, dim, index.shape))


def _check_index_shape(what, index, shape, dim):
    if index.ndim != len(shape) or any(
        n > m for d, (n, m) in enumerate(zip(index.shape, shape, strict=True)) if d != dim
    ):
        raise ValueError(
            f"{what}: index of shape {index.shape} must have the {len(shape)} dimensions of "
            f"the input {shape} and be no larger along every axis but {dim}"
        )


def scatter_add(x: Operand, dim: int, index: Operand, src: Operand = None) -> Operand:
    """``x`` with ``src[i][j]`` added at ``[index[i][j]][j]`` for ``dim=0`` (and so on), as
    `torch.scatter_add()`: the inverse of `gather()`. Repeated indices accumulate.
    Both ``x`` and ``src`` get gradients (``g`` and ``gather(g, dim, index)``).

    (The former internal form ``scatter_add(g, index, shape)`` still works for the callers
    written before this one: it is `scatter_into()`.)
    """
    if src is None:
        if not _is_int(dim):
            return scatter_into(x, dim, index)
        raise TypeError("scatter_add(x, dim, index, src) needs src, the values to add")
    x, src = _operand(x), _operand(src)
    if isinstance(x, Tensor) and not isinstance(src, Tensor):
        src = _constant(src, x)
    elif isinstance(src, Tensor) and not isinstance(x, Tensor):
        x = _constant(x, src)
    shape = _raw(x).shape
    dim = _one_axis(dim, len(shape), "scatter_add")
    index = _int_index(index, x, "scatter_add's index")
    _check_index_shape("scatter_add", index, shape, dim)
    _check_bounds(index, shape[dim], "scatter_add")
    src_shape = _raw(src).shape
    fits = len(src_shape) == index.ndim and builtins.all(
        n <= m for n, m in zip(index.shape, src_shape, strict=True)
    )
    if not fits:
        raise ValueError(
            f"scatter_add: src of shape {src_shape} must be at least as large as the index "
            f"{index.shape} along every axis"
        )
    if src_shape != index.shape:
        src = getitem(src, tuple(slice(0, n) for n in index.shape))
    return add(x, scatter_into(src, _along(index, dim, index.shape), shape))


def index_select(x: Operand, dim: int, index: Operand) -> Operand:
    """The entries ``index`` (1-D integers) of ``x`` along ``dim``, as
    `torch.index_select()`; repeated indices accumulate their gradients."""
    x = _operand(x)
    dim = _one_axis(dim, _raw(x).ndim, "index_select")
    index = _int_index(index, x, "index_select's index")
    if index.ndim != 1:
        raise ValueError(f"index_select: index must be 1-D; got {index.ndim} dimensions")
    _check_bounds(index, x.shape[dim], "index_select")
    return getitem(x, (slice(None),) * dim + (index,))


def masked_fill(x: Operand, mask: Operand, value: float | Tensor) -> Operand:
    """``x`` with ``value`` where the boolean ``mask`` (broadcast to ``x``) holds, as
    `torch.Tensor.masked_fill()`; a Tensor ``value`` gets the gradient of the filled
    places."""
    x = _operand(x)
    mask = _raw(mask)
    if not (isinstance(mask, np.ndarray) or _backend.is_device_array(mask)):
        mask = np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"masked_fill: mask must be boolean; got dtype {mask.dtype}")
    shape = _raw(x).shape
    if np.broadcast_shapes(mask.shape, shape) != shape:
        raise ValueError(f"masked_fill: a mask of shape {mask.shape} does not broadcast to "
                         f"the input's {shape}")
    mask = _backend.match_device(mask, _raw(x), "masked_fill's mask")
    return where(mask, value, x)


def _tile_vjp(i, g, out, a, reps):
    shape = _raw(a).shape
    d = builtins.max(len(shape), len(reps))
    full = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    pairs = tuple(v for r, n in zip(reps, full, strict=True) for v in (r, n))
    return g.reshape(pairs).sum(axis=tuple(range(0, 2 * d, 2))).reshape(shape)


TILE = Op("tile", np.tile, _tile_vjp)


def _ints(values, what: str) -> tuple:
    values = (values,) if _is_int(values) else tuple(values)
    if not all(_is_int(v) and v >= 0 for v in values):
        raise ValueError(f"{what} must be non-negative ints; got {values}")
    return tuple(int(v) for v in values)


def tile(x: Operand, reps: int | Sequence[int]) -> Operand:
    """``x`` repeated ``reps`` times along each axis, as `numpy.tile()` (and
    `torch.tile()`, `torch.Tensor.repeat()`). Gradient: the sum over the copies."""
    return apply_or_array(TILE, _operand(x), _ints(reps, "tile: reps"))


def repeat_interleave(x: Operand, repeats: int | Operand, axis: int | None = None, *,
                      dim: int | None = None) -> Operand:
    """Each entry repeated ``repeats`` times (an int, or one count per entry) along ``axis``
    (None: of the flattened values), as `numpy.repeat()` and
    `torch.repeat_interleave()`."""
    x = _operand(x)
    axis = _either(axis, dim)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = _one_axis(axis, x.ndim, "repeat_interleave")
    n = x.shape[axis]
    if _is_int(repeats):
        counts = _ints(repeats, "repeat_interleave: repeats")[0]
    else:  # the result's length depends on the counts: they are read on the host (as PyTorch)
        counts = _raw(repeats)
        counts = _backend.to_numpy(counts) if _backend.is_device_array(counts) else (
            np.asarray(counts))
        if counts.dtype.kind not in "iu" or counts.shape != (n,) or (counts < 0).any():
            raise ValueError(f"repeat_interleave: repeats must be an int or {n} non-negative "
                             f"int counts; got {counts.dtype} of shape {counts.shape}")
    source = np.repeat(np.arange(n), counts)
    return index_select(x, axis, _backend.match_device(source, _raw(x), "repeat_interleave"))


FLIP = Op("flip", lambda a, axis: np.flip(a, axis), lambda i, g, out, a, axis: flip(g, axis))


def flip(x: Operand, axis: Axis = None, *, dims: Axis = None) -> Operand:
    """The order of the entries reversed along ``axis`` (an int, a tuple, or None for
    all), as `numpy.flip()` and `torch.flip()` (``dims``)."""
    axis = _either(axis, dims)
    return apply_or_array(FLIP, _operand(x), _axis(axis))


def _roll_vjp(i, g, out, a, shift, axis):
    back = tuple(-s for s in shift) if isinstance(shift, tuple) else -shift
    return roll(g, back, axis)


ROLL = Op("roll", lambda a, shift, axis: np.roll(a, shift, axis), _roll_vjp)


def roll(x: Operand, shift: int | Sequence[int], axis: Axis = None, *,
         dims: Axis = None) -> Operand:
    """Entries shifted by ``shift`` along ``axis`` (None: of the flattened values), those
    that fall off one end coming back at the other, as `numpy.roll()` and
    `torch.roll()` (``shifts``, ``dims``)."""
    axis = _either(axis, dims)
    shift = int(shift) if _is_int(shift) else tuple(int(s) for s in shift)
    return apply_or_array(ROLL, _operand(x), shift, _axis(axis))


def _pieces(x, sizes, axis):
    out, start = [], 0
    for n in sizes:
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, start + n)
        out.append(getitem(x, tuple(index)))
        start += n
    return tuple(out)


def split(x: Operand, split_size_or_sections: int | Sequence[int],
          dim: int = 0) -> tuple[Operand, ...]:
    """Pieces of ``x`` along ``dim``, as `torch.split()`: an int is each piece's size
    (the last may be smaller), a list gives the sizes. (NumPy's ``np.split`` takes the
    number of pieces instead: that is `chunk()`.)"""
    x = _operand(x)
    dim = _one_axis(dim, x.ndim, "split")
    n = x.shape[dim]
    if _is_int(split_size_or_sections):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: the piece size must be positive; got {size}")
        sizes = [builtins.min(size, n - s) for s in range(0, n, size)] or [0]
    else:
        sizes = list(_ints(split_size_or_sections, "split: the sizes"))
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: the sizes {sizes} must add up to {n}, the length of "
                             f"axis {dim}")
    return _pieces(x, sizes, dim)


def chunk(x: Operand, chunks: int, dim: int = 0) -> tuple[Operand, ...]:
    """``x`` cut into ``chunks`` pieces along ``dim``, as `torch.chunk()`: each of size
    ``ceil(n / chunks)`` but the last, so there may be fewer pieces."""
    x = _operand(x)
    if not _is_int(chunks) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int; got {chunks!r}")
    dim = _one_axis(dim, x.ndim, "chunk")
    return split(x, builtins.max(-(-x.shape[dim] // int(chunks)), 1), dim)


def _pad_constant_vjp(i, g, out, a, pad_width, value):
    shape = _raw(a).shape
    return g[tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, shape, strict=True))]


PAD_CONSTANT = Op(
    "pad",
    lambda a, pad_width, value: np.pad(a, pad_width, mode="constant", constant_values=value),
    _pad_constant_vjp,
)
_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "edge",
              "replicate": "edge", "wrap": "wrap", "circular": "wrap"}


def _pad_width(pad_width, ndim: int) -> tuple:
    try:
        pairs = np.broadcast_to(np.asarray(pad_width), (ndim, 2))
    except ValueError as err:
        raise ValueError(
            f"pad: pad_width must be an int, a (before, after) pair or one pair per axis "
            f"({ndim}); got {pad_width!r}"
        ) from err
    if pairs.dtype.kind not in "iu" or (pairs < 0).any():
        raise ValueError(f"pad: the pad widths must be non-negative ints; got {pad_width!r}")
    return tuple((int(lo), int(hi)) for lo, hi in pairs)


def pad(x: Operand, pad_width, mode: str = "constant", constant_values: float = 0) -> Operand:
    """``x`` padded by ``pad_width`` as `numpy.pad()` (an int, a ``(before, after)``
    pair, or one pair per axis, first axis first).

    ``mode`` is ``"constant"`` (``constant_values``), ``"reflect"`` (mirrored without repeating the
    edge), ``"edge"`` or ``"replicate"`` (the edge value repeated), ``"wrap"`` or ``"circular"``.
    [`plainnet.nn.functional.pad()`][plainnet.nn.functional.pad] takes PyTorch's pad tuple (last
    axis first) instead. The gradient of a padded value goes back to its source. """
    x = _operand(x)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {sorted(_PAD_MODES)}; got {mode!r}")
    widths = _pad_width(pad_width, x.ndim)
    if _PAD_MODES[mode] == "constant":
        if not isinstance(constant_values, numbers.Real):
            raise TypeError(f"pad: constant_values must be a number; got "
                            f"{type(constant_values).__name__}")
        return apply_or_array(PAD_CONSTANT, x, widths, constant_values)
    for axis, (lo, hi) in enumerate(widths):
        if lo or hi:
            n = x.shape[axis]
            if n == 0:
                raise ValueError(f"pad: can't {mode}-pad axis {axis} of length 0")
            source = np.pad(np.arange(n), (lo, hi), mode=_PAD_MODES[mode])
            index = _backend.match_device(source, _raw(x), "pad")
            x = getitem(x, (slice(None),) * axis + (index,))
    return x


def torch_pad(x: Operand, pad: Sequence[int], mode: str = "constant",
              value: float = 0.0) -> Operand:
    """``x`` padded as `torch.nn.functional.pad()`: ``pad`` is ``(left, right)`` for
    the last axis, then ``(top, bottom)`` for the one before, and so on; ``mode`` is
    ``"constant"``, ``"reflect"``, ``"replicate"`` or ``"circular"``."""
    x = _operand(x)
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) > 2 * x.ndim or not all(_is_int(p) for p in pad):
        raise ValueError(f"pad: pad must hold an even number of ints, at most 2 per axis "
                         f"({2 * x.ndim}); got {pad}")
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or "
                         f"'circular'; got {mode!r}")
    return _numpy_pad(x, widths, mode, value)


_numpy_pad = pad
TRIL = Op("tril", np.tril, lambda i, g, out, a, k: tril(g, k))
TRIU = Op("triu", np.triu, lambda i, g, out, a, k: triu(g, k))


def _check_matrix(x, what):
    x = _operand(x)
    if x.ndim < 2:
        raise ValueError(f"{what} needs a matrix (or a stack of them); got {x.ndim} dimensions")
    return x


def tril(x: Operand, k: int = 0) -> Operand:
    """The lower triangle of the last two axes: entries on and below diagonal ``k`` (PyTorch's
    ``diagonal``); the rest 0, with gradient 0."""
    return apply_or_array(TRIL, _check_matrix(x, "tril"), int(k))


def triu(x: Operand, k: int = 0) -> Operand:
    """The upper triangle of the last two axes: entries on and above diagonal ``k``."""
    return apply_or_array(TRIU, _check_matrix(x, "triu"), int(k))


DIAG = Op("diag", lambda a, k: np.diag(a, k), lambda i, g, out, a, k: diag(g, k))


def diag(x: Operand, k: int = 0) -> Operand:
    """A 1-D ``x`` as the ``k``-th diagonal of a square matrix, or the ``k``-th diagonal of
    a 2-D ``x``, as `numpy.diag()` and `torch.diag()`."""
    x = _operand(x)
    if not _is_int(k):
        raise TypeError(f"diag: k must be an int; got {type(k).__name__}")
    k = int(k)
    if x.ndim == 1:
        return apply_or_array(DIAG, x, k)
    if x.ndim != 2:
        raise ValueError(f"diag needs a 1-D or 2-D input; got {x.ndim} dimensions")
    rows, cols = x.shape
    m = builtins.max(0, builtins.min(rows, cols - k) if k >= 0 else builtins.min(rows + k, cols))
    steps = _xp(x).arange(m)
    return getitem(x, (steps + builtins.max(-k, 0), steps + builtins.max(k, 0)))


def outer(x: Operand, y: Operand) -> Operand:
    """The outer product ``x_i y_j`` of two vectors (flattened first, as NumPy)."""
    return multiply(reshape(_operand(x), (-1, 1)), reshape(_operand(y), (1, -1)))


def cat(tensors: Sequence[Operand], dim: int = 0) -> Operand:
    """PyTorch's name for `concatenate()`."""
    return concatenate(tensors, axis=dim)


# --------------------------------------------------------------------------- einsum
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _einsum_spec(subscripts, shapes) -> tuple:
    """``subscripts`` with every ``...`` spelled out in letters of its own and the output
    made explicit (NumPy's implicit output: the letters used once, in order, after the
    broadcast axes): ``(inputs, output)``, one string of letters per operand."""
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a str; got {type(subscripts).__name__}")
    text = subscripts.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the subscripts {subscripts!r} name {len(terms)} operands; "
                         f"got {len(shapes)}")
    for part in terms + [rhs]:
        if not builtins.all(c in _LETTERS for c in part.replace("...", "")):
            raise ValueError(f"einsum: subscripts are letters, ',', '->' and '...'; got "
                             f"{subscripts!r}")
    free = [c for c in _LETTERS if c not in text]
    broadcast = 0
    counts = []
    for term, shape in zip(terms, shapes, strict=True):
        named = len(term.replace("...", ""))
        extra = len(shape) - named
        if extra < 0 or (extra and "..." not in term) or term.count("...") > 1:
            raise ValueError(f"einsum: the term {term!r} does not fit an operand of "
                             f"{len(shape)} dimensions")
        counts.append(extra)
        broadcast = builtins.max(broadcast, extra)
    if broadcast > len(free):
        raise ValueError("einsum: too many dimensions for the letters left")
    spread = "".join(free[:broadcast])
    inputs = tuple(
        t.replace("...", spread[broadcast - n:]) for t, n in zip(terms, counts, strict=True)
    )
    if arrow:
        output = rhs.replace("...", spread)
    else:
        letters = "".join(terms).replace("...", "")
        output = spread + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    sizes: dict = {}
    for term, shape in zip(inputs, shapes, strict=True):
        for c, n in zip(term, shape, strict=True):
            if n != 1 and sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: the letter {c!r} of {subscripts!r} stands for "
                                 f"axes of lengths {sizes[c]} and {n}")
    used = set("".join(inputs))
    if len(set(output)) != len(output) or not set(output) <= used:
        raise ValueError(f"einsum: the output of {subscripts!r} must name each letter of the "
                         f"inputs at most once")
    return inputs, output


def _einsum_forward(*arrays, spec):
    subscripts = ",".join(spec[0]) + "->" + spec[1]
    if len(arrays) > 1 and builtins.all(type(a) is np.ndarray for a in arrays):
        return np.einsum(subscripts, *arrays, optimize=True)
    return np.einsum(subscripts, *arrays)


def _einsum_vjp(i, g, out, *operands, spec):
    """The gradient of operand ``i``: the einsum of ``g`` with the other operands, giving
    ``i``'s letters. Letters only ``i`` names are summed inside it: the gradient is
    broadcast along them. A letter repeated in ``i`` (a diagonal) is spread back onto that
    diagonal by products with identity matrices."""
    inputs, output = spec
    term = inputs[i]
    shape = _raw(operands[i]).shape
    sizes = dict(zip(term, shape, strict=True))
    others = [op for j, op in enumerate(operands) if j != i]
    known = set(output).union(*(inputs[j] for j in range(len(inputs)) if j != i))
    unique = "".join(dict.fromkeys(term))
    kept = "".join(c for c in unique if c in known)
    grad = einsum(",".join([output] + [t for j, t in enumerate(inputs) if j != i]) + "->" + kept,
                  g, *others)
    if len(kept) < len(unique):
        got = dict(zip(kept, grad.shape, strict=True))
        grad = reshape(grad, tuple(got.get(c, 1) for c in unique))
        grad = broadcast_to(grad, tuple(got.get(c, sizes[c]) for c in unique))
    if len(unique) < len(term):
        free = [c for c in _LETTERS if c not in set("".join(inputs) + output)]
        spelled, eyes, seen = "", [], set()
        for c in term:
            if c in seen:
                fresh = free.pop()
                spelled += fresh
                eyes.append((c + fresh, _xp(grad).eye(sizes[c], dtype=_raw(grad).dtype)))
            else:
                spelled += c
                seen.add(c)
        grad = einsum(",".join([unique] + [s for s, _ in eyes]) + "->" + spelled,
                      grad, *[e for _, e in eyes])
    return grad


EINSUM = Op("einsum", _einsum_forward, _einsum_vjp)


def einsum(subscripts: str, *operands: Operand) -> Operand:
    r"""Einstein summation, as `numpy.einsum()`: any subscripts NumPy takes in its text
    form, with ``...`` and the implicit output (``"ij,jk"``).

    The gradient of each operand is itself an einsum, of the output's gradient with the
    other operands (``"ij,jk->ik"`` gives ``"ik,jk->ij"`` for the first), so every
    derivative is exact to any order.
    """
    operands = [_operand(x) for x in operands]
    spec = _einsum_spec(subscripts, [_raw(x).shape for x in operands])
    return apply_or_array(EINSUM, *_with_constants(operands), spec=spec)


def tensordot(a: Operand, b: Operand, axes=2, *, dims=None) -> Operand:
    """The sum of products over ``axes`` of ``a`` and ``b``, as `numpy.tensordot()` (and
    `torch.tensordot()`, ``dims``): an int ``n`` pairs ``a``'s last ``n`` axes with
    ``b``'s first ``n``; a pair of sequences names the axes."""
    a, b = _operand(a), _operand(b)
    axes = axes if dims is None else dims
    na, nb = _raw(a).ndim, _raw(b).ndim
    if _is_int(axes):
        n = int(axes)
        if not 0 <= n <= builtins.min(na, nb):
            raise ValueError(f"tensordot: can't sum {n} axes of tensors of {na} and {nb} "
                             "dimensions")
        left, right = list(range(na - n, na)), list(range(n))
    else:
        try:
            left, right = ([axes_] if _is_int(axes_) else list(axes_) for axes_ in axes)
        except (TypeError, ValueError) as err:
            raise TypeError(f"tensordot: axes must be an int or a pair of axis lists; got "
                            f"{axes!r}") from err
        if len(left) != len(right):
            raise ValueError(f"tensordot: the axis lists {left} and {right} differ in length")
        left = [_one_axis(k, na, "tensordot") for k in left]
        right = [_one_axis(k, nb, "tensordot") for k in right]
    sa = list(_LETTERS[:na])
    sb = list(_LETTERS[na:na + nb])
    for k, m in zip(left, right, strict=True):
        sb[m] = sa[k]
    out = [c for k, c in enumerate(sa) if k not in left]
    out += [c for m, c in enumerate(sb) if m not in right]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


def _axis(axis):
    if axis is None or type(axis) is int:
        return axis
    if isinstance(axis, numbers.Integral):
        return int(axis)
    return tuple(int(a) for a in axis)


# =========================================================================== activations
# (tensor-safety) The activations of plainnet.functions.activations as ops: each forward is
# the activation's own array kernel (stable at every float input), each vjp is written with the
# functions above, so second derivatives (create_graph) are exact too.
# ACTIVATION_RULES maps an activation's name to how a Tensor applies it (used by
# Tensor.activation, see plainnet.autodiff.methods).
from ..functions import activations as _act  # noqa: E402

_FLAT = _act._FLAT


def _silu_vjp(i, g, out, a):
    s = sigmoid(a)
    return _times(g, s * (1 + clip(a, -_FLAT, _FLAT) * (1 - s)))


SILU = Op("silu", _act._silu, _silu_vjp)


def _mish_vjp(i, g, out, a):
    t = tanh(softplus(a))
    return _times(g, t + clip(a, -_FLAT, _FLAT) * sigmoid(a) * (1 - t * t))


MISH = Op("mish", _act._mish, _mish_vjp)


def _elu_vjp(i, g, out, a, alpha):
    positive = _raw(a) > 0
    return _times(g, where(positive, 1.0, alpha * exp(where(positive, 0.0, a))))


ELU = Op("elu", _act._elu_kernel, _elu_vjp)


def _celu_vjp(i, g, out, a, alpha):
    positive = _raw(a) > 0
    return _times(g, where(positive, 1.0, exp(where(positive, 0.0, a) * (1 / alpha))))


CELU = Op("celu", _act._celu, _celu_vjp)


def _hardtanh_vjp(i, g, out, a, min_val, max_val):
    r = _raw(a)
    return g * ((r > min_val) & (r < max_val))


HARDTANH = Op("hardtanh", _act._hardtanh, _hardtanh_vjp)


def _hardswish_vjp(i, g, out, a):
    r = _raw(a)
    return _times(g, where(r <= -3, 0.0, where(r < 3, a * (1 / 3) + 0.5, 1.0)))


HARDSWISH = Op("hardswish", _act._hardswish, _hardswish_vjp)
HARDSIGMOID = Op(
    "hardsigmoid",
    _act._hardsigmoid,
    lambda i, g, out, a: g * (((_raw(a) > -3) & (_raw(a) < 3)) * (1 / 6)),
)


def _softsign_vjp(i, g, out, a):
    r = 1 / (1 + abs(a))
    return _times(g, r * r)


SOFTSIGN = Op("softsign", _act._softsign, _softsign_vjp)
LOGSIGMOID = Op("logsigmoid", _act._logsigmoid, lambda i, g, out, a: _times(g, sigmoid(-a)))


def _gelu_forward(a, approximate):
    return _act.GELU(approximate).forward(a)


def _gelu_vjp(i, g, out, a, approximate):
    if approximate == "tanh":  # tanh(u) is exactly +-1 beyond +-20: clip, x^3 cannot overflow
        c = clip(a, -20.0, 20.0)
        k = math.sqrt(2 / math.pi)
        t = tanh(k * (c + 0.044715 * c * c * c))
        d = 0.5 * (1 + t) + (0.5 * k) * c * (1 - t * t) * (1 + 3 * 0.044715 * c * c)
    else:  # Phi(x) + x phi(x); phi(x) is exactly 0 beyond +-40, where x phi(x) is inf * 0
        c = clip(a, -40.0, 40.0)
        cdf = 0.5 * (1 + erf(a * (1 / math.sqrt(2))))
        d = cdf + c * exp(-0.5 * c * c) * (1 / math.sqrt(2 * math.pi))
    return _times(g, d)


GELU = Op("gelu", _gelu_forward, _gelu_vjp)


def _gelu_rule(t: Tensor, act) -> Tensor:
    return apply(GELU, t, approximate=act.approximate)


def _selu_vjp(i, g, out, a):
    positive = _raw(a) > 0
    lam, alpha = _act.SELU.scale, _act.SELU.alpha
    return _times(g, where(positive, lam, (lam * alpha) * exp(where(positive, 0.0, a))))


SELU = Op("selu", _act.selu.forward, _selu_vjp)


def _unary_rule(op):
    return lambda t, act: apply(op, t)


ACTIVATION_RULES = {
    "silu": _unary_rule(SILU),
    "mish": _unary_rule(MISH),
    "elu": lambda t, act: apply(ELU, t, alpha=act.alpha),
    "selu": _unary_rule(SELU),
    "celu": lambda t, act: apply(CELU, t, alpha=act.alpha),
    "hardtanh": lambda t, act: apply(HARDTANH, t, min_val=act.min_val, max_val=act.max_val),
    "relu6": lambda t, act: apply(HARDTANH, t, min_val=0.0, max_val=6.0),
    "hardswish": _unary_rule(HARDSWISH),
    "hardsigmoid": _unary_rule(HARDSIGMOID),
    "softsign": _unary_rule(SOFTSIGN),
    "logsigmoid": _unary_rule(LOGSIGMOID),
    "gelu": _gelu_rule,
}
"""How a Tensor applies each activation of this section (and elu/gelu, made exact here);
merged into ``plainnet.autodiff.methods.ACTIVATION_RULES``."""
