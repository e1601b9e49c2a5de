r"""BFGS: Newton-like steps from an inverse-Hessian estimate built out of gradients alone.

With $s = x_{k+1} - x_k$ and $y = \nabla f(x_{k+1}) - \nabla f(x_k)$, the
estimate $B \approx H^{-1}$ is updated as

$$
B \leftarrow (I - \rho s y^T) B (I - \rho y s^T) + \rho s s^T,
\qquad \rho = 1 / (y \cdot s),
$$

skipped when $y \cdot s \le 0$ (it would lose positive definiteness). It starts as
the identity, rescaled by $y \cdot s / y \cdot y$ after the first step; steps
$-B \nabla f$ are shortened by Armijo backtracking.
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


def bfgs_update(B: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The BFGS update of the inverse-Hessian estimate ``B`` (unchanged if ``y·s <= 0``)."""
    ys = float(y @ s)
    if not ys > 1e-12 * float(np.linalg.norm(y) * np.linalg.norm(s)):
        return B
    rho = 1.0 / ys
    By = B @ y
    cross = np.outer(s, By)
    return B - rho * (cross + cross.T) + (rho * rho * float(y @ By) + rho) * np.outer(s, s)


def _no_decrease(norm: float) -> str:
    return (
        "stopped: no step along the BFGS direction lowers f (rounding limits the precision "
        f"here); the gradient norm is {norm:.3g}"
    )


def run_bfgs(objective: Objective, opts: dict, callback: Callable | None) -> OptimizeResult:
    r"""BFGS: step along $-B^{-1}\nabla f$ with a line search, updating the inverse
    Hessian estimate $B^{-1}$ from each step $s$ and gradient change $y$."""
    threshold, gtol, max_iter = opts["threshold"], opts["gtol"], opts["max_iter"]
    x = objective.x0.copy()
    fx, g = objective.value_and_grad(x)
    trace = Trace(objective, "bfgs", callback, x, fx, g)
    if not is_finite(fx, g):
        return trace.finish(2, "f or its gradient is not finite (NaN or inf) at x0")
    if grad_norm(g) < gtol:
        return trace.finish(0, f"converged: gradient norm < gtol = {gtol:g} at x0")
    B = np.eye(objective.n)
    first = True
    for _ in range(max_iter):
        d = -(B @ g)
        found = backtrack(objective, x, fx, g, d, with_grad=True)
        if found is None and not first:
            # the estimate went bad (or rounding stalls it): restart from steepest descent
            B, first = np.eye(objective.n), True
            found = backtrack(objective, x, fx, g, -g, with_grad=True)
        if found is None:
            return trace.finish(4, _no_decrease(grad_norm(g)))
        x_new, fx_new, g_new = found.x, found.fx, found.g
        if not is_finite(fx_new, g_new, x_new):
            return trace.finish(2, diverged_message(trace.nit + 1))
        s, y = x_new - x, g_new - g
        if first and float(y @ y) > 0 and float(y @ s) > 0:
            B = np.eye(objective.n) * (float(y @ s) / float(y @ y))
            first = False
        B = bfgs_update(B, s, y)
        done = trace.step(x_new, fx_new, g_new, threshold, gtol)
        if done is not None:
            return done
        x, fx, g = x_new, fx_new, g_new
    return trace.finish(1, max_iter_message(max_iter))
