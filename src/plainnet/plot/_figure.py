"""Shared plumbing of the pictures: figures without pyplot, and class labels from any model.

Figures are made with `matplotlib.figure.Figure` directly, not ``pyplot``: nothing global
changes (no current figure, no GUI backend, no figure kept alive by a manager), so the pictures
work in scripts, servers and tests without a display. ``fig.savefig(...)`` renders with Agg.
"""

from __future__ import annotations

import numpy as np


def new_figure(figsize: tuple[float, float] | None = None, **kwargs):
    """A new pyplot-free `matplotlib.figure.Figure` (constrained layout by default)."""
    from matplotlib.figure import Figure

    kwargs.setdefault("layout", "constrained")
    return Figure(figsize=figsize, **kwargs)


def figure_and_axes(ax=None, figsize: tuple[float, float] | None = None):
    """``(figure, axes)``: the given Axes and its figure, or a new figure with one Axes."""
    if ax is None:
        fig = new_figure(figsize)
        return fig, fig.add_subplot()
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}")
    fig = ax.figure
    while getattr(fig, "figure", fig) is not fig:  # a SubFigure: climb to the root Figure
        fig = fig.figure
    return fig, ax


def predict_classes(model, X, threshold: float | None = None) -> np.ndarray:
    """The class label ``model`` predicts for each row of ``X``.

    ``model`` may be a plainnet Module, a scikit-learn-style estimator or a plain function of
    ``X``. Its output is read as

    - labels, when ``predict`` returns one integer (or non-numeric) label per row;
    - class scores, when it has several columns: $\\hat y_i = \\arg\\max_j s_{ij}$
      (mapped through ``model.classes_`` when the model has one);
    - one column of logits or probabilities: $\\hat y_i = [s_i > t]$, with ``t = 0.5``
      when every score lies in ``[0, 1]`` or the model ends in a ``Sigmoid``, else ``t = 0``
      (logits). Pass ``threshold`` to choose ``t`` yourself.

    Models with only ``predict_proba`` are read as class scores.
    """
    if callable(getattr(model, "predict", None)):
        out = model.predict(X)
    elif callable(getattr(model, "predict_proba", None)):
        out = model.predict_proba(X)
    elif callable(model):
        out = model(X)
    else:
        raise TypeError(
            "model must have predict(X) or predict_proba(X), or be callable; "
            f"got {type(model).__name__}"
        )
    out = np.asarray(getattr(out, "data", out))
    n = len(X)
    if out.ndim == 0 or len(out) != n:
        raise ValueError(
            f"the model's predictions must have one row per input ({n}); got shape {out.shape}"
        )
    if out.ndim > 2:
        raise ValueError(f"the model's predictions must be 1-D or 2-D; got shape {out.shape}")
    if out.ndim == 2 and out.shape[1] > 1:
        if out.dtype.kind not in "biuf":
            raise TypeError(f"class scores must be numeric; got dtype {out.dtype}")
        index = out.argmax(axis=1)
        classes = getattr(model, "classes_", None)
        return np.asarray(classes)[index] if classes is not None else index
    flat = out.reshape(n)
    if flat.dtype.kind != "f":
        return flat
    if threshold is None and np.all(flat == np.round(flat)):
        return flat.astype(np.int64)
    if threshold is None:
        in_unit = bool(np.all((flat >= 0) & (flat <= 1)))
        threshold = 0.5 if in_unit or _ends_in_sigmoid(model) else 0.0
    return (flat > threshold).astype(np.int64)


def _ends_in_sigmoid(model) -> bool:
    children = getattr(model, "children", None)
    if not callable(children):
        return False
    layers = list(children())
    return bool(layers) and type(layers[-1]).__name__ == "Sigmoid"


def as_2d_inputs(X, name: str = "X") -> np.ndarray:
    """``X`` as a float array of shape ``(n, d)`` with ``n >= 1``, or a clear error."""
    from .._validation import as_float_array

    arr = as_float_array(X, name)
    if arr.ndim != 2 or len(arr) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n_samples, n_features); "
                         f"got shape {arr.shape}")
    return arr


def as_labels(y, n: int, name: str = "y") -> np.ndarray:
    """``y`` as one label per row (one-hot rows become their argmax), checked to have ``n``."""
    arr = np.asarray(getattr(y, "data", y))
    if arr.ndim == 2 and arr.shape[1] > 1:
        arr = arr.argmax(axis=1)
    elif arr.ndim == 2:
        arr = arr.reshape(len(arr))
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"{name} must hold one label per sample ({n}); got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    return arr


def comparable_labels(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two label arrays that sort together: numbers stay numbers; any text makes both text."""
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        return a, b
    return a.astype(str), b.astype(str)
