"""The activations of issue 16 (silu, mish, selu, celu, hardtanh, relu6, hardswish, hardsigmoid,
softsign, logsigmoid) on arrays and Tensors, their modules, and the fixed elu/gelu Tensor paths:
gradients against finite differences, float32 kept, no warnings at any float input, PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import plainnet as pn
from plainnet import nn

NEW = ["silu", "mish", "selu", "celu", "hardtanh", "relu6", "hardswish", "hardsigmoid",
       "softsign", "logsigmoid"]
MODULES = {"silu": "SiLU", "mish": "Mish", "selu": "SELU", "celu": "CELU", "hardtanh": "Hardtanh",
           "relu6": "ReLU6", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid",
           "softsign": "Softsign", "logsigmoid": "LogSigmoid"}
KINKS = {"selu": (0.0,), "hardtanh": (-1.0, 1.0), "relu6": (0.0, 6.0), "hardswish": (-3.0, 3.0),
         "hardsigmoid": (-3.0, 3.0)}
# Every kind of float input: infinities, the extremes, tiny and subnormal values, signed zeros.
SWEEP64 = np.array([-np.inf, -1.7e308, -1e308, -1e103, -750.0, -40.0, -3.0, -1.0, -1e-12,
                    -5e-324, -0.0, 0.0, 5e-324, 1e-300, 1e-12, 1.0, 3.0, 6.0, 40.0, 750.0, 1e103,
                    1e308, 1.7e308, np.inf])
F32 = np.finfo(np.float32)
SWEEP32 = np.array([-np.inf, -F32.max, -1e30, -100.0, -3.0, -1e-12, -F32.smallest_subnormal, 0.0,
                    F32.tiny, 1e-12, 3.0, 6.0, 100.0, 1e30, F32.max, np.inf], np.float32)


def _act(name, **params):
    return pn.get_activation(name, **params)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


def _points(name, shape, seed=0):
    """Random points away from the activation's kinks (finite differences jump there)."""
    x = np.random.default_rng(seed).uniform(-4.5, 4.5, size=shape)
    for k in KINKS.get(name, ()):
        x = np.where(np.abs(x - k) < 0.05, x + 0.2, x)
    return x


# --------------------------------------------------------------------------- registration


@pytest.mark.parametrize("name", NEW)
def test_registered_by_name_with_module_and_instance(name):
    act = pn.get_activation(name)
    assert type(act) is pn.ACTIVATIONS[name]
    assert getattr(pn, name) == act
    module_cls = getattr(nn, MODULES[name])
    assert nn.ACTIVATION_MODULES[name] is module_cls
    assert module_cls.__name__ == MODULES[name]


def test_module_arguments_are_pytorchs_and_survive_a_spec_round_trip():
    layers = [nn.CELU(alpha=0.5), nn.Hardtanh(min_val=-2.0, max_val=0.5), nn.SiLU(), nn.ReLU6()]
    for layer in layers:
        again = nn.module_from_spec(nn.module_to_spec(layer))
        assert type(again) is type(layer)
        assert again.get_config() == layer.get_config()
        x = np.linspace(-4, 4, 9)
        np.testing.assert_array_equal(again(pn.tensor(x)).data, layer(pn.tensor(x)).data)
    assert nn.CELU(alpha=0.5).get_config() == {"alpha": 0.5}
    assert nn.Hardtanh(-2, 0.5).get_config() == {"min_val": -2.0, "max_val": 0.5}


def test_sequential_accepts_activation_objects_and_trains_through_them():
    model = nn.Sequential(nn.Linear(3, 4), pn.silu, nn.Linear(4, 1), nn.Softsign())
    assert isinstance(model[1], nn.SiLU)
    out = model(pn.tensor(np.ones((2, 3))))
    out.sum().backward()
    assert all(p.grad is not None and np.all(np.isfinite(p.grad)) for p in model.parameters())


@pytest.mark.parametrize(
    "make, message",
    [(lambda: nn.Hardtanh(1.0, -1.0), "min_val < max_val"),
     (lambda: nn.CELU(alpha=0.0), "alpha"),
     (lambda: pn.get_activation("celu", alpha=float("nan")), "alpha")],
)
def test_bad_parameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("name", NEW + ["elu", "gelu"])
def test_tensor_gradient_matches_finite_differences_on_broadcast_shapes(name):
    act = _act(name)
    b = _points(name, (1, 4), seed=1) * 0.1
    w = np.random.default_rng(2).normal(size=(3, 4))

    def f(x):
        return (act(x + b) * w).sum()

    x = _points(name, (3, 1)) - b.mean()
    assert pn.check_grad(f, x) < 1e-6


