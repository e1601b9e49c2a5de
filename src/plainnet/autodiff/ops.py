"""Every differentiable operation: its forward and its vector-Jacobian product, side by side.

Adding an op is one :class:`~plainnet.autodiff.engine.Op` here (and one line in the gradient
tests). A vjp ``(i, g, out, *args, **kw)`` returns the gradient of argument ``i``; it uses only
operators, methods shared by arrays and Tensors, and the functions of this module, so that it
also runs on Tensors when the backward pass is itself differentiated. Broadcast gradients are
summed back to each input's shape by the engine, not here.

Gradients at kinks and singularities: ``relu'(0) = 0``, ``abs'(0) = 0``, ``clip`` passes the
gradient where ``lo <= x <= hi``, ties of ``max``/``min``/``maximum``/``minimum`` share the
gradient evenly, and a zero upstream gradient stays zero through every elementwise vjp (via
:func:`_times` and :func:`_over` in the engine's careful pass) even where the op is singular,
so the unselected branch of :func:`where` cannot poison a gradient with NaN.

A constant (array, list or NumPy scalar) combined with a floating Tensor takes the Tensor's
dtype, so float32 computations stay float32; Python numbers are weak, as in NumPy. Lists and
numbers go to the Tensor's device; an array must already be there (NumPy arrays are on the
CPU), or the op raises :class:`~plainnet.backend.DeviceMismatchError`.

The forwards call NumPy functions, which hand CuPy arrays to CuPy (through
``__array_ufunc__`` and ``__array_function__``), so the same code runs on every device. The
few calls that do not dispatch (creating arrays, ``np.add.at``, ``erf``) go through
:mod:`plainnet.backend`.
"""

from __future__ import annotations

import builtins
import math
import numbers

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
    """``args`` with every non-Tensor cast by :func:`_constant` to the first Tensor's dtype."""
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
    "relu_backward", ("g", "x"), ("grad",), "grad = g * (x > 0);"
)


def _relu_vjp(i, g, out, a):
    """``g [a > 0]``: on a GPU one kernel (not a comparison, then a product)."""
    x = _raw(a)
    if type(g) is not np.ndarray and not isinstance(g, Tensor):
        grad = np.empty_like(g)
        if run_fused(_RELU_BACKWARD, x, g=g, x=x, grad=grad):
            return grad
    return g * (x > 0)


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
    if i != 0:
        return None
    r = _raw(a)
    mask = np.ones_like(r, dtype=bool)
    if lo is not None:
        mask &= r >= _raw(lo)
    if hi is not None:
        mask &= r <= _raw(hi)
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
        return scatter_add(g, index, _raw(a).shape)
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
    knows to be finite, such as a batch's total weight on a GPU. Unlike :func:`multiply`, the
    backward pass never reads the gradient to look for NaN (``g c`` is zero wherever ``g``
    is): on a GPU it does not wait."""
    return apply(SCALE, x, _constant(c, x))


def divide(x, y):
    r"""Elementwise ``x / y``; :math:`\partial/\partial y = -x / y^2`."""
    return _binary(DIV, np.true_divide, x, y)


def power(x, y):
    r"""Elementwise ``x ** y``; :math:`\partial/\partial x = y x^{y-1}`,
    :math:`\partial/\partial y = x^y \log x` (for ``x > 0``, else 0)."""
    return _binary(POW, np.power, x, y)


def matmul(x, y):
    """Matrix product ``x @ y`` (1-D, 2-D and batched, as :func:`numpy.matmul`)."""
    return _binary(MATMUL, _backend.matmul, x, y)


def negative(x):
    """``-x``."""
    return apply_or_array(NEG, x) if isinstance(x, Tensor) else np.negative(x)


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


def tanh(x):
    r"""Hyperbolic tangent; derivative :math:`1 - \tanh^2 x`."""
    return apply_or_array(TANH, x)


def relu(x):
    r"""``max(x, 0)``; derivative :math:`[x > 0]` (0 at the kink)."""
    return apply_or_array(RELU, x)


def softplus(x):
    r"""Stable :math:`\log(1 + e^x)`; derivative :math:`\sigma(x)`."""
    return apply_or_array(SOFTPLUS, x)


def erf(x):
    r"""The error function; derivative :math:`\frac{2}{\sqrt\pi} e^{-x^2}`."""
    return apply_or_array(ERF, x)


def sigmoid(x):
    r"""The logistic sigmoid :math:`1/(1+e^{-x})`, derivative :math:`\sigma(1-\sigma)`."""
    return apply_or_array(SIGMOID, x)


def clip(x, a_min=None, a_max=None):
    """Limit values to ``[a_min, a_max]``; the gradient passes where ``a_min <= x <= a_max``."""
    if isinstance(x, Tensor):
        if a_min is not None:
            a_min = _raw(a_min) if isinstance(a_min, Tensor) else _constant(a_min, x)
        if a_max is not None:
            a_max = _raw(a_max) if isinstance(a_max, Tensor) else _constant(a_max, x)
        return apply(CLIP, x, a_min, a_max)
    return np.clip(x, a_min, a_max)


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
    r"""Variance :math:`\frac{1}{N - \mathrm{ddof}} \sum (x - \bar x)^2` over ``axis``."""
    if not isinstance(x, Tensor):
        return np.var(x, axis=_axis(axis), ddof=ddof, keepdims=keepdims)
    axis = _axis(axis)
    n = math.prod(x.shape[k] for k in _normalize_axis(axis, x.ndim))
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


def scatter_add(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (the vjp of indexing)."""
    return apply_or_array(SCATTER_ADD, g, index, tuple(shape))


def astype(x, dtype):
    """The values converted to ``dtype`` (the gradient is converted back)."""
    return apply_or_array(ASTYPE, x, np.dtype(dtype))


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
