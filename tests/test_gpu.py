"""The CUDA backend on a real GPU: every result equals the CPU backend's within float32
tolerance (float64 runs are held to float64 tolerance).

Run on a machine with an NVIDIA GPU and CuPy (``pip install "plainnet[cuda12]"`` or
``"plainnet[cuda13]"``)::

    pytest -m gpu tests/test_gpu.py

Everything here is skipped where CuPy is missing or sees no GPU (as in CI). The same
behaviour is tested on every machine, without a GPU, by the fake device of
``tests/fake_device.py`` (``tests/test_backend.py``, ``tests/test_kernels.py``).
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

import plainnet as pn
import small_net
from optimizer_cases import CASES, IDS
from plainnet import backend, kernels


def _gpu_reason() -> str | None:
    if importlib.util.find_spec("cupy") is None:
        return "CuPy is not installed"
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() == 0:
            return "CuPy sees no CUDA device"
    except Exception as err:  # no driver, or a CuPy built for another CUDA
        return f"CuPy cannot reach a CUDA device ({type(err).__name__}: {err})"
    return None


REASON = _gpu_reason()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(REASON is not None, reason=REASON or "")]

F32 = {"rtol": 1e-4, "atol": 1e-5}
F64 = {"rtol": 1e-10, "atol": 1e-12}


@pytest.fixture(autouse=True)
def no_kernel_fell_back():
    """Every fused kernel a test ran compiled: none took the array-function fallback."""
    yield
    failed = sorted(kernel.name for _, kernel in kernels._FAILED)
    assert not failed, f"these kernels failed to compile on the GPU: {failed}"


@pytest.fixture(scope="module")
def cupy():
    import cupy

    return cupy


def host(x):
    return backend.to_numpy(x)


def mlp(**kwargs):
    return small_net.mlp(hidden=16, **kwargs)


def blobs():
    return small_net.blobs(256)


# --------------------------------------------------------------------------- devices
def test_cuda_names_and_transfers(cupy):
    assert backend.is_available("cuda")
    assert backend.device_count("cuda") == cupy.cuda.runtime.getDeviceCount()
    assert backend.canonical_device("cuda") == f"cuda:{cupy.cuda.runtime.getDevice()}"
    t = pn.tensor([1.0, 2.0, 3.0], device="cuda")
    assert isinstance(t.data, cupy.ndarray) and t.device == "cuda:0"
    assert backend.array_module(t) is cupy
    back = t.to("cpu")
    assert type(back.data) is np.ndarray and back.device == "cpu"
    np.testing.assert_array_equal(back.numpy(), [1.0, 2.0, 3.0])
    assert t.to("cuda") is t
    assert "device='cuda:0'" in repr(t)
    assert pn.tensor(cupy.arange(3.0)).device == "cuda:0"  # a CuPy array stays on its GPU


def test_missing_gpu_index_is_refused():
    count = backend.device_count("cuda")
    with pytest.raises(backend.DeviceUnavailableError, match=f"'cuda:{count}' does not exist"):
        pn.tensor([1.0], device=f"cuda:{count}")


def test_numpy_of_a_cuda_tensor_says_to_move_it():
    t = pn.tensor([1.0], device="cuda")
    with pytest.raises(TypeError, match=r"call \.to\('cpu'\)"):
        t.numpy()


def test_mixing_cpu_and_cuda_names_both():
    a = pn.tensor(np.ones((2, 2)), requires_grad=True)
    b = pn.tensor(np.ones((2, 2)), device="cuda")
    for combine in (lambda: a + b, lambda: a @ b, lambda: b * np.ones((2, 2))):
        with pytest.raises(backend.DeviceMismatchError, match="'cpu'.*'cuda:0'|'cuda:0'.*'cpu'"):
            combine()


# --------------------------------------------------------------------------- ops and gradients
def _program(a, b, idx):
    z = (a @ b).tanh() + a.sum(axis=1, keepdims=True).exp() / 10
    z = z.sigmoid() * z.relu() + z.softplus() - (z * z + 1.0).sqrt().log() + z ** 3
    w = pn.where(z.data > 0, z, -z) + pn.maximum(z, 0.1) + z.clip(-0.5, 0.5)
    v = w.log_softmax(axis=1) + w.softmax(axis=0) + w.logsumexp(axis=1, keepdims=True)
    g = v[idx] + pn.erf(v[:, :1]) + pn.concatenate([v[:, 2:], v[:, :2]], axis=1)
    g = g + pn.stack([g[:, 0], g[:, 1]], axis=1).mean(axis=1, keepdims=True)
    return (g.max(axis=0) + g.var(axis=0) + g.abs().mean(axis=0) + g.T.min(axis=1)).sum()


@pytest.mark.parametrize(("dtype", "tol"), [(np.float32, F32), (np.float64, F64)])
def test_ops_and_gradients_equal_the_cpu(dtype, tol):
    rng = np.random.default_rng(1)
    a0 = rng.standard_normal((64, 32)).astype(dtype)
    b0 = rng.standard_normal((32, 64)).astype(dtype) / 4
    idx = rng.integers(0, 64, 64)  # repeated indices: the gradient scatters with add.at
    results = []
    for device in ("cpu", "cuda"):
        a = pn.tensor(a0, requires_grad=True, device=device)
        b = pn.tensor(b0, requires_grad=True, device=device)
        value = _program(a, b, idx)
        value.backward()
        assert value.device == a.device
        assert backend.device_of(a.grad) == a.device and a.grad.dtype == dtype
        results.append((float(value), host(a.grad), host(b.grad)))
    (v0, ga0, gb0), (v1, ga1, gb1) = results
    assert v1 == pytest.approx(v0, rel=tol["rtol"] * 10)
    # the gradients reach 1e12 here, and sums of such terms cancel to 1e9 in places: an entry
    # is held to its own relative tolerance, or to a few roundings of the array's largest
    for got, want in ((ga1, ga0), (gb1, gb0)):
        scale = 16 * np.finfo(dtype).eps * np.abs(want).max()
        np.testing.assert_allclose(got, want, rtol=tol["rtol"], atol=max(tol["atol"], scale))


def test_second_derivatives_on_the_gpu():
    x0 = np.array([0.5, -1.0, 2.0])
    hess = []
    for device in ("cpu", "cuda"):
        x = pn.tensor(x0, requires_grad=True, device=device)
        (x.tanh() * x * x).sum().backward(create_graph=True)
        g = x.grad
        x.grad = None
        g.sum().backward()
        hess.append(host(x.grad))
    np.testing.assert_allclose(hess[1], hess[0], **F64)


@pytest.mark.parametrize(
    ("loss", "target"),
    small_net.LOSS_CASES,
)
def test_losses_equal_the_cpu(loss, target):
    rng = np.random.default_rng(0)
    z0 = rng.standard_normal((50, 3)).astype(np.float32)
    fn = pn.losses.get(loss)
    weights = np.linspace(0.0, 2.0, 50)
    results = []
    for device in ("cpu", "cuda"):
        z = pn.tensor(z0, requires_grad=True, device=device)
        value = fn(z.log_softmax(axis=1) if loss == "nll" else z, target(50),
                   sample_weight=weights)
        value.backward()
        results.append((float(value), host(z.grad)))
    assert results[1][0] == pytest.approx(results[0][0], rel=1e-5)
    np.testing.assert_allclose(results[1][1], results[0][1], **F32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_with_labels_equals_the_cpu(smoothing, reduction, dtype):
    """The fused forward and backward (integer labels) against the CPU's array functions,
    with logits large enough that exp overflows without the shift by the row's max."""
    rng = np.random.default_rng(4)
    z0 = (rng.standard_normal((300, 7)) * 4).astype(dtype)
    z0[0] = [90.0, -90.0, 0.0, 89.0, 1.0, 2.0, 3.0]
    y = rng.integers(0, 7, 300)
    results = []
    for device in ("cpu", "cuda"):
        z = pn.tensor(z0, requires_grad=True, device=device)
        loss = pn.losses.cross_entropy(z, y, label_smoothing=smoothing, reduction=reduction)
        (loss.sum() if reduction == "none" else loss).backward()
        results.append((host(loss.data), host(z.grad)))
    tol = F32 if dtype == np.float32 else F64
    np.testing.assert_allclose(results[1][0], results[0][0], **tol)
    np.testing.assert_allclose(results[1][1], results[0][1], **tol)
    assert np.all(np.isfinite(results[1][0]))


