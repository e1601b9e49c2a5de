"""Optimization of any differentiable function: gradient descent, minimize(), closed forms.

The notes give two roads to the best parameters. Road one: take the derivative, set it to zero
and solve (`least_squares()`, `stationary_points()`, and Newton's method in
`minimize()`). Road two, when that is too hard: `gradient_descent()`, a learning rate
and a threshold (and its relatives in `minimize()`).
"""

from . import functions, rules
from .closed_form import least_squares
from .minimize import gradient_descent, minimize
from .options import DEFAULTS, METHODS, VOCABULARY
from .result import STATUS, OptimizeResult
from .symbolic import StationaryPoint, stationary_points

__all__ = [
    "DEFAULTS",
    "METHODS",
    "STATUS",
    "VOCABULARY",
    "OptimizeResult",
    "StationaryPoint",
    "functions",
    "gradient_descent",
    "least_squares",
    "minimize",
    "rules",
    "stationary_points",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
