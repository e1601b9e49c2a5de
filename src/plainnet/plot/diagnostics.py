"""Pictures of a [`Watch`][plainnet.diagnostics.Watch]: the histograms and the update-ratio curve
of Karpathy's makemore lecture on activations and gradients, for any plainnet model."""

from __future__ import annotations

import numpy as np

from ._figure import figure_and_axes


def _watch_of(w):
    w = getattr(w, "watch", w)
    if not hasattr(w, "layers") or not hasattr(w, "parameters"):
        raise TypeError(
            "expected a plainnet.diagnostics.Watch (or the Diagnostics callback); "
            f"got {type(w).__name__}"
        )
    return w


def _layers(w, kinds, attribute: str):
    chosen = [
        rec for rec in w.layers.values()
        if getattr(rec, attribute) is not None and (kinds is None or rec.kind in kinds)
    ]
    if not chosen:
        raise ValueError(
            f"nothing recorded to draw ({attribute} of layers of kinds {kinds or 'any'}); "
            "train the watched model for at least one step"
        )
    return chosen


def _histograms(ax, records, attribute: str, bins: int, label):
    for rec in records:
        values = getattr(rec, attribute)
        counts, edges = np.histogram(values, bins=bins, density=True)
        centers = (edges[:-1] + edges[1:]) / 2
        ax.plot(centers, counts, label=label(rec))
    ax.legend(fontsize="small")


def _kinds(kind):
    if kind is None:
        return ("tanh", "sigmoid", "relu")
    if kind == "all":
        return None
    return (kind,) if isinstance(kind, str) else tuple(kind)


def activation_histograms(watch, kind: str | None = None, bins: int = 50, ax=None):
    """Histograms of each layer's outputs at the last recorded step, one curve per layer.

    Parameters
    ----------
    watch : Watch or plainnet.callbacks.Diagnostics
        What recorded the training.
    kind : str, optional
        ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"layer"`` or ``"all"``; default every
        activation layer. The legend gives each layer's mean, std and saturated (or dead)
        fraction.
    bins : int, default 50
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    w = _watch_of(watch)
    records = _layers(w, _kinds(kind), "values")
    fig, ax = figure_and_axes(ax, figsize=(7, 3.5))

    def label(rec):
        extra = f", dead {rec.dead[-1]:.0%}" if rec.kind == "relu" else (
            f", saturated {rec.saturated[-1]:.0%}" if rec.kind in ("tanh", "sigmoid") else "")
        return f"{rec.name} ({rec.module_type}): mean {rec.mean[-1]:+.2f}, std {rec.std[-1]:.2f}" \
            + extra

    _histograms(ax, records, "values", bins, label)
    ax.set_title("activation distribution")
    ax.set_xlabel("output value")
    return fig


def gradient_histograms(watch, kind: str | None = None, bins: int = 50, ax=None):
    """Histograms of the gradient reaching each layer's output at the last recorded step.

    Same arguments as `activation_histograms()`; the legend gives each layer's gradient
    mean and std.
    """
    w = _watch_of(watch)
    records = _layers(w, _kinds(kind), "gradients")
    fig, ax = figure_and_axes(ax, figsize=(7, 3.5))

    def label(rec):
        return f"{rec.name} ({rec.module_type}): mean {rec.grad_mean[-1]:+.1e}, " \
            f"std {rec.grad_std[-1]:.1e}"

    _histograms(ax, records, "gradients", bins, label)
    ax.set_title("gradient distribution")
    ax.set_xlabel("gradient of the loss with respect to the output")
    return fig


def update_ratios(watch, ax=None):
    """$\\log_{10}$ of the update-to-data ratio of every weight matrix over the recorded
    steps, with the healthy $10^{-3}$ dashed.

    Parameters
    ----------
    watch : Watch or plainnet.callbacks.Diagnostics
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    w = _watch_of(watch)
    shapes = {name: p.shape for name, p in w.model.named_parameters()}
    records = [r for name, r in w.parameters.items() if len(shapes.get(name, ())) >= 2
               and r.update_ratio]
    if not records:
        raise ValueError("no update recorded: train the watched model for at least one step")
    fig, ax = figure_and_axes(ax, figsize=(7, 3.5))
    for rec in records:
        ratios = np.asarray(rec.update_ratio, dtype=float)
        with np.errstate(divide="ignore"):
            ax.plot(rec.steps, np.log10(ratios), label=rec.name)
    ax.axhline(-3, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylabel("log10(update std / weight std)")
    ax.set_title("update-to-data ratio")
    ax.legend(fontsize="small")
    return fig
