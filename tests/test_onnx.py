"""ONNX export: every file runs in onnxruntime and agrees with model.predict (issue 21)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plainnet as pn
from layer_cases import LAYERS, outputs, with_trained_state

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
nn = pn.nn
RNG = np.random.default_rng(0)


def run_onnx(path, x, input_name="input"):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {input_name: x})


def check(model, x, tmp_path, rtol=2e-5, atol=2e-6, batches=(1, 7), **kwargs):
    """Export ``model`` with ``x[:2]`` and compare onnxruntime with predict on several batch
    sizes (the batch axis is dynamic)."""
    path = pn.onnx.export(model, tmp_path / "m.onnx", x[:2], **kwargs)
    onnx.checker.check_model(onnx.load(str(path)))
    for n in (*batches, len(x)):
        xb = np.resize(x, (n, *x.shape[1:])).astype(x.dtype)
        (got,) = run_onnx(path, xb)
        np.testing.assert_allclose(got, model.predict(xb), rtol=rtol, atol=atol)
    return path


def _x(*shape, dtype=np.float32):
    return RNG.normal(size=shape).astype(dtype)


def _trained_batchnorm(n):
    bn = nn.BatchNorm1d(n)
    bn.train()
    for _ in range(3):
        bn(_x(16, n) * 3 + 1)
    bn.weight.data[...] = RNG.uniform(0.5, 2, n)
    bn.bias.data[...] = RNG.normal(size=n)
    return bn.eval()


# -- every activation and dense layer -----------------------------------------------------
def _activation_names():
    return sorted({cls.__name__ for cls in nn.ACTIVATION_MODULES.values()})


@pytest.mark.parametrize("name", _activation_names())
def test_every_activation_module(tmp_path, name):
    model = nn.Sequential(nn.Linear(5, 6), getattr(nn, name)())
    check(model, _x(9, 5) * 3, tmp_path)


@pytest.mark.parametrize(
    "layer",
    [
        lambda: nn.Linear(5, 6),
        lambda: nn.Linear(5, 6, bias=False),
        lambda: nn.Linear(5, 6, init="pytorch"),
        lambda: _trained_batchnorm(5),
        lambda: nn.Dropout(0.5),
        lambda: nn.Identity(),
        lambda: nn.Flatten(),
        lambda: nn.Softmax(),
        lambda: nn.LogSoftmax(),
    ],
    ids=["linear", "linear-no-bias", "linear-pytorch-init", "batchnorm", "dropout", "identity",
         "flatten", "softmax", "logsoftmax"],
)
def test_dense_layers(tmp_path, layer):
    check(nn.Sequential(layer()), _x(9, 5), tmp_path)


def test_linear_on_3d_input(tmp_path):
    check(nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2)), _x(6, 3, 5), tmp_path)


def test_fused_linear_relu_is_mapped(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    path = check(model, _x(10, 4), tmp_path)
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count("Relu") == 1 and ops.count("Gemm") == 2


def test_the_demo_mlp(tmp_path):
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))  # `plainnet demo`'s
    for p in model.parameters():  # as after training: biases no longer zero
        p.data += _x(*p.shape) * 0.1
    check(model, _x(50, 64), tmp_path)


def test_batchnorm_and_dropout_in_eval_mode(tmp_path):
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(16, 3))
    model.train()
    for _ in range(4):
        model(_x(32, 6) * 2 + 0.5)
    model.train()  # export traces in eval mode and leaves the model as it was
    path = check(model, _x(20, 6), tmp_path)
    assert model.training
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert "RandomUniform" not in ops and "Dropout" not in ops


def test_float64_models_export_as_double(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Tanh(),
                          nn.Linear(4, 1, dtype=np.float64))
    path = check(model, _x(8, 3, dtype=np.float64), tmp_path, rtol=1e-12, atol=1e-12)
    graph = onnx.load(str(path)).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


# -- the graph's interface -------------------------------------------------------------
def test_names_dynamic_batch_and_initializer_names(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    path = pn.onnx.export(model, tmp_path / "m.onnx", _x(2, 3), input_names=["features"],
                          output_names=["scores"])
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["features"]
    assert [o.name for o in graph.output] == ["scores"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= {t.name for t in graph.initializer}
    x = _x(11, 3)
    (got,) = run_onnx(path, x, "features")
    np.testing.assert_allclose(got, model.predict(x), rtol=2e-5, atol=2e-6)


def test_fixed_batch_when_asked(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2))
    path = pn.onnx.export(model, tmp_path / "m.onnx", _x(4, 3), dynamic_batch=False)
    assert onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0].dim_value == 4


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_opsets(tmp_path, opset):
    model = nn.Sequential(nn.Linear(4, 5), nn.GELU(), nn.Linear(5, 3), nn.LogSoftmax())
    path = check(model, _x(6, 4), tmp_path, opset=opset)
    assert onnx.load(str(path)).opset_import[0].version == opset


# -- custom models through the autodiff graph ----------------------------------------------
class ManyOps(nn.Module):
    """A forward pass using many tensor operations, as a custom model would."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(6, 6)
        self.scale = nn.Parameter(np.linspace(0.5, 1.5, 6), dtype=np.float32)

    def forward(self, x):
        h = self.lin(x) * self.scale - 0.25
        a = pn.exp(-h * h) + pn.log(pn.abs(h) + 1.0) + pn.sqrt(h * h + 1.0) / 2.0
        b = pn.clip(h, -0.5, 0.5) + pn.maximum(h, 0.1) - pn.minimum(h, -0.1) + h ** 2
        c = pn.softmax(a, axis=-1) + pn.log_softmax(b, axis=-1)
        r = h.reshape(x.shape[0], 2, 3)
        r = pn.transpose(r, (0, 2, 1)) + pn.swapaxes(r, 1, 2)
        d = pn.sum(r, axis=1) + pn.mean(r, axis=2, keepdims=False)[:, :2].sum(axis=-1,
                                                                                keepdims=True)
        e = pn.max(r, axis=(1, 2), keepdims=True).reshape(x.shape[0], 1) + pn.min(c, axis=1,
                                                                                    keepdims=True)
        f = pn.concatenate([d, e, pn.logsumexp(c, axis=1, keepdims=True)], axis=1)
        g = pn.stack([f, f * 2.0], axis=1)[:, 1, :]
        s = pn.squeeze(pn.expand_dims(g, 1), 1) + pn.var(g, axis=1, keepdims=True)
        t = pn.tanh(s) + pn.sigmoid(s) + pn.erf(s / 3.0) + pn.where(np.arange(4) % 2 == 0, s, -s)
        return t[:, ::2] + t[:, -1:] + pn.autodiff.ops.broadcast_to(t[:, 0:1], (x.shape[0], 2))


