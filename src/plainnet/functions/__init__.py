"""The notes' math on plain arrays: integration, the bias trick, magnitude, activations."""

from .activations import (
    ACTIVATIONS,
    Activation,
    celu,
    elu,
    gelu,
    get_activation,
    hardsigmoid,
    hardswish,
    hardtanh,
    identity,
    leaky_relu,
    log_softmax,
    logsigmoid,
    logsumexp,
    mish,
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
from .vectors import augment, fold_bias, integrate, magnitude, normalize

__all__ = [
    "ACTIVATIONS",
    "Activation",
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


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
from .neuron import Neuron  # noqa: E402

__all__ += ["Neuron"]
