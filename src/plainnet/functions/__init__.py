"""The notes' math on plain arrays: integration, the bias trick, magnitude, activations."""

from .activations import (
    ACTIVATIONS,
    Activation,
    elu,
    gelu,
    get_activation,
    identity,
    leaky_relu,
    log_softmax,
    logsumexp,
    relu,
    sigmoid,
    softmax,
    softplus,
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
]
from .neuron import Neuron  # noqa: E402

__all__ += ["Neuron"]
