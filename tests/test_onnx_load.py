"""pn.onnx.load: the files pn.onnx.export writes, run (and trained) as plainnet Modules."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from layer_cases import LAYERS, activation_names, outputs, with_trained_state

onnx = pytest.importorskip("onnx")
nn = pn.nn


def _cases():
    cases = {name: LAYERS[name][:2] for name in LAYERS}
    for name in activation_names():
        cases[name] = (lambda name=name: nn.Sequential(nn.Linear(6, 6), getattr(nn, name)()),
                       np.linspace(-3, 3, 24, dtype=np.float32).reshape(4, 6))
    return cases


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_exported_layer_loads_back_and_predicts_the_same(tmp_path, name):
    make, x = CASES[name]
    model = with_trained_state(make())
    pn.onnx.export(model, tmp_path / "m.onnx", x[:1])
    loaded = pn.onnx.load(tmp_path / "m.onnx")
    params = {k for k, _ in model.named_parameters()}
    assert {k for k, _ in loaded.named_parameters()} == params  # the state_dict names
    for a, b in zip(outputs(model, x), outputs(loaded, x), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_gradients_through_a_loaded_file_are_the_model_s(tmp_path):
    model = with_trained_state(nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2),
                                             nn.Flatten(), nn.Linear(3 * 3 * 3, 4)))
    x = np.random.default_rng(0).normal(size=(5, 1, 8, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 1])
    pn.onnx.export(model, tmp_path / "m.onnx", x[:1])
    loaded = pn.onnx.load(tmp_path / "m.onnx")
    for m in (model, loaded):
        m.zero_grad()
        pn.losses.cross_entropy(m(x), y).backward()
    grads = {k: p.grad for k, p in model.named_parameters()}
    for k, p in loaded.named_parameters():
        np.testing.assert_allclose(p.grad, grads[k], rtol=1e-4, atol=1e-6)


def test_a_loaded_file_trains_and_takes_the_model_s_weights(tmp_path):
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    pn.onnx.export(model, tmp_path / "m.onnx", np.zeros((1, 2)))
    loaded = pn.onnx.load(tmp_path / "m.onnx")
    X, y = pn.datasets.xor()
    before = pn.losses.mse(loaded(X)[:, 0], y).data
    opt = pn.optim.Adam(loaded.parameters(), lr=0.05)
    for _ in range(30):
        opt.zero_grad()
        loss = pn.losses.mse(loaded(X)[:, 0], y)
        loss.backward()
        opt.step()
    assert loss.data < before
    loaded.load_state_dict({k: v for k, v in model.state_dict().items()})
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)


def test_the_gpt_example_loads_back(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "char_gpt.py"
    if not path.exists():
        pytest.skip("examples/char_gpt.py is not there")
    spec = importlib.util.spec_from_file_location("_onnx_load_gpt", path)
    gpt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpt)
    model = with_trained_state(gpt.GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2,
                                       n_embd=16))
    ids = np.random.default_rng(0).integers(0, 11, (3, 8))
    pn.onnx.export(model, tmp_path / "gpt.onnx", ids[:1])
    loaded = pn.onnx.load(tmp_path / "gpt.onnx")
    np.testing.assert_allclose(outputs(loaded, ids)[0], outputs(model, ids)[0], rtol=1e-4,
                               atol=1e-5)


def test_an_operator_it_cannot_run_is_refused_by_name(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Hardmax", ["input"], ["output"])], "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3])])
    onnx.save(helper.make_model(graph), str(tmp_path / "h.onnx"))
    with pytest.raises(pn.onnx.ExportError, match="Hardmax"):
        pn.onnx.load(tmp_path / "h.onnx")


def test_a_loaded_file_is_saved_as_weights_only(tmp_path):
    pn.onnx.export(nn.Linear(2, 2), tmp_path / "m.onnx", np.zeros((1, 2)))
    loaded = pn.onnx.load(tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="state_dict"):
        pn.save(loaded, tmp_path / "m.safetensors")
    pn.save(loaded.state_dict(), tmp_path / "w.safetensors")
    assert set(pn.load_state_dict(tmp_path / "w.safetensors")) == {"weight", "bias"}
