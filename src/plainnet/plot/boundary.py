"""Decision regions of a classifier on two input features."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ._figure import (
    as_2d_inputs,
    as_labels,
    comparable_labels,
    figure_and_axes,
    predict_classes,
)


def decision_boundary(model, X, y, resolution: int = 200, ax=None, *,
                      threshold: float | None = None):
    """Colour the plane by the class ``model`` predicts, and scatter the data on top.

    The model is evaluated on a ``resolution`` x ``resolution`` grid spanning the data (plus a
    10% margin); each grid point $g$ gets the class $\\hat y(g)$ (argmax of class
    scores, a threshold on one column of logits or probabilities, or the label the model
    returns; see `plainnet.plot._figure.predict_classes()`). The boundary is where
    $\\hat y$ changes.

    Parameters
    ----------
    model : plainnet Module, scikit-learn-style classifier or callable
        Anything with ``predict(X)`` (or ``predict_proba(X)``) taking ``(n, 2)`` inputs.
    X : array of shape (n, 2)
        The points; exactly two features.
    y : array of shape (n,)
        Their true labels (one-hot rows are read by argmax).
    resolution : int
        Grid points per axis (at least 2).
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.
    threshold : float, optional
        Cut for a single output column (default: 0.5 for probabilities, 0 for logits).

    Returns
    -------
    matplotlib.figure.Figure
    """
    X = as_2d_inputs(X)
    if X.shape[1] != 2:
        raise ValueError(
            f"decision_boundary draws 2-D inputs: X must have 2 columns; got {X.shape[1]}"
        )
    y = as_labels(y, len(X))
    resolution = check_int(resolution, "resolution", minimum=2)
    fig, ax = figure_and_axes(ax, figsize=(5.5, 4.5))

    (x0, x1), (y0, y1) = (_span(X[:, 0]), _span(X[:, 1]))
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(X.dtype, copy=False)
    predicted = predict_classes(model, grid, threshold)

    y, predicted = comparable_labels(y, predicted)
    classes = np.unique(np.concatenate([y, predicted]))
    zz = np.searchsorted(classes, predicted).reshape(gx.shape)
    colors = _colors(len(classes))
    from matplotlib.colors import ListedColormap

    ax.contourf(gx, gy, zz, levels=np.arange(len(classes) + 1) - 0.5,
                cmap=ListedColormap(colors), alpha=0.35, antialiased=True)
    true_index = np.searchsorted(classes, y)
    for i, label in enumerate(classes):
        mask = true_index == i
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], color=colors[i], edgecolors="black",
                       linewidths=0.5, s=22, label=str(label))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("decision boundary")
    ax.legend(title="class", fontsize="small")
    return fig


def _span(column: np.ndarray) -> tuple[float, float]:
    lo, hi = float(np.min(column)), float(np.max(column))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("X must be finite to draw a decision boundary")
    pad = 0.1 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def _colors(k: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if k <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(k)]
