"""Road one of the notes: least_squares (normal equations) and stationary_points (SymPy)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plainnet as pn
from plainnet.optimize import least_squares, stationary_points


def _data(n=50, d=3, targets=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1.0, 10.0, 0.1][:d] + 5
    w = rng.normal(size=(d,) if targets is None else (d, targets))
    y = X @ w + 2.0 + 0.01 * rng.normal(size=(n,) if targets is None else (n, targets))
    return X, y


def test_least_squares_matches_sklearn_linear_regression():
    from sklearn.linear_model import LinearRegression

    X, y = _data()
    w, b = least_squares(X, y)
    ref = LinearRegression().fit(X, y)
    np.testing.assert_allclose(w, ref.coef_, rtol=1e-9)
    assert b == pytest.approx(ref.intercept_, rel=1e-9)
    assert isinstance(b, float) and w.shape == (3,)


@pytest.mark.parametrize("l2", [0.1, 1.0, 100.0])
def test_ridge_matches_sklearn_and_leaves_the_bias_alone(l2):
    from sklearn.linear_model import Ridge

    X, y = _data()
    w, b = least_squares(X, y, l2=l2)
    ref = Ridge(alpha=l2, solver="svd").fit(X, y)
    np.testing.assert_allclose(w, ref.coef_, rtol=1e-8)
    assert b == pytest.approx(ref.intercept_, rel=1e-8)


def test_several_targets():
    X, y = _data(targets=2)
    w, b = least_squares(X, y, l2=0.5)
    assert w.shape == (3, 2) and b.shape == (2,)
    for k in range(2):
        wk, bk = least_squares(X, y[:, k], l2=0.5)
        np.testing.assert_allclose(w[:, k], wk, rtol=1e-10)
        assert b[k] == pytest.approx(bk, rel=1e-10)


def test_derivative_is_zero_at_the_solution():
    X, y = _data(seed=3)
    l2 = 0.7
    w, b = least_squares(X, y, l2=l2)

    def loss(params):
        pred = pn.tensor(X) @ params[:3] + params[3]
        return ((pred - y) ** 2).sum() + l2 * (params[:3] ** 2).sum()

    g = pn.grad(loss)(np.append(w, b))
    assert np.max(np.abs(g)) < 1e-8 * np.abs(y).sum()


def test_one_feature_line_and_rank_deficient_columns():
    w, b = least_squares([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 5.0, 7.0])
    np.testing.assert_allclose(w, [2.0])
    assert b == pytest.approx(1.0)
    # a duplicated column: the minimum-norm solution splits the weight evenly
    x = np.arange(5.0)
    X = np.stack([x, x], axis=1)
    w, b = least_squares(X, 3 * x + 1)
    np.testing.assert_allclose(w, [1.5, 1.5])
    assert b == pytest.approx(1.0)


def test_agrees_with_gradient_descent():
    X, y = _data(n=30, d=2, seed=1)
    X = (X - X.mean(0)) / X.std(0)
    w, b = least_squares(X, y)

    def mse(p):
        return (((pn.tensor(X) @ p[:2] + p[2]) - y) ** 2).mean()

    res = pn.optimize.minimize(mse, np.zeros(3), method="bfgs")
    np.testing.assert_allclose(res.x, np.append(w, b), atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 20),
    d=st.integers(1, 4),
    l2=st.floats(0.0, 10.0),
    seed=st.integers(0, 2**16),
)
def test_normal_equations_hold(n, d, l2, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.normal(size=n)
    w, b = least_squares(X, y, l2=l2)
    r = X @ w + b - y
    # d/db = 2 sum r = 0 and d/dw = 2 X^T r + 2 l2 w = 0 (for the min-norm solution when
    # the system is underdetermined, the residual is orthogonal to the centered columns)
    assert abs(r.sum()) < 1e-8 * max(1.0, np.abs(y).sum())
    grad_w = X.T @ r + l2 * w
    assert np.max(np.abs(grad_w)) < 1e-7 * max(1.0, np.abs(X).sum() * np.abs(y).sum())


@pytest.mark.parametrize(
    "X, y, l2, error, match",
    [
        (np.ones((3, 2, 1)), np.ones(3), 0.0, ValueError, "X must be 2-D"),
        (np.ones((3, 2)), np.ones(4), 0.0, ValueError, r"y must have shape \(3,\)"),
        (np.ones((3, 2)), np.ones(3), -1.0, ValueError, "l2"),
        (np.ones((0, 2)), np.ones(0), 0.0, ValueError, "at least one sample"),
        ([[1.0, np.nan]], [1.0], 0.0, ValueError, "finite"),
        ([["a"]], [1.0], 0.0, TypeError, "X must be"),
    ],
)
def test_least_squares_bad_input(X, y, l2, error, match):
    with pytest.raises(error, match=match):
        least_squares(X, y, l2=l2)


# --------------------------------------------------------------------------- stationary points
def _kinds(points):
    return [(p.coords.tolist(), p.kind) for p in points]


def test_one_variable_cubic():
    points = stationary_points("x**3 - 3*x", "x")
    assert _kinds(points) == [([-1.0], "max"), ([1.0], "min")]
    assert [int(p.value) for p in points] == [2, -2]


@pytest.mark.parametrize(
    "expr, kind",
    [
        ("x**2 + y**2", "min"),
        ("-(x**2) - 3*y**2", "max"),
        ("x**2 - y**2", "saddle"),
        ("x*y", "saddle"),
        ("x**4 + y**4", "degenerate"),
    ],
)
def test_two_variable_classification(expr, kind):
    points = stationary_points(expr, ["x", "y"])
    assert _kinds(points) == [([0.0, 0.0], kind)]


@pytest.mark.parametrize(
    "expr, kind", [("x**4", "min"), ("-x**6", "max"), ("x**3", "saddle"), ("x**5", "saddle")]
)
def test_higher_derivative_test_in_one_variable(expr, kind):
    assert _kinds(stationary_points(expr, "x")) == [([0.0], kind)]


def test_several_points_agree_with_numerical_hessians():
    import sympy as sp

    x, y = sp.symbols("x y")
    expr = x**3 - 3 * x + y**2 - 2 * y
    points = stationary_points(expr, (x, y))
    assert _kinds(points) == [([-1.0, 1.0], "saddle"), ([1.0, 1.0], "min")]

    def f(p):
        return p[0] ** 3 - 3 * p[0] + p[1] ** 2 - 2 * p[1]

    for p in points:
        assert np.max(np.abs(pn.grad(f)(p.coords))) < 1e-12
        eig = np.linalg.eigvalsh(pn.hessian(f)(p.coords))
        assert (p.kind == "min") == bool(np.all(eig > 0))
    assert points[1].value == -3


def test_complex_solutions_are_dropped_and_lines_are_degenerate():
    # grad = (2x + y^2, 2xy - 2y): real solution (0, 0); x = 1 needs y^2 = -2
    assert _kinds(stationary_points("x**2 - y**2 + x*y**2", "x y")) == [([0.0, 0.0], "saddle")]
    line = stationary_points("(x - y)**2", "x y")
    assert len(line) == 1 and line[0].kind == "degenerate"


def test_stationary_points_bad_input():
    with pytest.raises(ValueError, match=r"symbols \['a'\]"):
        stationary_points("a*x**2", "x")
    with pytest.raises(ValueError, match="could not read"):
        stationary_points("x**", "x")
    with pytest.raises(TypeError, match="symbol"):
        stationary_points("x**2", [3])
    with pytest.raises(ValueError, match="at least one"):
        stationary_points("x**2", [])
