"""Tensor operators and methods, each a thin call into
[`plainnet.autodiff.ops`][plainnet.autodiff.ops]."""

from __future__ import annotations

import numpy as np

from .. import backend as _backend
from . import ops
from .engine import Tensor, apply, apply_binary, apply_unary
from .graph import to_dot

_constant = ops._constant


def _binary(op):
    def forward(self, other):
        tc = type(other)
        if not (tc is float or tc is int or isinstance(other, Tensor)):
            other = _constant(other, self)
        return apply_binary(op, self, other)

    def reflected(self, other):
        tc = type(other)
        if not (tc is float or tc is int or isinstance(other, Tensor)):
            other = _constant(other, self)
        return apply_binary(op, other, self)

    return forward, reflected


def _compare(ufunc):
    def method(self, other):
        other = other.data if isinstance(other, Tensor) else _constant(other, self)
        try:
            return Tensor(ufunc(self.data, other))
        except Exception:
            devices = _backend.devices_in([self.data, other])
            if len(devices) > 1:
                raise _backend.mismatch_error(
                    f"the comparison '{ufunc.__name__}'", devices
                ) from None
            raise

    return method


Tensor.__add__, Tensor.__radd__ = _binary(ops.ADD)
Tensor.__sub__, Tensor.__rsub__ = _binary(ops.SUB)
Tensor.__mul__, Tensor.__rmul__ = _binary(ops.MUL)
Tensor.__truediv__, Tensor.__rtruediv__ = _binary(ops.DIV)
Tensor.__pow__, Tensor.__rpow__ = _binary(ops.POW)
Tensor.__matmul__, Tensor.__rmatmul__ = _binary(ops.MATMUL)
Tensor.__neg__ = lambda self: apply_unary(ops.NEG, self)
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = lambda self: apply_unary(ops.ABS, self)
Tensor.__lt__ = _compare(np.less)
Tensor.__le__ = _compare(np.less_equal)
Tensor.__gt__ = _compare(np.greater)
Tensor.__ge__ = _compare(np.greater_equal)
Tensor.__eq__ = _compare(np.equal)
Tensor.__ne__ = _compare(np.not_equal)
Tensor.__hash__ = object.__hash__


def _getitem(self, index):
    tc = type(index)
    if not (tc is int or tc is slice):
        index = ops._unwrap_index(index)
    return apply_binary(ops.GETITEM, self, index)


Tensor.__getitem__ = _getitem


def _unary(op, name, doc):
    def method(self):
        return apply_unary(op, self)

    method.__name__ = name
    method.__doc__ = doc
    return method


for _name, _op in (
    ("exp", ops.EXP), ("log", ops.LOG), ("sqrt", ops.SQRT), ("abs", ops.ABS),
    ("tanh", ops.TANH), ("relu", ops.RELU), ("sigmoid", ops.SIGMOID),
    ("softplus", ops.SOFTPLUS), ("erf", ops.ERF),
):
    setattr(Tensor, _name, _unary(_op, _name, getattr(ops, _name).__doc__))


def _reduction(op, name):
    def method(self, axis=None, keepdims=False):
        return apply(op, self, axis=ops._axis(axis), keepdims=keepdims)

    method.__name__ = name
    method.__doc__ = getattr(ops, name).__doc__
    return method


for _name, _op in (("sum", ops.SUM), ("mean", ops.MEAN), ("max", ops.MAX), ("min", ops.MIN)):
    setattr(Tensor, _name, _reduction(_op, _name))


