"""PyTorch-style loss modules: ``criterion = pn.nn.CrossEntropyLoss(); criterion(logits, y)``.

Each wraps the function of :mod:`plainnet.losses` of the same name (where the formulas are)
and is called as ``criterion(input, target, sample_weight=None)``.
"""

from __future__ import annotations

import importlib

from .module import Module


def _losses():
    # plainnet.losses sits one layer above nn; it is loaded on first use, not on import.
    return importlib.import_module("plainnet.losses")


class _Loss(Module):
    function_name = ""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = _losses()._check_reduction(reduction)

    def _options(self) -> dict:
        return {}

    def forward(self, input, target, sample_weight=None):
        fn = getattr(_losses(), self.function_name)
        return fn(input, target, reduction=self.reduction, sample_weight=sample_weight,
                  **self._options())

    def get_config(self) -> dict:
        return {"reduction": self.reduction, **self._options()}


class MSELoss(_Loss):
    """Mean squared error, :func:`plainnet.losses.mse`."""

    function_name = "mse"


class L1Loss(_Loss):
    """Mean absolute error, :func:`plainnet.losses.mae`."""

    function_name = "mae"


class HuberLoss(_Loss):
    """Huber loss with threshold ``delta``, :func:`plainnet.losses.huber`."""

    function_name = "huber"

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        delta = float(delta)
        if not delta > 0:
            raise ValueError(f"delta must be > 0; got {delta!r}")
        self.delta = delta

    def _options(self) -> dict:
        return {"delta": self.delta}


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities, :func:`plainnet.losses.bce`."""

    function_name = "bce"


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits, :func:`plainnet.losses.bce_with_logits`."""

    function_name = "bce_with_logits"


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits with labels or probabilities,
    :func:`plainnet.losses.cross_entropy`."""

    function_name = "cross_entropy"

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.label_smoothing = _losses()._check_smoothing(label_smoothing)

    def _options(self) -> dict:
        return {"label_smoothing": self.label_smoothing}


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities, :func:`plainnet.losses.nll`."""

    function_name = "nll"
