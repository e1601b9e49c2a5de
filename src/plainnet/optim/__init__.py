"""Optimizers over model parameters (``SGD``, ``Adam``, ...), gradient clipping, lr schedules.

The names, defaults and update equations are PyTorch's (``torch.optim``); the update math itself is
[`plainnet.optimize.rules`][plainnet.optimize.rules], shared with `plainnet.optimize.minimize()`.

>>> import plainnet as pn
>>> w = pn.tensor([3.0, -2.0], requires_grad=True)
>>> opt = pn.optim.SGD([w], lr=0.1)
>>> for _ in range(100):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> bool(abs(w.data).max() < 1e-8)
True
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm, clip_grad_norm_, clip_grad_value, clip_grad_value_
from .lr_scheduler import (
    ChainedScheduler,
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiplicativeLR,
    MultiStepLR,
    OneCycleLR,
    PolynomialLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)
from .optimizer import Optimizer
from .registry import OPTIMIZERS, get_optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "SequentialLR",
    "Optimizer",
    "RMSprop",
    "ReduceLROnPlateau",
    "StepLR",
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value",
    "clip_grad_value_",
    "get_optimizer",
    "lr_scheduler",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
