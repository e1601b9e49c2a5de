"""L-BFGS in ``pn.optimize.minimize``: the two-loop recursion is the BFGS inverse-Hessian
product, and the method finds SciPy's minima."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plainnet as pn
from plainnet.optimize.lbfgs import MEMORY, two_loop


def explicit_product(g, pairs):
    """``H g`` with ``H`` built by the BFGS update from ``gamma I`` over the pairs, densely."""
    n = len(g)
    s_last, y_last, _ = pairs[-1]
    H = np.eye(n) * float(s_last @ y_last) / float(y_last @ y_last)
    for s, y, rho in pairs:
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H @ g


@settings(max_examples=30, deadline=None)
@given(st.integers(1, MEMORY), st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_two_loop_is_the_bfgs_product(m, n, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    A = A @ A.T + n * np.eye(n)  # a positive-definite Hessian: every y.s > 0
    pairs = deque()
    for _ in range(m):
        s = rng.normal(size=n)
        y = A @ s
        pairs.append((s, y, 1.0 / float(y @ s)))
    g = rng.normal(size=n)
    np.testing.assert_allclose(two_loop(g, pairs), explicit_product(g, list(pairs)),
                               rtol=1e-9, atol=1e-12)


def test_without_pairs_the_direction_is_the_gradient():
    g = np.array([1.0, -2.0])
    np.testing.assert_array_equal(two_loop(g, deque()), g)


def test_rosenbrock_in_ten_dimensions_agrees_with_scipy():
    optimize = pytest.importorskip("scipy.optimize")
    x0 = np.zeros(10)
    res = pn.optimize.minimize(lambda x: (optimize.rosen(x), optimize.rosen_der(x)), x0,
                               method="lbfgs", jac=True, gtol=1e-8)
    ref = optimize.minimize(optimize.rosen, x0, jac=optimize.rosen_der, method="L-BFGS-B",
                            options={"gtol": 1e-10})
    assert res.success and res.method == "lbfgs"
    np.testing.assert_allclose(res.x, ref.x, atol=1e-5)
    np.testing.assert_allclose(res.x, np.ones(10), atol=1e-6)


def test_autodiff_quadratic_and_callback_stop():
    target = np.arange(5.0)
    res = pn.optimize.minimize(lambda x: ((x - target) ** 2 * (1 + target)).sum(), np.zeros(5),
                               method="lbfgs")
    np.testing.assert_allclose(res.x, target, atol=1e-6)

    def stop(result):
        if result.nit == 2:
            raise StopIteration

    res = pn.optimize.minimize(lambda x: ((x - target) ** 2).sum(), np.zeros(5),
                               method="lbfgs", callback=stop, max_iter=50)
    assert res.status == 3 and res.nit == 2


def test_non_finite_start_and_max_iter():
    res = pn.optimize.minimize(lambda x: (float("nan"), np.zeros(2)), np.zeros(2),
                               method="lbfgs", jac=True)
    assert res.status == 2 and not res.success
    res = pn.optimize.minimize(lambda x: (x ** 4).sum() + (x ** 2).sum(), np.full(3, 5.0),
                               method="lbfgs", max_iter=2, gtol=0.0)
    assert res.status == 1 and res.nit == 2
    with pytest.raises(ValueError, match="does not take option 'learning_rate'"):
        pn.optimize.minimize(lambda x: (x ** 2).sum(), [1.0], method="lbfgs", learning_rate=0.1)


def test_without_the_path_only_the_ends_are_kept():
    from plainnet.optimize.lbfgs import run_lbfgs
    from plainnet.optimize.objective import Objective
    from plainnet.optimize.options import resolve

    target = np.arange(4.0)

    def f(x):
        return ((x - target) ** 2 * (1 + target)).sum() + (x ** 4).sum()

    full = pn.optimize.minimize(f, np.ones(4), method="lbfgs")
    lean = run_lbfgs(Objective(f, np.ones(4)), resolve("lbfgs", {}), None, keep_path=False)
    assert full.nit == lean.nit > 2 and len(full.path) == full.nit + 1
    assert lean.path.shape == (2, 4)
    np.testing.assert_array_equal(lean.path[0], np.ones(4))
    np.testing.assert_array_equal(lean.path[-1], full.x)
    np.testing.assert_array_equal(lean.x, full.x)
    assert len(lean.values) == len(full.values)
