"""Tests of pn.optimize.minimize / gradient_descent: stopping rules, methods, results, errors."""

from __future__ import annotations

import inspect
import pickle
import sys

import numpy as np
import pytest

import plainnet as pn
from plainnet.optimize import gradient_descent, minimize

FIRST_ORDER = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


def square(x):
    return (x * x).sum()


# --------------------------------------------------------------------------- the notes' rule
def test_threshold_rule_exact_and_strict():
    # f = x^2, lr = 1/4: x_k = 2^-k and f_k = 4^-k exactly, so |f_k - f_{k-1}| = 0.75 * 4^-(k-1).
    # With threshold equal to the 4th change, the strict "<" lets step 4 pass; step 5 stops.
    threshold = 0.75 * 0.25**3
    res = gradient_descent(lambda x: x * x, 1.0, learning_rate=0.25, threshold=threshold, gtol=0)
    assert res.success and res.status == 0
    assert res.nit == 5
    assert res.x == 0.5**5
    assert res.fun == 0.25**5
    np.testing.assert_array_equal(res.path, [0.5**k for k in range(6)])
    np.testing.assert_array_equal(res.values, [0.25**k for k in range(6)])
    assert "threshold" in res.message


def test_matches_the_notes_recursive_algorithm():
    # The notes' code, verbatim but for the function names; it returns the *old* value.
    def f(point):
        return float(np.sum((point - 1.5) ** 2) + 0.5)

    def gradient(point):
        return 2 * (point - 1.5)

    def notes_gradient_descent(point, learning_rate, threshold):
        value = f(point)
        new_point = point - learning_rate * gradient(point)
        new_value = f(new_point)
        if abs(new_value - value) < threshold:
            return value
        return notes_gradient_descent(new_point, learning_rate, threshold)

    x0 = np.array([4.0, -2.0])
    expected = notes_gradient_descent(x0, 0.1, 1e-6)
    res = gradient_descent(lambda p: ((p - 1.5) ** 2).sum() + 0.5, x0, learning_rate=0.1,
                           threshold=1e-6, gtol=0)
    assert res.values[-2] == pytest.approx(expected, rel=1e-14)
    # and with the gradient given by hand, as in the notes
    res2 = gradient_descent(f, x0, learning_rate=0.1, threshold=1e-6, grad=gradient, gtol=0)
    assert res2.nit == res.nit
    np.testing.assert_allclose(res2.path, res.path, rtol=1e-14)
    assert res.x.shape == (2,)
    np.testing.assert_allclose(res.x, [1.5, 1.5], atol=1e-3)


def test_hundred_thousand_iterations_without_recursion():
    depth = len(inspect.stack())
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 150)
    try:
        res = gradient_descent(lambda x: float(x @ x), [1.0, 1.0], learning_rate=1e-9,
                               threshold=0.0, gtol=0.0, max_iter=100_000, grad=lambda x: 2 * x)
    finally:
        sys.setrecursionlimit(limit)
    assert res.nit == 100_000
    assert not res.success and res.status == 1
    assert "max_iter" in res.message
    assert res.path.shape == (100_001, 2)
    np.testing.assert_allclose(res.x, (1 - 2e-9) ** 100_000 * np.ones(2), rtol=1e-9)


def test_gtol_rule():
    res = minimize(square, [3.0, 4.0], method="gd", learning_rate=0.5, threshold=0.0)
    # lr = 0.5 on x^2 jumps to the minimum in one step; the gradient there is exactly 0
    assert res.nit == 1 and res.success
    assert "gtol" in res.message
    res0 = minimize(square, [0.0, 0.0])
    assert res0.nit == 0 and res0.success and res0.path.shape == (1, 2)


# --------------------------------------------------------------------------- first steps by hand
def _two_steps(method, **options):
    x0 = np.array([1.0, -2.0])
    res = minimize(square, x0, method=method, max_iter=2, threshold=0.0, gtol=0.0, **options)
    assert res.nit == 2 and res.status == 1
    return x0, res.path


def test_gd_first_steps():
    x0, path = _two_steps("gd", learning_rate=0.1)
    np.testing.assert_allclose(path[1], x0 - 0.1 * 2 * x0, rtol=1e-15)
    np.testing.assert_allclose(path[2], path[1] - 0.1 * 2 * path[1], rtol=1e-15)


