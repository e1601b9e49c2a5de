"""The test functions of pn.optimize.functions: known minima, autodiff, grids."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet.optimize import functions

NAMES = sorted(functions.FUNCTIONS)


@pytest.mark.parametrize("name", NAMES)
def test_minima_are_stationary_with_the_stated_value(name):
    fn = functions.FUNCTIONS[name]
    assert fn.name == name
    assert fn.minima.ndim == 2 and fn.minima.shape[1] == 2
    for m in fn.minima:
        assert float(fn(m)) == pytest.approx(fn.fmin, abs=1e-12)
        assert np.max(np.abs(pn.grad(fn.function)(m))) < 1e-10
        assert np.all(np.linalg.eigvalsh(pn.hessian(fn.function)(m)) > -1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_minimum_is_lowest_on_a_grid(name):
    fn = functions.FUNCTIONS[name]
    (x0, x1), (y0, y1) = fn.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, 81), np.linspace(y0, y1, 81))
    Z = fn(np.stack([X, Y], axis=-1))
    assert Z.shape == X.shape
    assert Z.min() >= fn.fmin - 1e-9
    for m in fn.minima:
        assert x0 <= m[0] <= x1 and y0 <= m[1] <= y1
    assert x0 <= fn.x0[0] <= x1 and y0 <= fn.x0[1] <= y1


@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_finite_differences(name):
    fn = functions.FUNCTIONS[name]
    rng = np.random.default_rng(len(name))
    for _ in range(3):
        point = fn.x0 + rng.normal(size=2) * 0.5
        assert pn.check_grad(fn.function, point) < 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_vectorized_values_match_pointwise(name):
    fn = functions.FUNCTIONS[name]
    pts = np.random.default_rng(1).uniform(-2, 2, size=(4, 5, 2))
    grid = fn(pts)
    point = np.array([[float(fn(p)) for p in row] for row in pts])
    np.testing.assert_allclose(grid, point, rtol=1e-13)


def test_closed_forms_of_known_values():
    f = functions
    assert float(f.rosenbrock(np.array([0.0, 0.0]))) == 1.0
    assert float(f.rosenbrock(np.ones(7))) == 0.0
    assert float(f.himmelblau(np.array([0.0, 0.0]))) == 170.0
    assert float(f.booth(np.array([0.0, 0.0]))) == 74.0
    assert float(f.beale(np.array([0.0, 0.0]))) == pytest.approx(14.203125)
    assert float(f.goldstein_price(np.array([0.0, 0.0]))) == 600.0
    assert float(f.sphere(np.arange(4.0))) == 14.0
    st_min = functions.FUNCTIONS["styblinski_tang"]
    assert float(f.styblinski_tang(np.full(5, st_min.minima[0, 0]))) == pytest.approx(
        2.5 * st_min.fmin)


def test_any_dimension_functions_are_flagged():
    flagged = {n for n, fn in functions.FUNCTIONS.items() if fn.any_dim}
    assert flagged == {"sphere", "rosenbrock", "styblinski_tang"}
    for name in flagged:
        x = np.linspace(-1, 1, 5)
        assert np.ndim(functions.FUNCTIONS[name](x)) == 0


def test_make_quadratic():
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    b = np.array([1.0, -1.0])
    q = functions.make_quadratic(A, b, c=3.0)
    x_star = np.linalg.solve(A, b)
    np.testing.assert_allclose(q.minima[0], x_star)
    assert float(q(x_star)) == pytest.approx(q.fmin)
    assert q.fmin == pytest.approx(3.0 - 0.5 * b @ x_star)
    np.testing.assert_allclose(pn.hessian(q.function)(np.zeros(2)), A)
    with pytest.raises(ValueError, match="positive definite"):
        functions.make_quadratic([[1.0, 0.0], [0.0, -1.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match="square"):
        functions.make_quadratic(np.ones((2, 3)), [0.0, 0.0])


def test_registry_entries_unpack_and_lookup():
    function, minima, x0, bounds, *_ = functions.FUNCTIONS["booth"]
    assert function is functions.booth
    np.testing.assert_array_equal(minima, [[1.0, 3.0]])
    assert functions.get("Three-Hump-Camel").name == "three_hump_camel"
    with pytest.raises(ValueError, match=r"unknown test function 'nope'.*'rosenbrock'"):
        functions.get("nope")
