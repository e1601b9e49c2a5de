r"""L-BFGS: BFGS with the inverse-Hessian estimate kept as the last few step pairs.

Instead of the $n \times n$ matrix of [`bfgs`][plainnet.optimize.bfgs], the last
$m$ pairs $s_i = x_{i+1} - x_i$, $y_i = \nabla f(x_{i+1}) - \nabla f(x_i)$
define $B \approx H^{-1}$ implicitly, and the direction $-B \nabla f$ comes out of
the two-loop recursion (Nocedal and Wright, Algorithm 7.4) in $O(m n)$: with
$\rho_i = 1 / (y_i \cdot s_i)$,

$$
q &\leftarrow \nabla f; \quad a_i = \rho_i\, s_i \cdot q,\;
q \leftarrow q - a_i y_i \quad (i = k-1, \dots, k-m) \\
r &\leftarrow \gamma q, \quad \gamma = \frac{s_{k-1} \cdot y_{k-1}}{y_{k-1} \cdot y_{k-1}} \\
r &\leftarrow r + s_i (a_i - \rho_i\, y_i \cdot r) \quad (i = k-m, \dots, k-1)
$$

and $d = -r$. A pair with $y \cdot s \le 0$ is not stored (it would lose positive
definiteness); steps are shortened by Armijo backtracking. Memory is $O(m n)$, so it fits
problems with many parameters (a neural network's weights) where BFGS's matrix does not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from .line_search import backtrack
from .objective import Objective
from .result import OptimizeResult
from .trace import Trace, diverged_message, grad_norm, is_finite, max_iter_message

MEMORY = 10
"""The number of step pairs kept ($m$)."""


def two_loop(g: np.ndarray, pairs: deque) -> np.ndarray:
    r"""$B \nabla f$ for the L-BFGS estimate $B$ of the inverse Hessian defined by
    ``pairs`` (``(s, y, rho)``, oldest first); without pairs, $B$ is the identity."""
    q = g.copy()
    alphas = []
    for s, y, rho in reversed(pairs):
        a = rho * float(s @ q)
        q -= a * y
        alphas.append(a)
    if pairs:
        s, y, _ = pairs[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y, rho), a in zip(pairs, reversed(alphas), strict=True):
        q += s * (a - rho * float(y @ q))
    return q


def _no_decrease(norm: float) -> str:
    return (
        "stopped: no step along the L-BFGS direction lowers f (rounding limits the precision "
        f"here); the gradient norm is {norm:.3g}"
    )


def run_lbfgs(objective: Objective, opts: dict, callback: Callable | None,
              keep_path: bool = True) -> OptimizeResult:
    r"""L-BFGS: step along $-B \nabla f$ (two-loop recursion over the last
    `MEMORY` step pairs) with a line search; the first step, with no pairs yet, is
    steepest descent scaled to length at most 1. With ``keep_path=False`` the result's
    ``path`` holds only the start and the end (memory that does not grow with the steps)."""
    threshold, gtol, max_iter = opts["threshold"], opts["gtol"], opts["max_iter"]
    x = objective.x0.copy()
    fx, g = objective.value_and_grad(x)
    trace = Trace(objective, "lbfgs", callback, x, fx, g, keep_path=keep_path)
    if not is_finite(fx, g):
        return trace.finish(2, "f or its gradient is not finite (NaN or inf) at x0")
    if grad_norm(g) < gtol:
        return trace.finish(0, f"converged: gradient norm < gtol = {gtol:g} at x0")
    pairs: deque = deque(maxlen=MEMORY)
    for _ in range(max_iter):
        if pairs:
            d = -two_loop(g, pairs)
        else:
            d = -g / max(1.0, grad_norm(g))
        found = backtrack(objective, x, fx, g, d, with_grad=True)
        if found is None and pairs:
            # the estimate went bad (or rounding stalls it): forget it, try steepest descent
            pairs.clear()
            found = backtrack(objective, x, fx, g, -g / max(1.0, grad_norm(g)), with_grad=True)
        if found is None:
            return trace.finish(4, _no_decrease(grad_norm(g)))
        x_new, fx_new, g_new = found.x, found.fx, found.g
        if not is_finite(fx_new, g_new, x_new):
            return trace.finish(2, diverged_message(trace.nit + 1))
        s, y = x_new - x, g_new - g
        ys = float(y @ s)
        if ys > 1e-12 * float(np.linalg.norm(y) * np.linalg.norm(s)):
            pairs.append((s, y, 1.0 / ys))
        done = trace.step(x_new, fx_new, g_new, threshold, gtol)
        if done is not None:
            return done
        x, fx, g = x_new, fx_new, g_new
    return trace.finish(1, max_iter_message(max_iter))
