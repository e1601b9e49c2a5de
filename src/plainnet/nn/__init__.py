"""Neural networks: modules, layers, initializers and loss modules.

>>> import plainnet as pn
>>> model = pn.nn.Sequential(pn.nn.Linear(2, 4), pn.nn.Tanh(), pn.nn.Linear(4, 1))
>>> model.predict([[0.0, 1.0]]).shape
(1, 1)
"""

from . import functional, init
from .activation import (
    ACTIVATION_MODULES,
    ELU,
    GELU,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Step,
    Tanh,
)
from .attention import MultiheadAttention
from .batchnorm import BatchNorm1d
from .container import Sequential
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .generation import generate
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
from .transformer import TransformerEncoderLayer

__all__ = [
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
    "TransformerEncoderLayer",
    "functional",
    "generate",
    "init",
    "module_from_spec",
    "module_to_spec",
]
