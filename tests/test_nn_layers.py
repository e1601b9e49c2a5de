"""Tests of the layers: values against NumPy, gradients against finite differences (float64),
train/eval behaviour, configs and reprs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.special

import plainnet as pn
from plainnet import nn

RNG = np.random.default_rng(1234)


def weighted_sum_grads(module, x, weights):
    """Autodiff gradients of ``sum(module(x) * weights)`` for each parameter (and x)."""
    module.zero_grad()
    xt = pn.tensor(x, requires_grad=True)
    (module(xt) * weights).sum().backward()
    return xt.grad, {name: p.grad.copy() for name, p in module.named_parameters()}


def numerical_param_grads(module, x, weights, reseed=None):
    """Finite-difference gradients of ``sum(module(x) * weights)`` for each parameter."""
    grads = {}
    for name, p in module.named_parameters():
        original = p.data.copy()

        def f(v, p=p):
            p.data[...] = v.data
            if reseed is not None:
                pn.seed(reseed)
            return (module(pn.tensor(x)) * weights).sum()

        grads[name] = pn.numerical_grad(f, original)
        p.data[...] = original
    return grads


def assert_module_gradients(module, x, reseed=None, rtol=1e-6, atol=1e-8):
    """Input and parameter gradients of ``module`` match central differences."""
    if reseed is not None:
        pn.seed(reseed)
    out = module(pn.tensor(x))
    weights = RNG.normal(size=out.shape)
    if reseed is not None:
        pn.seed(reseed)
    gx, gparams = weighted_sum_grads(module, x, weights)

    def fx(t):
        if reseed is not None:
            pn.seed(reseed)
        return (module(t) * weights).sum()

    np.testing.assert_allclose(gx, pn.numerical_grad(fx, x), rtol=rtol, atol=atol)
    numeric = numerical_param_grads(module, x, weights, reseed)
    assert set(numeric) == set(gparams)
    for name in numeric:
        np.testing.assert_allclose(gparams[name], numeric[name], rtol=rtol, atol=atol,
                                   err_msg=name)


# --------------------------------------------------------------------------- Linear
def test_linear_weight_is_out_by_in_and_forward_is_x_wt_plus_b():
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (2, 3)
    assert layer.bias.shape == (2,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    layer.weight.data[...] = [[1, 2, 3], [4, 5, 6]]
    layer.bias.data[...] = [0.5, -1]
    x = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    out = layer(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-6)
    # each row of W is one neuron: the seed's integrate(x, w_j, b_j)
    np.testing.assert_allclose(
        out.data[:, 1], pn.integrate(x, layer.weight.data[1], layer.bias.data[1]), rtol=1e-6
    )


def test_linear_without_bias_has_only_weight():
    layer = nn.Linear(4, 2, bias=False)
    assert layer.bias is None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    x = RNG.normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T, rtol=1e-6)


def test_linear_accepts_batched_and_single_inputs():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = RNG.normal(size=(4, 5, 3))
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T + layer.bias.data)
    v = RNG.normal(size=3)
    np.testing.assert_allclose(layer(v).data, layer.weight.data @ v + layer.bias.data)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
def test_linear_gradients(bias, shape):
    layer = nn.Linear(3, 2, bias=bias, dtype=np.float64)
    assert_module_gradients(layer, RNG.normal(size=shape))


def test_linear_rejects_bad_arguments_and_inputs():
    with pytest.raises(TypeError, match="in_features"):
        nn.Linear(2.5, 3)
    with pytest.raises(ValueError, match="out_features"):
        nn.Linear(2, 0)
    with pytest.raises(ValueError, match="init"):
        nn.Linear(2, 3, init="orthogonal")
    with pytest.raises(TypeError, match="dtype"):
        nn.Linear(2, 3, dtype=np.int32)
    with pytest.raises(ValueError, match="3 features"):
        nn.Linear(3, 1)(np.ones((2, 4)))


def test_linear_dtype_float64_keeps_float64():
    layer = nn.Linear(2, 2, dtype=np.float64)
    assert layer.dtype == np.float64
    assert layer(np.ones((1, 2), np.float32)).dtype == np.float64


def test_linear_repr_is_pytorch_like():
    assert repr(nn.Linear(3, 2)) == "Linear(in_features=3, out_features=2, bias=True)"
    assert repr(nn.Linear(3, 2, bias=False, dtype="float64")) == (
        "Linear(in_features=3, out_features=2, bias=False, dtype=float64)"
    )


# --------------------------------------------------------------------------- Sequential
def test_sequential_names_index_len_iter_append():
    a, r, b = nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)
    model = nn.Sequential(a, r, b)
    assert len(model) == 3
    assert model[0] is a and model[-1] is b and list(model) == [a, r, b]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                         "2.bias"]
    sub = model[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [r, b]
    assert list(sub.state_dict()) == ["1.weight", "1.bias"]
    assert model.append(nn.Sigmoid()) is model
    assert len(model) == 4 and isinstance(model[3], nn.Sigmoid)
    with pytest.raises(IndexError):
        model[4]
    with pytest.raises(TypeError, match="Modules"):
        nn.Sequential(nn.Linear(2, 2), np.tanh)


def test_sequential_turns_activation_functions_into_modules():
    model = nn.Sequential(nn.Linear(2, 2), pn.relu,
                          pn.get_activation("leaky_relu", negative_slope=0.3))
    assert isinstance(model[1], nn.ReLU)
    assert isinstance(model[2], nn.LeakyReLU) and model[2].get_config() == {"negative_slope": 0.3}


def test_sequential_forward_composes_layers():
    model = nn.Sequential(nn.Linear(3, 4, dtype="float64"), nn.Tanh(),
                          nn.Linear(4, 2, dtype="float64"))
    x = RNG.normal(size=(6, 3))
    w0, b0, w2, b2 = (p.data for p in model.parameters())
    expected = np.tanh(x @ w0.T + b0) @ w2.T + b2
    np.testing.assert_allclose(model(x).data, expected)
    np.testing.assert_allclose(model.predict(x), expected)


def test_sequential_gradients_through_every_kind_of_layer():
    f64 = np.float64
    model = nn.Sequential(
        nn.Linear(3, 5, dtype=f64), nn.Tanh(), nn.BatchNorm1d(5, dtype=f64),
        nn.Linear(5, 4, dtype=f64), nn.Softplus(), nn.Linear(4, 3, dtype=f64),
        nn.LogSoftmax(),
    )
    assert_module_gradients(model, RNG.normal(size=(6, 3)))


def test_sequential_repr_lists_children():
    model = nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2), nn.Linear(3, 1))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): LeakyReLU(negative_slope=0.2)\n"
        "  (2): Linear(in_features=3, out_features=1, bias=True)\n"
        ")"
    )


# --------------------------------------------------------------------------- activations
NORMAL_CDF = scipy.special.ndtr
ACTIVATION_CASES = [
    (nn.Sigmoid(), scipy.special.expit),
    (nn.Tanh(), np.tanh),
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x))),
    (nn.Softplus(), lambda x: np.logaddexp(0, x)),
    (nn.GELU(), lambda x: x * NORMAL_CDF(x)),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi)
                                                        * (x + 0.044715 * x**3)))),
    (nn.Step(), lambda x: (x >= 0).astype(float)),
    (nn.Identity(), lambda x: x),
    (nn.Softmax(), lambda x: scipy.special.softmax(x, axis=-1)),
    (nn.Softmax(axis=0), lambda x: scipy.special.softmax(x, axis=0)),
    (nn.LogSoftmax(), lambda x: scipy.special.log_softmax(x, axis=-1)),
]


@pytest.mark.parametrize(
    "module, reference", ACTIVATION_CASES, ids=[repr(m) for m, _ in ACTIVATION_CASES]
)
def test_activation_module_values(module, reference):
    x = RNG.normal(size=(4, 5)) * 3
    np.testing.assert_allclose(module(x).data, reference(x), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize(
    "module, reference", ACTIVATION_CASES, ids=[repr(m) for m, _ in ACTIVATION_CASES]
)
def test_activation_module_gradients(module, reference):
    x = RNG.normal(size=(4, 5)) * 2
    x[np.abs(x) < 0.05] = 0.5  # keep away from the kinks of relu, leaky_relu, elu
    if isinstance(module, nn.Step):
        out = module(pn.tensor(x, requires_grad=True))
        assert not out.requires_grad  # the step's derivative is 0: nothing to propagate
        return
    assert_module_gradients(module, x)


def test_every_foundation_activation_has_a_module():
    assert set(pn.ACTIVATIONS) <= set(nn.ACTIVATION_MODULES)
    for name, cls in nn.ACTIVATION_MODULES.items():
        fn = pn.get_activation(name)
        x = np.linspace(-3, 3, 13)
        np.testing.assert_allclose(cls()(x).data, fn(x), rtol=1e-12, atol=1e-15)


def test_activation_modules_keep_input_dtype():
    x32 = np.linspace(-2, 2, 5, dtype=np.float32)
    assert nn.ReLU()(x32).dtype == np.float32
    assert nn.Sigmoid()(x32.astype(np.float64)).dtype == np.float64


def test_softmax_rejects_non_int_axis():
    with pytest.raises(TypeError, match="axis"):
        nn.Softmax(axis=1.0)


def test_softmax_finite_at_extreme_logits():
    x = np.array([[1e4, 0.0, -1e4]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(nn.Softmax()(x).data, [[1.0, 0.0, 0.0]])
        assert np.all(np.isfinite(nn.LogSoftmax()(x).data))


# --------------------------------------------------------------------------- Dropout
def test_dropout_is_identity_in_eval_and_at_p0():
    x = RNG.normal(size=(20, 10))
    d = nn.Dropout(0.5).eval()
    np.testing.assert_array_equal(d(x).data, x)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).data, x)


def test_dropout_train_zeroes_about_p_and_rescales_survivors():
    pn.seed(0)
    x = np.ones((200, 500))
    out = nn.Dropout(0.3)(x).data
    kept = out != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.7)
    assert abs(out.mean() - 1.0) < 0.01  # inverted dropout keeps the expectation
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, 0)


def test_dropout_is_deterministic_under_seed_and_varies_without():
    x = np.ones((10, 10), np.float32)
    d = nn.Dropout(0.5)
    pn.seed(7)
    a = d(x).data
    pn.seed(7)
    b = d(x).data
    c = d(x).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    assert a.dtype == np.float32


def test_dropout_gradient_uses_the_same_mask():
    assert_module_gradients(nn.Dropout(0.4), RNG.normal(size=(6, 5)), reseed=3)


def test_dropout_rejects_bad_p():
    for p in (-0.1, 1.5, "0.5", True):
        with pytest.raises(ValueError, match="p must be"):
            nn.Dropout(p)


def test_predict_turns_dropout_off():
    pn.seed(0)
    model = nn.Sequential(nn.Linear(3, 50), nn.Dropout(0.9), nn.Linear(50, 1))
    x = RNG.normal(size=(4, 3))
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    assert model.training


# --------------------------------------------------------------------------- BatchNorm1d
def batch_norm_reference(x, gamma, beta, eps, axes):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    shape = mean.shape
    return (x - mean) / np.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize("shape", [(8, 3), (5, 3, 4)])
def test_batchnorm_train_normalizes_with_batch_stats(shape):
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    bn.weight.data[...] = [1.0, 2.0, 0.5]
    bn.bias.data[...] = [0.0, -1.0, 3.0]
    x = RNG.normal(loc=2.0, scale=3.0, size=shape)
    axes = (0,) if len(shape) == 2 else (0, 2)
    expected = batch_norm_reference(x, bn.weight.data, bn.bias.data, 1e-5, axes)
    np.testing.assert_allclose(bn(x).data, expected, rtol=1e-10, atol=1e-12)


def test_batchnorm_running_stats_follow_pytorch():
    bn = nn.BatchNorm1d(2, momentum=0.1, dtype=np.float64)
    x1 = RNG.normal(size=(10, 2)) * 3 + 1
    x2 = RNG.normal(size=(10, 2)) - 2
    bn(x1)
    bn(x2)
    rm, rv = np.zeros(2), np.ones(2)
    for x in (x1, x2):
        rm = 0.9 * rm + 0.1 * x.mean(0)
        rv = 0.9 * rv + 0.1 * x.var(0, ddof=1)  # unbiased, as PyTorch
    np.testing.assert_allclose(bn.running_mean, rm)
    np.testing.assert_allclose(bn.running_var, rv)
    assert int(bn.num_batches_tracked) == 2
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    np.testing.assert_allclose(bn.state_dict()["running_mean"], rm)


def test_batchnorm_cumulative_average_when_momentum_none():
    bn = nn.BatchNorm1d(2, momentum=None, dtype=np.float64)
    xs = [RNG.normal(size=(6, 2)) * (k + 1) for k in range(3)]
    for x in xs:
        bn(x)
    np.testing.assert_allclose(bn.running_mean, np.mean([x.mean(0) for x in xs], axis=0))
    np.testing.assert_allclose(bn.running_var, np.mean([x.var(0, ddof=1) for x in xs], axis=0))


def test_batchnorm_eval_uses_running_stats_and_does_not_update():
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    bn.running_mean[...] = [1.0, -1.0, 0.0]
    bn.running_var[...] = [4.0, 1.0, 0.25]
    bn.weight.data[...] = [2.0, 1.0, 1.0]
    bn.eval()
    x = RNG.normal(size=(5, 3))
    expected = (x - bn.running_mean) / np.sqrt(bn.running_var + 1e-5) * bn.weight.data
    np.testing.assert_allclose(bn(x).data, expected)
    np.testing.assert_allclose(bn.running_mean, [1.0, -1.0, 0.0])
    assert int(bn.num_batches_tracked) == 0
    # a single sample is fine in eval mode, not in training mode
    assert bn(x[:1]).shape == (1, 3)
    with pytest.raises(ValueError, match="more than 1 value"):
        bn.train()(x[:1])


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2)])
def test_batchnorm_train_mode_gradients(shape):
    assert_module_gradients(nn.BatchNorm1d(3, dtype=np.float64), RNG.normal(size=shape) * 2)


def test_batchnorm_eval_mode_gradients():
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    bn(RNG.normal(size=(8, 3)) * 2 + 1)
    assert_module_gradients(bn.eval(), RNG.normal(size=(5, 3)))


def test_batchnorm_without_affine_or_tracking():
    bn = nn.BatchNorm1d(2, affine=False, track_running_stats=False, dtype=np.float64)
    assert bn.parameters() == [] and bn.state_dict() == {}
    x = RNG.normal(size=(7, 2)) * 5
    out = bn.eval()(x).data  # no running stats: batch statistics even in eval
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(0), 1, rtol=1e-5)
    assert_module_gradients(bn, x)


def test_batchnorm_rejects_bad_arguments_and_shapes():
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=2.0)
    with pytest.raises(ValueError, match="eps"):
        nn.BatchNorm1d(3, eps=0.0)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        nn.BatchNorm1d(3)(np.ones((4, 2)))


def test_batchnorm_float32_by_default():
    bn = nn.BatchNorm1d(4)
    out = bn(RNG.normal(size=(8, 4)))
    assert out.dtype == np.float32 and bn.running_var.dtype == np.float32


# --------------------------------------------------------------------------- Flatten
def test_flatten_merges_axes_like_pytorch():
    x = RNG.normal(size=(2, 3, 4, 5))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    np.testing.assert_array_equal(nn.Flatten()(x).data, x.reshape(2, -1))
    with pytest.raises(ValueError, match="Flatten"):
        nn.Flatten(3)(np.ones((2, 3)))
    assert_module_gradients(nn.Flatten(), RNG.normal(size=(2, 3, 2)))


def test_flatten_then_linear_on_images():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    assert model.predict(np.ones((5, 3, 4))).shape == (5, 2)


# --------------------------------------------------------------------------- configs
ALL_LAYERS = [
    nn.Linear(3, 2, bias=False, dtype=np.float64, init="kaiming_normal"),
    nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.LeakyReLU(0.3), nn.ELU(0.5), nn.Softplus(),
    nn.GELU("tanh"), nn.Step(), nn.Identity(), nn.Softmax(0), nn.LogSoftmax(1),
    nn.Dropout(0.25), nn.BatchNorm1d(4, eps=1e-3, momentum=None, affine=False),
    nn.Flatten(0, 1),
    nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1), nn.Sigmoid())),
]


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=lambda m: type(m).__name__)
def test_config_is_json_and_rebuilds_the_layer(layer):
    spec = nn.module_to_spec(layer)
    spec = json.loads(json.dumps(spec))
    rebuilt = nn.module_from_spec(spec)
    assert type(rebuilt) is type(layer)
    assert rebuilt.get_config() == layer.get_config()
    assert repr(rebuilt) == repr(layer)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in layer.state_dict().items()
    }