def test_a_custom_model_with_many_ops(tmp_path):
    check(ManyOps(), _x(8, 6), tmp_path, rtol=1e-4, atol=1e-5)


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.scale = nn.Parameter(np.linspace(0.5, 1.5, 3))  # float64

    def forward(self, x):
        return pn.tanh(self.lin(x) * self.scale + 1.0)


def test_mixed_float_dtypes_are_cast_as_plainnet_promotes(tmp_path):
    model = Mixed()
    x = _x(4, 3)
    path = pn.onnx.export(model, tmp_path / "m.onnx", x)
    assert model.dtype == np.float64  # the input's dtype, as in predict
    (got,) = run_onnx(path, x.astype(np.float64))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-6)


class Unmapped(nn.Module):
    def forward(self, x):
        return pn.autodiff.ops.cumprod(x, axis=1)


def test_an_op_without_mapping_is_refused_by_name(tmp_path):
    with pytest.raises(pn.onnx.ExportError, match="operation 'cumprod' has no ONNX mapping"):
        pn.onnx.export(Unmapped(), tmp_path / "m.onnx", _x(2, 3))
    assert not (tmp_path / "m.onnx").exists()


class ValueDependent(nn.Module):
    def forward(self, x):
        return pn.where(x.data > 0, x, x * 3.0)  # the condition is frozen outside the graph


def test_values_computed_outside_the_graph_are_refused(tmp_path):
    with pytest.raises(pn.onnx.ExportError, match="outside the autodiff graph"):
        pn.onnx.export(ValueDependent(), tmp_path / "m.onnx", _x(2, 3))


class TwoOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        y = self.lin(x)
        return y, pn.softmax(y, axis=-1)


