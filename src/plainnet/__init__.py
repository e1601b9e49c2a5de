"""plainnet: neural networks and optimization from first principles, on NumPy.

>>> import plainnet as pn
>>> float(pn.integrate([1.0, 2.0], [3.0, 4.0], b=1.0))
12.0
"""

from __future__ import annotations

import importlib

from . import autodiff
from ._version import __version__
from .autodiff import (
    Tensor,
    abs,
    check_grad,
    clip,
    concatenate,
    detect_anomaly,
    enable_grad,
    erf,
    exp,
    expand_dims,
    grad,
    hessian,
    is_grad_enabled,
    jacobian,
    log,
    max,
    maximum,
    mean,
    min,
    minimum,
    no_grad,
    numerical_grad,
    reshape,
    sqrt,
    squeeze,
    stack,
    sum,
    swapaxes,
    tensor,
    to_dot,
    transpose,
    value_and_grad,
    var,
    where,
)
from .functions import (
    ACTIVATIONS,
    Activation,
    Neuron,
    augment,
    celu,
    elu,
    fold_bias,
    gelu,
    get_activation,
    hardsigmoid,
    hardswish,
    hardtanh,
    identity,
    integrate,
    leaky_relu,
    log_softmax,
    logsigmoid,
    logsumexp,
    magnitude,
    mish,
    normalize,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    step,
    tanh,
)
from .random import seed

# Layers above autodiff load on first use, so `import plainnet` stays light and fast.
_LAZY_SUBMODULES = {
    "optimize",
    "nn",
    "losses",
    "optim",
    "callbacks",
    "training",
    "io",
    "datasets",
    "estimators",
    "plot",
    "cli",
    "backend",
    "diagnostics",
}
_LAZY_ATTRIBUTES = {
    "check_backward": "diagnostics",
    "fit": "training",
    "History": "training",
    "save": "io",
    "load": "io",
    "load_state_dict": "io",
}


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRIBUTES:
        module = importlib.import_module(f".{_LAZY_ATTRIBUTES[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'plainnet' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY_SUBMODULES | set(_LAZY_ATTRIBUTES))


__all__ = [
    "ACTIVATIONS",
    "Tensor",
    "abs",
    "autodiff",
    "check_grad",
    "clip",
    "concatenate",
    "detect_anomaly",
    "enable_grad",
    "erf",
    "exp",
    "expand_dims",
    "grad",
    "hessian",
    "is_grad_enabled",
    "jacobian",
    "log",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "no_grad",
    "numerical_grad",
    "reshape",
    "seed",
    "sqrt",
    "squeeze",
    "stack",
    "sum",
    "swapaxes",
    "tensor",
    "to_dot",
    "transpose",
    "value_and_grad",
    "var",
    "where",
    "Activation",
    "Neuron",
    "__version__",
    "augment",
    "elu",
    "fold_bias",
    "gelu",
    "get_activation",
    "identity",
    "integrate",
    "leaky_relu",
    "log_softmax",
    "logsumexp",
    "magnitude",
    "normalize",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "step",
    "tanh",
    "celu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "logsigmoid",
    "mish",
    "relu6",
    "selu",
    "silu",
    "softsign",
]
