r"""Armijo backtracking: shrink a step until it decreases ``f`` enough.

A step $\alpha d$ from $x$ is accepted when

$$
f(x + \alpha d) \le f(x) + c\, \alpha\, \nabla f(x) \cdot d
$$

(sufficient decrease, $c = 10^{-4}$), trying $\alpha = 1, \tfrac12, \tfrac14,
\dots$. It needs a descent direction, $\nabla f(x) \cdot d < 0$. A step must also
lower ``f`` strictly: near a minimum, where rounding hides the decrease, the search fails
instead of accepting steps that go nowhere.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .objective import Objective

ARMIJO_C = 1e-4
SHRINK = 0.5
MAX_HALVINGS = 50


class Step(NamedTuple):
    alpha: float
    x: np.ndarray
    fx: float
    g: np.ndarray | None


def is_descent(g: np.ndarray, d: np.ndarray) -> bool:
    r"""Whether $d$ points downhill: $\nabla f \cdot d < 0$."""
    return float(g @ d) < 0


def backtrack(objective: Objective, x: np.ndarray, fx: float, g: np.ndarray, d: np.ndarray,
              with_grad: bool = False) -> Step | None:
    """The first $\\alpha \\in \\{1, 1/2, 1/4, \\dots\\}$ meeting the Armijo condition.

    Returns ``None`` when none of ``MAX_HALVINGS`` halvings does (or ``d`` is not a descent
    direction). With ``with_grad`` each trial also computes the gradient (returned in ``g``).
    """
    slope = float(g @ d)
    if not slope < 0:
        return None
    alpha = 1.0
    for _ in range(MAX_HALVINGS):
        x_new = x + alpha * d
        if with_grad:
            f_new, g_new = objective.value_and_grad(x_new)
        else:
            f_new, g_new = objective.value(x_new), None
        if np.isfinite(f_new) and f_new <= fx + ARMIJO_C * alpha * slope and f_new < fx:
            return Step(alpha, x_new, f_new, g_new)
        alpha *= SHRINK
    return None
