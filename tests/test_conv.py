"""Convolutions: ops and layers against finite differences (float64), PyTorch's values and
gradients (where installed), save/load, and the simulated GPU device."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
import plainnet.nn.functional as F
from fake_device import Counts, FakeArray, FakeBackend
from plainnet import backend
from plainnet.autodiff import conv_ops, enable_grad

RNG = np.random.default_rng(7)

# (x shape, weight shape, keyword arguments): odd sizes, strides, dilations, groups, paddings
CONV2D_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((1, 4, 9, 8), (6, 2, 3, 2), {"stride": (2, 1), "padding": (1, 2), "groups": 2}),
    ((2, 2, 8, 9), (3, 2, 2, 3), {"dilation": (2, 1), "padding": 1, "stride": 3}),
    ((1, 3, 6, 7), (3, 1, 3, 3), {"groups": 3, "padding": "same"}),  # depthwise, same
    ((2, 2, 5, 5), (2, 2, 4, 2), {"padding": "same", "dilation": 2}),  # asymmetric same
    ((1, 2, 5, 6), (3, 2, 5, 6), {"padding": "valid"}),  # kernel = image: one position
]


def _draw(*shape):
    return RNG.standard_normal(shape)


def _check(f, x, tol=1e-5):
    assert pn.check_grad(f, x) < tol


@pytest.mark.parametrize(("xs", "ws", "kw"), CONV2D_CASES)
def test_conv2d_gradients_match_finite_differences(xs, ws, kw):
    x, w, b = _draw(*xs), _draw(*ws), _draw(ws[0])
    up = _draw(*F.conv2d(x, w, b, **kw).shape)
    _check(lambda x: (F.conv2d(x, w, b, **kw) * up).sum(), x)
    _check(lambda w: (F.conv2d(x, w, b, **kw) * up).sum(), w)
    _check(lambda b: (F.conv2d(x, w, b, **kw) * up).sum(), b)


def _conv_values_and_gradients(x, w, b, kw, conv=F.conv2d):
    xt, wt, bt = (pn.tensor(a, requires_grad=True) for a in (x, w, b))
    y = conv(xt, wt, bt, **kw)
    (y * np.linspace(-1, 1, y.size).reshape(y.shape)).sum().backward()
    return [y.data, xt.grad, wt.grad, bt.grad]


@pytest.mark.parametrize(("xs", "ws", "kw"), CONV2D_CASES)
def test_a_convolution_in_blocks_of_one_output_row_equals_one_block(xs, ws, kw, monkeypatch):
    """On the CPU the columns are made and multiplied a block of output rows at a time (the
    input gradient's col2im too): one row per block gives the same values and gradients."""
    x, w, b = _draw(*xs), _draw(*ws), _draw(ws[0])
    whole = _conv_values_and_gradients(x, w, b, kw)
    for name in ("_BLOCK_BYTES", "_FOLD_BLOCK_BYTES", "_MIN_BLOCK_POSITIONS"):
        monkeypatch.setattr(conv_ops, name, 1)
    rows = _conv_values_and_gradients(x, w, b, kw)
    for got, want in zip(rows, whole, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    up = _draw(*whole[0].shape)
    _check(lambda x: (F.conv2d(x, w, b, **kw) * up).sum(), x)
    _check(lambda w: (F.conv2d(x, w, b, **kw) * up).sum(), w)


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1}, {"dilation": 2, "groups": 2}])
def test_conv1d_gradients_match_finite_differences(kw):
    x, w = _draw(2, 4, 11), _draw(6, 4 // kw.get("groups", 1), 3)
    up = _draw(*F.conv1d(x, w, **kw).shape)
    _check(lambda x: (F.conv1d(x, w, **kw) * up).sum(), x)
    _check(lambda w: (F.conv1d(x, w, **kw) * up).sum(), w)


@pytest.mark.parametrize("kw", [
    {}, {"stride": 2, "padding": 1, "output_padding": 1},
    {"stride": (1, 3), "dilation": 2, "groups": 2, "output_padding": (0, 2)},
])
def test_conv_transpose2d_gradients_match_finite_differences(kw):
    x, w, b = _draw(2, 4, 3, 4), _draw(4, 3, 3, 2), _draw(3 * kw.get("groups", 1))
    up = _draw(*F.conv_transpose2d(x, w, b, **kw).shape)
    for i, arg in enumerate((x, w, b)):
        def f(v, i=i):
            args = [x, w, b]
            args[i] = v
            return (F.conv_transpose2d(*args, **kw) * up).sum()

        _check(f, arg)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_gradients_match_finite_differences(mode):
    layer = pn.nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode=mode, dtype=np.float64)
    x = _draw(1, 2, 5, 4)
    up = _draw(1, 3, 7, 4)
    _check(lambda x: (layer(x) * up).sum(), x)


