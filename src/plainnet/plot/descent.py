"""The path an optimizer took, drawn over the function it minimized."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def descent_path(f, result, *, bounds=None, levels: int = 30, resolution: int = 150,
                 minima=None, ax=None, title: str | None = None):
    """Draw a function and the path of one or more optimizer runs over it.

    For a function of two variables: filled contours of ``f`` and each path as a line of
    points from ``x0`` (a circle) to the final point (a cross). For a function of one
    variable: the curve ``f(x)`` and the points visited on it. Contour levels follow the
    quantiles of ``f`` on the grid, so steep functions (Rosenbrock) still show their valley.

    Parameters
    ----------
    f : callable, BenchmarkFunction or str
        The function (coordinates on the last axis, as in
        [`plainnet.optimize.functions`][plainnet.optimize.functions]), or a test function (by name),
        whose bounds and minima are then used.
    result : OptimizeResult, sequence of them, or mapping label -> OptimizeResult
        The run(s) to draw; a mapping labels each path in the legend (e.g. by method).
    bounds : ((xmin, xmax), (ymin, ymax)) or (xmin, xmax), optional
        The window; by default the test function's, or the paths' extent with a margin.
    levels : int, default 30
        Number of contour levels.
    resolution : int, default 150
        Grid points per axis.
    minima : array_like, shape (k, 2) or (k,), optional
        Known minima to mark with stars (by default a test function's).
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..optimize import functions as _functions

    if isinstance(f, str):
        f = _functions.get(f)
    if isinstance(f, _functions.BenchmarkFunction):
        bounds = f.bounds if bounds is None else bounds
        minima = f.minima if minima is None else minima
        f = f.function
    if not callable(f):
        raise TypeError(f"f must be a callable or a test function name; got {type(f).__name__}")
    runs = _runs(result)
    paths = [np.asarray(r["path"], dtype=np.float64) for _, r in runs]
    dims = {int(np.prod(p.shape[1:])) for p in paths}
    if len(dims) != 1 or dims.pop() not in (1, 2):
        raise ValueError(
            "descent_path draws functions of 1 or 2 variables; got paths of shapes "
            f"{[p.shape for p in paths]}"
        )
    dim = int(np.prod(paths[0].shape[1:]))
    paths = [p.reshape(len(p), dim) for p in paths]
    levels = int(levels)
    resolution = int(resolution)
    if levels < 2 or resolution < 2:
        raise ValueError(f"levels and resolution must be >= 2; got {levels} and {resolution}")
    fig, ax = _axes(ax)
    if dim == 1:
        _draw_1d(ax, f, runs, paths, bounds, resolution, minima)
    else:
        _draw_2d(fig, ax, f, runs, paths, bounds, levels, resolution, minima)
    if title is not None:
        ax.set_title(title)
    if any(label for label, _ in runs) or minima is not None:
        ax.legend(loc="best", fontsize="small")
    return fig


def _axes(ax):
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 5.2), layout="constrained")
    return fig, fig.subplots()


def _runs(result) -> list[tuple[str | None, Mapping]]:
    if isinstance(result, Mapping) and "path" in result:
        return [(None, result)]
    if isinstance(result, Mapping):
        runs = [(str(k), v) for k, v in result.items()]
    elif isinstance(result, (list, tuple)):
        runs = [(None, r) for r in result]
    else:
        raise TypeError(
            "result must be an OptimizeResult, a list of them or a dict label -> result; "
            f"got {type(result).__name__}"
        )
    if not runs:
        raise ValueError("result holds no runs to draw")
    for _, r in runs:
        if not (isinstance(r, Mapping) and "path" in r):
            raise TypeError(f"each result needs a 'path' (an OptimizeResult); got {r!r:.60}")
    return runs