# --------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize(("make", "kernels"), [case[1:] for case in CASES], ids=IDS)
def test_optimizers_equal_the_cpu(make, kernels, cupy):
    """Every update rule in each of its forms runs as its fused CUDA kernel and gives the
    CPU's numbers."""
    finals = []
    w0 = np.linspace(-1, 1, 600, dtype=np.float32).reshape(20, 30)
    for device in ("cpu", "cuda"):
        w = pn.tensor(w0.copy(), requires_grad=True, device=device)  # the CPU one shares w0
        opt = make([w])
        for _ in range(10):
            opt.zero_grad()
            ((w * w).sum() + w.sum() * 0.3).backward()
            opt.step()
        for value in opt.state[w].values():
            if hasattr(value, "shape") and value.shape:
                assert isinstance(value, cupy.ndarray) == (device == "cuda")
        finals.append(host(w.data))
    np.testing.assert_allclose(finals[1], finals[0], **F32)
    compiled = {k.name for k in backend.get_backend("cuda")._kernels}
    assert kernels <= compiled


def test_gradient_clipping_on_the_gpu():
    w = pn.tensor(np.array([3.0, 4.0], np.float32), requires_grad=True, device="cuda")
    (w * w).sum().backward()
    assert pn.optim.clip_grad_norm([w], 1.0) == pytest.approx(10.0, rel=1e-6)
    np.testing.assert_allclose(host(w.grad), [0.6, 0.8], rtol=1e-5)