def test_second_derivatives_of_a_convolution():
    """The gradient of the input gradient's square norm in the weight: the three linear maps
    (convolution, its transpose, the weight gradient) differentiate into each other."""
    x, up = _draw(1, 2, 6, 5), _draw(1, 3, 4, 3)
    geo = conv_ops.Geometry((1, 2), ((0, 0), (1, 1)), (1, 1), 1)

    def norm_of_input_grad(w):
        xt = pn.tensor(x, requires_grad=True)
        with enable_grad():  # the finite differences call this without recording
            loss = (conv_ops.conv(xt, w, None, geo) * up).sum()
            loss.backward(create_graph=True)
        return (xt.grad ** 2).sum() + (xt.grad * pn.tensor(x)).sum()

    _check(norm_of_input_grad, _draw(3, 2, 3, 3))

    def weight_grad_norm(x):
        w = pn.tensor(np.full((3, 2, 3, 3), 0.5), requires_grad=True)
        with enable_grad():
            (conv_ops.conv(x, w, None, geo) * up).sum().backward(create_graph=True)
        return (w.grad ** 2).sum()

    _check(weight_grad_norm, x)


@pytest.mark.parametrize(("xs", "ws", "kw"), CONV2D_CASES[:4])
def test_the_bias_gradient_from_the_row_of_ones_equals_the_sum_of_the_gradient(xs, ws, kw):
    """The weight gradient's products give the bias gradient (a row of ones in the columns);
    with the weight frozen the bias gradient is summed instead: both equal, and equal to
    ``sum(g)`` over the batch and the positions. Backward twice (retain_graph) gives the same
    gradients again."""
    x, w, b = _draw(*xs), _draw(*ws), _draw(ws[0])
    up = _draw(*F.conv2d(x, w, b, **kw).shape)
    wt, bt = pn.tensor(w, requires_grad=True), pn.tensor(b, requires_grad=True)
    y = F.conv2d(x, wt, bt, **kw)
    (y * up).sum().backward(retain_graph=True)
    first = (wt.grad.copy(), bt.grad.copy())
    np.testing.assert_allclose(bt.grad, up.sum(axis=(0, 2, 3)), rtol=1e-12)
    wt.grad = bt.grad = None
    (y * up).sum().backward()
    np.testing.assert_allclose(wt.grad, first[0], rtol=1e-12)
    np.testing.assert_allclose(bt.grad, first[1], rtol=1e-12)
    frozen = pn.tensor(b, requires_grad=True)
    (F.conv2d(x, w, frozen, **kw) * up).sum().backward()
    np.testing.assert_allclose(frozen.grad, first[1], rtol=1e-12)


