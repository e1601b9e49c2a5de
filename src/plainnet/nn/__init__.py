"""Neural networks: modules, layers, initializers and loss modules.

>>> import plainnet as pn
>>> model = pn.nn.Sequential(pn.nn.Linear(2, 4), pn.nn.Tanh(), pn.nn.Linear(4, 1))
>>> model.predict([[0.0, 1.0]]).shape
(1, 1)
"""

from . import functional, init
from .activation import (
    ACTIVATION_MODULES,
    CELU,
    ELU,
    GELU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    Identity,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Step,
    Tanh,
)
from .attention import MultiheadAttention
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import ModuleDict, ModuleList, ParameterList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .embedding import Embedding
from .flatten import Flatten, Unflatten
from .generation import generate
from .groupnorm import GroupNorm
from .linear import Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from .module import MODULES, Module, Parameter, module_from_spec, module_to_spec
from .normalization import LayerNorm, RMSNorm
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool1d, MaxPool2d
from .registry import register
from .rnn import GRU, LSTM, RNN, RNNBase
from .transformer import TransformerEncoder, TransformerEncoderLayer
from .upsample import Upsample

__all__ = [
    "ModuleDict",
    "ModuleList",
    "ParameterList",
    "GRU",
    "LSTM",
    "RNN",
    "RNNBase",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "Dropout2d",
    "GroupNorm",
    "MaxPool1d",
    "MaxPool2d",
    "Unflatten",
    "Upsample",
    "ACTIVATION_MODULES",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GELU",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MODULES",
    "MSELoss",
    "MultiheadAttention",
    "Module",
    "NLLLoss",
    "Parameter",
    "RMSNorm",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Step",
    "Tanh",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "CELU",
    "SELU",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LogSigmoid",
    "Mish",
    "ReLU6",
    "SiLU",
    "Softsign",
    "functional",
    "generate",
    "init",
    "module_from_spec",
    "module_to_spec",
    "register",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