# --------------------------------------------------------------------------- training
@pytest.mark.parametrize(
    ("dtype", "build", "options"),
    [
        (np.float32, {}, {}),
        (np.float32, {"dropout": 0.2, "batchnorm": True}, {"validation_split": 0.2}),
        (np.float64, {"dropout": 0.2, "batchnorm": True},
         {"validation_split": 0.2, "optimizer": "sgd"}),
    ],
    ids=["float32", "float32-dropout-batchnorm", "float64-sgd"],
)
def test_training_equals_the_cpu(dtype, build, options):
    X, y = blobs()
    runs = []
    for device in ("cpu", "cuda"):
        model = mlp(seed=3, dtype=dtype, **build)
        history = pn.fit(model, X.astype(dtype), y, epochs=3, batch_size=32, seed=5,
                         verbose=0, device=device, **options)
        assert model.device == ("cpu" if device == "cpu" else "cuda:0")
        runs.append((small_net.host_state(model), history.history))
    (cpu_state, cpu_hist), (gpu_state, gpu_hist) = runs
    # Adam's m / sqrt(v) amplifies rounding where a gradient is near 0: allow 1e-3 in float32
    tol = {"rtol": 1e-3, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-8, "atol": 1e-10}
    for key in cpu_state:
        np.testing.assert_allclose(gpu_state[key], cpu_state[key], **tol, err_msg=key)
    for key in ("loss", "val_loss", "accuracy"):
        if key in cpu_hist:
            np.testing.assert_allclose(gpu_hist[key], cpu_hist[key], **tol, err_msg=key)
            assert all(isinstance(v, float) for v in gpu_hist[key])
    # the step ran the fused kernels: ReLU's backward, the loss's forward and backward, the
    # update (per parameter at the first step, then all at once), the read of the loss beside
    # the gradients' sums of squares
    compiled = {k.name for k in backend.get_backend("cuda")._kernels}
    rule = "sgd" if options.get("optimizer") == "sgd" else "adam"
    assert {"relu_backward", "cross_entropy_exp", "cross_entropy_rows",
            "cross_entropy_backward", rule} <= compiled
    assert any(name.startswith(f"{rule}_x") for name in compiled)  # the multi-tensor update
    if not build:  # Linear then ReLU: the bias and the ReLU in one kernel
        assert "bias_relu" in compiled
    assert any(name.startswith("loss_and_squares_") for name in compiled)


def test_estimator_on_the_gpu_equals_the_cpu():
    X, y = blobs()
    kwargs = {"hidden_layer_sizes": (16,), "max_iter": 5, "random_state": 0, "batch_size": 32}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpu = pn.estimators.MLPClassifier(**kwargs).fit(X, y)
        gpu = pn.estimators.MLPClassifier(device="cuda", **kwargs).fit(X, y)
    assert gpu.model_.device == "cuda:0"
    proba = gpu.predict_proba(X)
    assert type(proba) is np.ndarray
    np.testing.assert_allclose(proba, cpu.predict_proba(X), rtol=1e-3, atol=1e-4)


# --------------------------------------------------------------------------- files
def test_save_from_the_gpu_and_load_onto_it(tmp_path, cupy):
    X, y = blobs()
    model = mlp(batchnorm=True)
    pn.fit(model, X, y, epochs=2, verbose=0, device="cuda")
    path = tmp_path / "m.safetensors"
    pn.save(model, path)
    assert model.device == "cuda:0"
    on_cpu = pn.load(path)
    assert on_cpu.device == "cpu"
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(on_cpu.state_dict()[k], host(v))
    on_gpu = pn.load(path, device="cuda")
    assert on_gpu.device == "cuda:0"
    assert all(isinstance(b, cupy.ndarray) for _, b in on_gpu.named_buffers())
    out = on_gpu.predict(X)
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, on_cpu.predict(X), **F32)


