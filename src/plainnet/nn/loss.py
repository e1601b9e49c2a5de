"""PyTorch-style loss modules: ``criterion = pn.nn.CrossEntropyLoss(); criterion(logits, y)``.

Each wraps the function of [`plainnet.losses`][plainnet.losses] of the same name (where the formulas
are) and is called as ``criterion(input, target, sample_weight=None)``. """

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
    """Mean squared error, [`plainnet.losses.mse()`][plainnet.losses.mse]."""

    function_name = "mse"


class L1Loss(_Loss):
    """Mean absolute error, [`plainnet.losses.mae()`][plainnet.losses.mae]."""

    function_name = "mae"


class HuberLoss(_Loss):
    """Huber loss with threshold ``delta``, [`plainnet.losses.huber()`][plainnet.losses.huber]."""

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
    """Binary cross-entropy of probabilities, [`plainnet.losses.bce()`][plainnet.losses.bce]."""

    function_name = "bce"


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits,
    [`plainnet.losses.bce_with_logits()`][plainnet.losses.bce_with_logits]."""

    function_name = "bce_with_logits"


class _ClassLoss(_Loss):
    """A loss over class labels with PyTorch's ``weight`` (per class), ``ignore_index`` and
    ``axis`` (the class axis: 1 as in PyTorch, -1 for ``(N, T, C)`` sequence logits)."""

    def __init__(self, reduction: str = "mean", weight=None, ignore_index: int = -100,
                 axis: int = 1):
        super().__init__(reduction)
        if weight is not None:
            import numpy as np

            weight = np.asarray(weight.data if hasattr(weight, "data") else weight, float)
            if weight.ndim != 1:
                raise ValueError(f"weight must be one number per class; got shape {weight.shape}")
        self.weight = weight
        self.ignore_index = int(ignore_index)
        self.axis = int(axis)

    def _options(self) -> dict:
        options = {}  # PyTorch's defaults are left out (and out of the repr)
        if self.ignore_index != -100:
            options["ignore_index"] = self.ignore_index
        if self.axis != 1:
            options["axis"] = self.axis
        if self.weight is not None:
            options["weight"] = self.weight
        return options

    def get_config(self) -> dict:
        config = super().get_config()
        if self.weight is not None:
            config["weight"] = self.weight.tolist()
        return config


class CrossEntropyLoss(_ClassLoss):
    """Cross-entropy of logits with labels or probabilities,
    [`plainnet.losses.cross_entropy()`][plainnet.losses.cross_entropy] (``weight``,
    ``ignore_index``, ``axis``, ``label_smoothing`` as there)."""

    function_name = "cross_entropy"

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0, weight=None,
                 ignore_index: int = -100, axis: int = 1):
        super().__init__(reduction, weight, ignore_index, axis)
        self.label_smoothing = _losses()._check_smoothing(label_smoothing)

    def _options(self) -> dict:
        return {"label_smoothing": self.label_smoothing, **super()._options()}


class NLLLoss(_ClassLoss):
    """Negative log-likelihood of log-probabilities, [`plainnet.losses.nll()`][plainnet.losses.nll]
    (``weight``, ``ignore_index``, ``axis`` as there)."""

    function_name = "nll"
