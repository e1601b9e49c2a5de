"""Pooling, upsampling and the image normalization/dropout layers: finite differences
(float64), PyTorch's values and gradients (where installed), save/load, the simulated GPU."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
import plainnet.nn.functional as F
from fake_device import Counts, FakeArray, FakeBackend
from plainnet import backend
from plainnet.autodiff import conv_ops

RNG = np.random.default_rng(11)

MAX_CASES = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (3, 2), "stride": (2, 1), "ceil_mode": True},
    {"kernel_size": 2, "stride": 2, "dilation": 2, "ceil_mode": True, "padding": 1},
]
AVG_CASES = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": (3, 2), "stride": 2, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
     "count_include_pad": False},
]
FUNCTIONS = (
    [("max_pool2d", kw) for kw in MAX_CASES]
    + [("avg_pool2d", kw) for kw in AVG_CASES]
    + [("adaptive_avg_pool2d", {"output_size": s}) for s in (1, (3, 2), (4, 5), (7, 9))]
    + [("interpolate", kw) for kw in ({"scale_factor": 2}, {"size": (5, 13)},
                                       {"scale_factor": 1.5})]
)


def _distinct(*shape):
    """Values with no ties (max pooling is differentiable there)."""
    return RNG.permutation(np.prod(shape)).reshape(shape) / 100.0 + RNG.uniform(0, 0.005, shape)


@pytest.mark.parametrize(("name", "kw"), FUNCTIONS)
def test_gradients_match_finite_differences(name, kw):
    f = getattr(F, name)
    x = _distinct(2, 3, 7, 9)
    up = RNG.standard_normal(f(x, **kw).shape)
    assert pn.check_grad(lambda x: (f(x, **kw) * up).sum(), x) < 1e-5


def test_max_pool1d_gradient_and_ties_go_to_the_first_maximum():
    x = _distinct(2, 3, 11)
    up = RNG.standard_normal(F.max_pool1d(x, 3, 2, 1).shape)
    assert pn.check_grad(lambda x: (F.max_pool1d(x, 3, 2, 1) * up).sum(), x) < 1e-6
    t = pn.tensor([[[1.0, 1.0, 0.0, 2.0]]], requires_grad=True)
    F.max_pool1d(t, 2).sum().backward()
    np.testing.assert_array_equal(t.grad, [[[1.0, 0.0, 0.0, 1.0]]])


@pytest.mark.parametrize(("name", "kw"), FUNCTIONS)
def test_values_and_gradients_equal_pytorch(name, kw):
    torch = pytest.importorskip("torch")
    x = _distinct(2, 3, 7, 9)
    tx = torch.tensor(x, requires_grad=True)
    px = pn.tensor(x, requires_grad=True)
    ty = getattr(torch.nn.functional, name)(tx, **kw)
    py = getattr(F, name)(px, **kw)
    up = RNG.standard_normal(tuple(ty.shape))
    (ty * torch.tensor(up)).sum().backward()
    (py * up).sum().backward()
    np.testing.assert_allclose(py.data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(px.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_pool_layers_accept_unbatched_input_and_refuse_bad_shapes():
    x = RNG.standard_normal((3, 8, 8)).astype(np.float32)
    assert pn.nn.MaxPool2d(2)(x).shape == (3, 4, 4)
    assert pn.nn.AvgPool2d(3, 1, 1)(x).shape == (3, 8, 8)
    assert pn.nn.AdaptiveAvgPool2d((2, None))(x).shape == (3, 2, 8)
    assert pn.nn.MaxPool1d(2)(np.zeros((3, 9))).shape == (3, 4)
    with pytest.raises(ValueError, match=r"smaller than the kernel \(5, 5\)"):
        pn.nn.MaxPool2d(5)(np.zeros((1, 1, 4, 8)))
    with pytest.raises(ValueError, match=r"4-D input \(N, C, H, W\).*got shape \(8, 8\)"):
        pn.nn.MaxPool2d(2)(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="at most half"):
        pn.nn.MaxPool2d(2, padding=2)(np.zeros((1, 1, 8, 8)))
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        pn.nn.Upsample()


def test_upsample_repeats_each_value():
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    y = pn.nn.Upsample(scale_factor=2)(x).data
    np.testing.assert_array_equal(y[0, 0], np.repeat(np.repeat(x[0, 0], 2, 0), 2, 1))


# --------------------------------------------------------------------------- normalization
def test_batchnorm2d_equals_pytorch_in_training_and_eval():
    torch = pytest.importorskip("torch")
    ours = pn.nn.BatchNorm2d(3, momentum=0.2, dtype=np.float64)
    theirs = torch.nn.BatchNorm2d(3, momentum=0.2).double()
    ours.weight.data[:] = [0.5, 2.0, -1.0]
    theirs.weight.data[:] = torch.tensor([0.5, 2.0, -1.0])
    for _ in range(2):
        x = RNG.standard_normal((4, 3, 5, 6)) * 3 + 1
        up = RNG.standard_normal(x.shape)
        px, tx = pn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        py, ty = ours(px), theirs(tx)
        (py * up).sum().backward()
        (ty * torch.tensor(up)).sum().backward()
        np.testing.assert_allclose(py.data, ty.detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(px.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-10)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    x = RNG.standard_normal((2, 3, 4, 4))
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) expects input of shape"):
        ours(np.zeros((2, 3, 4)))


def test_group_norm_gradients_and_pytorch():
    # its own generator: the shared one's state depends on which tests ran first on this
    # worker, and central differences through a normalization reach 1e-5 on a few draws
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 3, 4))
    w, b = rng.standard_normal(6), rng.standard_normal(6)
    up = rng.standard_normal(x.shape)
    for i, arg in enumerate((x, w, b)):
        def f(v, i=i):
            args = [x, w, b]
            args[i] = v
            return (F.group_norm(args[0], 3, args[1], args[2]) * up).sum()

        assert pn.check_grad(f, arg) < 1e-5
    torch = pytest.importorskip("torch")
    layer = pn.nn.GroupNorm(3, 6, dtype=np.float64)
    layer.weight.data[:] = w
    layer.bias.data[:] = b
    expected = torch.nn.functional.group_norm(torch.tensor(x), 3, torch.tensor(w),
                                              torch.tensor(b))
    np.testing.assert_allclose(layer(x).data, expected.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        pn.nn.GroupNorm(4, 6)


def test_functional_batch_norm_updates_running_statistics():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((5, 2, 3, 3))
    rm, rv = np.zeros(2), np.ones(2)
    trm, trv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    y = F.batch_norm(x, rm, rv, training=True, momentum=0.3)
    ty = torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=0.3)
    np.testing.assert_allclose(y.data, ty.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-12)
    y = F.batch_norm(x, rm, rv, training=False)
    ty = torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, training=False)
    np.testing.assert_allclose(y.data, ty.numpy(), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- dropout, unflatten
def test_dropout2d_drops_whole_channels_and_keeps_the_mean():
    pn.seed(0)
    x = np.ones((64, 8, 5, 5), dtype=np.float32)
    y = pn.nn.Dropout2d(0.25)(x).data
    per_map = y.reshape(64, 8, -1)
    assert np.all(per_map.min(-1) == per_map.max(-1))  # each map all kept or all dropped
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs(y.mean() - 1.0) < 0.1
    layer = pn.nn.Dropout2d(0.5).eval()
    np.testing.assert_array_equal(layer(x).data, x)
    np.testing.assert_array_equal(F.dropout2d(x, 0.5, training=False).data, x)


def test_unflatten_splits_an_axis():
    x = np.arange(2 * 12.0).reshape(2, 12)
    assert pn.nn.Unflatten(1, (3, 4))(x).shape == (2, 3, 4)
    assert pn.nn.Unflatten(-1, (2, -1))(x).shape == (2, 2, 6)
    with pytest.raises(ValueError, match=r"does not fit an input of shape \(2, 12\)"):
        pn.nn.Unflatten(1, (5, 4))(x)


# --------------------------------------------------------------------------- files
@pytest.mark.parametrize("layer", [
    pn.nn.MaxPool2d(3, 2, 1, ceil_mode=True), pn.nn.MaxPool1d(2), pn.nn.AvgPool2d(2, 1),
    pn.nn.AdaptiveAvgPool2d((3, 2)), pn.nn.Upsample(scale_factor=2),
    pn.nn.BatchNorm2d(2), pn.nn.GroupNorm(1, 2), pn.nn.Dropout2d(0.3), pn.nn.Unflatten(1, (2, 1)),
])
def test_save_and_load_rebuild_the_layer(tmp_path, layer):
    model = pn.nn.Sequential(pn.nn.Conv2d(2, 2, 1), layer) if isinstance(
        layer, (pn.nn.BatchNorm2d, pn.nn.GroupNorm)) else pn.nn.Sequential(layer)
    path = tmp_path / "m.safetensors"
    pn.save(model, path)
    back = pn.load(path)
    assert type(back[-1]) is type(layer) and back[-1].get_config() == layer.get_config()
    x = RNG.standard_normal((2, 2, 6, 6) if not isinstance(layer, pn.nn.MaxPool1d)
                            else (2, 2, 6)).astype(np.float32)
    if isinstance(layer, pn.nn.Unflatten):
        x = x[:, :, 0, 0]
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


# --------------------------------------------------------------------------- fake GPU
@pytest.fixture
def fake():
    device = FakeBackend("fake", FakeArray)
    backend.register_backend(device)
    yield device
    backend.unregister_backend("fake")


@pytest.mark.parametrize(("name", "kw"), FUNCTIONS + [("max_pool1d", {"kernel_size": 3}),
                                                       ("group_norm", {"num_groups": 3}),
                                                       ("dropout2d", {"p": 0.0})])
def test_functions_on_the_simulated_gpu_equal_the_cpu(fake, name, kw):
    f = getattr(F, name)
    x = _distinct(2, 3, 7, 9).astype(np.float32)
    if name == "max_pool1d":
        x = x[..., 0]
    up = RNG.standard_normal(f(x, **kw).shape).astype(np.float32)
    xc = pn.tensor(x, requires_grad=True)
    (f(xc, **kw) * up).sum().backward()
    xf = pn.tensor(x, requires_grad=True, device="fake")
    upf = pn.tensor(up, device="fake")
    Counts.reset()
    y = f(xf, **kw)
    assert type(y.data) is FakeArray
    y.backward(upf.data)  # the gradient of sum(y * up), without a product that is checked
    assert Counts.syncs == 0  # nothing read back to the host: no wait for a GPU
    assert type(xf.grad) is FakeArray
    np.testing.assert_allclose(backend.to_numpy(y.data), f(x, **kw).data, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(xf.grad), xc.grad, rtol=1e-5, atol=1e-6)


def test_a_small_cnn_trains_on_the_simulated_gpu_as_on_the_cpu(fake):
    def build():
        pn.seed(3)
        nn = pn.nn
        # no bias before BatchNorm: its true gradient is 0, and Adam turns the rounding noise
        # that stands in for 0 (summed in a different order on each device) into full steps
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4),
                             nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, groups=2), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))

    x = RNG.standard_normal((8, 1, 8, 8)).astype(np.float32)
    y = RNG.integers(0, 3, 8)
    weights = []
    for device in ("cpu", "fake"):
        model = build().to(device)
        opt = pn.optim.Adam(model.parameters(), lr=0.01)
        xd, yd = backend.to_device(x, device), backend.to_device(y, device)
        for _ in range(3):
            opt.zero_grad()
            pn.nn.CrossEntropyLoss()(model(xd), yd).backward()
            opt.step()
        weights.append({k: backend.to_numpy(v) for k, v in model.state_dict().items()})
    for key in weights[0]:
        np.testing.assert_allclose(weights[1][key], weights[0][key], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2,
                                                      "padding": 1}])
def test_pooling_a_channel_first_array_equals_pooling_its_copy(name, kw):
    """A convolution hands out (N, C, H, W) views of channel-first memory: pooling them (and
    their gradients, whatever the layout of g) equals pooling a C-ordered copy."""
    f = getattr(F, name)
    x = _distinct(3, 2, 8, 6)
    view = np.ascontiguousarray(x.swapaxes(0, 1)).swapaxes(0, 1)
    results = []
    for data in (x, view):
        t = pn.tensor(data, requires_grad=True)
        y = f(t, **kw)
        y.backward(np.arange(y.size, dtype=float).reshape(y.shape))
        results.append((y.data, t.grad))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


@pytest.mark.parametrize("pool", [pn.nn.MaxPool2d(2), pn.nn.MaxPool2d(3, stride=2, padding=1),
                                  pn.nn.MaxPool2d(2, stride=1)])
def test_sequential_pools_the_relu_in_one_op_with_the_same_values_and_gradients(pool):
    """Sequential runs ReLU -> MaxPool as one pooling whose windows start at zero. Ties (many
    zeros and repeated values) and windows whose maximum is negative get the gradients of the
    two layers written."""
    conv = pn.nn.Conv2d(2, 3, 3, padding=1)
    x = np.round(RNG.standard_normal((4, 2, 6, 6)), 1)  # rounded: ties inside windows
    x[:, :, :2] = 0.0
    up = RNG.standard_normal(pool(pn.nn.ReLU()(conv(pn.tensor(x)))).shape)
    grads = []
    for fused in (True, False):
        model = pn.nn.Sequential(conv, pn.nn.ReLU(), pool)
        if not fused:
            model[1].register_forward_hook(lambda module, args, out: None)  # no fusion
        t = pn.tensor(x, requires_grad=True)
        for p in model.parameters():
            p.grad = None
        y = model(t)
        (y * up).sum().backward()
        grads.append((y.data, t.grad, conv.weight.grad.copy(), conv.bias.grad.copy()))
    for fused_value, plain_value in zip(*grads, strict=True):
        np.testing.assert_array_equal(fused_value, plain_value)


def test_sequential_relu_pool_gradients_match_finite_differences():
    model = pn.nn.Sequential(pn.nn.Conv2d(1, 2, 3), pn.nn.ReLU(), pn.nn.MaxPool2d(2))
    model.double()
    x = _distinct(2, 1, 8, 8)
    up = RNG.standard_normal(model(pn.tensor(x)).shape)
    assert pn.check_grad(lambda x: (model(x) * up).sum(), x) < 1e-6


@pytest.mark.parametrize("kw", [{"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0)},
                                {"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1)},
                                {"kernel": (3,), "stride": (1,), "padding": (1,)}])
def test_max_pool_with_relu_equals_the_pooling_of_the_relu(kw):
    """``max_pool(x, relu=True)`` against ``max_pool(relu(x))`` on values with exact zeros,
    negative windows and ties: the same values, and the same gradients (none where no value
    of the window is positive, nor at an exact zero, since relu'(0) = 0)."""
    nd = len(kw["kernel"])
    x = np.round(RNG.standard_normal((3, 2) + (7,) * nd), 0)  # many 0, -1 and 1: ties
    x[0] = -np.abs(x[0])  # windows with no positive value
    geo = conv_ops.Geometry(kw["stride"], tuple((p, p) for p in kw["padding"]), (1,) * nd, 1)
    up = RNG.standard_normal(conv_ops.max_pool(x, kw["kernel"], geo).shape)
    results = []
    for fused in (True, False):
        t = pn.tensor(x, requires_grad=True)
        y = conv_ops.max_pool(t, kw["kernel"], geo, relu=True) if fused else \
            conv_ops.max_pool(pn.relu(t), kw["kernel"], geo)
        y.backward(up)
        results.append((y.data, t.grad))
    assert (results[0][0] == 0).any() and (results[0][1] == 0).any()
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize(("kernel", "stride"), [(2, 2), (3, 1)])
def test_a_nan_wins_its_window_and_takes_the_gradient_as_in_pytorch(kernel, stride, relu):
    """A NaN in a window is its maximum and takes its gradient, the last NaN where there are
    several (PyTorch's rule); through a ReLU too (relu(NaN) is NaN)."""
    x = np.array([[[1.0, np.nan, 3.0, np.nan, 2.0, -1.0, 5.0, np.nan]]])
    geo = conv_ops.Geometry((stride,), ((0, 0),), (1,), 1)
    t = pn.tensor(x, requires_grad=True)
    y = conv_ops.max_pool(t, (kernel,), geo, relu=relu)
    y.backward(np.ones(y.shape))
    windows = np.lib.stride_tricks.sliding_window_view(x[0, 0], kernel)[::stride]
    want = np.zeros(x.shape[-1])
    for start, window in zip(range(0, len(windows) * stride, stride), windows, strict=True):
        nan = np.flatnonzero(np.isnan(window))
        if len(nan):
            want[start + nan[-1]] += 1
        elif window.max() > 0 or not relu:
            want[start + np.argmax(window)] += 1
    np.testing.assert_array_equal(t.grad[0, 0], want)
    assert np.isnan(y.data).sum() == sum(np.isnan(w).any() for w in windows)
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, requires_grad=True)
    pooled = torch.nn.functional.max_pool1d(torch.relu(xt) if relu else xt, kernel, stride)
    pooled.sum().backward()
    np.testing.assert_array_equal(t.grad, xt.grad.numpy())
