r"""What a convolutional network sees: its feature maps on an image, and its filters.

A convolution layer's neuron ``o`` slides over the image and answers, at every position, how
strongly the patch there matches its weights: the map of those answers is *feature map* ``o``.
`feature_maps()` draws the maps each convolution of a model makes for one input;
`filters()` draws the weights themselves (the patterns the neurons look for).
"""

from __future__ import annotations

import math

import numpy as np

from ._figure import new_figure


def _conv_types():
    from ..nn import Conv1d, Conv2d, ConvTranspose2d

    return (Conv1d, Conv2d, ConvTranspose2d)


def _layers_of(model) -> list:
    from ..nn import Module, Sequential

    if isinstance(model, Sequential):
        return list(model)
    if isinstance(model, Module):
        children = list(model.children())
        if children:
            return children
        return [model]
    raise TypeError(f"model must be a plainnet Module (a Sequential); got {type(model).__name__}")


def _default_picks(layers: list) -> list[int]:
    """Each convolution's output, after the activation that follows it, if one does."""
    from ..nn.activation import ACTIVATION_MODULES

    activations = tuple(ACTIVATION_MODULES.values())
    picks = []
    for i, layer in enumerate(layers):
        if isinstance(layer, _conv_types()):
            follows = i + 1 < len(layers) and isinstance(layers[i + 1], activations)
            picks.append(i + 1 if follows else i)
    return picks


def _label(seq: list, i: int) -> str:
    """``"3: Conv2d + ReLU"`` for an activation after a convolution, else ``"i: Name"``."""
    name = type(seq[i]).__name__
    if i > 0 and isinstance(seq[i - 1], _conv_types()):
        name = f"{type(seq[i - 1]).__name__} + {name}"
    return f"{i}: {name}"


def _host(x) -> np.ndarray:
    from .. import backend

    return np.asarray(backend.to_numpy(getattr(x, "data", x)), dtype=np.float64)


def feature_maps(model, x, layers=None, max_maps: int = 16, cmap: str = "viridis"):
    r"""Draw the feature maps a model computes for one image: one row per chosen layer, one
    panel per channel (up to ``max_maps``).

    Parameters
    ----------
    model : plainnet.nn.Sequential
        The network (its layers run one by one, in eval mode, without a graph).
    x : array of shape (C, H, W) or (1, C, H, W)
        One image.
    layers : list of int, optional
        Indices of the layers whose outputs to draw. Default: every convolution, after the
        activation that follows it.
    max_maps : int, default 16
        Channels drawn per layer (the first ones).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .. import backend
    from ..autodiff import no_grad

    seq = _layers_of(model)
    picks = _default_picks(seq) if layers is None else [int(i) % len(seq) for i in layers]
    if not picks:
        raise ValueError("the model has no convolution layer; pass layers=[...] to choose "
                         "the outputs to draw")
    h = getattr(x, "data", x)
    if not backend.is_device_array(h):
        h = np.asarray(h)
    if h.ndim == 3:
        h = h[None]
    if h.ndim != 4 or h.shape[0] != 1:
        raise ValueError(f"x must be one image (C, H, W) or (1, C, H, W); got shape {h.shape}")
    outputs = {}
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = backend.to_device(model._as_input(h), model.device)
            for i, layer in enumerate(seq[: max(picks) + 1]):
                out = layer(out)
                if i in picks:
                    outputs[i] = _host(out)[0]
    finally:
        model.train(was_training)
    cols = min(max_maps, max(o.shape[0] for o in outputs.values()))
    fig = new_figure(figsize=(1.3 * cols + 1, 1.4 * len(picks) + 0.4))
    grid = fig.subplots(len(picks), cols, squeeze=False)
    for row, i in enumerate(picks):
        maps = outputs[i]
        if maps.ndim == 2:  # 1-d signals: one curve per channel
            maps = maps[:, None, :]
        for c in range(cols):
            ax = grid[row, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < maps.shape[0]:
                ax.imshow(maps[c], cmap=cmap, aspect="auto" if maps.shape[1] == 1 else None)
            else:
                ax.axis("off")
            if c == 0:
                ax.set_ylabel(_label(seq, i), fontsize=8)
    fig.suptitle("feature maps (one panel per channel)")
    return fig


def filters(layer, max_filters: int = 64, max_channels: int = 8, cmap: str = "RdBu_r"):
    r"""Draw the weights of a convolution layer: filter ``o`` (a neuron) in row ``o``, its
    input channels across (up to ``max_channels``); a layer with one input channel is drawn
    as a grid of its filters. Red is positive, blue negative, on one scale for all panels,
    so white means 0.

    Parameters
    ----------
    layer : Conv1d, Conv2d or ConvTranspose2d
    max_filters : int, default 64
    max_channels : int, default 8

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(layer, _conv_types()):
        raise TypeError(f"layer must be a Conv1d, Conv2d or ConvTranspose2d; got "
                        f"{type(layer).__name__}")
    w = _host(layer.weight)
    if w.ndim == 3:  # 1-d kernels as one-row images
        w = w[:, :, None, :]
    w = w[:max_filters, :max_channels]
    n, c = w.shape[:2]
    limit = float(np.abs(w).max()) or 1.0
    if c == 1:
        cols = math.ceil(math.sqrt(n))
        rows = math.ceil(n / cols)
        panels = [(divmod(o, cols), w[o, 0]) for o in range(n)]
    else:
        rows, cols = n, c
        panels = [((o, k), w[o, k]) for o in range(n) for k in range(c)]
    fig = new_figure(figsize=(0.9 * cols + 1, 0.9 * rows + 0.5))
    grid = fig.subplots(rows, cols, squeeze=False)
    for ax in grid.ravel():
        ax.axis("off")
    image = None
    for (r, k), kernel in panels:
        ax = grid[r, k]
        image = ax.imshow(kernel, cmap=cmap, vmin=-limit, vmax=limit)
    if image is not None:
        fig.colorbar(image, ax=grid, shrink=0.6)
    fig.suptitle(f"{type(layer).__name__} filters ({layer.weight.shape[0]} x "
                 f"{layer.weight.shape[1]} kernels of {tuple(layer.weight.shape[2:])})")
    return fig