def test_float32_stays_float32():
    layer = pn.nn.Conv2d(3, 4, 3)
    x = pn.tensor(RNG.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    y = layer(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert layer.weight.grad.dtype == np.float32


# --------------------------------------------------------------------------- layers
def test_conv2d_layer_shapes_defaults_and_state_dict():
    layer = pn.nn.Conv2d(3, 8, 5, stride=2, padding=2)
    assert layer.weight.shape == (8, 3, 5, 5) and layer.bias.shape == (8,)
    assert list(layer.state_dict()) == ["weight", "bias"]
    bound = 1 / np.sqrt(3 * 25)  # PyTorch's default init: U(+-1/sqrt(fan_in))
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.8 * bound
    assert layer(np.zeros((4, 3, 9, 9))).shape == (4, 8, 5, 5)
    assert pn.nn.ConvTranspose2d(4, 6, 3, groups=2).weight.shape == (4, 3, 3, 3)
    assert pn.nn.Conv1d(2, 4, 3, groups=2, bias=False).weight.shape == (4, 1, 3)


def test_unbatched_input_as_pytorch():
    layer = pn.nn.Conv2d(2, 3, 3, padding=1)
    x = RNG.standard_normal((2, 5, 4)).astype(np.float32)
    y = layer(x)
    assert y.shape == (3, 5, 4)
    np.testing.assert_allclose(y.data, layer(x[None]).data[0], rtol=1e-6)
    assert pn.nn.Conv1d(2, 3, 3)(np.zeros((2, 7))).shape == (3, 5)
    assert pn.nn.ConvTranspose2d(2, 3, 2, stride=2)(np.zeros((2, 3, 3))).shape == (3, 6, 6)


def test_bad_inputs_name_expected_and_received_shapes():
    layer = pn.nn.Conv2d(3, 4, 5)
    with pytest.raises(ValueError, match=r"expects 3 input channels.*\(2, 1, 28, 28\)"):
        layer(np.zeros((2, 1, 28, 28)))
    with pytest.raises(ValueError, match=r"smaller than the kernel \(5, 5\)"):
        layer(np.zeros((2, 3, 4, 9)))
    with pytest.raises(ValueError, match=r"4-D input \(N, C, H, W\).*got shape \(28, 28\)"):
        layer(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="expects 4 input channels"):
        F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3)), groups=2)
    with pytest.raises(ValueError, match="needs stride 1"):
        pn.nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        pn.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        pn.nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(TypeError, match="kernel_size"):
        pn.nn.Conv2d(3, 4, (3, 3, 3))


@pytest.mark.parametrize("layer", [
    pn.nn.Conv2d(2, 4, 3, stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                 bias=False),
    pn.nn.Conv2d(4, 4, 3, padding="same", groups=4, padding_mode="reflect"),
    pn.nn.Conv1d(2, 3, 5, padding="valid"),
    pn.nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
])
def test_save_and_load_rebuild_the_layer(tmp_path, layer):
    path = tmp_path / "conv.safetensors"
    pn.save(layer, path)
    back = pn.load(path)
    assert type(back) is type(layer) and back.get_config() == layer.get_config()
    shape = (2, layer.in_channels) + (9,) * layer._nd
    x = RNG.standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(back(x).data, layer(x).data)


# --------------------------------------------------------------------------- PyTorch
@pytest.mark.parametrize(("xs", "ws", "kw"), CONV2D_CASES)
def test_conv2d_equals_pytorch(xs, ws, kw):
    torch = pytest.importorskip("torch")
    x, w, b = _draw(*xs), _draw(*ws), _draw(ws[0])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    px, pw, pb = (pn.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, **kw)
    py = F.conv2d(px, pw, pb, **kw)
    up = _draw(*ty.shape)
    (ty * torch.tensor(up)).sum().backward()
    (py * up).sum().backward()
    np.testing.assert_allclose(py.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    for p, t in ((px, tx), (pw, tw), (pb, tb)):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [
    {"stride": 2, "padding": 1, "output_padding": 1},
    {"stride": (2, 3), "padding": (0, 1), "dilation": (1, 2), "groups": 2},
])
def test_conv_transpose2d_equals_pytorch(kw):
    torch = pytest.importorskip("torch")
    x, w, b = _draw(2, 4, 5, 3), _draw(4, 2, 3, 2), _draw(2 * kw.get("groups", 1))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    px, pw, pb = (pn.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv_transpose2d(tx, tw, tb, **kw)
    py = F.conv_transpose2d(px, pw, pb, **kw)
    up = _draw(*ty.shape)
    (ty * torch.tensor(up)).sum().backward()
    (py * up).sum().backward()
    np.testing.assert_allclose(py.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    for p, t in ((px, tx), (pw, tw), (pb, tb)):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv_layers_equal_pytorch_with_its_weights(mode):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=(2, 1), groups=2,
                             padding_mode=mode).double()
    ours = pn.nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=(2, 1), groups=2,
                        padding_mode=mode, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = _draw(2, 4, 7, 8)
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


def _lenet_pn():
    nn = pn.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84),
        nn.ReLU(), nn.Linear(84, 10),
    )


