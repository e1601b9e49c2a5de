"""Every layer of pn.nn round-trips through a file bit for bit, and its file loads into the same
PyTorch layer (issue 21)."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from layer_cases import LAYERS, activation_names, outputs, uncovered, with_trained_state


def test_every_layer_has_a_case():
    assert uncovered() == [], "add these layers to tests/layer_cases.py"


def _cases():
    cases = {name: LAYERS[name][:2] for name in LAYERS}
    for name in activation_names():
        cases[name] = (getattr(pn.nn, name), np.linspace(-3, 3, 24, dtype=np.float32)
                       .reshape(4, 6))
    return cases


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_layer_round_trips_bit_for_bit(tmp_path, name):
    make, x = CASES[name]
    layer = with_trained_state(make())
    path = tmp_path / "layer.safetensors"
    pn.save(layer, path)
    loaded = pn.load(path)
    assert type(loaded) is type(layer)
    assert loaded.get_config() == layer.get_config()
    before, after = layer.state_dict(), loaded.state_dict()
    assert list(before) == list(after)
    for key in before:
        a, b = np.asarray(before[key]), np.asarray(after[key])
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), key
    for a, b in zip(outputs(layer, x), outputs(loaded, x), strict=True):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", sorted(n for n in LAYERS if LAYERS[n][2] is not None))
def test_every_layer_file_loads_into_the_same_torch_layer(tmp_path, name):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    make, x, make_torch = LAYERS[name]
    layer = with_trained_state(make())
    path = tmp_path / "layer.safetensors"
    pn.save(layer, path)
    reference = make_torch(torch.nn)
    reference.load_state_dict(st_torch.load_file(str(path)))  # strict: same names and shapes
    reference.eval()
    tx = torch.from_numpy(x) if x.dtype.kind == "f" else torch.from_numpy(x).long()
    with torch.no_grad():
        expected = reference(tx, tx, tx) if name == "MultiheadAttention" else reference(tx)
    if isinstance(expected, tuple):  # attention: (output, weights); RNNs: (output, state)
        expected = expected[0]
    np.testing.assert_allclose(outputs(layer, x)[0], expected.numpy(), rtol=1e-4, atol=1e-5)


def test_a_lenet_file_loads_into_the_same_torch_model(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    nn, tn = pn.nn, torch.nn
    model = with_trained_state(nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
        nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 84),
        nn.Tanh(), nn.Linear(84, 10)))
    twin = tn.Sequential(
        tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2), tn.Conv2d(6, 16, 5),
        tn.BatchNorm2d(16), tn.ReLU(), tn.MaxPool2d(2), tn.Flatten(), tn.Linear(400, 84),
        tn.Tanh(), tn.Linear(84, 10)).eval()
    path = tmp_path / "lenet.safetensors"
    pn.save(model, path)
    twin.load_state_dict(st_torch.load_file(str(path)))
    x = np.random.default_rng(0).normal(size=(3, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(pn.load(path).predict(x), expected, rtol=1e-4, atol=1e-5)
