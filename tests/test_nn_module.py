"""Tests of the Module base: registration, state dicts, modes, predict, specs, reprs."""

from __future__ import annotations

import json

import numpy as np
import pytest

import plainnet as pn
from plainnet import nn


class TwoLayer(nn.Module):
    """A user-defined module with nested children and a buffer."""

    def __init__(self, n_in: int = 3, n_hidden: int = 4):
        super().__init__()
        self.n_in, self.n_hidden = n_in, n_hidden
        self.encoder = nn.Sequential(nn.Linear(n_in, n_hidden), nn.Tanh())
        self.head = nn.Linear(n_hidden, 1)
        self.scale = nn.Parameter(np.ones(1, np.float32))
        self.register_buffer("calls", np.zeros((), np.int64))

    def forward(self, x):
        self.calls = self.calls + 1
        return self.head(self.encoder(x)) * self.scale

    def get_config(self):
        return {"n_in": self.n_in, "n_hidden": self.n_hidden}


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter([1, 2, 3])
    assert isinstance(p, pn.Tensor) and p.requires_grad
    assert p.dtype == np.float32
    assert nn.Parameter(np.zeros(2)).dtype == np.float64


def test_registration_by_attribute_and_dotted_names():
    m = TwoLayer()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "encoder.0.weight", "encoder.0.bias", "head.weight", "head.bias"]
    assert [n for n, _ in m.named_modules()] == ["", "encoder", "encoder.0", "encoder.1", "head"]
    assert len(m.parameters()) == 5
    assert list(m.state_dict())[:3] == ["scale", "calls", "encoder.0.weight"]  # PyTorch's order
    m.head = nn.Identity()  # reassigning replaces the child and its parameters
    assert "head.weight" not in dict(m.named_parameters())


def test_assigning_an_array_to_a_buffer_keeps_it_a_buffer():
    m = TwoLayer()
    m.predict(np.ones((2, 3)))
    m.predict(np.ones((2, 3)))
    assert int(m.state_dict()["calls"]) == 2


def test_shared_parameter_counted_once():
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, nn.Tanh(), lin)
    assert len(model.parameters()) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias"]


def test_state_dict_is_a_copy_and_round_trips():
    pn.seed(0)
    a = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.Linear(4, 2))
    a(np.random.default_rng(0).normal(size=(8, 3)))  # move the running stats
    state = a.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean",
                           "2.running_var", "2.num_batches_tracked", "3.weight", "3.bias"]
    state["0.weight"][...] = 99  # a copy: the model is untouched
    assert not np.any(a[0].weight.data == 99)
    state = a.state_dict()
    pn.seed(1)
    b = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.Linear(4, 2))
    b.load_state_dict(state)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb
        np.testing.assert_array_equal(va, vb)
        assert va.dtype == vb.dtype
    x = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_array_equal(a.predict(x), b.predict(x))


def test_load_state_dict_errors_change_nothing():
    model = nn.Sequential(nn.Linear(3, 2))
    before = model.state_dict()
    good = {k: v + 1 for k, v in before.items()}
    with pytest.raises(KeyError, match=r"missing \['0.bias'\]"):
        model.load_state_dict({"0.weight": good["0.weight"]})
    with pytest.raises(KeyError, match=r"unexpected \['0.extra'\]"):
        model.load_state_dict({**good, "0.extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(3, 2\).*\(2, 3\)"):
        model.load_state_dict({**good, "0.weight": np.zeros((3, 2))})
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    model.load_state_dict({"0.weight": good["0.weight"]}, strict=False)
    np.testing.assert_array_equal(model[0].weight.data, good["0.weight"])
    np.testing.assert_array_equal(model[0].bias.data, before["0.bias"])


def test_zero_grad_and_train_eval_propagate():
    m = TwoLayer()
    m(np.ones((2, 3))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    assert m.eval() is m and not any(sub.training for sub in m.modules())
    assert all(sub.training for sub in m.train().modules())


def test_predict_builds_no_graph_and_returns_an_array():
    pn.seed(3)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Dropout(0.5), nn.BatchNorm1d(5),
                          nn.Linear(5, 2))
    model(np.random.default_rng(0).normal(size=(10, 3)))  # running stats move
    state_before = model.state_dict()
    x = np.random.default_rng(1).normal(size=(7, 3))
    out = model.predict(x)
    assert type(out) is np.ndarray and out.shape == (7, 2) and out.dtype == np.float32
    assert all(p.grad is None for p in model.parameters())
    assert model.training  # mode restored
    for k, v in model.state_dict().items():  # eval mode: running stats untouched
        np.testing.assert_array_equal(v, state_before[k])
    np.testing.assert_allclose(model.predict(x, batch_size=3), out, rtol=1e-6)
    with pn.no_grad():
        assert not model.eval()(x).requires_grad


def test_call_accepts_arrays_lists_and_tensors():
    layer = nn.Linear(2, 1, dtype=np.float64)
    a = layer([[1.0, 2.0]])
    b = layer(np.array([[1, 2]]))
    c = layer(pn.tensor([[1.0, 2.0]]))
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.data, c.data)
    assert a.requires_grad  # the parameters require grad
    with pytest.raises(TypeError, match="input"):
        layer("abc")


def test_inputs_are_cast_to_the_parameter_dtype():
    model = nn.Sequential(nn.Linear(2, 2))
    assert model(np.ones((1, 2), np.float64)).dtype == np.float32
    assert model.dtype == np.float32
    assert nn.ReLU().dtype == np.float32  # the default for modules without parameters


def test_custom_module_spec_round_trip_and_repr():
    spec = json.loads(json.dumps(nn.module_to_spec(TwoLayer(2, 6))))
    assert spec["class"] == "TwoLayer" and spec["config"] == {"n_in": 2, "n_hidden": 6}
    rebuilt = nn.module_from_spec(spec)
    assert isinstance(rebuilt, TwoLayer) and rebuilt.head.in_features == 6
    assert repr(rebuilt).startswith("TwoLayer(n_in=2, n_hidden=6\n  (encoder): Sequential(")
    with pytest.raises(ValueError, match="unknown module class 'Nope'"):
        nn.module_from_spec({"class": "Nope", "config": {}})
    with pytest.raises(ValueError, match="spec"):
        nn.module_from_spec(["Linear"])
    with pytest.raises(ValueError, match="layers"):
        nn.Sequential.from_config({"layer": []})


def test_module_requires_super_init():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_parameter_repr_and_module_get_submodule():
    model = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    assert repr(model[0].bias).startswith("Parameter containing:\ntensor(")
    assert isinstance(model.get_submodule("1.0"), nn.ReLU)
    with pytest.raises(KeyError, match="no sub-module '7'"):
        model.get_submodule("7")