def test_momentum_first_steps():
    lr, mu = 0.1, 0.9
    x0, path = _two_steps("momentum", learning_rate=lr, momentum=mu)
    b1 = 2 * x0
    x1 = x0 - lr * b1
    b2 = mu * b1 + 2 * x1
    np.testing.assert_allclose(path[1], x1, rtol=1e-14)
    np.testing.assert_allclose(path[2], x1 - lr * b2, rtol=1e-14)


def test_nesterov_first_steps():
    lr, mu = 0.1, 0.9
    x0, path = _two_steps("nesterov", learning_rate=lr, momentum=mu)
    g0 = 2 * x0
    b1 = g0
    x1 = x0 - lr * (g0 + mu * b1)
    g1 = 2 * x1
    b2 = mu * b1 + g1
    np.testing.assert_allclose(path[1], x1, rtol=1e-14)
    np.testing.assert_allclose(path[2], x1 - lr * (g1 + mu * b2), rtol=1e-14)


def test_adagrad_first_steps():
    lr, eps = 0.1, 1e-10
    x0, path = _two_steps("adagrad", learning_rate=lr, eps=eps)
    g0 = 2 * x0
    s1 = g0**2
    x1 = x0 - lr * g0 / (np.sqrt(s1) + eps)
    g1 = 2 * x1
    s2 = s1 + g1**2
    np.testing.assert_allclose(path[1], x1, rtol=1e-14)
    np.testing.assert_allclose(path[2], x1 - lr * g1 / (np.sqrt(s2) + eps), rtol=1e-14)


def test_rmsprop_first_steps():
    lr, alpha, eps = 0.01, 0.9, 1e-8
    x0, path = _two_steps("rmsprop", learning_rate=lr, betas=alpha, eps=eps)
    g0 = 2 * x0
    v1 = (1 - alpha) * g0**2
    x1 = x0 - lr * g0 / (np.sqrt(v1) + eps)
    g1 = 2 * x1
    v2 = alpha * v1 + (1 - alpha) * g1**2
    np.testing.assert_allclose(path[1], x1, rtol=1e-14)
    np.testing.assert_allclose(path[2], x1 - lr * g1 / (np.sqrt(v2) + eps), rtol=1e-14)


def test_adam_first_steps():
    lr, (b1, b2), eps = 0.01, (0.8, 0.99), 1e-8
    x0, path = _two_steps("adam", learning_rate=lr, betas=(b1, b2), eps=eps)
    g0 = 2 * x0
    m, v = (1 - b1) * g0, (1 - b2) * g0**2
    x1 = x0 - lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps)
    g1 = 2 * x1
    m, v = b1 * m + (1 - b1) * g1, b2 * v + (1 - b2) * g1**2
    x2 = x1 - lr * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    np.testing.assert_allclose(path[1], x1, rtol=1e-13)
    np.testing.assert_allclose(path[2], x2, rtol=1e-13)


@pytest.mark.parametrize(
    "method, rule", [("gd", "sgd"), ("momentum", "sgd"), ("nesterov", "sgd"),
                     ("adagrad", "adagrad"), ("rmsprop", "rmsprop"), ("adam", "adam")]
)
def test_first_order_methods_use_the_shared_rules(monkeypatch, method, rule):
    calls = []
    original = getattr(pn.optimize.rules, rule)

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(pn.optimize.rules, rule, spy)
    res = minimize(square, [1.0, 2.0], method=method, max_iter=3, threshold=0.0, gtol=0.0)
    assert len(calls) == res.nit == 3


# --------------------------------------------------------------------------- agreement with SciPy
FUNCTIONS = pn.optimize.functions.FUNCTIONS


def _scipy_minimum(fn, x0=None):
    scipy_optimize = pytest.importorskip("scipy.optimize")
    x0 = fn.x0 if x0 is None else x0
    out = scipy_optimize.minimize(lambda x: float(fn(x)), x0, method="BFGS",
                                  options={"gtol": 1e-8})
    return out.x, out.fun


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("method", ["bfgs", "newton"])
def test_second_order_methods_agree_with_scipy(name, method):
    fn = FUNCTIONS[name]
    x_ref, f_ref = _scipy_minimum(fn)
    res = minimize(fn.function, fn.x0, method=method)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, x_ref, atol=2e-5)
    assert res.fun == pytest.approx(f_ref, abs=1e-8)
    # and it is one of the known minima (or a local minimum SciPy also found)
    assert np.linalg.norm(res.grad) < 1e-5


