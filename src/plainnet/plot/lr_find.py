"""The learning-rate range test's curve: smoothed loss against the learning rate."""

from __future__ import annotations

from ._figure import figure_and_axes


def lr_find(result, ax=None):
    """Draw a [`plainnet.lr_find()`][plainnet.lr_find] result: the smoothed loss against the
    learning rate (log
    scale), with the suggested rate (steepest descent) and a tenth of the minimum's marked.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not hasattr(result, "lrs") or not hasattr(result, "losses"):
        raise TypeError(f"lr_find expects the result of pn.lr_find; got {type(result).__name__}")
    fig, ax = figure_and_axes(ax, figsize=(6, 3.8))
    ax.semilogx(result.lrs, result.losses, label="smoothed loss")
    ax.axvline(result.steepest, color="C1", linestyle="--",
               label=f"steepest: {result.steepest:.1e}")
    ax.axvline(result.minimum / 10, color="C2", linestyle=":",
               label=f"minimum / 10: {result.minimum / 10:.1e}")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title("learning-rate range test")
    ax.legend(fontsize="small")
    return fig
