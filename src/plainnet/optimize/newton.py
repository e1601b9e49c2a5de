r"""Newton's method: solve $\nabla f(x) = 0$ with the exact Hessian, safeguarded.

Each step solves $H p = -\nabla f(x)$. Where the Hessian is not positive definite
(near a maximum or a saddle, where plain Newton would climb), its eigenvalues are replaced by
their absolute values, floored at $\delta = 10^{-8} \max(1, \max_i |\lambda_i|)$
(a damping that keeps $p$ a descent direction); then Armijo backtracking (on by
default) shortens the step until ``f`` decreases enough. On a convex quadratic the first full
step lands on the minimum.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .line_search import backtrack
from .objective import Objective
from .result import OptimizeResult
from .trace import (
    Trace,
    diverged_message,
    grad_norm,
    is_finite,
    max_iter_message,
)


def newton_direction(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """$-H^{-1} g$, with the eigenvalues of ``H`` made positive first."""
    H = (H + H.T) / 2
    w, V = np.linalg.eigh(H)
    delta = 1e-8 * max(1.0, float(np.max(np.abs(w))))
    w = np.maximum(np.abs(w), delta)
    return -(V @ ((V.T @ g) / w))


def run_newton(objective: Objective, opts: dict, callback: Callable | None) -> OptimizeResult:
    r"""Newton's method: solve $H d = -\nabla f$ with the exact Hessian (eigenvalues
    made positive where it is not positive definite), then damp or backtrack the step."""
    lr, threshold, gtol = opts["learning_rate"], opts["threshold"], opts["gtol"]
    max_iter, line_search = opts["max_iter"], opts["line_search"]
    x = objective.x0.copy()
    fx, g = objective.value_and_grad(x)
    trace = Trace(objective, "newton", callback, x, fx, g)
    if not is_finite(fx, g):
        return trace.finish(2, "f or its gradient is not finite (NaN or inf) at x0")
    if grad_norm(g) < gtol:
        return trace.finish(0, f"converged: gradient norm < gtol = {gtol:g} at x0")
    for _ in range(max_iter):
        H = objective.hessian(x)
        if not np.all(np.isfinite(H)):
            return trace.finish(2, f"the Hessian is not finite at iteration {trace.nit}")
        step = lr * newton_direction(H, g)
        if line_search:
            found = backtrack(objective, x, fx, g, step, with_grad=True)
            if found is None:
                return trace.finish(4, "the line search found no decrease along the Newton step")
            x_new, fx_new, g_new = found.x, found.fx, found.g
        else:
            x_new = x + step
            fx_new, g_new = objective.value_and_grad(x_new)
        if not is_finite(fx_new, g_new, x_new):
            return trace.finish(2, diverged_message(trace.nit + 1))
        done = trace.step(x_new, fx_new, g_new, threshold, gtol)
        if done is not None:
            return done
        x, fx, g = x_new, fx_new, g_new
    return trace.finish(1, max_iter_message(max_iter))
