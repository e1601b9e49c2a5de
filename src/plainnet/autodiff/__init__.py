"""Automatic differentiation: Tensors that record operations, and reverse-mode gradients."""

from . import methods as _methods  # noqa: F401  (attaches operators and methods to Tensor)
from .engine import Op, Tensor, detect_anomaly, enable_grad, is_grad_enabled, no_grad, tensor
from .functional import check_grad, grad, hessian, jacobian, numerical_grad, value_and_grad
from .graph import to_dot
from .ops import (
    abs,
    clip,
    concatenate,
    erf,
    exp,
    expand_dims,
    log,
    max,
    maximum,
    mean,
    min,
    minimum,
    reshape,
    sqrt,
    squeeze,
    stack,
    sum,
    swapaxes,
    transpose,
    var,
    where,
)

__all__ = [
    "Op", "Tensor", "abs", "check_grad", "clip", "concatenate", "detect_anomaly", "enable_grad",
    "erf", "exp", "expand_dims", "grad", "hessian", "is_grad_enabled", "jacobian", "log", "max",
    "maximum", "mean", "min", "minimum", "no_grad", "numerical_grad", "reshape", "sqrt",
    "squeeze", "stack", "sum", "swapaxes", "tensor", "to_dot", "transpose", "value_and_grad",
    "var", "where",
]