@pytest.mark.parametrize("name", NEW)
def test_tensor_values_and_gradients_equal_the_array_function(name):
    act = _act(name)
    x = _points(name, (4, 5))
    t = pn.tensor(x, requires_grad=True)
    y = act(t)
    np.testing.assert_array_equal(y.data, act(x))
    y.sum().backward()
    np.testing.assert_allclose(t.grad, act.derivative(x), rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("name", [n for n in NEW if n not in ("hardtanh", "relu6",
                                                              "hardsigmoid")])
def test_second_derivative_matches_finite_differences_of_the_derivative(name):
    act = _act(name)
    x = _points(name, (6,), seed=3)
    hess = pn.hessian(lambda t: act(t).sum())(x)
    h = 1e-6
    numeric = (act.derivative(x + h) - act.derivative(x - h)) / (2 * h)
    np.testing.assert_allclose(np.diag(hess), numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(hess - np.diag(np.diag(hess)), 0)


@pytest.mark.parametrize("name", NEW + ["elu", "gelu"])
def test_float32_is_kept_by_value_derivative_and_gradient(name):
    act = _act(name)
    x = _points(name, (5,)).astype(np.float32)
    assert act(x).dtype == np.float32
    assert act.derivative(x).dtype == np.float32
    t = pn.tensor(x, requires_grad=True)
    y = act(t)
    assert y.dtype == np.float32
    y.sum().backward()
    assert t.grad.dtype == np.float32
    np.testing.assert_allclose(y.data, act(x.astype(np.float64)), rtol=2e-6, atol=1e-6)


# --------------------------------------------------------------------------- stability


@pytest.mark.parametrize("name", NEW + ["elu", "gelu", "sigmoid", "tanh", "softplus"])
@pytest.mark.parametrize("sweep", [SWEEP64, SWEEP32], ids=["float64", "float32"])
def test_no_warning_and_no_nan_at_any_float_input(name, sweep):
    act = _act(name)
    y = _quiet(act, sweep)
    d = _quiet(act.derivative, sweep)
    t = pn.tensor(sweep, requires_grad=True)
    yt = _quiet(act, t)
    _quiet(yt.sum().backward)
    for out in (y, d, yt.data, t.grad):
        assert out.dtype == sweep.dtype
        assert not np.any(np.isnan(out))
    np.testing.assert_array_equal(yt.data, y)
    np.testing.assert_allclose(t.grad, d, rtol=1e-14 if sweep.dtype == np.float64 else 1e-6)
    # the derivative is bounded: no infinity either
    assert np.all(np.isfinite(d))


def test_gelu_tanh_on_tensors_has_no_overflow_warning_beyond_1e103():
    act = pn.ACTIVATIONS["gelu"](approximate="tanh")
    t = pn.tensor([-1e200, -1e104, 1e104, 1e200], requires_grad=True)
    y = _quiet(act, t)
    _quiet(y.sum().backward)
    np.testing.assert_array_equal(y.data, [0.0, 0.0, 1e104, 1e200])
    np.testing.assert_array_equal(t.grad, [0.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("x", [-1e-12, -1e-17, -1e-300])
def test_elu_on_tensors_is_exact_near_zero(x):
    t = pn.tensor([x], requires_grad=True)
    y = pn.elu(t)
    exact = np.expm1(x)  # alpha = 1
    assert abs(y.data[0] - exact) <= 1e-15 * abs(exact)
    y.sum().backward()
    assert t.grad[0] == pytest.approx(np.exp(x), rel=1e-15)


def test_limits_at_infinity_are_the_functions_limits():
    inf = np.inf
    cases = {
        "silu": ([-inf, inf], [0.0, inf], [0.0, 1.0]),
        "mish": ([-inf, inf], [0.0, inf], [0.0, 1.0]),
        "softsign": ([-inf, inf], [-1.0, 1.0], [0.0, 0.0]),
        "logsigmoid": ([-inf, inf], [-inf, 0.0], [1.0, 0.0]),
        "hardswish": ([-inf, inf], [0.0, inf], [0.0, 1.0]),
        "hardsigmoid": ([-inf, inf], [0.0, 1.0], [0.0, 0.0]),
        "celu": ([-inf, inf], [-1.0, inf], [0.0, 1.0]),
    }
    for name, (x, value, slope) in cases.items():
        act = _act(name)
        np.testing.assert_array_equal(act(x), value, err_msg=name)
        np.testing.assert_array_equal(act.derivative(x), slope, err_msg=name)


def test_known_values_and_corner_derivatives():
    np.testing.assert_allclose(pn.silu([1.0]), [1 / (1 + np.exp(-1))], rtol=1e-15)
    np.testing.assert_allclose(pn.mish([1.0]), [np.tanh(np.log1p(np.e))], rtol=1e-15)
    np.testing.assert_allclose(pn.softsign([3.0]), [0.75], rtol=1e-15)
    np.testing.assert_allclose(pn.relu6([-1.0, 3.0, 7.0]), [0.0, 3.0, 6.0])
    np.testing.assert_allclose(pn.hardsigmoid([0.0, 1.5]), [0.5, 0.75])
    np.testing.assert_allclose(pn.hardswish([1.5]), [1.125])
    np.testing.assert_allclose(pn.logsigmoid([-1000.0]), [-1000.0])
    # PyTorch's conventions at the corners
    np.testing.assert_array_equal(pn.hardtanh.derivative([-1.0, 1.0]), [0.0, 0.0])
    np.testing.assert_array_equal(pn.relu6.derivative([0.0, 6.0]), [0.0, 0.0])
    np.testing.assert_array_equal(pn.hardswish.derivative([-3.0, 3.0]), [0.0, 1.0])
    np.testing.assert_array_equal(pn.hardsigmoid.derivative([-3.0, 3.0]), [0.0, 0.0])
    assert float(pn.selu.derivative(0.0)) == pytest.approx(1.0507009873554805 * 1.6732632423543772)


# --------------------------------------------------------------------------- PyTorch


def _torch_fn(name, F):
    return {
        "silu": F.silu, "mish": F.mish, "selu": F.selu, "celu": lambda v: F.celu(v, 0.7),
        "hardtanh": lambda v: F.hardtanh(v, -2.0, 0.5), "relu6": F.relu6,
        "hardswish": F.hardswish, "hardsigmoid": F.hardsigmoid, "softsign": F.softsign,
        "logsigmoid": F.logsigmoid,
    }[name]


def _ours(name):
    params = {"celu": {"alpha": 0.7}, "hardtanh": {"min_val": -2.0, "max_val": 0.5}}
    return _act(name, **params.get(name, {}))


@pytest.mark.parametrize("name", NEW)
def test_values_and_gradients_equal_pytorchs(name):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    grid = np.concatenate([np.linspace(-8, 8, 161), [-3.0, -2.0, -1.0, 0.0, 0.5, 3.0, 6.0],
                           [-700.0, -50.0, -1e-9, 1e-9, 50.0, 700.0]])
    xt = torch.tensor(grid, dtype=torch.float64, requires_grad=True)
    yt = _torch_fn(name, F)(xt)
    yt.sum().backward()
    t = pn.tensor(grid, requires_grad=True)
    y = _ours(name)(t)
    y.sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    # PyTorch rounds two of its gradients' constants to float32 (1/6, and celu's 1/alpha);
    # plainnet's are exact: 1/6 and exp(x / alpha) in float64
    rtol = {"hardsigmoid": 1e-7, "celu": 1e-6}.get(name, 1e-12)
    np.testing.assert_allclose(t.grad, xt.grad.numpy(), rtol=rtol, atol=1e-15)


@pytest.mark.parametrize("name", NEW)
def test_float32_values_equal_pytorchs(name):
    torch = pytest.importorskip("torch")
    x = np.linspace(-8, 8, 97, dtype=np.float32)
    expected = _torch_fn(name, torch.nn.functional)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_ours(name)(x), expected, rtol=2e-6, atol=2e-7)


def test_modules_equal_pytorchs_modules():
    torch = pytest.importorskip("torch")
    x = np.linspace(-5, 5, 41)
    for cls in MODULES.values():
        args = {"CELU": (0.3,), "Hardtanh": (-0.5, 2.0)}.get(cls, ())
        ours = getattr(nn, cls)(*args)(pn.tensor(x)).data
        theirs = getattr(torch.nn, cls)(*args)(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15, err_msg=cls)
