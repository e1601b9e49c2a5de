"""RNN, LSTM and GRU: PyTorch's names and equations, the fused op against the composite one and
finite differences, PyTorch's values and gradients, bad input, files and the simulated GPU."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from fake_device import FakeArray, FakeBackend
from plainnet import backend

LAYERS = [
    (pn.nn.RNN, {}),
    (pn.nn.RNN, {"nonlinearity": "relu"}),
    (pn.nn.LSTM, {}),
    (pn.nn.GRU, {}),
]
IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def _pair(cls, kw, **more):
    """The same layer fused and composite (float64, same weights)."""
    pn.seed(0)
    fused = cls(3, 4, dtype=np.float64, **kw, **more)
    composite = cls(3, 4, dtype=np.float64, fused=False, **kw, **more)
    composite.load_state_dict(fused.state_dict())
    return fused, composite


def _loss(out):
    output, state = out
    h = state[0] if isinstance(state, tuple) else state
    extra = (state[1] ** 2).sum() if isinstance(state, tuple) else 0.0
    return (output * output).sum() + (h * 3.0).sum() + extra


@pytest.mark.parametrize(("cls", "kw"), LAYERS, ids=IDS)
@pytest.mark.parametrize("more", [{}, {"num_layers": 2, "bidirectional": True},
                                  {"batch_first": True, "bias": False}])
def test_fused_equals_composite_in_values_and_gradients(cls, kw, more):
    fused, composite = _pair(cls, kw, **more)
    x = np.random.default_rng(1).normal(size=(5, 2, 3))
    grads = []
    for layer in (fused, composite):
        xt = pn.tensor(x, requires_grad=True)
        out = layer(xt)
        _loss(out).backward()
        grads.append((out[0].data, xt.grad, [p.grad for p in layer.parameters()]))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-10, atol=1e-12)
    for a, b in zip(grads[0][2], grads[1][2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("cls", "kw"), LAYERS, ids=IDS)
def test_gradients_equal_finite_differences(cls, kw):
    fused, _ = _pair(cls, kw, num_layers=2, bidirectional=True)
    x = np.random.default_rng(2).normal(size=(4, 2, 3))
    assert pn.check_grad(lambda t: _loss(fused(t)), x) < 1e-6
    w = fused.weight_hh_l0.data.copy()

    def of_weight(t):
        fused.weight_hh_l0.data = t.data if isinstance(t, pn.Tensor) else t
        return _loss(fused(x))

    numeric = pn.numerical_grad(lambda v: float(of_weight(v).data), w)
    fused.weight_hh_l0.data = w
    fused.zero_grad()
    _loss(fused(x)).backward()
    np.testing.assert_allclose(fused.weight_hh_l0.grad, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("cls", "kw"), LAYERS, ids=IDS)
def test_initial_states_get_gradients(cls, kw):
    fused, composite = _pair(cls, kw, num_layers=2)
    x = np.random.default_rng(3).normal(size=(4, 2, 3))
    h0 = np.random.default_rng(4).normal(size=(2, 2, 4))
    results = []
    for layer in (fused, composite):
        h = pn.tensor(h0, requires_grad=True)
        if cls is pn.nn.LSTM:
            c = pn.tensor(h0 * 0.5, requires_grad=True)
            _loss(layer(x, (h, c))).backward()
            results.append((h.grad, c.grad))
        else:
            _loss(layer(x, h)).backward()
            results.append((h.grad,))
    for a, b in zip(*results, strict=True):
        assert np.abs(a).max() > 0
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_state_dict_keys_are_pytorchs():
    lstm = pn.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    assert list(lstm.state_dict())[:4] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert "weight_ih_l1_reverse" in lstm.state_dict()
    assert lstm.weight_ih_l0.shape == (16, 3)
    assert lstm.weight_ih_l1.shape == (16, 8)   # reads both directions of layer 0
    assert pn.nn.GRU(3, 4).weight_hh_l0.shape == (12, 4)
    assert list(pn.nn.RNN(3, 4, bias=False).state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    bound = 1 / np.sqrt(4)
    assert all(np.abs(p.data).max() <= bound for p in lstm.parameters())


def test_shapes_batch_first_bidirectional_and_unbatched():
    lstm = pn.nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    out, (h, c) = lstm(np.zeros((2, 7, 3), np.float32))
    assert out.shape == (2, 7, 8) and h.shape == (4, 2, 4) and c.shape == (4, 2, 4)
    out, h = pn.nn.GRU(3, 4)(np.ones((7, 3), np.float32))
    assert out.shape == (7, 4) and h.shape == (1, 4)
    assert out.dtype == np.float32


def test_unbatched_equals_a_batch_of_one():
    pn.seed(0)
    gru = pn.nn.GRU(3, 4)
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    out, h = gru(x)
    out1, h1 = gru(x[:, None, :])
    np.testing.assert_array_equal(out.data, out1.data[:, 0])
    np.testing.assert_array_equal(h.data, h1.data[:, 0])


def test_dropout_only_between_layers_and_only_in_training():
    pn.seed(0)
    lstm = pn.nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    plain = pn.nn.LSTM(3, 4, num_layers=2)
    plain.load_state_dict(lstm.state_dict())
    x = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32)
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].data, plain(x)[0].data)
    lstm.train()
    assert not np.allclose(lstm(x)[0].data, plain(x)[0].data)
    assert list(lstm.state_dict()) == list(plain.state_dict())


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: pn.nn.LSTM(3, 4)(np.zeros((5, 2, 2))), ValueError, "expects 3 features"),
        (lambda: pn.nn.GRU(3, 4)(np.zeros((5,))), ValueError, "time, batch, features"),
        (lambda: pn.nn.RNN(3, 4)(np.zeros((0, 2, 3))), ValueError, "empty sequence"),
        (lambda: pn.nn.RNN(3, 4)(np.zeros((5, 2, 3)), np.zeros((2, 2, 4))), ValueError,
         r"h_0 of shape \(1, 2, 4\)"),
        (lambda: pn.nn.LSTM(3, 4)(np.zeros((5, 2, 3)), np.zeros((1, 2, 4))), TypeError,
         "tuple"),
        (lambda: pn.nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError, "nonlinearity"),
        (lambda: pn.nn.LSTM(3, 0), ValueError, "hidden_size"),
        (lambda: pn.nn.LSTM(3, 4, dropout=2.0), ValueError, "dropout"),
        (lambda: pn.nn.LSTM(3, 4, batch_first=1), TypeError, "batch_first"),
    ],
)
def test_bad_input_is_refused_clearly(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_fused_backward_cannot_be_differentiated_again_but_composite_can():
    pn.seed(0)
    fused = pn.nn.GRU(2, 3, dtype=np.float64)
    composite = pn.nn.GRU(2, 3, dtype=np.float64, fused=False)
    composite.load_state_dict(fused.state_dict())
    x = np.random.default_rng(0).normal(size=(3, 1, 2))

    def f_of(layer):
        return lambda t: (layer(t)[0] ** 2).sum()

    with pytest.raises(NotImplementedError, match="fused=False"):
        pn.hessian(f_of(fused))(x)
    h = pn.hessian(f_of(composite))(x)
    assert h.shape == x.shape * 2 and np.allclose(h.reshape(6, 6), h.reshape(6, 6).T)


@pytest.mark.parametrize(("cls", "kw"), LAYERS, ids=IDS)
def test_save_and_load_round_trip_bit_for_bit(cls, kw, tmp_path):
    layer = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True, **kw)
    path = tmp_path / "rnn.safetensors"
    pn.save(layer, path)
    loaded = pn.load(path)
    assert type(loaded) is cls and loaded.get_config() == layer.get_config()
    for (k, a), (k2, b) in zip(layer.state_dict().items(), loaded.state_dict().items(),
                               strict=True):
        assert k == k2
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- PyTorch
@pytest.mark.parametrize(("cls", "kw"), LAYERS, ids=IDS)
@pytest.mark.parametrize("more", [{}, {"num_layers": 2, "bidirectional": True,
                                        "batch_first": True}])
def test_values_and_gradients_equal_pytorchs(cls, kw, more):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    t_layer = getattr(torch.nn, cls.__name__)(3, 5, **kw, **more).double()
    layer = cls(3, 5, dtype=np.float64, **kw, **more)
    layer.load_state_dict({k: v.detach().numpy() for k, v in t_layer.state_dict().items()})
    x = np.random.default_rng(5).normal(size=(2, 6, 3) if more else (6, 2, 3))
    xt = torch.tensor(x, requires_grad=True)
    out_t, state_t = t_layer(xt)
    xp = pn.tensor(x, requires_grad=True)
    out_p, state_p = layer(xp)
    h_t = state_t[0] if isinstance(state_t, tuple) else state_t
    h_p = state_p[0] if isinstance(state_p, tuple) else state_p
    ((out_t ** 2).sum() + (h_t * 3).sum()).backward()
    ((out_p ** 2).sum() + (h_p * 3).sum()).backward()
    np.testing.assert_allclose(out_p.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_p.data, h_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xp.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), tp in zip(layer.named_parameters(), t_layer.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def test_pytorch_loads_a_plainnet_lstm_file(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    layer = pn.nn.LSTM(3, 4, num_layers=2)
    path = tmp_path / "lstm.safetensors"
    pn.save(layer, path)
    t_layer = torch.nn.LSTM(3, 4, num_layers=2)
    t_layer.load_state_dict(safetensors_torch.load_file(str(path)))
    x = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(layer(x)[0].data,
                               t_layer(torch.tensor(x))[0].detach().numpy(), rtol=1e-5,
                               atol=1e-6)


# --------------------------------------------------------------------------- simulated GPU
@pytest.fixture
def fake():
    device = FakeBackend("fake", FakeArray)
    backend.register_backend(device)
    yield device
    backend.unregister_backend("fake")


@pytest.mark.parametrize(("cls", "kw"), LAYERS, ids=IDS)
def test_layers_on_the_simulated_gpu_equal_the_cpu(fake, cls, kw):
    pn.seed(0)
    layer = cls(3, 4, num_layers=2, bidirectional=True, **kw)
    x = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32)
    xc = pn.tensor(x, requires_grad=True)
    _loss(layer(xc)).backward()
    cpu_grads = [p.grad.copy() for p in layer.parameters()]
    cpu_out = layer(x)[0].data
    layer.zero_grad()
    layer.to("fake")
    xf = pn.tensor(x, requires_grad=True, device="fake")
    out = layer(xf)
    _loss(out).backward()
    assert out[0].device == "fake"
    np.testing.assert_allclose(backend.to_numpy(out[0].data), cpu_out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(xf.grad), xc.grad, rtol=1e-4, atol=1e-5)
    for a, b in zip(layer.parameters(), cpu_grads, strict=True):
        np.testing.assert_allclose(backend.to_numpy(a.grad), b, rtol=1e-4, atol=1e-5)


def test_double_converts_the_layer_and_its_inputs():
    lstm = pn.nn.LSTM(3, 4).double()
    assert all(p.dtype == np.float64 for p in lstm.parameters())
    out, _ = lstm(np.ones((2, 1, 3), np.float32))
    assert out.dtype == np.float64


def test_a_file_whose_header_length_starts_like_a_pickle_loads(tmp_path):
    """A header of 1,152 bytes is stored as 80 04 00 ..., the bytes a pickle starts with."""
    from plainnet.io import format as fmt

    for hidden in range(2, 40):
        layer = pn.nn.GRU(3, hidden, num_layers=2)
        path = tmp_path / f"gru{hidden}.safetensors"
        pn.save(layer, path)
        head = path.read_bytes()[:2]
        if head[0] == 0x80 and 2 <= head[1] <= 5:
            break
    else:
        pytest.skip("no header length starting with 0x80 0x02-0x05 in this range")
    loaded = pn.load(path)
    np.testing.assert_array_equal(loaded.weight_hh_l1.data, layer.weight_hh_l1.data)
    with pytest.raises(fmt.ModelFileError, match="pickle"):
        fmt.read_header(b"\x80\x04" + b"\x00" * 30, "x")
