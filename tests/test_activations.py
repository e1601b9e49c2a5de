"""Tests of the activations: values, derivatives, dtypes, and overflow-free evaluation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import plainnet as pn

SETTINGS = settings(max_examples=50, deadline=None)

NAMES = sorted(pn.ACTIVATIONS)
# Activations whose derivative jumps at 0 (finite differences across 0 are meaningless there).
KINKED = {"step", "relu", "leaky_relu", "elu", "selu", "relu6"}
# Where the others' derivatives jump (default parameters): finite differences skip those points.
KINKS = {"hardtanh": (-1.0, 1.0), "relu6": (0.0, 6.0), "hardswish": (-3.0, 3.0),
         "hardsigmoid": (-3.0, 3.0)}

F32 = np.finfo(np.float32)
EXTREMES_F64 = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
EXTREMES_F32 = np.array(
    [
        -F32.max,
        -1e30,
        -1000.0,
        -F32.tiny,
        0.0,
        F32.tiny,
        F32.smallest_subnormal,
        1000.0,
        1e30,
        F32.max,
    ],
    dtype=np.float32,
)


def _make(name):
    return pn.ACTIVATIONS[name]()


def _no_warnings(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


def test_registry_holds_activation_classes_with_matching_names():
    assert {
        "step",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "softplus",
        "gelu",
        "identity",
        "linear",
    } <= set(pn.ACTIVATIONS)
    for name, cls in pn.ACTIVATIONS.items():
        act = cls()
        assert isinstance(act, pn.Activation)
        assert act.name == name or (name == "linear" and act.name == "identity")


def test_module_level_instances_are_registry_defaults():
    for name in (
        "step",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "softplus",
        "gelu",
        "identity",
    ):
        assert getattr(pn, name) == pn.ACTIVATIONS[name]()


# --------------------------------------------------------------------------- derivatives


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(
    x=hnp.arrays(
        np.float64,
        st.integers(1, 8),
        elements=st.floats(-20, 20, allow_nan=False).filter(lambda v: abs(v) > 1e-3),
    )
)
def test_derivative_matches_central_finite_differences(name, x):
    act = _make(name)
    h = 1e-6
    numeric = (act(x + h) - act(x - h)) / (2 * h)
    analytic = act.derivative(x)
    assert analytic.shape == x.shape
    away = np.ones(x.shape, bool)
    for k in KINKS.get(name, ()):
        away &= np.abs(x - k) > 1e-3
    np.testing.assert_allclose(analytic[away], numeric[away], rtol=1e-6, atol=1e-8)


@SETTINGS
@given(x=st.floats(-8, 8, allow_nan=False))
def test_gelu_tanh_approximation_derivative_matches_finite_differences(x):
    act = pn.ACTIVATIONS["gelu"](approximate="tanh")
    h = 1e-6
    numeric = (act(x + h) - act(x - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(x), numeric, rtol=1e-6, atol=1e-8)


def test_elu_with_alpha_derivative_matches_finite_differences():
    act = pn.ACTIVATIONS["elu"](alpha=0.7)
    x = np.linspace(-5, 5, 41) + 0.0125
    h = 1e-6
    numeric = (act(x + h) - act(x - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(x), numeric, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- dtypes and input


@pytest.mark.parametrize("name", NAMES)
def test_float32_in_float32_out(name):
    act = _make(name)
    x = np.linspace(-4, 4, 17, dtype=np.float32)
    y, dy = act(x), act.derivative(x)
    assert y.dtype == np.float32
    assert dy.dtype == np.float32
    assert y.shape == dy.shape == x.shape
    # And the float32 result agrees with the float64 one to float32 precision.
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(y, act(x64), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dy, act.derivative(x64), rtol=1e-5, atol=1e-6)
    assert act(np.float32(0.5)).dtype == np.float32
    assert act.derivative(np.float32(0.5)).dtype == np.float32


@pytest.mark.parametrize("name", NAMES)
def test_lists_and_scalars_accepted(name):
    act = _make(name)
    values = [-2, -0.5, 0.25, 3]
    ref = np.array(values, dtype=np.float64)
    out = act(values)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, act(ref))
    np.testing.assert_array_equal(act.derivative(values), act.derivative(ref))
    scalar = act(0.25)
    assert np.shape(scalar) == ()
    assert scalar.dtype == np.float64
    assert float(scalar) == float(act(np.array(0.25)))
    assert float(act(3)) == float(act(3.0))
    assert act.derivative(3).dtype == np.float64
    assert float(act.derivative(0.25)) == float(act.derivative(np.array(0.25)))


@pytest.mark.parametrize("name", NAMES)
def test_scalar_input_returns_zero_d_array(name):
    act = _make(name)
    for x in (0.25, np.float32(0.25)):
        for out in (act(x), act.derivative(x)):
            assert isinstance(out, np.ndarray)
            assert out.shape == ()
            assert out.dtype == np.asarray(x).dtype


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", ["abc", None, 1 + 2j, ["a", "b"], {"x": 1}])
def test_bad_input_types_raise_type_error(name, bad):
    act = _make(name)
    with pytest.raises(TypeError, match="x must be a number or an array of numbers"):
        act(bad)
    with pytest.raises(TypeError, match="x must be a number or an array of numbers"):
        act.derivative(bad)


@pytest.mark.parametrize("fn", [pn.softmax, pn.log_softmax, pn.logsumexp])
def test_softmax_family_bad_input_raises_type_error(fn):
    with pytest.raises(TypeError, match="x must be a number"):
        fn(["a", "b"])
    with pytest.raises(TypeError, match="x must be a number"):
        fn(None)


# --------------------------------------------------------------------------- no overflow


@pytest.mark.parametrize("name", NAMES)
def test_no_runtime_warning_at_plus_minus_1000(name):
    act = _make(name)
    y = _no_warnings(act, EXTREMES_F64)
    dy = _no_warnings(act.derivative, EXTREMES_F64)
    assert np.all(np.isfinite(y))
    assert np.all(np.isfinite(dy))


@pytest.mark.parametrize("name", NAMES)
def test_no_runtime_warning_forward_at_float32_extremes(name):
    act = _make(name)
    y = _no_warnings(act, EXTREMES_F32)
    assert y.dtype == np.float32
    if name == "selu":  # 1.0507 * max is beyond float32: inf there is the right value
        assert np.all(y[EXTREMES_F32 == F32.max] == np.inf)
        y = y[EXTREMES_F32 < F32.max]
    assert np.all(np.isfinite(y))




@pytest.mark.parametrize(
    "name",
    [
        n
        if n == "gelu"
        else n
        for n in NAMES
    ],
)
def test_no_runtime_warning_derivative_at_float32_extremes(name):
    act = _make(name)
    dy = _no_warnings(act.derivative, EXTREMES_F32)
    assert dy.dtype == np.float32
    assert np.all(np.isfinite(dy))


def test_gelu_tanh_approximation_no_runtime_warning_at_plus_minus_1000():
    act = pn.ACTIVATIONS["gelu"](approximate="tanh")
    expected = [_gelu_exact(v) for v in EXTREMES_F64]
    np.testing.assert_allclose(_no_warnings(act, EXTREMES_F64), expected, atol=1e-3)
    np.testing.assert_allclose(_no_warnings(act.derivative, EXTREMES_F64)[[0, -1]], [0.0, 1.0])


@pytest.mark.parametrize("method", ["forward", "derivative"])
def test_gelu_tanh_approximation_no_runtime_warning_at_float32_extremes(method):
    act = pn.ACTIVATIONS["gelu"](approximate="tanh")
    fn = act if method == "forward" else act.derivative
    out = _no_warnings(fn, EXTREMES_F32)
    assert np.all(np.isfinite(out))


# --------------------------------------------------------------------------- sigmoid


def test_sigmoid_saturates_exactly():
    out = _no_warnings(pn.sigmoid, [-1000.0, 1000.0])
    assert out[0] == 0.0
    assert out[1] == 1.0
    out32 = _no_warnings(pn.sigmoid, np.array([-1000.0, 1000.0], np.float32))
    assert out32[0] == 0.0
    assert out32[1] == 1.0


def test_sigmoid_matches_closed_form_and_symmetry():
    x = np.linspace(-30, 30, 121)
    np.testing.assert_allclose(pn.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(pn.sigmoid(-x), 1 - pn.sigmoid(x), atol=1e-15)
    np.testing.assert_allclose(pn.sigmoid(x), scipy.special.expit(x), rtol=1e-14)


@SETTINGS
@given(x=hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(-50, 50)))
def test_sigmoid_derivative_is_s_times_one_minus_s(x):
    s = pn.sigmoid(x)
    np.testing.assert_allclose(pn.sigmoid.derivative(x), s * (1 - s), rtol=1e-15, atol=0)


# --------------------------------------------------------------------------- kinks


def test_relu_derivative_at_zero_is_zero():
    assert float(pn.relu.derivative(0.0)) == 0.0
    assert float(pn.relu.derivative(-0.0)) == 0.0
    np.testing.assert_array_equal(pn.relu.derivative([-1.0, 1.0]), [0.0, 1.0])


def test_step_values_and_zero_derivative_everywhere():
    x = np.array([-1e6, -1.0, -1e-300, 0.0, 1e-300, 1.0, 1e6])
    np.testing.assert_array_equal(pn.step(x), (x >= 0).astype(float))
    assert float(pn.step(0.0)) == 1.0
    np.testing.assert_array_equal(pn.step.derivative(x), np.zeros_like(x))


@pytest.mark.parametrize("slope", [None, 0.2])
def test_leaky_relu_kink_and_slopes(slope):
    act = pn.ACTIVATIONS["leaky_relu"]() if slope is None else pn.ACTIVATIONS["leaky_relu"](slope)
    a = 0.01 if slope is None else slope
    assert float(act.derivative(0.0)) == a
    np.testing.assert_array_equal(act.derivative([-3.0, 2.0]), [a, 1.0])
    np.testing.assert_allclose(act([-3.0, 0.0, 2.0]), [-3.0 * a, 0.0, 2.0], rtol=1e-15)


def test_elu_derivative_at_zero_is_alpha():
    assert float(pn.elu.derivative(0.0)) == 1.0
    assert float(pn.ACTIVATIONS["elu"](alpha=0.5).derivative(0.0)) == 0.5


def test_elu_values():
    x = np.linspace(-5, 5, 21)
    np.testing.assert_allclose(pn.elu(x), np.where(x > 0, x, np.expm1(x)), rtol=1e-15)


def test_tanh_and_identity_values():
    x = np.linspace(-5, 5, 21)
    np.testing.assert_allclose(pn.tanh(x), np.tanh(x), rtol=1e-15)
    np.testing.assert_allclose(pn.tanh.derivative(x), 1 - np.tanh(x) ** 2, rtol=1e-14)
    np.testing.assert_array_equal(pn.identity(x), x)
    np.testing.assert_array_equal(pn.identity.derivative(x), np.ones_like(x))


# --------------------------------------------------------------------------- gelu, softplus


def _gelu_exact(v: float) -> float:
    return v * 0.5 * (1 + math.erf(v / math.sqrt(2)))


def _gelu_exact_derivative(v: float) -> float:
    return 0.5 * (1 + math.erf(v / math.sqrt(2))) + v * math.exp(-v * v / 2) / math.sqrt(
        2 * math.pi
    )


def test_gelu_matches_exact_formula():
    x = np.linspace(-10, 10, 201)
    expected = np.array([_gelu_exact(v) for v in x])
    np.testing.assert_allclose(pn.gelu(x), expected, rtol=1e-13, atol=1e-300)
    expected_d = np.array([_gelu_exact_derivative(v) for v in x])
    np.testing.assert_allclose(pn.gelu.derivative(x), expected_d, rtol=1e-13, atol=1e-15)


def test_gelu_tanh_approximation_close_to_exact():
    approx = pn.ACTIVATIONS["gelu"](approximate="tanh")
    x = np.linspace(-6, 6, 121)
    expected = np.array([_gelu_exact(v) for v in x])
    np.testing.assert_allclose(approx(x), expected, atol=1e-3)
    with pytest.raises(ValueError, match="approximate"):
        pn.ACTIVATIONS["gelu"](approximate="bogus")


def test_softplus_matches_log1p_exp_for_moderate_values():
    x = np.linspace(-30, 30, 241)
    np.testing.assert_allclose(pn.softplus(x), np.log1p(np.exp(x)), rtol=1e-13)
    np.testing.assert_allclose(pn.softplus.derivative(x), scipy.special.expit(x), rtol=1e-14)


def test_softplus_large_input_is_identity():
    x = np.array([50.0, 1000.0, 1e300])
    np.testing.assert_array_equal(_no_warnings(pn.softplus, x), x)


# --------------------------------------------------------------------------- softmax family


@SETTINGS
@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
        elements=st.floats(-1e4, 1e4, allow_nan=False),
    ),
    axis=st.sampled_from([0, 1, -1]),
)
def test_softmax_sums_to_one(x, axis):
    p = _no_warnings(pn.softmax, x, axis=axis)
    assert p.shape == x.shape
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-13)


def test_softmax_matches_closed_form_for_moderate_values():
    x = np.random.default_rng(0).normal(size=(5, 4)) * 3
    e = np.exp(x)
    np.testing.assert_allclose(pn.softmax(x), e / e.sum(axis=-1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(pn.softmax(x, axis=0), e / e.sum(axis=0, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(pn.softmax(x), scipy.special.softmax(x, axis=-1), rtol=1e-13)


def test_softmax_large_gap_is_exact():
    out = _no_warnings(pn.softmax, [1e4, 0.0])
    np.testing.assert_array_equal(out, np.array([1.0, 0.0]))
    np.testing.assert_array_equal(_no_warnings(pn.softmax, [0.0, 1e4]), np.array([0.0, 1.0]))


def test_softmax_keeps_float32():
    assert pn.softmax(np.array([1.0, 2.0], np.float32)).dtype == np.float32
    assert pn.log_softmax(np.array([1.0, 2.0], np.float32)).dtype == np.float32


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_log_softmax_equals_log_of_softmax(axis):
    x = np.random.default_rng(1).normal(size=(4, 6)) * 5
    np.testing.assert_allclose(
        pn.log_softmax(x, axis=axis), np.log(pn.softmax(x, axis=axis)), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        pn.log_softmax(x, axis=axis), scipy.special.log_softmax(x, axis=axis), rtol=1e-12
    )


def test_log_softmax_large_values_are_finite():
    out = _no_warnings(pn.log_softmax, [1e4, 0.0])
    np.testing.assert_array_equal(out, np.array([0.0, -1e4]))


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_matches_scipy(axis, keepdims):
    x = np.random.default_rng(2).normal(size=(3, 5)) * 10
    got = pn.logsumexp(x, axis=axis, keepdims=keepdims)
    expected = scipy.special.logsumexp(x, axis=axis, keepdims=keepdims)
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


@SETTINGS
@given(
    x=hnp.arrays(np.float64, st.integers(1, 10), elements=st.floats(-1e300, 1e300, allow_nan=False))
)
def test_logsumexp_matches_scipy_property(x):
    got = _no_warnings(pn.logsumexp, x)
    np.testing.assert_allclose(got, scipy.special.logsumexp(x), rtol=1e-13)


def test_logsumexp_default_axis_is_last():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(pn.logsumexp(x), scipy.special.logsumexp(x, axis=-1), rtol=1e-14)


# --------------------------------------------------------------------------- get_activation


def test_get_activation_by_name_and_passthrough():
    assert isinstance(pn.get_activation("sigmoid"), pn.ACTIVATIONS["sigmoid"])
    assert isinstance(pn.get_activation("ReLU"), pn.ACTIVATIONS["relu"])
    assert isinstance(pn.get_activation("leaky-relu"), pn.ACTIVATIONS["leaky_relu"])
    assert pn.get_activation("linear") == pn.identity
    act = pn.ACTIVATIONS["elu"](alpha=0.3)
    assert pn.get_activation(act) is act
    assert pn.get_activation("leaky_relu", negative_slope=0.3).negative_slope == 0.3


def test_get_activation_unknown_name_lists_choices():
    with pytest.raises(ValueError, match="unknown activation 'swishy'") as info:
        pn.get_activation("swishy")
    message = str(info.value)
    for name in pn.ACTIVATIONS:
        assert repr(name) in message


@pytest.mark.parametrize("bad", [3, None, 1.5, ["relu"]])
def test_get_activation_bad_type_raises_type_error(bad):
    with pytest.raises(TypeError, match="activation must be a name or an Activation"):
        pn.get_activation(bad)


def test_activation_equality_and_repr():
    leaky = pn.ACTIVATIONS["leaky_relu"]
    assert leaky(0.1) == leaky(0.1)
    assert leaky(0.1) != leaky(0.2)
    assert hash(leaky(0.1)) == hash(leaky(0.1))
    assert "negative_slope=0.1" in repr(leaky(0.1))
