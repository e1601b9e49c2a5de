"""pn.optim.clip_grad_norm / clip_grad_value against hand computation."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet.optim import clip_grad_norm, clip_grad_norm_, clip_grad_value, clip_grad_value_


def _with_grads(*grads):
    params = []
    for g in grads:
        g = np.asarray(g)
        p = pn.tensor(np.zeros_like(g), requires_grad=True)
        p.grad = g.copy()
        params.append(p)
    return params


def test_two_norm_clips_all_gradients_jointly():
    a, b = _with_grads([3.0, 0.0], [[0.0], [4.0]])  # joint norm 5
    ga = a.grad
    total = clip_grad_norm([a, b], max_norm=1.0)
    assert total == pytest.approx(5.0, rel=1e-15)
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(a.grad, [3.0 * scale, 0.0], rtol=1e-15)
    np.testing.assert_allclose(b.grad, [[0.0], [4.0 * scale]], rtol=1e-15)
    assert a.grad is ga  # in place
    joint = np.sqrt(np.sum(a.grad**2) + np.sum(b.grad**2))
    assert joint == pytest.approx(1.0, rel=1e-6)


def test_small_norms_are_left_unchanged():
    (a,) = _with_grads([0.3, -0.4])
    total = clip_grad_norm_(a, max_norm=1.0)  # one Tensor is accepted too
    assert total == pytest.approx(0.5, rel=1e-15)
    np.testing.assert_array_equal(a.grad, [0.3, -0.4])


@pytest.mark.parametrize("norm_type", [1.0, 3.0, float("inf"), "inf"])
def test_other_norms(norm_type):
    rng = np.random.default_rng(0)
    g1, g2 = rng.normal(size=5), rng.normal(size=(2, 2))
    a, b = _with_grads(g1, g2)
    flat = np.concatenate([g1.ravel(), g2.ravel()])
    p = float(norm_type)
    expected = np.max(np.abs(flat)) if np.isinf(p) else np.sum(np.abs(flat) ** p) ** (1 / p)
    total = clip_grad_norm([a, b], max_norm=0.5, norm_type=norm_type)
    assert total == pytest.approx(expected, rel=1e-12)
    coef = 0.5 / (expected + 1e-6)
    np.testing.assert_allclose(a.grad, g1 * coef, rtol=1e-12)
    np.testing.assert_allclose(b.grad, g2 * coef, rtol=1e-12)


def test_float32_stays_float32_and_huge_values_do_not_overflow():
    (a,) = _with_grads(np.full(4, 1e30, dtype=np.float32))
    total = clip_grad_norm([a], max_norm=1.0)
    assert total == pytest.approx(2e30, rel=1e-6)  # sqrt(4) * 1e30, beyond float32's squares
    assert a.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad, np.full(4, 0.5), rtol=1e-6)


def test_params_without_grad_are_skipped():
    (a,) = _with_grads([6.0, 8.0])
    b = pn.tensor([1.0], requires_grad=True)
    assert clip_grad_norm([a, b], 20.0) == pytest.approx(10.0)
    assert b.grad is None
    assert clip_grad_norm([b], 1.0) == 0.0


def test_non_finite_norm():
    (a,) = _with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="inf"):
        clip_grad_norm([a], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(a.grad, [np.inf, 1.0])
    total = clip_grad_norm([a], 1.0)  # as PyTorch: the gradients become NaN/0, not silently kept
    assert total == np.inf
    assert np.isnan(a.grad[0]) and a.grad[1] == 0.0


def test_bad_arguments_name_the_value():
    (a,) = _with_grads([1.0])
    with pytest.raises(ValueError, match="-1.5"):
        clip_grad_norm([a], -1.5)
    with pytest.raises(ValueError, match="-2"):
        clip_grad_norm([a], 1.0, norm_type=-2)
    with pytest.raises(ValueError, match="-0.1"):
        clip_grad_value([a], -0.1)
    with pytest.raises(TypeError, match="ndarray"):
        clip_grad_value([np.ones(2)], 1.0)


def test_clip_grad_value_clamps_in_place():
    a, b = _with_grads(np.array([-3.0, 0.2, 5.0], dtype=np.float32), [[0.5, -0.7]])
    ga = a.grad
    assert clip_grad_value_([a, b], 0.6) is None
    np.testing.assert_allclose(a.grad, [-0.6, 0.2, 0.6], rtol=1e-7)
    np.testing.assert_allclose(b.grad, [[0.5, -0.6]], rtol=1e-15)
    assert a.grad is ga and ga.dtype == np.float32
    clip_grad_value(a, 0.0)
    np.testing.assert_array_equal(a.grad, [0.0, 0.0, 0.0])
