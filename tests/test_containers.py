"""ModuleList, ModuleDict, ParameterList, Sequential(OrderedDict) and the Module methods a
PyTorch user expects: PyTorch's state-dict keys, files, and bad input."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import plainnet as pn


class Blocks(pn.nn.Module):
    def __init__(self, width: int = 4, depth: int = 3):
        super().__init__()
        self.blocks = pn.nn.ModuleList([pn.nn.Linear(width, width) for _ in range(depth)])
        self.heads = pn.nn.ModuleDict({"a": pn.nn.Linear(width, 1), "b": pn.nn.Linear(width, 2)})
        self.scales = pn.nn.ParameterList([np.ones(width), np.full(width, 2.0)])

    def forward(self, x):
        for block in self.blocks:
            x = pn.tanh(block(x)) * self.scales[0]
        return self.heads["b"](x * self.scales[1])


def test_container_keys_are_pytorchs():
    keys = list(Blocks().state_dict())
    assert keys == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
                    "blocks.2.weight", "blocks.2.bias", "heads.a.weight", "heads.a.bias",
                    "heads.b.weight", "heads.b.bias", "scales.0", "scales.1"]
    model = Blocks()
    assert len(model.parameters()) == 12


def test_pytorch_containers_have_the_same_keys():
    torch = pytest.importorskip("torch")

    class TorchBlocks(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(4, 4) for _ in range(3)])
            self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(4, 1),
                                              "b": torch.nn.Linear(4, 2)})
            self.scales = torch.nn.ParameterList([torch.ones(4), torch.full((4,), 2.0)])

    assert list(TorchBlocks().state_dict()) == list(Blocks().state_dict())


def test_gradients_reach_every_container_parameter():
    model = Blocks()
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    (model(x) ** 2).sum().backward()
    for name, p in model.named_parameters():
        if not name.startswith("heads.a"):
            assert p.grad is not None and np.abs(p.grad).max() > 0, name


def test_module_list_operations():
    layers = pn.nn.ModuleList([pn.nn.ReLU(), pn.nn.Tanh()])
    layers.append(pn.nn.Sigmoid())
    layers.insert(0, pn.nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Identity", "ReLU", "Tanh", "Sigmoid"]
    assert list(layers._modules) == ["0", "1", "2", "3"]
    del layers[1]
    assert [type(m).__name__ for m in layers] == ["Identity", "Tanh", "Sigmoid"]
    assert type(layers[-1]).__name__ == "Sigmoid"
    assert len(layers[1:]) == 2
    layers[0] = pn.nn.ELU()
    assert type(layers[0]).__name__ == "ELU"
    with pytest.raises(IndexError, match="out of range"):
        layers[5]
    with pytest.raises(TypeError, match="holds Modules"):
        layers.append(3)
    with pytest.raises(TypeError, match="no forward"):
        layers(np.zeros(2))


def test_module_dict_operations():
    heads = pn.nn.ModuleDict()
    heads["x"] = pn.nn.Linear(2, 1)
    heads.update({"y": pn.nn.Linear(2, 3)})
    assert list(heads) == ["x", "y"] and "y" in heads and len(heads) == 2
    assert heads.pop("x").out_features == 1
    assert list(heads.keys()) == ["y"]
    with pytest.raises(KeyError, match="keys"):
        heads["x"]
    with pytest.raises(ValueError, match="without '.'"):
        heads["a.b"] = pn.nn.ReLU()


def test_sequential_from_an_ordered_dict_keeps_the_names():
    torch = pytest.importorskip("torch")
    model = pn.nn.Sequential(OrderedDict([("fc", pn.nn.Linear(3, 4)), ("act", pn.nn.ReLU()),
                                          ("out", pn.nn.Linear(4, 2))]))
    reference = torch.nn.Sequential(OrderedDict([("fc", torch.nn.Linear(3, 4)),
                                                 ("act", torch.nn.ReLU()),
                                                 ("out", torch.nn.Linear(4, 2))]))
    assert list(model.state_dict()) == list(reference.state_dict())
    reference.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(3, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x), reference(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_containers_round_trip_through_a_file(tmp_path):
    model = pn.nn.Sequential(OrderedDict([("fc", pn.nn.Linear(3, 4)), ("act", pn.nn.Tanh())]))
    pn.save(model, tmp_path / "m.safetensors")
    loaded = pn.load(tmp_path / "m.safetensors")
    assert list(loaded.state_dict()) == ["fc.weight", "fc.bias"]
    np.testing.assert_array_equal(loaded.fc.weight.data, model.fc.weight.data)
    for container in (pn.nn.ModuleList([pn.nn.Linear(2, 2), pn.nn.ReLU()]),
                      pn.nn.ModuleDict({"a": pn.nn.Linear(2, 3)}),
                      pn.nn.ParameterList([np.arange(3.0), np.ones((2, 2))])):
        path = tmp_path / f"{type(container).__name__}.safetensors"
        pn.save(container, path)
        loaded = pn.load(path)
        assert type(loaded) is type(container)
        for (k, a), (k2, b) in zip(container.state_dict().items(), loaded.state_dict().items(),
                                   strict=True):
            assert k == k2
            np.testing.assert_array_equal(a, b)


def test_apply_visits_children_first_then_the_module():
    model = pn.nn.Sequential(pn.nn.Linear(2, 3), pn.nn.Sequential(pn.nn.Linear(3, 1)))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "Linear", "Sequential", "Sequential"]

    def zero_linears(m):
        if isinstance(m, pn.nn.Linear):
            pn.nn.init.zeros_(m.weight)

    model.apply(zero_linears)
    assert all(np.all(p.data == 0) for n, p in model.named_parameters() if "weight" in n)
    with pytest.raises(TypeError, match="callable"):
        model.apply(3)


def test_requires_grad_freezes_parameters():
    model = pn.nn.Sequential(pn.nn.Linear(2, 3), pn.nn.Linear(3, 1))
    model[0].requires_grad_(False)
    (model(np.ones((4, 2))) ** 2).sum().backward()
    assert model[0].weight.grad is None
    assert model[1].weight.grad is not None
    model.requires_grad_(True)
    assert all(p.requires_grad for p in model.parameters())


def test_double_and_float_convert_parameters_and_buffers():
    model = pn.nn.Sequential(pn.nn.Linear(2, 3), pn.nn.BatchNorm1d(3))
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == np.float64
    assert model(np.ones((4, 2))).dtype == np.float64
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model[1].running_var.dtype == np.float32
