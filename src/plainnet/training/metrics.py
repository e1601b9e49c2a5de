"""Metrics logged by `plainnet.fit` and `plainnet.evaluate`.

Every metric has one signature, scikit-learn's and Keras's::

    metric(y_true, y_pred) -> float

``y_true`` holds the targets as the loss takes them (integer class labels for
``cross_entropy``; a column of 0/1 or of numbers otherwise), ``y_pred`` the model's raw
outputs for the same rows (logits, probabilities or values), both NumPy arrays in host
memory. A custom metric is any such callable, logged under its ``__name__`` (``"metric"``
for a lambda); a name picks a built-in one: ``"accuracy"``, ``"precision"``, ``"recall"``,
``"f1"`` (macro averages over the classes; the positive class for one output),
``"top_k_accuracy"`` (k = 5) or ``"top_3_accuracy"`` (any k), ``"mse"``, ``"mae"``, ``"r2"``.
"""

from __future__ import annotations

import functools
import re

import numpy as np

CLASSIFICATION_LOSSES = {"cross_entropy", "nll", "bce", "bce_with_logits"}


def predicted_labels(y_pred: np.ndarray, loss: str | None = None) -> np.ndarray:
    """Class labels from raw model outputs.

    Several columns: the argmax. One column (binary): ``y_pred > 0`` for logits
    (``bce_with_logits`` and other losses), ``y_pred > 0.5`` for probabilities (``bce``).
    """
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        return y_pred.argmax(axis=1)
    flat = y_pred.reshape(len(y_pred))
    cut = 0.5 if loss == "bce" else 0.0
    return (flat > cut).astype(np.int64)


def true_labels(y_true: np.ndarray) -> np.ndarray:
    """Integer labels from targets: labels as they are, one-hot or probability rows by
    argmax, a column of 0/1 flattened."""
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        return y_true.argmax(axis=1)
    return y_true.reshape(len(y_true)).astype(np.int64)


def accuracy(y_true, y_pred, loss: str | None = None) -> float:
    r"""Fraction of correct labels: $\frac1m \sum_i [\hat y_i = y_i]$."""
    return float(np.mean(predicted_labels(y_pred, loss) == true_labels(y_true)))


def _counts(y_true, y_pred, loss):
    """Per class: true positives, predicted positives, actual positives; and whether the
    task is binary (one output column: only class 1 counts)."""
    t, p = true_labels(y_true), predicted_labels(y_pred, loss)
    binary = y_pred.ndim == 1 or y_pred.shape[1] == 1
    classes = np.array([1]) if binary else np.union1d(t, p)
    tp = np.array([np.sum((p == c) & (t == c)) for c in classes], dtype=float)
    predicted = np.array([np.sum(p == c) for c in classes], dtype=float)
    actual = np.array([np.sum(t == c) for c in classes], dtype=float)
    return tp, predicted, actual


def _ratio(a, b):
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def precision(y_true, y_pred, loss: str | None = None) -> float:
    r"""Of the samples predicted as class $c$, the fraction that are:
    $TP_c / (TP_c + FP_c)$, averaged over the classes (0 for a class never predicted);
    for one output, of the positive class."""
    tp, predicted, _ = _counts(y_true, y_pred, loss)
    return float(np.mean(_ratio(tp, predicted)))


def recall(y_true, y_pred, loss: str | None = None) -> float:
    r"""Of the samples of class $c$, the fraction predicted so:
    $TP_c / (TP_c + FN_c)$, averaged over the classes; for one output, of the positive
    class."""
    tp, _, actual = _counts(y_true, y_pred, loss)
    return float(np.mean(_ratio(tp, actual)))


def f1(y_true, y_pred, loss: str | None = None) -> float:
    r"""The harmonic mean of precision and recall per class,
    $2 TP_c / (2 TP_c + FP_c + FN_c)$, averaged over the classes."""
    tp, predicted, actual = _counts(y_true, y_pred, loss)
    return float(np.mean(_ratio(2 * tp, predicted + actual)))


def top_k_accuracy(y_true, y_pred, k: int = 5) -> float:
    r"""Fraction of samples whose true class is among the ``k`` largest outputs."""
    t = true_labels(y_true)
    k = min(k, y_pred.shape[1])
    top = np.argpartition(-y_pred, k - 1, axis=1)[:, :k]
    return float(np.mean(np.any(top == t[:, None], axis=1)))


def mse(y_true, y_pred) -> float:
    r"""Mean squared error $\frac1m \sum (\hat y - y)^2$."""
    return float(np.mean((y_pred.reshape(y_true.shape) - y_true) ** 2))


def mae(y_true, y_pred) -> float:
    r"""Mean absolute error $\frac1m \sum |\hat y - y|$."""
    return float(np.mean(np.abs(y_pred.reshape(y_true.shape) - y_true)))


def r2(y_true, y_pred) -> float:
    r"""Coefficient of determination $1 - \sum (y - \hat y)^2 / \sum (y - \bar y)^2$."""
    pred = y_pred.reshape(y_true.shape)
    ss_res = float(np.sum((y_true - pred) ** 2))
    ss_tot = float(np.sum((y_true - y_true.mean(axis=0)) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0


#: The metrics by name; those that read labels from outputs also take the loss's name.
METRICS = {"accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1,
           "top_k_accuracy": top_k_accuracy, "mse": mse, "mae": mae, "r2": r2}
_NEEDS_LOSS = {"accuracy", "precision", "recall", "f1"}
_TOP_K = re.compile(r"top_(\d+)_accuracy")


def get_metric(metric, loss: str | None = None) -> tuple[str, object]:
    """``(name, f(y_true, y_pred))`` for a metric name or callable (see the module's
    docstring); ``loss`` (the loss's name) tells the label metrics how to read outputs."""
    if callable(metric):
        name = getattr(metric, "__name__", "metric")
        return ("metric" if name == "<lambda>" else name), metric
    if isinstance(metric, str):
        if metric in _NEEDS_LOSS:
            return metric, functools.partial(METRICS[metric], loss=loss)
        if metric in METRICS:
            return metric, METRICS[metric]
        found = _TOP_K.fullmatch(metric)
        if found and int(found.group(1)) >= 1:
            return metric, functools.partial(top_k_accuracy, k=int(found.group(1)))
    raise ValueError(f"unknown metric {metric!r}; choose from {sorted(METRICS)}, "
                     "'top_<k>_accuracy', or a callable f(y_true, y_pred) -> float")


def resolve(metrics, loss, loss_name: str | None) -> list[tuple[str, object]]:
    """The metrics to log: ``(name, function)`` pairs, unique names (a repeated one gets
    ``_2``, ``_3``...). The label metrics are left out for a named regression loss."""
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    out, seen = [], set()
    for m in metrics:
        name, fn = get_metric(m, loss_name)
        if (name in _NEEDS_LOSS or name.startswith("top_")) and isinstance(loss, str) \
                and loss_name not in CLASSIFICATION_LOSSES:
            continue
        base, k = name, 2
        while name in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        out.append((name, fn))
    return out