@pytest.mark.parametrize(
    "name, method, options, atol",
    [
        ("sphere", "gd", {}, 1e-3),
        ("quadratic", "gd", {}, 1e-3),
        ("booth", "nesterov", {}, 2e-3),
        ("himmelblau", "nesterov", {}, 1e-3),
        ("three_hump_camel", "momentum", {}, 1e-3),
        ("styblinski_tang", "rmsprop", {}, 1e-3),
        ("goldstein_price", "adagrad", {}, 1e-3),
        ("beale", "adam", {}, 5e-3),
        ("rosenbrock", "adam", {"learning_rate": 0.02, "line_search": True}, 5e-3),
        ("rosenbrock", "momentum", {"line_search": True}, 2e-2),
        ("himmelblau", "gd", {"line_search": True}, 1e-4),
    ],
)
def test_first_order_methods_agree_with_scipy(name, method, options, atol):
    fn = FUNCTIONS[name]
    x_ref, _ = _scipy_minimum(fn)
    res = minimize(fn.function, fn.x0, method=method, **options)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, x_ref, atol=atol)


def test_bfgs_in_ten_dimensions_agrees_with_scipy():
    rosen = FUNCTIONS["rosenbrock"].function
    x0 = np.linspace(0.0, 2.0, 10)
    x_ref, _ = _scipy_minimum(FUNCTIONS["rosenbrock"], x0)
    res = minimize(rosen, x0, method="bfgs")
    assert res.success
    np.testing.assert_allclose(res.x, x_ref, atol=1e-4)
    np.testing.assert_allclose(res.x, np.ones(10), atol=1e-5)


# --------------------------------------------------------------------------- Newton
def test_newton_solves_a_quadratic_in_one_step():
    rng = np.random.default_rng(0)
    M = rng.normal(size=(5, 5))
    A = M @ M.T + 5 * np.eye(5)
    b = rng.normal(size=5)
    fn = pn.optimize.functions.make_quadratic(A, b)
    for line_search in (True, False):
        res = minimize(fn.function, rng.normal(size=5) * 10, method="newton",
                       line_search=line_search)
        assert res.nit == 1 and res.success
        np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-10, atol=1e-12)
        assert res.nhev == 1
        assert res.fun == pytest.approx(fn.fmin, rel=1e-12)


def test_newton_keeps_the_shape_of_x0():
    target = np.arange(6.0).reshape(2, 3)
    res = minimize(lambda x: ((x - target) ** 2).sum(), np.zeros((2, 3)), method="newton")
    assert res.x.shape == (2, 3) and res.grad.shape == (2, 3)
    assert res.path.shape == (2, 2, 3)
    np.testing.assert_allclose(res.x, target, atol=1e-12)


def test_newton_descends_away_from_a_saddle():
    # f = x^2 - y^2 + y^4/4 has a saddle at 0 and minima (0, +-sqrt 2) of value -1. Plain
    # Newton from (1, 0.1) would go to the saddle; the safeguard descends to a minimum.
    def f(p):
        return p[0] ** 2 - p[1] ** 2 + p[1] ** 4 / 4

    res = minimize(f, [1.0, 0.1], method="newton")
    assert res.success
    np.testing.assert_allclose(res.x, [0.0, np.sqrt(2)], atol=1e-8)
    assert res.fun == pytest.approx(-1.0)
    assert np.all(np.diff(res.values) < 0)


def test_newton_with_given_hessian_or_numeric_hessian():
    A = np.array([[4.0, 1.0], [1.0, 3.0]])

    def f(x):
        return 0.5 * x @ A @ x - x.sum()

    with_hess = minimize(f, [5.0, 5.0], method="newton", jac=lambda x: A @ x - 1,
                         hess=lambda x: A)
    numeric = minimize(f, [5.0, 5.0], method="newton", jac=lambda x: A @ x - 1)
    for res in (with_hess, numeric):
        assert res.nit == 1
        np.testing.assert_allclose(res.x, np.linalg.solve(A, [1.0, 1.0]), atol=1e-8)


