"""What every optimizer records along the way: the path, the values, the best point, and the
callback; and how a run ends (an `OptimizeResult`)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .objective import Objective
from .result import OptimizeResult


def is_finite(fx: float, g: np.ndarray | None = None, x: np.ndarray | None = None) -> bool:
    """Whether the value, the gradient and the point are all finite."""
    if not math.isfinite(fx):
        return False
    if g is not None and not np.all(np.isfinite(g)):
        return False
    return x is None or bool(np.all(np.isfinite(x)))


class Trace:
    """The state of a run: current point ``x``, value ``fx``, gradient ``g``, and the record.

    `accept()` moves to a new point and calls the callback; `finish()` builds the
    result. The path is a list of copies until the end, so a long run costs one append per
    step and never recurses. With ``keep_path=False`` it holds only the start and the current
    point (for many variables and many steps, e.g. a network's weights).
    """

    def __init__(self, objective: Objective, method: str, callback: Callable | None,
                 x: np.ndarray, fx: float, g: np.ndarray, keep_path: bool = True):
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None; got {type(callback).__name__}")
        self.objective, self.method, self.callback = objective, method, callback
        self.x, self.fx, self.g = x, fx, g
        self.nit = 0
        self.keep_path = keep_path
        self.path = [x.copy()]
        self.values = [fx]
        self.best_x, self.best_fun = x.copy(), fx

    def accept(self, x: np.ndarray, fx: float, g: np.ndarray) -> bool:
        """Move to ``x``; return True when the callback asked to stop (``StopIteration``)."""
        self.x, self.fx, self.g = x, fx, g
        self.nit += 1
        if self.keep_path:
            self.path.append(x.copy())
        else:
            self.path[1:] = [x.copy()]
        self.values.append(fx)
        if fx < self.best_fun:
            self.best_x, self.best_fun = x.copy(), fx
        if self.callback is None:
            return False
        point = self.objective.point
        intermediate = OptimizeResult(x=point(x), fun=fx, grad=point(g), nit=self.nit)
        try:
            self.callback(intermediate)
        except StopIteration:
            return True
        return False

    def step(self, x: np.ndarray, fx: float, g: np.ndarray, threshold: float,
             gtol: float) -> OptimizeResult | None:
        """Accept the new point and return the final result if the run ends here: the
        callback asked to stop (status 3) or a convergence rule fired (status 0)."""
        fx_old = self.fx
        if self.accept(x, fx, g):
            return self.finish(3, CALLBACK_MESSAGE)
        message = stop_message(self, fx_old, threshold, gtol)
        return None if message is None else self.finish(0, message)

    def finish(self, status: int, message: str) -> OptimizeResult:
        obj = self.objective
        return OptimizeResult(
            x=obj.point(self.x),
            fun=float(self.fx),
            grad=obj.point(self.g),
            nit=self.nit,
            nfev=obj.nfev,
            ngev=obj.ngev,
            nhev=obj.nhev,
            success=status == 0,
            status=status,
            message=message,
            path=np.array(self.path).reshape((len(self.path), *obj.shape)),
            values=np.array(self.values, dtype=np.float64),
            best_x=obj.point(self.best_x),
            best_fun=float(self.best_fun),
            method=self.method,
        )


def stop_message(trace: Trace, fx_old: float, threshold: float, gtol: float) -> str | None:
    """The convergence message if the notes' threshold rule or the gradient rule fires."""
    change = abs(trace.fx - fx_old)
    if change < threshold:
        return f"converged: |f(new) - f(old)| = {change:.3g} < threshold = {threshold:g}"
    norm = grad_norm(trace.g)
    if norm < gtol:
        return f"converged: gradient norm {norm:.3g} < gtol = {gtol:g}"
    return None


def grad_norm(g: np.ndarray) -> float:
    """The Euclidean norm of the gradient (inf, without a warning, if it overflows)."""
    with np.errstate(over="ignore"):
        return float(np.linalg.norm(g))


def diverged_message(nit: int, hint: str = "") -> str:
    """The result message when f or its gradient turns non-finite."""
    return (
        f"f or its gradient became non-finite (NaN or inf) at iteration {nit}; "
        f"the last finite point is kept{hint}"
    )


CALLBACK_MESSAGE = "stopped: the callback raised StopIteration"


def max_iter_message(max_iter: int) -> str:
    """The result message when ``max_iter`` runs out."""
    return f"max_iter = {max_iter} iterations reached before convergence"