def _method(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


for _name in (
    "clip", "var", "logsumexp", "softmax", "log_softmax", "transpose", "swapaxes", "squeeze",
    "expand_dims", "broadcast_to", "astype",
):
    setattr(Tensor, _name, _method(getattr(ops, _name)))


def _reshape(self, *shape):
    """Same data, new shape (``t.reshape(2, 3)`` or ``t.reshape((2, 3))``)."""
    if len(shape) == 1 and not ops._is_int(shape[0]):
        shape = tuple(shape[0])
    return apply(ops.RESHAPE, self, tuple(shape))


def _flatten(self):
    """A 1-D view of all elements."""
    return apply(ops.RESHAPE, self, (-1,))


def _activation(self, activation):
    """Apply a [`plainnet.Activation`][plainnet.Activation] with its gradient (see
    ``ACTIVATION_RULES``)."""
    return ACTIVATION_RULES[activation.name](self, activation)


Tensor.reshape = _reshape
Tensor.flatten = _flatten
Tensor.activation = _activation
Tensor.to_dot = to_dot
Tensor.T = property(lambda self: apply(ops.TRANSPOSE, self), doc="The transpose (axes reversed).")


# --------------------------------------------------------------------------- PyTorch's names
for _name, _op in (
    ("sin", ops.SIN), ("cos", ops.COS), ("tan", ops.TAN), ("log1p", ops.LOG1P),
    ("expm1", ops.EXPM1), ("log2", ops.LOG2), ("log10", ops.LOG10), ("square", ops.SQUARE),
    ("rsqrt", ops.RSQRT), ("reciprocal", ops.RECIPROCAL), ("sign", ops.SIGN),
    ("floor", ops.FLOOR), ("ceil", ops.CEIL),
):
    setattr(Tensor, _name, _unary(_op, _name, getattr(ops, _name).__doc__))

for _name in (
    "round", "std", "prod", "norm", "cumsum", "cumprod", "argmax", "argmin", "sort", "topk",
    "median",
    "gather", "take_along_axis", "scatter_add", "index_select", "masked_fill", "tile",
    "repeat_interleave", "flip", "roll", "split", "chunk", "tril", "triu", "diag", "outer",
    "tensordot",
):
    setattr(Tensor, _name, _method(getattr(ops, _name)))


def _sizes(sizes, what: str) -> tuple:
    """``t.f(2, 3)`` or ``t.f((2, 3))``: the sizes as a tuple of ints."""
    if len(sizes) == 1 and not ops._is_int(sizes[0]):
        sizes = tuple(sizes[0])
    if not all(ops._is_int(s) for s in sizes):
        raise TypeError(f"{what} takes ints; got {sizes}")
    return tuple(int(s) for s in sizes)


def _permute(self, *dims):
    """The axes in the order ``dims`` (PyTorch's name for `transpose()` with axes)."""
    dims = _sizes(dims, "permute")
    if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
        raise ValueError(f"permute: dims {dims} must name each of the {self.ndim} axes once")
    return ops.transpose(self, dims)


def _unsqueeze(self, dim):
    """A new axis of length 1 at ``dim`` (PyTorch's name for `expand_dims()`)."""
    return ops.expand_dims(self, dim)


def _view(self, *shape):
    """PyTorch's name for `reshape()` (a copy where a view is impossible: plainnet never
    shares memory between tensors of the graph)."""
    return _reshape(self, *shape)


def _expand(self, *sizes):
    """``self`` broadcast to ``sizes``, as `torch.Tensor.expand()`: -1 keeps an axis's
    length; new axes go in front."""
    sizes = _sizes(sizes, "expand")
    lead = len(sizes) - self.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes for a tensor of {self.ndim} dimensions")
    shape = tuple(
        self.shape[k - lead] if s == -1 and k >= lead else s for k, s in enumerate(sizes)
    )
    if any(s < 0 for s in shape):
        raise ValueError(f"expand: -1 is only allowed for existing axes; got {sizes}")
    try:
        np.broadcast_shapes(self.shape, shape)
    except ValueError:
        raise ValueError(f"expand: a tensor of shape {self.shape} can't expand to {shape} "
                         "(only axes of length 1 grow)") from None
    return ops.broadcast_to(self, shape)


def _repeat(self, *sizes):
    """The tensor repeated ``sizes`` times along each axis, as `torch.Tensor.repeat()`
    (NumPy's `numpy.tile()`; NumPy's ``repeat`` is `repeat_interleave()`)."""
    sizes = _sizes(sizes, "repeat")
    if len(sizes) < self.ndim:
        raise ValueError(f"repeat: give at least as many sizes as dimensions ({self.ndim}); "
                         f"got {sizes}")
    return ops.tile(self, sizes)


def _converter(dtype, name):
    def method(self):
        if np.dtype(dtype).kind != "f":  # an integer result is a constant, as in PyTorch
            return Tensor(self.data.astype(dtype))
        return self.astype(dtype)

    method.__name__ = name
    method.__doc__ = f"The values as {np.dtype(dtype).name} (the gradient is converted back)."
    return method


Tensor.permute = _permute
Tensor.unsqueeze = _unsqueeze
Tensor.view = _view
Tensor.expand = _expand
Tensor.repeat = _repeat
Tensor.float = _converter(np.float32, "float")
Tensor.double = _converter(np.float64, "double")
Tensor.half = _converter(np.float16, "half")
Tensor.long = _converter(np.int64, "long")
Tensor.dim = lambda self: self.ndim
Tensor.dim.__doc__ = "The number of dimensions (PyTorch's name for ``ndim``)."
Tensor.numel = lambda self: self.size
Tensor.numel.__doc__ = "The number of elements (PyTorch's name for ``size``)."


def _gelu(t, act):
    if act.approximate == "tanh":
        c = float(np.sqrt(2 / np.pi))
        return 0.5 * t * (1 + (c * (t + 0.044715 * t * t * t)).tanh())
    return 0.5 * t * (1 + ops.erf(t / float(np.sqrt(2))))


def _elu(t, act):
    positive = t.data > 0
    # exp of the non-positive part only: no overflow, and elu'(0) = alpha as documented
    return ops.where(positive, t, act.alpha * (ops.exp(ops.where(positive, 0.0, t)) - 1))


ACTIVATION_RULES = {
    "sigmoid": lambda t, act: apply_unary(ops.SIGMOID, t),
    "tanh": lambda t, act: apply_unary(ops.TANH, t),
    "relu": lambda t, act: apply_unary(ops.RELU, t),
    "softplus": lambda t, act: apply_unary(ops.SOFTPLUS, t),
    "identity": lambda t, act: t,
    "step": lambda t, act: Tensor(act.forward(t.data)),
    "leaky_relu": lambda t, act: ops.where(t.data > 0, t, t * act.negative_slope),
    "elu": _elu,
    "gelu": _gelu,
}
"""How each activation differentiates on Tensors: a primitive op or a composition of ops (so
second derivatives are exact too). The step function's derivative is 0: its result is a
constant."""
ACTIVATION_RULES.update(ops.ACTIVATION_RULES)  # the activations section of ops.py