# --------------------------------------------------------------------------- jac, x0, callback
def test_jac_modes_agree():
    def f_np(x):
        return float(np.sum((x - 1) ** 2 * np.arange(1, 4)))

    def g_np(x):
        return 2 * (x - 1) * np.arange(1, 4)

    x0 = np.zeros(3)
    auto = minimize(lambda x: ((x - 1) ** 2 * np.arange(1.0, 4.0)).sum(), x0, method="bfgs")
    given = minimize(f_np, x0, method="bfgs", jac=g_np)
    pair = minimize(lambda x: (f_np(x), g_np(x)), x0, method="bfgs", jac=True)
    for res in (given, pair):
        np.testing.assert_allclose(res.x, auto.x, atol=1e-12)
        assert res.nit == auto.nit
    np.testing.assert_allclose(auto.x, np.ones(3), atol=1e-5)


@pytest.mark.parametrize("method", ["gd", "adam", "newton", "bfgs"])
def test_scalar_x0(method):
    res = minimize(lambda x: (x - 2.0) ** 2 + 1, 0.0, method=method, max_iter=20_000)
    assert res.success
    assert res.x.shape == () and res.path.ndim == 1
    assert float(res.x) == pytest.approx(2.0, abs=1e-3)
    assert res.fun == pytest.approx(1.0, abs=1e-6)


def test_integer_x0_becomes_float():
    res = minimize(square, [3, 4], method="newton")
    assert res.x.dtype == np.float64
    np.testing.assert_allclose(res.x, [0.0, 0.0], atol=1e-12)


def test_callback_sees_each_iteration_and_can_stop():
    seen = []

    def callback(intermediate_result):
        seen.append((intermediate_result.nit, intermediate_result.x.copy(),
                     intermediate_result.fun))
        if intermediate_result.nit == 3:
            raise StopIteration

    res = minimize(square, [1.0, 1.0], method="gd", callback=callback)
    assert res.nit == 3 and res.status == 3 and not res.success
    assert "callback" in res.message
    assert [s[0] for s in seen] == [1, 2, 3]
    np.testing.assert_array_equal(seen[-1][1], res.x)
    np.testing.assert_array_equal([s[2] for s in seen], res.values[1:])


def test_callback_must_be_callable():
    with pytest.raises(TypeError, match="callback"):
        minimize(square, [1.0], callback=3)


# --------------------------------------------------------------------------- the result
def test_result_fields_and_attribute_access():
    res = minimize(square, [1.0, -1.0], method="bfgs")
    for key in ("x", "fun", "grad", "nit", "nfev", "ngev", "nhev", "success", "status",
                "message", "path", "values", "best_x", "best_fun", "method"):
        assert key in res
        assert getattr(res, key) is res[key]
    assert isinstance(res, dict)
    assert res.jac is res.grad
    assert res.path.shape == (res.nit + 1, 2)
    np.testing.assert_array_equal(res.path[0], [1.0, -1.0])
    np.testing.assert_allclose(res.values, [square(p) for p in res.path], rtol=1e-15)
    assert res.fun == res.values[-1]
    assert res.nfev >= res.nit + 1
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        res.nope  # noqa: B018
    text = repr(res)
    assert "message" in text and "path: array of shape" in text
    assert pickle.loads(pickle.dumps(res))["nit"] == res.nit


def test_best_point_is_tracked_when_the_run_overshoots():
    # lr = 1.05 on x^2 makes |x| grow: the best point is the start
    res = minimize(lambda x: x * x, 1.0, learning_rate=1.05, max_iter=20, threshold=0.0)
    assert res.best_fun == 1.0 and res.best_x == 1.0
    assert res.fun > res.best_fun
    assert res.best_fun == res.values.min()


# --------------------------------------------------------------------------- failure modes
def test_divergence_keeps_the_last_finite_point():
    res = gradient_descent(lambda x: (x * x).sum(), [1.0, 1.0], learning_rate=1.5,
                           max_iter=100_000)
    assert not res.success and res.status == 2
    assert "non-finite" in res.message and "last finite point" in res.message
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun)
    assert np.all(np.isfinite(res.path)) and np.all(np.isfinite(res.values))
    assert res.nit < 2000


@pytest.mark.parametrize("method", ["gd", "adam", "newton", "bfgs"])
def test_nan_at_start_is_reported(method):
    res = minimize(lambda x: (x * np.nan).sum(), [1.0, 2.0], method=method)
    assert not res.success and res.status == 2
    assert "x0" in res.message
    assert res.nit == 0


