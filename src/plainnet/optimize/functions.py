r"""Standard test functions for optimizers, with their known minima.

Each function takes a point ``x`` whose **last axis** holds the coordinates and reduces over it, so
the same code evaluates one point (``x`` of shape ``(2,)``, a number comes back), a grid of points
(shape ``(ny, nx, 2)``, for contour plots) and a [`plainnet.Tensor`][plainnet.Tensor] (so autodiff
gives exact gradients and Hessians). Only operators, indexing and ``.sum`` are used.

`FUNCTIONS` maps each name to a `BenchmarkFunction`: the function, its global
minima, a suggested start and plotting bounds (for the 2-D version).

>>> import plainnet as pn
>>> fn = pn.optimize.functions.FUNCTIONS["rosenbrock"]
>>> float(fn(fn.minima[0])), fn.x0.tolist()
(0.0, [-1.2, 1.0])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .._validation import as_float_array


class BenchmarkFunction(NamedTuple):
    """A test function and what is known about it (a tuple: function, minima, x0, bounds, ...).

    Attributes
    ----------
    function : callable
        ``f(x)``, coordinates on the last axis.
    minima : numpy.ndarray, shape (k, 2)
        Every global minimizer of the 2-D version.
    x0 : numpy.ndarray, shape (2,)
        A suggested starting point.
    bounds : ((xmin, xmax), (ymin, ymax))
        A window for contour plots.
    fmin : float
        The minimum value.
    name : str
    any_dim : bool
        Whether the function is defined in any dimension (>= 2 for Rosenbrock), not just 2.
    """

    function: Callable
    minima: np.ndarray
    x0: np.ndarray
    bounds: tuple
    fmin: float
    name: str
    any_dim: bool = False

    def __call__(self, x):
        return self.function(x)


def sphere(x):
    r"""$f(x) = \sum_i x_i^2$; minimum 0 at the origin (any dimension)."""
    return (x * x).sum(axis=-1)


def rosenbrock(x):
    r"""Rosenbrock's banana valley, $\sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2$;
    minimum 0 at $(1, \dots, 1)$ (any dimension >= 2)."""
    a, b = x[..., :-1], x[..., 1:]
    return (100 * (b - a * a) ** 2 + (1 - a) ** 2).sum(axis=-1)


def himmelblau(x):
    r"""$(x^2 + y - 11)^2 + (x + y^2 - 7)^2$; four minima of value 0."""
    u, v = x[..., 0], x[..., 1]
    return (u * u + v - 11) ** 2 + (u + v * v - 7) ** 2


def beale(x):
    r"""$(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2$; minimum 0 at
    (3, 0.5)."""
    u, v = x[..., 0], x[..., 1]
    return (1.5 - u + u * v) ** 2 + (2.25 - u + u * v**2) ** 2 + (2.625 - u + u * v**3) ** 2


def booth(x):
    r"""$(x + 2y - 7)^2 + (2x + y - 5)^2$; minimum 0 at (1, 3)."""
    u, v = x[..., 0], x[..., 1]
    return (u + 2 * v - 7) ** 2 + (2 * u + v - 5) ** 2


def matyas(x):
    r"""$0.26 (x^2 + y^2) - 0.48 xy$; minimum 0 at the origin (a flat, narrow valley)."""
    u, v = x[..., 0], x[..., 1]
    return 0.26 * (u * u + v * v) - 0.48 * u * v


def three_hump_camel(x):
    r"""$2x^2 - 1.05x^4 + x^6/6 + xy + y^2$; minimum 0 at the origin, two local minima."""
    u, v = x[..., 0], x[..., 1]
    return 2 * u**2 - 1.05 * u**4 + u**6 / 6 + u * v + v * v


def goldstein_price(x):
    r"""The Goldstein-Price polynomial; minimum 3 at (0, -1), with several local minima."""
    u, v = x[..., 0], x[..., 1]
    a = 1 + (u + v + 1) ** 2 * (19 - 14 * u + 3 * u * u - 14 * v + 6 * u * v + 3 * v * v)
    b = 30 + (2 * u - 3 * v) ** 2 * (
        18 - 32 * u + 12 * u * u + 48 * v - 36 * u * v + 27 * v * v
    )
    return a * b


def styblinski_tang(x):
    r"""$\tfrac12 \sum_i (x_i^4 - 16 x_i^2 + 5 x_i)$; minimum $-39.16617\,n$ at
    $x_i = -2.903534$ (any dimension)."""
    return 0.5 * (x**4 - 16 * x * x + 5 * x).sum(axis=-1)


_A = np.array([[3.0, 2.0], [2.0, 6.0]])
_B = np.array([2.0, -8.0])


def make_quadratic(A, b, c: float = 0.0) -> BenchmarkFunction:
    r"""The quadratic bowl $f(x) = \tfrac12 x^T A x - b^T x + c$ for a symmetric
    positive-definite ``A``; its minimum is at $x^* = A^{-1} b$ (where
    $\nabla f = A x - b = 0$), of value $c - \tfrac12 b^T x^*$."""
    A = np.asarray(as_float_array(A, "A"), dtype=np.float64)
    b = np.asarray(as_float_array(b, "b"), dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or b.shape != (A.shape[0],):
        raise ValueError(
            f"A must be square (n, n) and b of shape (n,); got A {A.shape} and b {b.shape}"
        )
    if not np.allclose(A, A.T) or np.any(np.linalg.eigvalsh(A) <= 0):
        raise ValueError("A must be symmetric positive definite")
    x_star = np.linalg.solve(A, b)

    def quadratic(x):
        return 0.5 * ((x @ A) * x).sum(axis=-1) - x @ b + c

    quadratic.__doc__ = make_quadratic.__doc__
    span = max(4.0, 2 * float(np.max(np.abs(x_star))))
    bounds = tuple((float(m - span), float(m + span)) for m in x_star[:2])
    x0 = x_star - np.resize([span / 2, -span / 2], x_star.shape)
    return BenchmarkFunction(quadratic, x_star[None, :], x0, bounds,
                             float(c - 0.5 * b @ x_star), "quadratic")


QUADRATIC = make_quadratic(_A, _B)
quadratic = QUADRATIC.function
"""The bowl $\\tfrac12 x^T A x - b^T x$, ``A = [[3, 2], [2, 6]]``, ``b = [2, -8]``;
minimum -10 at (2, -2)."""


def _bf(function, minima, x0, bounds, fmin, any_dim=False) -> BenchmarkFunction:
    return BenchmarkFunction(function, np.array(minima, dtype=np.float64),
                             np.array(x0, dtype=np.float64), bounds, float(fmin),
                             function.__name__, any_dim)


_ST = -2.903534027771177

FUNCTIONS: dict[str, BenchmarkFunction] = {
    "sphere": _bf(sphere, [[0, 0]], [2.0, -1.5], ((-3, 3), (-3, 3)), 0.0, True),
    "quadratic": QUADRATIC,
    "rosenbrock": _bf(rosenbrock, [[1, 1]], [-1.2, 1.0], ((-2, 2), (-1, 3)), 0.0, True),
    "himmelblau": _bf(
        himmelblau,
        [[3.0, 2.0], [-2.805118086952745, 3.131312518250573],
         [-3.779310253377747, -3.2831859912861696], [3.5844283403304917, -1.8481265269644036]],
        [0.0, 0.0], ((-5, 5), (-5, 5)), 0.0,
    ),
    "beale": _bf(beale, [[3.0, 0.5]], [1.0, 1.0], ((-4.5, 4.5), (-4.5, 4.5)), 0.0),
    "booth": _bf(booth, [[1.0, 3.0]], [-5.0, 5.0], ((-10, 10), (-10, 10)), 0.0),
    "matyas": _bf(matyas, [[0.0, 0.0]], [5.0, -3.0], ((-10, 10), (-10, 10)), 0.0),
    "three_hump_camel": _bf(three_hump_camel, [[0.0, 0.0]], [1.0, 1.0], ((-2, 2), (-2, 2)), 0.0),
    "goldstein_price": _bf(goldstein_price, [[0.0, -1.0]], [0.5, -0.5], ((-2, 2), (-3, 1)), 3.0),
    "styblinski_tang": _bf(styblinski_tang, [[_ST, _ST]], [0.0, 0.0], ((-5, 5), (-5, 5)),
                           2 * 0.5 * (_ST**4 - 16 * _ST**2 + 5 * _ST), True),
}
"""Every test function by name."""


def get(name: str) -> BenchmarkFunction:
    """The `BenchmarkFunction` called ``name`` (``-`` and case ignored), or a
    ``ValueError`` listing the names."""
    key = name.lower().replace("-", "_") if isinstance(name, str) else name
    if key not in FUNCTIONS:
        raise ValueError(f"unknown test function {name!r}; choose one of {sorted(FUNCTIONS)}")
    return FUNCTIONS[key]


__all__ = [
    "FUNCTIONS", "QUADRATIC", "BenchmarkFunction", "beale", "booth", "get", "goldstein_price",
    "himmelblau", "make_quadratic", "matyas", "quadratic", "rosenbrock", "sphere",
    "styblinski_tang", "three_hump_camel",
]
