"""Tests of the notes' vector math: integration, the bias trick, magnitude, normalize."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import plainnet as pn

SETTINGS = settings(max_examples=50, deadline=None)

moderate = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
# Moderate for a norm: no squares that under- or overflow in np.linalg.norm's plain formula.
norm_moderate = st.floats(-1e6, 1e6, allow_nan=False).filter(lambda v: v == 0 or abs(v) > 1e-100)


def _rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- integrate


def test_integrate_single_matches_dot_plus_bias():
    rng = _rng(1)
    x, w = rng.normal(size=5), rng.normal(size=5)
    b = 0.75
    out = pn.integrate(x, w, b)
    assert type(out) is float  # one vector in, one number out: it prints as a number
    np.testing.assert_allclose(out, np.dot(x, w) + b, rtol=1e-14)


def test_integrate_default_bias_is_zero():
    x, w = [1.0, -2.0, 3.0], [0.5, 0.25, -1.0]
    np.testing.assert_allclose(pn.integrate(x, w), np.dot(x, w), rtol=1e-15)


def test_integrate_batch_matches_dot_row_by_row():
    rng = _rng(2)
    X, w = rng.normal(size=(7, 4)), rng.normal(size=4)
    b = -1.5
    out = pn.integrate(X, w, b)
    assert out.shape == (7,)
    np.testing.assert_allclose(out, np.dot(X, w) + b, rtol=1e-13)
    for row, value in zip(X, out, strict=True):
        np.testing.assert_allclose(value, pn.integrate(row, w, b), rtol=1e-13)


def test_integrate_accepts_lists_ints_and_bools():
    out = pn.integrate([1, 2], [3, 4], b=1)
    assert type(out) is float
    assert out == float(np.dot([1, 2], [3, 4]) + 1)
    out_bool = pn.integrate(np.array([True, False, True]), [1.0, 2.0, 3.0])
    assert float(out_bool) == 1.0 + 3.0


@pytest.mark.parametrize(
    ("x_shape", "w_shape"),
    [((3,), (2,)), ((4, 3), (2,)), ((2,), (5,)), ((2, 3, 4), (4,))],
)
def test_integrate_mismatched_shapes_name_both_shapes(x_shape, w_shape):
    x, w = np.ones(x_shape), np.ones(w_shape)
    with pytest.raises(ValueError) as info:
        pn.integrate(x, w)
    message = str(info.value)
    assert str(x_shape) in message
    assert str(w_shape) in message


def test_integrate_rejects_matrix_weights():
    with pytest.raises(ValueError, match=r"w must be a vector.*\(2, 2\)"):
        pn.integrate([1.0, 2.0], np.ones((2, 2)))


def test_integrate_rejects_vector_bias():
    with pytest.raises(ValueError, match=r"b must be a scalar.*\(2,\)"):
        pn.integrate([1.0, 2.0], [1.0, 2.0], b=[1.0, 2.0])


@pytest.mark.parametrize(
    ("x", "w", "b", "name"),
    [
        ("abc", [1.0], 0.0, "x"),
        ([1.0, "a"], [1.0, 2.0], 0.0, "x"),
        (None, [1.0], 0.0, "x"),
        ([1.0], {"a": 1}, 0.0, "w"),
        ([1.0], [1.0], "bias", "b"),
        ([1.0 + 2.0j], [1.0], 0.0, "x"),
    ],
)
def test_integrate_bad_types_raise_type_error(x, w, b, name):
    with pytest.raises(TypeError, match=rf"^{name} must be a number or an array of numbers"):
        pn.integrate(x, w, b)


# --------------------------------------------------------------------------- bias trick


def test_augment_appends_one():
    x = np.array([2.0, -3.0, 0.5])
    np.testing.assert_array_equal(pn.augment(x), np.append(x, 1.0))


def test_augment_batch_appends_column_of_ones():
    X = _rng(3).normal(size=(4, 3))
    out = pn.augment(X)
    assert out.shape == (4, 4)
    np.testing.assert_array_equal(out[:, :3], X)
    np.testing.assert_array_equal(out[:, 3], np.ones(4))


def test_augment_keeps_float32_and_rejects_scalar():
    assert pn.augment(np.ones(3, dtype=np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="scalar"):
        pn.augment(3.0)


def test_augment_does_not_modify_input():
    x = np.array([1.0, 2.0])
    pn.augment(x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_fold_bias_appends_bias_to_weights():
    w = np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(pn.fold_bias(w, 0.25), np.append(w, 0.25))
    assert pn.fold_bias(np.ones(2, np.float32), 1.0).dtype == np.float32


def test_fold_bias_rejects_bad_shapes_and_types():
    with pytest.raises(ValueError, match=r"w must be a vector"):
        pn.fold_bias(np.ones((2, 2)), 0.0)
    with pytest.raises(ValueError, match=r"b must be a scalar"):
        pn.fold_bias([1.0], [1.0, 2.0])
    with pytest.raises(TypeError, match=r"^b must be a number"):
        pn.fold_bias([1.0], "b")


def test_bias_trick_on_a_batch():
    rng = _rng(4)
    X, w, b = rng.normal(size=(6, 3)), rng.normal(size=3), 1.25
    np.testing.assert_allclose(
        pn.integrate(pn.augment(X), pn.fold_bias(w, b)), np.dot(X, w) + b, rtol=1e-13
    )


@st.composite
def _bias_trick_case(draw, batch: bool):
    n = draw(st.integers(1, 8))
    shape = (draw(st.integers(1, 6)), n) if batch else (n,)
    x = draw(hnp.arrays(np.float64, shape, elements=moderate))
    w = draw(hnp.arrays(np.float64, (n,), elements=moderate))
    b = draw(moderate)
    return x, w, b


def _assert_bias_trick(x, w, b):
    lhs = pn.integrate(pn.augment(x), pn.fold_bias(w, b))
    rhs = pn.integrate(x, w, b)
    assert np.shape(lhs) == np.shape(rhs)
    # Rounding error of a length-(n+1) dot product is bounded by ~(n+1) eps sum|x_k w_k| + |b|.
    scale = np.abs(x) @ np.abs(w) + abs(b)
    np.testing.assert_array_less(np.abs(lhs - rhs), 1e-14 * (w.size + 2) * scale + 1e-300)


@SETTINGS
@given(_bias_trick_case(batch=False))
def test_bias_trick_property_single(case):
    _assert_bias_trick(*case)


@SETTINGS
@given(_bias_trick_case(batch=True))
def test_bias_trick_property_batch(case):
    _assert_bias_trick(*case)


# --------------------------------------------------------------------------- magnitude


def test_magnitude_three_four_five():
    out = pn.magnitude([3.0, 4.0])
    assert type(out) is float and out == 5.0
    assert repr(pn.integrate([1, 2], [0.5, -1], b=0.25)) == "-1.25"  # the README's example
    assert repr(out) == "5.0"


def test_magnitude_does_not_overflow():
    out = float(pn.magnitude([1e200, 1e200]))
    assert np.isfinite(out)
    np.testing.assert_allclose(out, np.sqrt(2.0) * 1e200, rtol=1e-15)


def test_magnitude_does_not_underflow():
    out = float(pn.magnitude([1e-200, 1e-200]))
    assert out > 0
    np.testing.assert_allclose(out, np.sqrt(2.0) * 1e-200, rtol=1e-15)


def test_magnitude_of_zero_vector_is_zero():
    assert float(pn.magnitude(np.zeros(4))) == 0.0


def test_magnitude_with_infinite_entry_is_inf():
    assert float(pn.magnitude([np.inf, 1.0])) == np.inf


def test_magnitude_float32_stays_float32():
    x = np.array([3.0, 4.0], dtype=np.float32)
    out = pn.magnitude(x, keepdims=True)  # a number is a Python float; arrays keep float32
    assert out.dtype == np.float32
    assert float(out[0]) == 5.0
    big = np.full(3, np.finfo(np.float32).max / 2, dtype=np.float32)
    out_big = pn.magnitude(big, keepdims=True)
    assert out_big.dtype == np.float32
    assert np.isfinite(out_big)
    batch = pn.magnitude(np.ones((2, 3), np.float32), axis=-1)
    assert batch.dtype == np.float32


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_magnitude_axis_matches_numpy_norm_2d(axis):
    X = _rng(5).normal(size=(4, 3)) * 10
    expected = np.linalg.norm(X, axis=axis) if axis is not None else np.linalg.norm(X.ravel())
    out = pn.magnitude(X, axis=axis)
    assert np.shape(out) == np.shape(expected)
    np.testing.assert_allclose(out, expected, rtol=1e-13)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_magnitude_axis_matches_numpy_norm_3d(axis):
    X = _rng(6).normal(size=(2, 3, 4))
    expected = np.linalg.norm(X, axis=axis)
    out = pn.magnitude(X, axis=axis)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-13)


def test_magnitude_batch_of_extreme_rows():
    X = np.array([[3.0, 4.0], [1e200, 1e200], [1e-200, 1e-200], [0.0, 0.0]])
    out = pn.magnitude(X, axis=-1)
    expected = np.array([5.0, np.sqrt(2) * 1e200, np.sqrt(2) * 1e-200, 0.0])
    np.testing.assert_allclose(out, expected, rtol=1e-15)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_magnitude_keepdims_matches_numpy(axis):
    X = _rng(7).normal(size=(3, 5))
    expected = np.linalg.norm(X, axis=axis, keepdims=True)
    out = pn.magnitude(X, axis=axis, keepdims=True)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-13)


def test_magnitude_keepdims_broadcasts_for_division():
    X = _rng(8).normal(size=(3, 5))
    rows = X / pn.magnitude(X, axis=1, keepdims=True)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), np.ones(3), rtol=1e-14)


@pytest.mark.parametrize("axis", [2, -3])
def test_magnitude_axis_out_of_range_raises(axis):
    with pytest.raises(ValueError, match="axis"):
        pn.magnitude(np.ones((2, 3)), axis=axis)


def test_magnitude_bad_type_raises_type_error():
    with pytest.raises(TypeError, match="x must be a number"):
        pn.magnitude("not a vector")


@SETTINGS
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
        elements=norm_moderate,
    ),
    st.data(),
)
def test_magnitude_matches_numpy_norm_property(x, data):
    np.testing.assert_allclose(pn.magnitude(x), np.linalg.norm(x.ravel()), rtol=1e-13, atol=1e-300)
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    np.testing.assert_allclose(
        pn.magnitude(x, axis=axis), np.linalg.norm(x, axis=axis), rtol=1e-13, atol=1e-300
    )


# --------------------------------------------------------------------------- normalize


def test_normalize_values():
    np.testing.assert_allclose(pn.normalize([3.0, 4.0]), [0.6, 0.8], rtol=1e-15)
    x = np.array([1.0, -2.0, 2.0])
    np.testing.assert_allclose(pn.normalize(x), x / np.linalg.norm(x), rtol=1e-15)


def test_normalize_extreme_scales():
    for scale in (1e200, 1e-200):
        out = pn.normalize(np.array([3.0, 4.0]) * scale)
        np.testing.assert_allclose(out, [0.6, 0.8], rtol=1e-14)


def test_normalize_zero_vector_raises():
    with pytest.raises(ValueError, match="zero vector"):
        pn.normalize([0.0, 0.0, 0.0])


def test_normalize_batch_with_one_zero_row_raises():
    with pytest.raises(ValueError, match="zero vector"):
        pn.normalize(np.array([[1.0, 2.0], [0.0, 0.0]]), axis=-1)


def test_normalize_inf_raises():
    with pytest.raises(ValueError, match="inf or NaN"):
        pn.normalize([np.inf, 1.0])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_normalize_axis_on_batches(axis):
    X = _rng(9).normal(size=(4, 3))
    out = pn.normalize(X, axis=axis)
    assert out.shape == X.shape
    np.testing.assert_allclose(out, X / np.linalg.norm(X, axis=axis, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(out, axis=axis), 1.0, rtol=1e-14)


def test_normalize_without_axis_treats_batch_as_one_vector():
    X = _rng(10).normal(size=(4, 3))
    out = pn.normalize(X)
    np.testing.assert_allclose(np.linalg.norm(out.ravel()), 1.0, rtol=1e-14)
    np.testing.assert_allclose(out, X / np.linalg.norm(X.ravel()), rtol=1e-14)


@SETTINGS
@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 10),
        elements=st.floats(-1e300, 1e300, allow_nan=False, allow_subnormal=False),
    )
)
def test_normalize_unit_length_property(x):
    assume(np.max(np.abs(x)) >= 1e-300)
    out = pn.normalize(x)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(np.linalg.norm(out), 1.0, rtol=1e-14 * (x.size + 2))
    # Same direction: every component keeps its sign.
    assert np.all(np.sign(out[np.abs(out) > 1e-300]) == np.sign(x[np.abs(out) > 1e-300]))
