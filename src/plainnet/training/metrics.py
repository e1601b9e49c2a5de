"""Metrics computed from a model's outputs during training: name -> function(output, y)."""

from __future__ import annotations

import numpy as np


def predicted_labels(output: np.ndarray, loss_name: str | None = None) -> np.ndarray:
    """Class labels from raw model outputs.

    Several columns: the argmax. One column (binary): ``output > 0`` for logits
    (``bce_with_logits``), ``output > 0.5`` for probabilities (``bce``).
    """
    if output.ndim == 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    flat = output.reshape(len(output))
    cut = 0.5 if loss_name == "bce" else 0.0
    return (flat > cut).astype(np.int64)


def accuracy(output: np.ndarray, y: np.ndarray, loss_name: str | None = None) -> float:
    r"""Fraction of correct labels: :math:`\frac1m \sum_i [\hat y_i = y_i]`.

    ``y`` may be integer labels, or one-hot / probability rows (compared by argmax).
    """
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)
    return float(np.mean(predicted_labels(output, loss_name) == y.reshape(len(y))))


def mse(output: np.ndarray, y: np.ndarray, loss_name: str | None = None) -> float:
    r"""Mean squared error :math:`\frac1m \sum (\hat y - y)^2`."""
    return float(np.mean((output.reshape(y.shape) - y) ** 2))


def mae(output: np.ndarray, y: np.ndarray, loss_name: str | None = None) -> float:
    r"""Mean absolute error :math:`\frac1m \sum |\hat y - y|`."""
    return float(np.mean(np.abs(output.reshape(y.shape) - y)))


def r2(output: np.ndarray, y: np.ndarray, loss_name: str | None = None) -> float:
    r"""Coefficient of determination :math:`1 - \sum (y - \hat y)^2 / \sum (y - \bar y)^2`."""
    pred = output.reshape(y.shape)
    ss_res = float(np.sum((y - pred) ** 2))
    ss_tot = float(np.sum((y - y.mean(axis=0)) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0


METRICS = {"accuracy": accuracy, "mse": mse, "mae": mae, "r2": r2}

CLASSIFICATION_LOSSES = {"cross_entropy", "nll", "bce", "bce_with_logits"}


def get_metric(metric):
    """A metric function by name (or a callable ``(output, y) -> float`` as is)."""
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    if metric in METRICS:
        return metric, METRICS[metric]
    raise ValueError(f"unknown metric {metric!r}; choose from {sorted(METRICS)} or a callable")