def _evaluate(f: Callable, points: np.ndarray) -> np.ndarray:
    """``f`` at each point (coordinates on the last axis), vectorized when ``f`` allows."""
    from ..autodiff import Tensor, no_grad

    shape = points.shape[:-1]
    with np.errstate(all="ignore"):
        try:
            z = f(points if points.shape[-1] > 1 else points[..., 0])
            z = np.asarray(z.data if isinstance(z, Tensor) else z, dtype=np.float64)
            if z.shape == shape:
                return z
        except Exception:  # noqa: BLE001 - any failure means: evaluate point by point
            pass
        flat = points.reshape(-1, points.shape[-1])
        out = np.empty(len(flat))
        with no_grad():
            for i, p in enumerate(flat):
                y = f(Tensor(p if len(p) > 1 else p[0]))
                out[i] = float(np.asarray(y.data if isinstance(y, Tensor) else y).reshape(()))
    return out.reshape(shape)


def _extent(paths, axis, margin=0.15):
    values = np.concatenate([p[:, axis] for p in paths])
    values = values[np.isfinite(values)]
    lo, hi = float(values.min()), float(values.max())
    pad = max(hi - lo, 1.0) * margin
    return lo - pad, hi + pad


def _draw_path(ax, path, label, color, values=None):
    xs = path[:, 0]
    ys = values if values is not None else path[:, 1]
    line = ax.plot(xs, ys, "-", marker=".", markersize=3, linewidth=1.2, color=color,
                   label=label)[0]
    ax.plot(xs[:1], ys[:1], "o", color=line.get_color(), markersize=7, markerfacecolor="white")
    ax.plot(xs[-1:], ys[-1:], "X", color=line.get_color(), markersize=9)


def _label(label, r):
    name = label if label is not None else r.get("method", "path")
    return f"{name} ({r.get('nit', len(r['path']) - 1)} steps)"


def _draw_2d(fig, ax, f, runs, paths, bounds, levels, resolution, minima):
    if bounds is None:
        bounds = (_extent(paths, 0), _extent(paths, 1))
    (x0, x1), (y0, y1) = bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    Z = _evaluate(f, np.stack([X, Y], axis=-1))
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        raise ValueError("f is not finite anywhere in the window; give other bounds")
    lv = np.unique(np.quantile(finite, np.linspace(0, 1, levels)))
    if lv.size < 2:
        lv = np.array([finite.min() - 0.5, finite.max() + 0.5])
    cs = ax.contourf(X, Y, Z, levels=lv, cmap="viridis", alpha=0.85)
    ax.contour(X, Y, Z, levels=lv, colors="k", linewidths=0.3, alpha=0.4)
    fig.colorbar(cs, ax=ax, label="f(x)", format="%.3g")
    colors = ["tab:red", "tab:orange", "white", "tab:pink", "tab:cyan", "yellow", "tab:brown"]
    for k, ((label, r), path) in enumerate(zip(runs, paths, strict=True)):
        _draw_path(ax, path, _label(label, r), colors[k % len(colors)])
    if minima is not None:
        m = np.asarray(minima, dtype=np.float64).reshape(-1, 2)
        ax.plot(m[:, 0], m[:, 1], "*", color="gold", markeredgecolor="k", markersize=14,
                linestyle="none", label="known minimum")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")


def _draw_1d(ax, f, runs, paths, bounds, resolution, minima):
    if bounds is None:
        bounds = _extent(paths, 0)
    elif np.ndim(bounds) == 2:
        bounds = bounds[0]
    lo, hi = bounds
    xs = np.linspace(lo, hi, max(resolution, 200))
    ax.plot(xs, _evaluate(f, xs[:, None]), color="k", linewidth=1.5, label="f(x)")
    colors = ["tab:red", "tab:orange", "tab:blue", "tab:green", "tab:purple"]
    for k, ((label, r), path) in enumerate(zip(runs, paths, strict=True)):
        values = r.get("values")
        values = np.asarray(values) if values is not None else _evaluate(f, path)
        _draw_path(ax, path, _label(label, r), colors[k % len(colors)], values=values)
    if minima is not None:
        m = np.asarray(minima, dtype=np.float64).reshape(-1)
        ax.plot(m, _evaluate(f, m[:, None]), "*", color="gold", markeredgecolor="k",
                markersize=14, linestyle="none", label="known minimum")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
