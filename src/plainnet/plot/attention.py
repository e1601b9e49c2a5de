"""Attention weights as a heat map: which earlier tokens each token looks at."""

from __future__ import annotations

import numpy as np

from ._figure import figure_and_axes


def _weights_array(weights) -> np.ndarray:
    data = getattr(weights, "data", weights)
    try:
        from .. import backend as _backend

        data = _backend.to_numpy(data)
    except TypeError:
        pass
    w = np.asarray(data, dtype=float)
    while w.ndim > 2 and w.shape[0] == 1:  # (1, L, S) or (1, 1, L, S): one example
        w = w[0]
    if w.ndim != 2:
        raise ValueError(
            "attention expects the weights of one example and head, shape (queries, keys) "
            f"(a leading axis of 1 is dropped); got {w.shape}. Pick one: weights[0, head]"
        )
    return w


def attention(weights, tokens=None, key_tokens=None, ax=None, cmap: str = "viridis",
              title: str | None = None):
    r"""Draw attention weights $A_{ij}$ (query ``i`` in rows, key ``j`` in columns).

    Row ``i`` is the softmax that mixes the values for token ``i``: each row sums to 1, and a
    causal model's upper triangle is 0.

    Parameters
    ----------
    weights : array or Tensor of shape (queries, keys)
        E.g. ``MultiheadAttention(...)(x, x, x)[1][0]`` (averaged over heads) or one head of
        ``(N, H, L, S)`` weights.
    tokens : sequence of str, optional
        Labels of the queries (rows), and of the keys too unless ``key_tokens`` is given.
    key_tokens : sequence of str, optional
    ax : matplotlib Axes, optional
        Draw into it (default: a new figure).
    cmap, title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    w = _weights_array(weights)
    n_q, n_k = w.shape
    if key_tokens is None and tokens is not None and len(tokens) == n_k:
        key_tokens = tokens
    for labels, n, what in ((tokens, n_q, "tokens"), (key_tokens, n_k, "key_tokens")):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{what} has {len(labels)} labels for {n} rows/columns")
    fig, ax = figure_and_axes(ax, figsize=(1.2 + 0.35 * n_k, 1.0 + 0.35 * n_q))
    image = ax.imshow(w, cmap=cmap, vmin=0.0, vmax=max(1e-12, float(w.max())), aspect="auto")
    fig.colorbar(image, ax=ax, label="weight")
    if tokens is not None:
        ax.set_yticks(range(n_q), [str(t) if str(t).strip() else repr(t) for t in tokens])
    if key_tokens is not None:
        ax.set_xticks(range(n_k), [str(t) if str(t).strip() else repr(t) for t in key_tokens],
                      rotation=90)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query")
    ax.set_title(title or "attention weights")
    return fig
