"""Tests of weight initialization: PyTorch's formulas, statistics, the automatic choice for
the activation, and reproducibility under a seed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import plainnet as pn
from plainnet import nn
from plainnet.nn import init

FAN_OUT, FAN_IN = 300, 500


def big_weight(dtype=np.float32):
    return nn.Parameter(np.zeros((FAN_OUT, FAN_IN), dtype))


def assert_std(arr, expected, rel=0.02):
    assert abs(arr.mean()) < 0.05 * expected
    assert arr.std() == pytest.approx(expected, rel=rel)


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_xavier_uniform_bound_and_std():
    w = big_weight()
    assert init.xavier_uniform_(w, gain=2.0) is w
    bound = 2.0 * math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert np.abs(w.data).max() <= bound
    assert np.abs(w.data).max() > 0.99 * bound
    assert_std(w.data, 2.0 * math.sqrt(2 / (FAN_IN + FAN_OUT)))
    assert w.dtype == np.float32


def test_xavier_normal_std():
    w = big_weight(np.float64)
    init.xavier_normal_(w)
    assert_std(w.data, math.sqrt(2 / (FAN_IN + FAN_OUT)))


@pytest.mark.parametrize("mode, fan", [("fan_in", FAN_IN), ("fan_out", FAN_OUT)])
def test_kaiming_uniform_bound_and_std(mode, fan):
    w = big_weight()
    init.kaiming_uniform_(w, mode=mode, nonlinearity="relu")
    std = math.sqrt(2) / math.sqrt(fan)
    assert np.abs(w.data).max() <= math.sqrt(3) * std
    assert_std(w.data, std)


def test_kaiming_normal_with_leaky_slope():
    w = big_weight()
    init.kaiming_normal_(w, a=0.2)  # nonlinearity defaults to leaky_relu, as in PyTorch
    assert_std(w.data, math.sqrt(2 / 1.04) / math.sqrt(FAN_IN))


def test_fans_of_higher_dimensional_weights_and_errors():
    w = np.zeros((8, 4, 3, 3))
    assert init._calculate_fan_in_and_fan_out(w) == (36, 72)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(np.zeros(5))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(np.zeros((2, 2)), mode="fan_avg")
    with pytest.raises(TypeError, match="floating-point"):
        init.zeros_(np.zeros((2, 2), dtype=int))


def test_simple_fills():
    w = nn.Parameter(np.zeros((200, 300)))
    init.uniform_(w, -2, 3)
    assert w.data.min() >= -2 and w.data.max() <= 3
    assert w.data.mean() == pytest.approx(0.5, abs=0.02)
    init.normal_(w, mean=1.0, std=0.5)
    assert w.data.mean() == pytest.approx(1.0, abs=0.01)
    assert w.data.std() == pytest.approx(0.5, rel=0.02)
    init.constant_(w, 0.25)
    assert np.all(w.data == 0.25)
    init.ones_(w)
    assert np.all(w.data == 1)
    arr = np.ones(3)
    assert init.zeros_(arr) is arr and np.all(arr == 0)
    with pytest.raises(ValueError, match="a <= b"):
        init.uniform_(w, 1, 0)


def test_initializers_are_deterministic_under_seed_and_rng():
    pn.seed(11)
    a = init.xavier_uniform_(np.zeros((4, 5)))
    pn.seed(11)
    b = init.xavier_uniform_(np.zeros((4, 5)))
    c = init.xavier_uniform_(np.zeros((4, 5)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    np.testing.assert_array_equal(init.normal_(np.zeros(6), rng=3), init.normal_(np.zeros(6),
                                                                                 rng=3))


# --------------------------------------------------------------------------- Linear(init=)
def linear_weight_std(model_or_layer):
    layer = model_or_layer if isinstance(model_or_layer, nn.Linear) else model_or_layer[0]
    return layer.weight.data


GLOROT = math.sqrt(2 / (FAN_IN + FAN_OUT))
HE = math.sqrt(2 / FAN_IN)


@pytest.mark.parametrize(
    "build, expected_std",
    [
        (lambda: nn.Linear(FAN_IN, FAN_OUT), GLOROT),
        (lambda: nn.Sequential(nn.Linear(FAN_IN, FAN_OUT)), GLOROT),
        (lambda: nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.Sigmoid()), GLOROT),
        (lambda: nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.Tanh()), GLOROT),
        (lambda: nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.Softmax()), GLOROT),
        (lambda: nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.ReLU()), HE),
        (lambda: nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.ELU()), HE),
        (lambda: nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.GELU()), HE),
        (lambda: nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.LeakyReLU(0.2)),
         math.sqrt(2 / 1.04 / FAN_IN)),
        (lambda: nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.BatchNorm1d(FAN_OUT),
                               nn.Dropout(0.1), nn.ReLU()), HE),
        (lambda: nn.Sequential(nn.Linear(FAN_IN, FAN_OUT), nn.Linear(FAN_OUT, 2), nn.ReLU()),
         GLOROT),
    ],
    ids=["alone", "last", "sigmoid", "tanh", "softmax", "relu", "elu", "gelu", "leaky",
         "relu-after-bn-dropout", "linear-after"],
)
def test_auto_init_matches_the_following_activation(build, expected_std):
    pn.seed(0)
    model = build()
    layer = model if isinstance(model, nn.Linear) else model[0]
    assert_std(layer.weight.data, expected_std)
    assert np.all(layer.bias.data == 0)


@pytest.mark.parametrize(
    "name, expected_std",
    [("xavier_normal", GLOROT), ("glorot_uniform", GLOROT), ("kaiming_normal", HE),
     ("he_uniform", HE)],
)
def test_explicit_init_is_kept_whatever_follows(name, expected_std):
    pn.seed(0)
    model = nn.Sequential(nn.Linear(FAN_IN, FAN_OUT, init=name), nn.Sigmoid())
    assert_std(model[0].weight.data, expected_std)
    assert np.all(model[0].bias.data == 0)


def test_pytorch_and_zeros_init():
    pn.seed(0)
    layer = nn.Linear(FAN_IN, FAN_OUT, init="pytorch")
    bound = 1 / math.sqrt(FAN_IN)
    assert np.abs(layer.weight.data).max() <= bound
    assert_std(layer.weight.data, bound / math.sqrt(3))
    assert np.abs(layer.bias.data).max() <= bound and np.any(layer.bias.data != 0)
    zero = nn.Linear(3, 2, init="zeros")
    assert not np.any(zero.weight.data) and not np.any(zero.bias.data)


def test_auto_init_never_overwrites_trained_or_loaded_weights():
    layer = nn.Linear(4, 3)
    layer.weight.data[0, 0] += 0.5  # as an optimizer step would
    before = layer.weight.data.copy()
    nn.Sequential(layer, nn.ReLU())
    np.testing.assert_array_equal(layer.weight.data, before)


def test_append_initializes_for_the_appended_activation_and_slicing_does_not():
    pn.seed(0)
    model = nn.Sequential(nn.Linear(FAN_IN, FAN_OUT))
    assert_std(model[0].weight.data, GLOROT)
    model.append(nn.ReLU())
    assert_std(model[0].weight.data, HE)
    before = model[0].weight.data.copy()
    model[:1]
    nn.Sequential(model[0], nn.Tanh())
    np.testing.assert_array_equal(model[0].weight.data, before)


def test_models_are_reproducible_under_seed():
    def build():
        return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3, init="pytorch"))

    pn.seed(42)
    a = build().state_dict()
    pn.seed(42)
    b = build().state_dict()
    c = build().state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["0.weight"], c["0.weight"])
    spec = nn.module_to_spec(build())
    pn.seed(42)
    rebuilt = nn.module_from_spec(spec).state_dict()  # same architecture + same seed
    for k in a:
        np.testing.assert_array_equal(rebuilt[k], a[k])