def test_nan_midway_is_reported():
    # log(x) is NaN for x < 0; a step of 5 from x = 3 on x - log(x) jumps to x = -1/3
    res = gradient_descent(lambda x: x - pn.log(x), 3.0, learning_rate=5.0)
    assert res.status == 2 and not res.success
    assert res.nit == 0 and float(res.x) == 3.0
    assert res.fun == pytest.approx(3 - np.log(3))
    assert "iteration 1" in res.message


def test_line_search_rescues_a_too_large_learning_rate():
    fn = FUNCTIONS["himmelblau"]
    plain = minimize(fn.function, fn.x0, method="gd", learning_rate=0.5)
    searched = minimize(fn.function, fn.x0, method="gd", learning_rate=0.5, line_search=True)
    assert plain.status == 2
    assert searched.success
    assert np.all(np.diff(searched.values) <= 0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"method": "sgd"}, ValueError, r"unknown method 'sgd'.*'adam'.*'newton'.*'bfgs'"),
        ({"method": 3}, ValueError, "unknown method"),
        ({"lr": 0.1}, ValueError, r"unknown option 'lr'.*learning_rate"),
        ({"method": "adam", "momentum": 0.9}, ValueError, "does not take option 'momentum'"),
        ({"method": "bfgs", "learning_rate": 0.1}, ValueError, "does not take"),
        ({"learning_rate": -1.0}, ValueError, "learning_rate must be a finite number > 0"),
        ({"learning_rate": "fast"}, TypeError, "learning_rate must be a real number"),
        ({"threshold": -1e-3}, ValueError, "threshold"),
        ({"max_iter": -1}, ValueError, "max_iter"),
        ({"max_iter": 2.5}, TypeError, "max_iter must be an integer"),
        ({"method": "momentum", "momentum": 1.0}, ValueError, r"momentum must be in \[0, 1\)"),
        ({"method": "adam", "betas": 0.9}, ValueError, "pair"),
        ({"method": "adam", "betas": (0.9, 1.0)}, ValueError, "betas"),
        ({"method": "rmsprop", "betas": 1.5}, ValueError, "alpha"),
        ({"method": "adam", "eps": 0.0}, ValueError, "eps"),
        ({"line_search": "wolfe"}, ValueError, "line_search"),
        ({"jac": "yes"}, TypeError, "jac must be"),
        ({"hess": lambda x: x}, ValueError, "'newton' only"),
    ],
)
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        minimize(square, [1.0, 2.0], **kwargs)


@pytest.mark.parametrize(
    "x0, error, match",
    [
        ([], ValueError, "at least one number"),
        ([1.0, np.nan], ValueError, "x0 must be finite"),
        ("abc", TypeError, "x0 must be a number"),
        ([1 + 2j], TypeError, "x0"),
    ],
)
def test_bad_x0(x0, error, match):
    with pytest.raises(error, match=match):
        minimize(square, x0)


def test_bad_function_outputs():
    with pytest.raises(ValueError, match="scalar"):
        minimize(lambda x: x * 2, [1.0, 2.0])
    with pytest.raises(ValueError, match="shape of x0"):
        minimize(square, [1.0, 2.0], jac=lambda x: np.ones(3))
    with pytest.raises(TypeError, match="pair"):
        minimize(square, [1.0, 2.0], jac=True)
    with pytest.raises(TypeError, match="callable"):
        minimize(42, [1.0])
    with pytest.raises(TypeError, match="does not depend on its argument"):
        minimize(lambda x: float((x.data ** 2).sum()), [1.0])
    with pytest.raises(TypeError, match="no differentiable 'frexp'"):
        minimize(lambda x: np.frexp(x)[0].sum(), [1.0])


def test_numpy_ufuncs_on_the_tensor_are_differentiated():
    res = minimize(lambda x: np.sin(x).sum(), [1.0])  # through Tensor.__array_ufunc__
    assert res.success and abs(res.x[0] + np.pi / 2) < 1e-3


def test_gradient_descent_defaults_are_the_notes():
    params = inspect.signature(gradient_descent).parameters
    assert params["learning_rate"].default == 0.1
    assert params["threshold"].default == 1e-9
    assert params["max_iter"].default == 10_000
    res = gradient_descent(square, [1.0, 1.0])
    assert res.method == "gd" and res.success
