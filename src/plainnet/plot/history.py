"""Training curves: loss and metrics per epoch, train and validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._figure import new_figure

NOT_CURVES = ("lr", "epoch_time")
"""Logged quantities that are not learning curves; drawn only when asked for by name."""


def history(h, metrics: str | Sequence[str] | None = None, best_epoch: int | None = None):
    """Draw the learning curves of a training run, one panel per quantity.

    Each panel shows the quantity per epoch on the training data and, when it was logged
    (``val_`` + name), on the validation data. One epoch is marked, the same in every panel:
    the epoch whose weights the model kept, i.e. the one early stopping restored
    (``best_epoch``, or ``h.best_epoch`` when the run has one), else the last epoch, and the
    legend says which.

    Parameters
    ----------
    h : plainnet.training.History or dict of str to list
        The run, e.g. what `plainnet.fit()` returns, or a dict such as
        ``{"loss": [...], "val_loss": [...], "accuracy": [...]}``.
    metrics : str or list of str, optional
        The quantities to draw (``"loss"``, ``"accuracy"``, ...; a ``val_`` prefix is ignored).
        Default: every logged quantity except ``lr`` and ``epoch_time``.
    best_epoch : int, optional
        The epoch (from 1) whose weights were kept, e.g. ``EarlyStopping.best_epoch`` when it
        restored the best weights. Default: the last epoch.

    Returns
    -------
    matplotlib.figure.Figure
    """
    logs, epochs = _read_history(h)
    names = _choose(logs, metrics)
    marked = _marked_epoch(h, best_epoch, epochs)
    ncols = min(len(names), 3)
    nrows = -(-len(names) // ncols)
    fig = new_figure(figsize=(4.2 * ncols, 3.2 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes, names, strict=False):
        _panel(ax, name, logs, epochs, marked)
    return fig


def _marked_epoch(h, best_epoch, epochs: np.ndarray) -> tuple[float, str]:
    """``(epoch, legend label)`` of the one epoch marked in every panel."""
    if best_epoch is None:
        best_epoch = getattr(h, "best_epoch", None)
    if best_epoch is None:
        return float(epochs[-1]), f"last epoch {epochs[-1]:g} (weights kept as trained)"
    if isinstance(best_epoch, bool) or not isinstance(best_epoch, (int, np.integer)):
        raise TypeError(f"best_epoch must be an epoch number; got {best_epoch!r}")
    if best_epoch not in epochs:
        raise ValueError(f"best_epoch {best_epoch} is not one of the run's epochs "
                         f"{epochs[0]:g}..{epochs[-1]:g}")
    return float(best_epoch), f"restored best epoch {best_epoch}"


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


def _panel(ax, name: str, logs: dict[str, np.ndarray], epochs: np.ndarray,
           marked: tuple[float, str]) -> None:
    for key, label in ((name, "train"), (f"val_{name}", "validation")):
        if key in logs:
            values = logs[key]
            ax.plot(_x(epochs, values), values, marker="o" if len(values) < 30 else None,
                    markersize=3, label=label)
    x, text = marked
    ax.axvline(x, color="tab:red", linestyle="--", linewidth=1, zorder=0, label=text)
    for key in (f"val_{name}", name):
        values = logs.get(key)
        if values is not None:
            at = np.nonzero(_x(epochs, values) == x)[0]
            if len(at) and np.isfinite(values[at[0]]):
                ax.plot([x], [values[at[0]]], marker="*", markersize=12, color="tab:red",
                        linestyle="none")
                break
    ax.set_title(name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(name)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


def _x(epochs: np.ndarray, values: np.ndarray) -> np.ndarray:
    if len(values) == len(epochs):
        return epochs
    return np.arange(1, len(values) + 1, dtype=np.float64)