def test_several_outputs(tmp_path):
    model = TwoOutputs()
    x = _x(5, 3)
    path = pn.onnx.export(model, tmp_path / "m.onnx", x)
    first, second = run_onnx(path, x)
    y = model.lin.predict(x)
    np.testing.assert_allclose(first, y, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(second, pn.softmax(y, axis=-1), rtol=2e-5, atol=2e-6)
    assert [o.name for o in onnx.load(str(path)).graph.output] == ["output_0", "output_1"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"opset": 9}, "opset"),
        ({"opset": 2.5}, "opset"),
        ({"input_names": ["a", "b"]}, "input_names"),
        ({"output_names": ["a", "b"]}, "output"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        pn.onnx.export(nn.Linear(3, 2), tmp_path / "m.onnx", _x(2, 3), **kwargs)


def test_bad_model_and_input(tmp_path):
    with pytest.raises(TypeError, match="plainnet Module"):
        pn.onnx.export(lambda x: x, tmp_path / "m.onnx", _x(2, 3))
    with pytest.raises(ValueError, match="at least one sample"):
        pn.onnx.export(nn.Linear(3, 2), tmp_path / "m.onnx", np.zeros((0, 3)))


def test_import_plainnet_does_not_import_onnx():
    code = ("import sys, plainnet as pn; pn.nn.Linear(2, 2); pn.io; "
            "print('onnx' in sys.modules, 'onnxruntime' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.split() == ["False", "False"]


class ConstantOutput(nn.Module):
    def forward(self, x):
        return pn.tensor(x.data * 2.0)  # no op recorded: the output would be frozen


def test_outputs_computed_outside_the_graph_are_refused(tmp_path):
    with pytest.raises(pn.onnx.ExportError, match="output 0 .* outside the autodiff graph"):
        pn.onnx.export(ConstantOutput(), tmp_path / "m.onnx", _x(2, 3))


# -- every layer, and the models of the examples -------------------------------------------

def check_all_outputs(model, x, tmp_path, rtol=1e-4, atol=1e-5, sizes=(1, 3)):
    path = pn.onnx.export(model, tmp_path / "m.onnx", x[:1])
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed_dtype = session.get_inputs()[0].type
    for n in sizes:
        xb = np.resize(x, (n, *x.shape[1:])).astype(x.dtype)
        feed = xb.astype(np.int64) if "int64" in feed_dtype else xb.astype(model.dtype)
        got = session.run(None, {"input": feed})
        expected = outputs(model, xb)
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    return path


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer(tmp_path, name):
    make, x, _ = LAYERS[name]
    check_all_outputs(with_trained_state(make()), x, tmp_path)


def test_a_sequence_first_lstm_with_a_fixed_batch(tmp_path):
    model = with_trained_state(nn.GRU(4, 5, num_layers=2))  # (T, B, I)
    x = _x(6, 3, 4)
    path = pn.onnx.export(model, tmp_path / "m.onnx", x, dynamic_batch=False)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for a, b in zip(session.run(None, {"input": x}), outputs(model, x), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_the_lenet_cnn(tmp_path):
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )
    path = check_all_outputs(with_trained_state(model), _x(4, 1, 28, 28), tmp_path)
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count("Conv") == 2 and ops.count("MaxPool") == 2


def _example(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"
    if not path.exists():
        pytest.skip(f"examples/{name}.py is not there")
    spec = importlib.util.spec_from_file_location(f"_onnx_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))  # an example may import its neighbours
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def test_a_gpt_block_and_the_whole_gpt(tmp_path):
    gpt = _example("char_gpt")
    block = with_trained_state(gpt.Block(16, 4, bias=True))
    check_all_outputs(block, _x(2, 6, 16), tmp_path)
    model = with_trained_state(gpt.GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2,
                                       n_embd=16))
    ids = RNG.integers(0, 11, (3, 8))
    path = check_all_outputs(model, ids, tmp_path)
    graph = onnx.load(str(path)).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_an_lstm_language_model(tmp_path):
    lm = _example("char_lstm")
    model = with_trained_state(lm.CharLSTM(vocab_size=9, n_embd=8, hidden_size=12,
                                           num_layers=2))
    ops = [n.op_type for n in onnx.load(str(check_all_outputs(
        model, RNG.integers(0, 9, (2, 7)), tmp_path))).graph.node]
    assert ops.count("LSTM") == 2


def test_a_model_on_a_device_exports_from_a_host_copy(tmp_path):
    from fake_device import Fake2Array, FakeArray, FakeBackend
    from plainnet import backend

    backend.register_backend(FakeBackend("fake", FakeArray))
    backend.register_backend(FakeBackend("fake2", Fake2Array))
    try:
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        x = _x(5, 3)
        expected = model.predict(x)
        model.to("fake")
        path = pn.onnx.export(model, tmp_path / "m.onnx", x)
        assert model.device == "fake"
        (got,) = run_onnx(path, x)
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)
    finally:
        backend.unregister_backend("fake")
        backend.unregister_backend("fake2")


class MoreOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        h = pn.tanh(self.lin(x))
        a = pn.autodiff.ops.cumsum(h, axis=1) + pn.autodiff.ops.flip(h, axis=1)
        b = pn.autodiff.ops.prod(h + 2.0, axis=1, keepdims=True) + pn.autodiff.ops.norm(
            h, axis=1, keepdims=True)
        c = pn.autodiff.ops.tile(h[:, :2], (1, 2)) + pn.sum(h, axis=())
        return a + b + c + h.clone()


def test_more_tensor_ops_export_and_load_back(tmp_path):
    model = MoreOps()
    x = _x(6, 4)
    path = check(model, x, tmp_path, rtol=1e-4, atol=1e-5)
    loaded = pn.onnx.load(path)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-5, atol=1e-6)


# -- any MLP ------------------------------------------------------------------------------

@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 9), min_size=2, max_size=5),
       acts=st.lists(st.sampled_from(["ReLU", "Tanh", "Sigmoid", "GELU", "LeakyReLU", "ELU",
                                      "SiLU", "Identity"]), min_size=4, max_size=4),
       batchnorm=st.booleans(), batch=st.integers(1, 6))