def _lenet_torch(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84),
        nn.ReLU(), nn.Linear(84, 10),
    )


def test_a_cnn_state_dict_and_file_load_into_pytorch_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    ours, theirs = _lenet_pn(), _lenet_torch(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = RNG.standard_normal((3, 1, 28, 28)).astype(np.float32)
    # PyTorch -> plainnet through state_dict
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(x).data, expected, rtol=1e-5, atol=1e-6)
    # plainnet -> PyTorch through a safetensors file
    fresh = _lenet_pn()
    path = tmp_path / "lenet.safetensors"
    pn.save(fresh, path)
    theirs.load_state_dict(safetensors_torch.load_file(str(path)))
    np.testing.assert_allclose(theirs(torch.tensor(x)).detach().numpy(), fresh(x).data,
                               rtol=1e-5, atol=1e-6)


def test_pytorch_init_statistics():
    """Weights and bias uniform on +-1/sqrt(fan_in), fan_in = 16 * 3 * 3, as PyTorch's."""
    torch = pytest.importorskip("torch")
    ours, theirs = pn.nn.Conv2d(16, 32, 3), torch.nn.Conv2d(16, 32, 3)
    bound = 1 / np.sqrt(16 * 9)
    for a, b in ((ours.weight.data, theirs.weight), (ours.bias.data, theirs.bias)):
        b = b.detach().numpy()
        assert np.abs(a).max() <= bound and np.abs(b).max() <= bound
    for w in (ours.weight.data, theirs.weight.detach().numpy()):
        assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound  # a uniform's spread


# --------------------------------------------------------------------------- fake GPU
@pytest.fixture
def fake():
    device = FakeBackend("fake", FakeArray)
    backend.register_backend(device)
    yield device
    backend.unregister_backend("fake")


@pytest.mark.parametrize("layer", [
    pn.nn.Conv2d(2, 4, 3, stride=2, padding=1, dilation=(1, 2)),
    pn.nn.Conv2d(2, 2, 3, padding="same", groups=2, padding_mode="reflect"),
    pn.nn.Conv1d(2, 3, 3, padding=1),
    pn.nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=1),
])
def test_layers_on_the_simulated_gpu_equal_the_cpu(fake, layer):
    x = RNG.standard_normal((2, 2) + (7,) * layer._nd).astype(np.float32)
    up = RNG.standard_normal(layer(x).shape).astype(np.float32)
    xc = pn.tensor(x, requires_grad=True)
    (layer(xc) * up).sum().backward()
    cpu = [xc.grad] + [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    layer.to("fake")
    xf = pn.tensor(x, requires_grad=True, device="fake")
    upf = pn.tensor(up, device="fake")
    Counts.reset()
    y = layer(xf)
    assert type(y.data) is FakeArray
    y.backward(upf.data)  # the gradient of sum(y * up), without a product that is checked
    assert Counts.syncs == 0  # nothing read back to the host: no wait for a GPU
    got = [xf.grad] + [p.grad for p in layer.parameters()]
    for a, b in zip(got, cpu, strict=True):
        assert type(a) is FakeArray
        np.testing.assert_allclose(backend.to_numpy(a), b, rtol=1e-5, atol=1e-5)