# --------------------------------------------------------------------------- functional API
def _cubic(t):
    return (t * t * t).sum() + (t[0] * t[1]).tanh()


def test_grad_jacobian_hessian_on_cupy_arrays(cupy):
    x0 = np.array([0.5, -1.0, 2.0])
    x = cupy.asarray(x0)
    for transform in (pn.grad, pn.hessian, lambda f: pn.jacobian(lambda t: t * t.sum())):
        out = transform(_cubic)(x)
        assert isinstance(out, cupy.ndarray)
        np.testing.assert_allclose(host(out), transform(_cubic)(x0), **F64)
    value, g = pn.value_and_grad(_cubic)(pn.tensor(x, requires_grad=True))
    assert isinstance(g, cupy.ndarray) and value == pytest.approx(float(_cubic(pn.tensor(x0))))
    num = pn.numerical_grad(_cubic, x)
    assert isinstance(num, cupy.ndarray)
    np.testing.assert_allclose(host(num), pn.numerical_grad(_cubic, x0), rtol=1e-9)
    assert pn.check_grad(_cubic, x) < 1e-8


# --------------------------------------------------------------------------- raw CuPy arrays
@pytest.mark.parametrize("name", sorted(set(pn.ACTIVATIONS) - {"linear"}))
def test_activations_on_cupy_arrays(cupy, name):
    act = pn.get_activation(name)
    x0 = np.array([[-30.0, -1.5, 0.0], [0.25, 2.0, 40.0]], np.float32)
    for fn in (act, act.derivative):
        out = fn(cupy.asarray(x0))
        assert isinstance(out, cupy.ndarray) and out.dtype == np.float32
        np.testing.assert_allclose(host(out), fn(x0), **F32)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: pn.softmax(x, axis=1), lambda x: pn.log_softmax(x, axis=0),
        lambda x: pn.logsumexp(x, axis=1), lambda x: pn.magnitude(x, axis=-1),
        lambda x: pn.normalize(x, axis=1), lambda x: pn.augment(x),
        lambda x: pn.integrate(x, [0.5, -1.0, 2.0], b=0.25),
    ],
    ids=["softmax", "log_softmax", "logsumexp", "magnitude", "normalize", "augment",
         "integrate"],
)
def test_array_functions_on_cupy_arrays(cupy, fn):
    x0 = np.array([[1.0, -2.0, 3.0], [1e3, 0.0, -50.0]])
    out = fn(cupy.asarray(x0))
    assert isinstance(out, cupy.ndarray)
    np.testing.assert_allclose(host(out), fn(x0), **F64)


def test_comparing_cpu_and_cuda_names_both():
    t = pn.tensor([1.0, 2.0], device="cuda")
    for other in (pn.tensor([1.0, 3.0]), np.array([1.0, 3.0])):
        with pytest.raises(backend.DeviceMismatchError, match="'cuda:0' and 'cpu'"):
            _ = t < other
    assert (t < [1.5, 1.5]).device == "cuda:0"


def test_fit_on_cupy_data_equals_fit_on_host_data(cupy):
    X, y = blobs()
    runs = []
    for put in (lambda a: a, cupy.asarray):
        model = mlp(seed=3)
        history = pn.fit(model, put(X), put(y), epochs=2, batch_size=32, seed=5, verbose=0,
                         validation_split=0.2, sample_weight=put(np.ones(len(X))),
                         device="cuda")
        runs.append((small_net.host_state(model), history.history))
    for key in runs[0][0]:
        np.testing.assert_allclose(runs[1][0][key], runs[0][0][key], **F32, err_msg=key)
    np.testing.assert_allclose(runs[1][1]["val_loss"], runs[0][1]["val_loss"], **F32)


# --------------------------------------------------------------------------- CUDA graphs
@pytest.mark.parametrize(
    ("build", "options"),
    [
        ({}, {}),
        ({"batchnorm": True}, {"sample_weight": True, "optimizer": "sgd",
                               "validation_split": 0.2}),
    ],
    ids=["adam", "batchnorm-weighted-sgd"],
)
def test_training_with_a_cuda_graph_equals_training_without(build, options):
    X, y = blobs()
    options = dict(options)
    if options.pop("sample_weight", False):
        options["sample_weight"] = np.linspace(0.5, 1.5, len(X))
    runs = []
    for cuda_graph in (False, True):
        model = mlp(seed=3, **build)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # recorded, launched and kept: no warning
            history = pn.fit(model, X, y, epochs=3, batch_size=32, seed=5, verbose=0,
                             device="cuda", cuda_graph=cuda_graph, **options)
        runs.append((small_net.host_state(model), history.history))
    (plain_state, plain_hist), (graph_state, graph_hist) = runs
    # the same kernels on the same numbers; only cuBLAS may pick another algorithm on the
    # graph's stream
    for key in plain_state:
        np.testing.assert_allclose(graph_state[key], plain_state[key], rtol=1e-3, atol=1e-4,
                                   err_msg=key)
    np.testing.assert_allclose(graph_hist["loss"], plain_hist["loss"], rtol=1e-4)


