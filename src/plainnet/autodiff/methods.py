"""Tensor operators and methods, each a thin call into :mod:`plainnet.autodiff.ops`."""

from __future__ import annotations

import numbers

import numpy as np

from . import ops
from .engine import Tensor, apply


def _operand(x):
    if isinstance(x, (Tensor, numbers.Number, np.ndarray)):
        return x
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"cannot combine a Tensor with {type(x).__name__}") from err
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"cannot combine a Tensor with {type(x).__name__} of dtype {arr.dtype}")
    return arr


def _binary(op):
    def forward(self, other):
        return apply(op, self, _operand(other))

    def reflected(self, other):
        return apply(op, _operand(other), self)

    return forward, reflected


def _compare(ufunc):
    def method(self, other):
        other = other.data if isinstance(other, Tensor) else _operand(other)
        return Tensor(ufunc(self.data, other))

    return method


Tensor.__add__, Tensor.__radd__ = _binary(ops.ADD)
Tensor.__sub__, Tensor.__rsub__ = _binary(ops.SUB)
Tensor.__mul__, Tensor.__rmul__ = _binary(ops.MUL)
Tensor.__truediv__, Tensor.__rtruediv__ = _binary(ops.DIV)
Tensor.__pow__, Tensor.__rpow__ = _binary(ops.POW)
Tensor.__matmul__, Tensor.__rmatmul__ = _binary(ops.MATMUL)
Tensor.__neg__ = lambda self: apply(ops.NEG, self)
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = lambda self: apply(ops.ABS, self)
Tensor.__lt__ = _compare(np.less)
Tensor.__le__ = _compare(np.less_equal)
Tensor.__gt__ = _compare(np.greater)
Tensor.__ge__ = _compare(np.greater_equal)
Tensor.__eq__ = _compare(np.equal)
Tensor.__ne__ = _compare(np.not_equal)
Tensor.__hash__ = object.__hash__
Tensor.__getitem__ = lambda self, index: ops.getitem(self, index)


def _method(fn, doc_from=None):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__name__ = fn.__name__
    method.__doc__ = (doc_from or fn).__doc__
    return method


for _name in (
    "exp", "log", "sqrt", "abs", "sigmoid", "erf", "clip", "sum", "mean", "max", "min", "var",
    "logsumexp", "softmax", "log_softmax", "transpose", "swapaxes", "squeeze", "expand_dims",
    "broadcast_to", "astype",
):
    setattr(Tensor, _name, _method(getattr(ops, _name)))


def _reshape(self, *shape):
    """Same data, new shape (``t.reshape(2, 3)`` or ``t.reshape((2, 3))``)."""
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
        shape = tuple(shape[0])
    return ops.reshape(self, shape)


def _flatten(self):
    """A 1-D view of all elements."""
    return ops.reshape(self, (-1,))


def _tanh(self):
    r"""Hyperbolic tangent; derivative :math:`1 - \tanh^2`."""
    return apply(ops.TANH, self)


def _relu(self):
    """max(x, 0); derivative 1 where x > 0, else 0 (0 at the kink)."""
    return apply(ops.RELU, self)


def _softplus(self):
    r"""log(1 + e^x), computed stably; derivative sigmoid(x)."""
    return apply(ops.SOFTPLUS, self)


def _activation(self, activation):
    """Apply a :class:`plainnet.Activation` with its gradient (see ``ACTIVATION_RULES``)."""
    return ACTIVATION_RULES[activation.name](self, activation)


Tensor.reshape = _reshape
Tensor.flatten = _flatten
Tensor.tanh = _tanh
Tensor.relu = _relu
Tensor.softplus = _softplus
Tensor.activation = _activation
Tensor.T = property(lambda self: ops.transpose(self), doc="The transpose (axes reversed).")


def _gelu(t, act):
    if act.approximate == "tanh":
        c = float(np.sqrt(2 / np.pi))
        return 0.5 * t * (1 + (c * (t + 0.044715 * t * t * t)).tanh())
    return 0.5 * t * (1 + ops.erf(t / float(np.sqrt(2))))


def _elu(t, act):
    return ops.where(t.data > 0, t, act.alpha * (ops.exp(ops.minimum(t, 0.0)) - 1))


ACTIVATION_RULES = {
    "sigmoid": lambda t, act: apply(ops.SIGMOID, t),
    "tanh": lambda t, act: apply(ops.TANH, t),
    "relu": lambda t, act: apply(ops.RELU, t),
    "softplus": lambda t, act: apply(ops.SOFTPLUS, t),
    "identity": lambda t, act: t,
    "step": lambda t, act: Tensor(act.forward(t.data)),
    "leaky_relu": lambda t, act: ops.where(t.data > 0, t, t * act.negative_slope),
    "elu": _elu,
    "gelu": _gelu,
}
"""How each activation differentiates on Tensors: a primitive op or a composition of ops (so
second derivatives are exact too). The step function's derivative is 0: its result is a
constant."""