def test_any_mlp_exports_exactly(tmp_path_factory, sizes, acts, batchnorm, batch):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if batchnorm and i == 0:
            layers.append(_trained_batchnorm(b))
        layers.append(getattr(nn, acts[i])())
    model = nn.Sequential(*layers)
    x = _x(batch + 3, sizes[0])
    check(model, x, tmp_path_factory.mktemp("mlp"), batches=(1, batch))


class BatchTiled(nn.Module):
    def forward(self, x):
        return pn.autodiff.ops.tile(x, (1, x.shape[0]))  # reps follow the batch size


def test_arguments_that_follow_the_batch_are_refused_unless_the_batch_is_fixed(tmp_path):
    with pytest.raises(pn.onnx.ExportError, match="'tile' takes arguments that change"):
        pn.onnx.export(BatchTiled(), tmp_path / "m.onnx", _x(2, 3))
    x = _x(2, 3)
    path = pn.onnx.export(BatchTiled(), tmp_path / "m.onnx", x, dynamic_batch=False)
    np.testing.assert_allclose(run_onnx(path, x)[0], BatchTiled().predict(x))


class Slices(nn.Module):
    def forward(self, x):
        return pn.concatenate([x[:2], x[-1:], x[::-1][:1], x[1:3] * 0.0 + 1.0], axis=0)[:, ::-2]


def test_slices_keep_their_bounds_for_other_batch_sizes(tmp_path):
    x = _x(1, 5)  # traced with one row: x[:2] must still take two rows of a larger batch
    path = pn.onnx.export(Slices(), tmp_path / "m.onnx", x)
    for n in (1, 2, 5):
        xb = _x(n, 5)
        np.testing.assert_allclose(run_onnx(path, xb)[0], Slices().predict(xb))
        np.testing.assert_allclose(pn.onnx.load(path).predict(xb), Slices().predict(xb))


class FillNaN(nn.Module):
    """Computes with NumPy, and says how to write itself as ONNX."""

    def forward(self, x):
        return pn.Tensor(np.where(np.isnan(x.data), 0.0, x.data).astype(x.data.dtype))

    def onnx_nodes(self, graph, x):
        return graph.add("Where", [graph.add("IsNaN", [x]), graph.scalar(0.0), x])


def test_a_module_that_writes_its_own_onnx_nodes(tmp_path):
    model = nn.Sequential(FillNaN(), nn.Linear(3, 2))
    x = _x(4, 3)
    x[1, 2] = np.nan
    path = pn.onnx.export(model, tmp_path / "m.onnx", x[:1], metadata={"note": [1, 2]})
    np.testing.assert_allclose(run_onnx(path, x)[0], model.predict(x), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(pn.onnx.load(path).predict(x), model.predict(x), rtol=1e-6)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["note"] == "[1, 2]"