def test_a_cuda_graph_step_launches_once(cupy, monkeypatch):
    launches = []
    launch = backend._CUDAGraph.launch
    monkeypatch.setattr(backend._CUDAGraph, "launch",
                        lambda self: (launches.append(self), launch(self))[1])
    X, y = blobs()  # 256 rows: 8 full batches of 32 an epoch
    pn.fit(mlp(seed=3), X, y, epochs=2, batch_size=32, verbose=0, device="cuda",
           cuda_graph=True)
    assert len(launches) == 2 * 8 - 2 and len(set(map(id, launches))) == 1


def test_dropout_is_not_captured_and_training_goes_on():
    X, y = blobs()
    runs = []
    for cuda_graph in (False, True):
        model = mlp(seed=3, dropout=0.2)
        if cuda_graph:
            with pytest.warns(RuntimeWarning, match="not run as a graph.*could not be recorded"):
                pn.fit(model, X, y, epochs=2, batch_size=32, seed=5, verbose=0,
                       device="cuda", cuda_graph=True)
        else:
            pn.fit(model, X, y, epochs=2, batch_size=32, seed=5, verbose=0, device="cuda")
        runs.append(small_net.host_state(model))
    for key in runs[0]:
        np.testing.assert_allclose(runs[1][key], runs[0][key], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make", [pn.estimators.MLPClassifier, pn.estimators.MLPRegressor])
def test_an_estimator_with_a_cuda_graph_equals_one_without(make):
    X, y = blobs()
    if make is pn.estimators.MLPRegressor:
        y = X[:, 0] - 2 * X[:, 1]
    fitted = []
    for cuda_graph in (False, True):
        est = make((16,), max_iter=5, batch_size=32, alpha=1e-3, random_state=0,
                   device="cuda", cuda_graph=cuda_graph)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pn.estimators.base.ConvergenceWarning)
            warnings.simplefilter("error", RuntimeWarning)  # recorded and kept
            fitted.append(est.fit(X, y))
    np.testing.assert_allclose(fitted[1].loss_curve_, fitted[0].loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(fitted[1].predict(X), fitted[0].predict(X), rtol=1e-3,
                               atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matrix_products_recorded_in_a_graph_equal_cupys(cupy, dtype):
    """CuPy refuses cuBLAS while recording; plainnet's products call it directly
    (plainnet._cublas), for every layout of the operands, and a launch after new inputs are
    copied in gives the new products."""
    rng = np.random.default_rng(7)

    def draw(*shape):
        return cupy.asarray(rng.standard_normal(shape).astype(dtype))

    a, b, wide, v = draw(64, 40), draw(48, 40), draw(64, 50), draw(40)
    pairs = [
        (a, b.T),                      # a layer's forward: x W^T, W^T a transposed view
        (a.T, wide),                   # the weight gradient: g^T x
        (wide[:, 5:45], b.T),          # rows with gaps between them
        (draw(3, 64, 40), b.T),        # leading batch axes
        (a, v), (v, v),                # matrix-vector, and the sums of squares' dot
        (a[:, ::2], b[::2, ::2].T),    # neither rows nor columns contiguous: copied first
    ]
    with backend.graph_stream("cuda"):
        graph, outs = backend.capture(
            "cuda", lambda: [backend.matmul(x, y) for x, y in pairs])
        with pytest.raises(NotImplementedError, match="cuBLAS"):  # CuPy's own refusal
            backend.capture("cuda", lambda: a @ b.T)
        for round_ in range(2):
            if round_:  # new inputs, copied into the arrays the graph reads
                a[...] = draw(64, 40)
                b[...] = draw(48, 40)
            graph.launch()
            for (x, y), out in zip(pairs, outs, strict=True):
                expected = host(x @ y)
                assert out.shape == expected.shape and out.dtype == dtype
                scale = np.abs(expected).max()
                np.testing.assert_allclose(host(out), expected, rtol=1e-5,
                                           atol=1e-6 * scale)
