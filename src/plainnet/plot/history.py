"""Training curves: loss and metrics per epoch, train and validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._figure import new_figure

NOT_CURVES = ("lr", "epoch_time")
"""Logged quantities that are not learning curves; drawn only when asked for by name."""

HIGHER_IS_BETTER = ("accuracy", "acc", "r2", "auc", "precision", "recall", "f1", "score")


def history(h, metrics: str | Sequence[str] | None = None):
    """Draw the learning curves of a training run, one panel per quantity.

    Each panel shows the quantity per epoch on the training data and, when it was logged
    (``val_`` + name), on the validation data, and marks the best validation epoch:
    :math:`\\arg\\min_e` of a loss or error, :math:`\\arg\\max_e` of a score such as accuracy
    or :math:`R^2`.

    Parameters
    ----------
    h : plainnet.training.History or dict of str to list
        The run, e.g. what :func:`plainnet.fit` returns, or a dict such as
        ``{"loss": [...], "val_loss": [...], "accuracy": [...]}``.
    metrics : str or list of str, optional
        The quantities to draw (``"loss"``, ``"accuracy"``, ...; a ``val_`` prefix is ignored).
        Default: every logged quantity except ``lr`` and ``epoch_time``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    logs, epochs = _read_history(h)
    names = _choose(logs, metrics)
    ncols = min(len(names), 3)
    nrows = -(-len(names) // ncols)
    fig = new_figure(figsize=(4.2 * ncols, 3.2 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes, names, strict=False):
        _panel(ax, name, logs, epochs)
    return fig


def _read_history(h) -> tuple[dict[str, np.ndarray], np.ndarray]:
    raw = getattr(h, "history", h)
    if not isinstance(raw, Mapping):
        raise TypeError(
            "h must be a plainnet History or a dict of per-epoch lists; "
            f"got {type(h).__name__}"
        )
    logs = {}
    for key, values in raw.items():
        if not isinstance(key, str):
            raise TypeError(f"history keys must be strings; got {key!r}")
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"history[{key!r}] must be a list of numbers; got {values!r:.60}") \
                from err
        if arr.ndim != 1:
            raise ValueError(f"history[{key!r}] must be a flat list; got shape {arr.shape}")
        logs[key] = arr
    longest = max((len(v) for v in logs.values()), default=0)
    if longest == 0:
        raise ValueError("the history is empty: no epoch was recorded")
    given = getattr(h, "epoch", None)
    epochs = np.asarray(given if given is not None else [], dtype=np.float64)
    if len(epochs) != longest:
        epochs = np.arange(1, longest + 1, dtype=np.float64)
    return logs, epochs


def _choose(logs: dict[str, np.ndarray], metrics) -> list[str]:
    available = list(dict.fromkeys(k.removeprefix("val_") for k in logs))
    if metrics is None:
        names = [k for k in available if k not in NOT_CURVES]
        if not names:
            raise ValueError(f"the history holds no learning curve; keys: {sorted(logs)}")
        return names
    if isinstance(metrics, str):
        metrics = [metrics]
    names = []
    for m in metrics:
        if not isinstance(m, str):
            raise TypeError(f"metrics must be names (str); got {m!r}")
        base = m.removeprefix("val_")
        if base not in available:
            raise ValueError(f"no {m!r} in the history; it holds {sorted(logs)}")
        if base not in names:
            names.append(base)
    if not names:
        raise ValueError("metrics is empty: name at least one quantity to draw")
    return names


def _panel(ax, name: str, logs: dict[str, np.ndarray], epochs: np.ndarray) -> None:
    for key, label in ((name, "train"), (f"val_{name}", "validation")):
        if key in logs:
            values = logs[key]
            ax.plot(_x(epochs, values), values, marker="o" if len(values) < 30 else None,
                    markersize=3, label=label)
    val = logs.get(f"val_{name}")
    if val is not None and np.isfinite(val).any():
        higher = any(word in name.lower() for word in HIGHER_IS_BETTER)
        best = int(np.nanargmax(val) if higher else np.nanargmin(val))
        x = _x(epochs, val)[best]
        ax.axvline(x, color="0.6", linestyle="--", linewidth=1, zorder=0)
        ax.plot([x], [val[best]], marker="*", markersize=12, color="tab:red", linestyle="none",
                label=f"best epoch {x:g}: {val[best]:.4g}")
    ax.set_title(name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(name)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


def _x(epochs: np.ndarray, values: np.ndarray) -> np.ndarray:
    if len(values) == len(epochs):
        return epochs
    return np.arange(1, len(values) + 1, dtype=np.float64)
