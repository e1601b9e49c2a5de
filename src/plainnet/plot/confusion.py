"""Confusion matrices: which true classes the model mistakes for which."""

from __future__ import annotations

import numpy as np

from ._figure import as_labels, comparable_labels, figure_and_axes, predict_classes

NORMALIZE = (None, "true", "pred", "all")
MAX_ANNOTATED = 30
"""Above this many classes the cells are coloured but not labelled with numbers."""


def confusion_counts(y_true, y_pred, labels=None) -> np.ndarray:
    """Count the (true, predicted) label pairs.

    $C_{ij} = \\#\\{s : y_s = \\ell_i,\\ \\hat y_s = \\ell_j\\}$: rows are true classes,
    columns predicted ones, in the order of ``labels`` (default: every label that occurs in
    either array, sorted), the same layout as ``sklearn.metrics.confusion_matrix``. Samples
    whose true or predicted label is not in ``labels`` are not counted.

    Parameters
    ----------
    y_true, y_pred : array of shape (n,)
        True and predicted labels (numbers or strings; one-hot rows are read by argmax).
    labels : array of shape (k,), optional
        The classes, in the order of the rows and columns.

    Returns
    -------
    ndarray of int64, shape (k, k)
    """
    y_true = np.asarray(getattr(y_true, "data", y_true))
    if y_true.ndim == 0:
        raise ValueError(f"y_true must be an array of labels; got the scalar {y_true!r}")
    y_true = as_labels(y_true, len(y_true), "y_true")
    y_pred = as_labels(y_pred, len(y_true), "y_pred")
    y_true, y_pred = comparable_labels(y_true, y_pred)
    labels = _labels(labels, y_true, y_pred)
    k = len(labels)
    t, t_ok = _index(labels, y_true)
    p, p_ok = _index(labels, y_pred)
    ok = t_ok & p_ok
    counts = np.bincount(t[ok] * k + p[ok], minlength=k * k)
    return counts.reshape(k, k).astype(np.int64)


def normalize_counts(counts: np.ndarray, normalize: str | None) -> np.ndarray:
    """Counts as fractions of each true class (``"true"``: rows sum to 1), of each predicted
    class (``"pred"``: columns sum to 1) or of all samples (``"all"``); ``None`` leaves them.
    An empty row or column stays 0."""
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {NORMALIZE}; got {normalize!r}")
    if normalize is None:
        return counts
    axis = {"true": 1, "pred": 0, "all": None}[normalize]
    totals = counts.sum(axis=axis, keepdims=axis is not None)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = counts / totals
    return np.nan_to_num(out, nan=0.0)


def confusion_matrix(model, X, y, labels=None, normalize: str | None = None, *,
                     threshold: float | None = None, ax=None):
    """Draw the confusion matrix of ``model`` on ``(X, y)``, with the count in each cell.

    Predictions are read from ``model`` as in `decision_boundary()` (argmax of class
    scores, a threshold on one column, or labels). The title gives the accuracy
    $\\operatorname{tr} C / \\sum_{ij} C_{ij}$.

    Parameters
    ----------
    model : plainnet Module, scikit-learn-style classifier or callable
    X : array-like of shape (n, ...)
        Inputs, passed to the model as they are.
    y : array of shape (n,)
        True labels (one-hot rows are read by argmax).
    labels : array of shape (k,), optional
        Classes in the order of rows and columns (default: all that occur, sorted).
    normalize : {None, "true", "pred", "all"}
        Colour by counts, or by fractions of each true class, predicted class or of all;
        cells then show the fraction and, in brackets, the count.
    threshold : float, optional
        Cut for a single output column (default: 0.5 for probabilities, 0 for logits).
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {NORMALIZE}; got {normalize!r}")
    try:
        n = len(X)
    except TypeError as err:
        raise TypeError(f"X must be an array of samples; got {type(X).__name__}") from err
    if n == 0:
        raise ValueError("X is empty: a confusion matrix needs at least one sample")
    y_true = as_labels(y, n)
    y_pred = predict_classes(model, X, threshold)
    y_true, y_pred = comparable_labels(y_true, y_pred)
    labels = _labels(labels, y_true, y_pred)
    counts = confusion_counts(y_true, y_pred, labels)
    values = normalize_counts(counts, normalize)

    k = len(labels)
    side = 2.5 + 0.45 * k
    fig, ax = figure_and_axes(ax, figsize=(min(side + 1.2, 14), min(side, 13)))
    image = ax.imshow(values, cmap="Blues", vmin=0, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="count" if normalize is None else f"fraction ({normalize})")
    if k <= MAX_ANNOTATED:
        dark = values > (values.max() / 2 if values.max() > 0 else 1)
        for i in range(k):
            for j in range(k):
                text = str(counts[i, j]) if normalize is None else \
                    f"{values[i, j]:.2f}\n({counts[i, j]})"
                ax.text(j, i, text, ha="center", va="center", fontsize="small",
                        color="white" if dark[i, j] else "black")
    names = [str(label) for label in labels]
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 3 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    total = counts.sum()
    accuracy = np.trace(counts) / total if total else float("nan")
    ax.set_title(f"confusion matrix (accuracy {accuracy:.3f})")
    return fig


def _labels(labels, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    if labels is None:
        found = np.unique(np.concatenate([y_true, y_pred]))
        if len(found) == 0:
            raise ValueError("no labels: y_true and y_pred are empty and labels was not given")
        return found
    arr = np.asarray(labels)
    if arr.ndim != 1 or len(arr) == 0:
        raise ValueError(f"labels must be a non-empty 1-D list of classes; got shape {arr.shape}")
    if y_true.dtype.kind not in "biuf" or y_pred.dtype.kind not in "biuf":
        arr = arr.astype(str)
    if len(np.unique(arr)) != len(arr):
        raise ValueError(f"labels must not repeat; got {labels!r}")
    return arr


def _index(labels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each value in ``labels`` and whether it is there at all."""
    try:
        order = np.argsort(labels, kind="stable")
        ranked = labels[order]
        pos = np.clip(np.searchsorted(ranked, values), 0, len(labels) - 1)
        found = ranked[pos] == values
    except TypeError as err:
        raise TypeError(
            f"labels ({labels.dtype}) and predictions ({values.dtype}) cannot be compared"
        ) from err
    return order[pos], np.asarray(found, dtype=bool)
