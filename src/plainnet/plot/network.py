"""A diagram of a network: its layers of neurons, the connections, the activations."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ._figure import new_figure

LAYER_GAP = 3.0
"""Horizontal distance between layers, in units of the vertical distance between neurons."""
RADIUS = 0.3


def network(model, *, max_neurons: int = 12):
    """Draw ``model`` as layers of neurons joined by their weights.

    Every [`plainnet.nn.Linear`][plainnet.nn.Linear] layer ``Linear(n_in, n_out)`` computes
    $a = \\phi(W x + b)$ with one row of $W$ per neuron, so the diagram has a column
    of ``n_in`` input neurons followed by one column per ``Linear`` with ``n_out`` neurons, every
    neuron connected to every neuron of the column before. The name of each layer that acts on a
    column (its activation, Dropout, BatchNorm1d, ...) is written below that column.

    Parameters
    ----------
    model : plainnet Module (e.g. ``pn.nn.Sequential``), a single Linear, or a list of layers
        Linear layers are found as modules with integer ``in_features`` and ``out_features``.
    max_neurons : int
        At most this many neurons are drawn per column; a larger layer is drawn as its first
        and last neurons with a vertical ellipsis between, and its true size is written above.

    Returns
    -------
    matplotlib.figure.Figure
    """
    max_neurons = check_int(max_neurons, "max_neurons", minimum=2)
    sizes, notes = _layers(model)
    columns = [_positions(n, max_neurons) for n in sizes]
    tallest = max(len(ys) + (n > max_neurons) for n, (ys, _) in zip(sizes, columns, strict=True))

    fig = new_figure(figsize=(max(4.0, 1.9 * len(sizes) + 1.0), 0.42 * tallest + 2.2))
    ax = fig.add_subplot()
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Circle

    edges = []
    for i in range(len(sizes) - 1):
        x0, x1 = i * LAYER_GAP, (i + 1) * LAYER_GAP
        for ya in columns[i][0]:
            for yb in columns[i + 1][0]:
                edges.append([(x0 + RADIUS, ya), (x1 - RADIUS, yb)])
    ax.add_collection(LineCollection(edges, colors="0.55", linewidths=0.5, alpha=0.5,
                                     zorder=1))

    top = (tallest - 1) / 2
    for i, (n, (ys, gap)) in enumerate(zip(sizes, columns, strict=True)):
        x = i * LAYER_GAP
        role = "input" if i == 0 else "output" if i == len(sizes) - 1 else f"hidden {i}"
        color = {"input": "tab:blue", "output": "tab:green"}.get(role, "tab:orange")
        for y in ys:
            ax.add_patch(Circle((x, y), RADIUS, facecolor=color, edgecolor="black",
                                linewidth=0.8, zorder=3))
        if gap is not None:
            ax.plot([x] * 3, [gap - 0.25, gap, gap + 0.25], linestyle="none", marker="o",
                    markersize=2.5, color="black", zorder=3)
        ax.text(x, top + 0.8, f"{role}\n{n}", ha="center", va="bottom", fontsize="small")
        if notes[i]:
            ax.text(x, -top - 0.8, "\n".join(notes[i]), ha="center", va="top",
                    fontsize="small", style="italic")

    lowest_note = max((len(note) for note in notes), default=0)
    ax.set_xlim(-LAYER_GAP / 2, (len(sizes) - 1) * LAYER_GAP + LAYER_GAP / 2)
    ax.set_ylim(-top - 1.0 - 0.45 * lowest_note, top + 1.9)
    ax.set_aspect("equal")
    ax.axis("off")
    count = _count_parameters(model)
    title = type(model).__name__ if count is None else \
        f"{type(model).__name__}: {count:,} parameters"
    ax.set_title(title, fontsize="medium")
    return fig


def _layers(model) -> tuple[list[int], list[list[str]]]:
    """Neurons per column, and the names of the non-Linear layers acting on each column."""
    sizes: list[int] = []
    notes: list[list[str]] = [[]]
    for layer in _leaves(model):
        if _is_linear(layer):
            n_in, n_out = int(layer.in_features), int(layer.out_features)
            if sizes and sizes[-1] != n_in:
                raise ValueError(
                    f"{type(layer).__name__}(in_features={n_in}) follows a layer with "
                    f"{sizes[-1]} outputs: the model is not a chain of Linear layers"
                )
            if not sizes:
                sizes.append(n_in)
            sizes.append(n_out)
            notes.append([])
        else:
            notes[-1].append(_name(layer))
    if not sizes:
        raise ValueError(
            f"network() draws models made of Linear layers; found none in {type(model).__name__}"
        )
    return sizes, notes


def _leaves(model, root: bool = True):
    if _is_linear(model):
        yield model
        return
    children = getattr(model, "named_children", None)
    if callable(children):
        subs = [child for _, child in children()]
    elif isinstance(model, (list, tuple)):
        subs = list(model)
    elif not root:
        subs = []
    else:
        raise TypeError(
            "model must be a plainnet Module (e.g. Sequential of Linear layers) or a list of "
            f"layers; got {type(model).__name__}"
        )
    if not subs:
        yield model
        return
    for child in subs:
        yield from _leaves(child, root=False)


def _name(layer) -> str:
    """A module's class name; a plain function's (or activation object's) own name."""
    if callable(getattr(layer, "named_children", None)):
        return type(layer).__name__
    for attr in ("name", "__name__"):
        value = getattr(layer, attr, None)
        if isinstance(value, str):
            return value
    return type(layer).__name__


def _is_linear(layer) -> bool:
    sizes = (getattr(layer, "in_features", None), getattr(layer, "out_features", None))
    return all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes)


def _positions(n: int, cap: int) -> tuple[list[float], float | None]:
    """Centres of the drawn neurons of an ``n``-neuron column, and where the ellipsis goes."""
    if n <= cap:
        return [(n - 1) / 2 - j for j in range(n)], None
    upper = cap // 2
    slots = cap + 1
    ys = [(slots - 1) / 2 - j for j in range(slots)]
    return ys[:upper] + ys[upper + 1:], ys[upper]


def _count_parameters(model) -> int | None:
    parameters = getattr(model, "parameters", None)
    if not callable(parameters):
        return None
    try:
        return int(sum(np.size(getattr(p, "data", p)) for p in parameters()))
    except TypeError:
        return None
