r"""Learning-rate schedules with PyTorch's names and equations, checked step for step against
``torch.optim.lr_scheduler``.

A scheduler changes ``group["lr"]`` of its optimizer's parameter groups; call
``scheduler.step()`` once per epoch, *after* the epoch's ``optimizer.step()`` calls
(``OneCycleLR`` and ``CyclicLR`` once per batch; ``ReduceLROnPlateau.step(metric)`` takes the
monitored value). Making a scheduler records each group's ``"initial_lr"`` and counts as epoch 0.

=============================  =============================================================
schedule                       learning rate at epoch $t$
=============================  =============================================================
``StepLR``                     $\eta_0 \gamma^{\lfloor t / s \rfloor}$
``MultiStepLR``                $\eta_0 \gamma^{\#\{m \le t\}}$
``ExponentialLR``              $\eta_0 \gamma^t$
``ConstantLR``                 $\eta_0 f$ before ``total_iters``, then $\eta_0$
``LinearLR``                   $\eta_0 (s + (e - s) \min(t, T)/T)$ (warm-up)
``PolynomialLR``               $\eta_0 (1 - \min(t, T)/T)^p$
``LambdaLR``                   $\eta_0 \lambda(t)$
``MultiplicativeLR``           $\eta_{t-1} \lambda(t)$
``CosineAnnealingLR``          cosine from $\eta_0$ to $\eta_{min}$ in ``T_max``
``CosineAnnealingWarmRestarts``  the same, restarted every $T_i$ epochs
``OneCycleLR``                 up to ``max_lr`` and down, momentum the other way (per batch)
``CyclicLR``                   triangles between ``base_lr`` and ``max_lr`` (per batch)
``SequentialLR``               one schedule after another at milestones
``ChainedScheduler``           several at once
``ReduceLROnPlateau``          times ``factor`` when a metric stops improving
=============================  =============================================================
"""

from .base import LRScheduler
from .compose import ChainedScheduler, SequentialLR
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cyclic import CyclicLR, OneCycleLR
from .decay import (
    ConstantLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)
from .plateau import ReduceLROnPlateau

__all__ = [
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
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
