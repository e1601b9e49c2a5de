"""The activation functions and their derivatives, side by side (the notes' first pictures)."""

from __future__ import annotations

import numpy as np

DEFAULT = ("step", "sigmoid", "tanh", "relu", "leaky_relu", "softplus")


def activations(names=DEFAULT, x=None, *, figsize=None):
    """Draw each activation (left) next to its derivative (right), one row per activation.

    The first row, the step function, is where the notes begin: it jumps, so its derivative
    is 0 everywhere (undefined at 0) and gives gradient descent nothing to follow; the smooth
    sigmoid below it has a derivative $\\sigma(v)(1 - \\sigma(v))$ everywhere.

    Parameters
    ----------
    names : str, sequence of str or Activation, default step, sigmoid, tanh, relu,
        leaky_relu, softplus
        What to draw; ``"all"`` draws every activation of `plainnet.ACTIVATIONS`.
    x : array_like, optional
        Where to evaluate them (default 501 points on [-5, 5]).
    figsize : (width, height), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    from ..functions import ACTIVATIONS, get_activation

    if isinstance(names, str):
        names = [n for n in ACTIVATIONS if n != "linear"] if names == "all" else [names]
    acts = [get_activation(n) for n in names]
    if not acts:
        raise ValueError("names must list at least one activation")
    x = np.linspace(-5.0, 5.0, 501) if x is None else np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"x must be a 1-D array of at least 2 finite numbers; got {x.shape}")
    x = np.sort(x)
    fig = Figure(figsize=figsize or (8.0, 2.1 * len(acts) + 0.6), layout="constrained")
    axes = fig.subplots(len(acts), 2, squeeze=False, sharex=True)
    for (left, right), act in zip(axes, acts, strict=True):
        name = getattr(act, "name", type(act).__name__)
        left.plot(x, act(x), color="tab:blue", linewidth=2)
        right.plot(x, act.derivative(x), color="tab:orange", linewidth=2)
        left.set_ylabel(name)
        for ax in (left, right):
            ax.axhline(0, color="0.6", linewidth=0.6)
            ax.axvline(0, color="0.6", linewidth=0.6)
            ax.grid(alpha=0.3)
    axes[0, 0].set_title("f(v)")
    axes[0, 1].set_title("f'(v)")
    axes[-1, 0].set_xlabel("v (the weighted sum of the inputs)")
    axes[-1, 1].set_xlabel("v")
    return fig
