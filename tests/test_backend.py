"""The device backend, tested on the CPU with the fake devices of ``fake_device.py``.

Training on "fake" must give the weights that training on "cpu" gives; "fake2" stands for a
second GPU.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import plainnet as pn
from fake_device import (
    Counts,
    Fake2Array,
    FakeArray,
    FakeBackend,
    MultiArray,
    MultiBackend,
)
from plainnet import backend
from small_net import LOSS_CASES, blobs, host_state, mlp


# --------------------------------------------------------------------------- fixtures
@pytest.fixture
def fake():
    """Register "fake" and "fake2" for one test."""
    device = FakeBackend("fake", FakeArray)
    backend.register_backend(device)
    backend.register_backend(FakeBackend("fake2", Fake2Array))
    yield device
    backend.unregister_backend("fake")
    backend.unregister_backend("fake2")


# --------------------------------------------------------------------------- device names
def test_cpu_names_and_arrays():
    assert backend.canonical_device("cpu") == "cpu"
    assert backend.canonical_device(" CPU ") == "cpu"
    assert backend.device_of(np.zeros(2)) == "cpu"
    assert backend.device_of(np.float32(1)) == "cpu"
    assert backend.device_of([1, 2]) == "cpu"
    assert backend.array_module(np.zeros(2)) is np
    assert not backend.is_device_array(np.zeros(2))
    assert backend.is_available("cpu")


@pytest.mark.parametrize(
    ("device", "error", "match"),
    [
        ("tpu", ValueError, r"unknown device 'tpu'; known devices: 'cpu', 'cuda', 'cuda:N'"),
        ("cpu:0", ValueError, "has no numbered devices"),
        ("cuda:x", ValueError, "expected 'cuda' or 'cuda:N'"),
        (0, TypeError, "device must be a string"),
        (None, TypeError, "device must be a string"),
    ],
)
def test_bad_device_names_are_refused(device, error, match):
    with pytest.raises(error, match=match):
        backend.canonical_device(device)


def test_fake_device_registry(fake):
    assert backend.canonical_device("fake") == "fake"
    assert backend.is_available("fake") and backend.device_count("fake") == 1
    a = backend.to_device(np.arange(3.0), "fake")
    assert type(a) is FakeArray and backend.device_of(a) == "fake"
    assert backend.is_device_array(a)
    assert backend.array_module(a).zeros(2).__class__ is FakeArray
    with pytest.raises(ValueError, match="known devices: 'cpu', 'cuda', 'cuda:N', 'fake'"):
        backend.canonical_device("fake3")


def test_unregistered_device_is_unknown_again(fake):
    backend.unregister_backend("fake2")
    with pytest.raises(ValueError, match="unknown device 'fake2'"):
        backend.canonical_device("fake2")
    with pytest.raises(ValueError, match="cannot be removed"):
        backend.unregister_backend("cpu")


def test_numbered_devices():
    backend.register_backend(MultiBackend("multi", MultiArray))
    try:
        assert backend.canonical_device("multi") == "multi:0"
        assert backend.canonical_device("multi:1") == "multi:1"
        missing = r"'multi:2' does not exist: .* 2 multi devices \(multi:0, multi:1\)"
        with pytest.raises(backend.DeviceUnavailableError, match=missing):
            backend.canonical_device("multi:2")
        a = backend.to_device(np.arange(3.0), "multi:1")
        assert backend.device_of(a) == "multi:1"
        assert backend.to_device(a, "multi:1") is a
        b = backend.to_device(a, "multi:0")
        assert backend.device_of(b) == "multi:0"
        np.testing.assert_array_equal(backend.to_numpy(b), [0.0, 1.0, 2.0])
        assert pn.tensor([1.0], device="multi:1").to("multi:0").device == "multi:0"
    finally:
        backend.unregister_backend("multi")


def test_transfers_copy_only_across_devices(fake):
    host = np.arange(4.0)
    assert backend.to_device(host, "cpu") is host
    on_fake = backend.to_device(host, "fake")
    assert backend.to_device(on_fake, "fake") is on_fake
    assert fake.uploads == 1
    back = backend.to_numpy(on_fake)
    assert type(back) is np.ndarray and fake.downloads == 1
    np.testing.assert_array_equal(back, host)
    back[0] = 99.0  # a copy: the device array is untouched
    assert float(on_fake[0]) == 0.0
    other = backend.to_device(on_fake, "fake2")  # device to device, through the host
    assert type(other) is Fake2Array
    np.testing.assert_array_equal(backend.to_numpy(other), host)


# --------------------------------------------------------------------------- CUDA without CuPy
@pytest.fixture
def no_cupy(monkeypatch):
    """A fresh "cuda" backend whose ``import cupy`` fails (as on this machine, or any)."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    previous = backend.register_backend(backend.CUDABackend())
    yield
    backend.register_backend(previous)


def test_cuda_without_cupy_says_how_to_install(no_cupy):
    with pytest.raises(backend.DeviceUnavailableError) as info:
        pn.tensor([1.0, 2.0], device="cuda")
    message = str(info.value)
    assert 'pip install "plainnet[cuda12]"' in message
    assert 'pip install "plainnet[cuda13]"' in message
    assert "CuPy" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
    assert not backend.is_available("cuda") and backend.device_count("cuda") == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: pn.tensor([1.0]).to("cuda"),
        lambda: mlp().to("cuda:0"),
        lambda: pn.fit(mlp(), *blobs(), epochs=1, verbose=0, device="cuda"),
        lambda: pn.estimators.MLPClassifier((4,), max_iter=1, device="cuda").fit(*blobs()),
    ],
    ids=["tensor.to", "model.to", "fit", "estimator"],
)
def test_every_entry_point_gives_the_one_clear_error(no_cupy, call):
    with pytest.raises(backend.DeviceUnavailableError, match=r"plainnet\[cuda12\]"):
        call()


def test_cuda_with_cupy_but_no_gpu(monkeypatch):
    class Runtime:
        @staticmethod
        def getDeviceCount():
            return 0

    class Cuda:
        runtime = Runtime

    class CuPy:
        cuda = Cuda

    monkeypatch.setitem(sys.modules, "cupy", CuPy)
    previous = backend.register_backend(backend.CUDABackend())
    try:
        with pytest.raises(backend.DeviceUnavailableError, match="needs an NVIDIA GPU"):
            backend.canonical_device("cuda")
    finally:
        backend.register_backend(previous)


def test_cpu_work_never_tries_to_import_cupy():
    code = textwrap.dedent("""
        import sys

        tried = []

        class Spy:
            def find_spec(self, name, path=None, target=None):
                tried.append(name)

        sys.meta_path.insert(0, Spy())
        import numpy as np
        import plainnet as pn

        model = pn.nn.Sequential(pn.nn.Linear(3, 4), pn.nn.ReLU(), pn.nn.Linear(4, 2))
        pn.fit(model, np.ones((8, 3)), np.arange(8) % 2, epochs=1, verbose=0, device="cpu")
        pn.tensor([1.0]).to("cpu")
        print(sorted({n for n in tried if n.split(".")[0] in ("cupy", "cupyx")}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --------------------------------------------------------------------------- tensors
def test_tensor_round_trip(fake):
    t = pn.tensor([[1.0, 2.0], [3.0, 4.0]], device="fake")
    assert t.device == "fake" and type(t.data) is FakeArray
    assert t.dtype == np.float64 and t.shape == (2, 2)
    assert t.to("fake") is t
    back = t.to("cpu")
    assert back.device == "cpu" and type(back.data) is np.ndarray
    np.testing.assert_array_equal(back.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    assert t.cpu().device == "cpu"
    assert "device='fake'" in repr(t) and "3." in repr(t)
    assert pn.tensor(t.data).device == "fake"  # a device array stays where it is


def test_numpy_of_a_device_tensor_says_to_move_it(fake):
    t = pn.tensor([1.0, 2.0], device="fake")
    with pytest.raises(TypeError, match=r"on 'fake': call \.to\('cpu'\)"):
        t.numpy()
    with pytest.raises(TypeError, match=r"call \.to\('cpu'\)"):
        np.asarray(t)


def test_gradients_flow_back_through_to(fake):
    x = pn.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.to("fake")
    assert not y.is_leaf and y.requires_grad
    loss = (y * y).sum() * 0.5
    loss.backward()
    assert type(x.grad) is np.ndarray
    np.testing.assert_array_equal(x.grad, [1.0, -2.0, 3.0])


def test_ops_and_gradients_match_the_cpu(fake):
    rng = np.random.default_rng(1)
    a0, b0 = rng.standard_normal((4, 3)), rng.standard_normal((3, 4))
    idx = np.array([0, 2, 2, 1])

    def f(a, b):
        z = (a @ b).tanh() + a.sum(axis=1, keepdims=True).exp() / 10
        z = z.sigmoid() * z.relu() + z.softplus() - (z * z + 1.0).sqrt().log() + z ** 3
        w = pn.where(z.data > 0, z, -z) + pn.maximum(z, 0.1) + z.clip(-0.5, 0.5)
        v = w.log_softmax(axis=1) + w.softmax(axis=0) + w.logsumexp(axis=1, keepdims=True)
        g = v[idx] + pn.erf(v[:, :1]) + pn.concatenate([v[:, 2:], v[:, :2]], axis=1)
        return (g.max(axis=0) + g.var(axis=0) + g.abs().mean(axis=0)).sum()

    results = []
    for device in ("cpu", "fake"):
        a = pn.tensor(a0, requires_grad=True, device=device)
        b = pn.tensor(b0, requires_grad=True, device=device)
        value = f(a, b)
        value.backward()
        results.append((float(value), backend.to_numpy(a.grad), backend.to_numpy(b.grad)))
        assert a.grad.__class__ is (np.ndarray if device == "cpu" else FakeArray)
    (v0, ga0, gb0), (v1, ga1, gb1) = results
    assert v0 == pytest.approx(v1, rel=1e-12)
    np.testing.assert_allclose(ga1, ga0, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gb1, gb0, rtol=1e-12, atol=1e-14)


def test_repeated_index_gradient_accumulates_on_device(fake):
    x = pn.tensor([1.0, 2.0, 3.0], requires_grad=True, device="fake")
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(backend.to_numpy(x.grad), [3.0, 0.0, 1.0])


def test_second_derivatives_on_device(fake):
    x = pn.tensor([0.5, -1.0], requires_grad=True, device="fake")
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    g = x.grad
    assert g.device == "fake"
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(backend.to_numpy(x.grad), 6 * np.array([0.5, -1.0]))


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a @ b,
        lambda a, b: pn.where(a.data > 0, a, b),
        lambda a, b: pn.concatenate([a, b]),
        lambda a, b: pn.nn.functional.linear(a, b),
    ],
    ids=["add", "matmul", "where", "concatenate", "linear"],
)
def test_mixing_devices_names_both(fake, combine):
    a = pn.tensor(np.ones((2, 2)), requires_grad=True)
    b = pn.tensor(np.ones((2, 2)), device="fake")
    with pytest.raises(backend.DeviceMismatchError) as info:
        combine(a, b)
    message = str(info.value)
    assert "'cpu'" in message and "'fake'" in message
    assert "never moves data implicitly" in message


def test_mixing_two_devices_names_both(fake):
    a = pn.tensor([1.0, 2.0], device="fake")
    b = pn.tensor([1.0, 2.0], device="fake2")
    with pytest.raises(backend.DeviceMismatchError, match="'fake' and 'fake2'"):
        a * b


def test_a_numpy_constant_is_cpu_data_but_a_list_is_numbers(fake):
    t = pn.tensor([1.0, 2.0], device="fake")
    with pytest.raises(backend.DeviceMismatchError, match="'cpu' and 'fake'|'fake' and 'cpu'"):
        t + np.array([1.0, 1.0])
    s = t + [1.0, 1.0]
    assert s.device == "fake"
    np.testing.assert_array_equal(backend.to_numpy(s.data), [2.0, 3.0])
    assert (t * 2.0 + np.float64(1.0)).device == "fake"  # numbers work everywhere


def test_a_model_on_one_device_refuses_input_on_another(fake):
    model = mlp().to("fake")
    with pytest.raises(backend.DeviceMismatchError, match="'linear_relu'"):
        model(pn.tensor(np.ones((2, 6), np.float32)))


# --------------------------------------------------------------------------- modules
def test_model_to_moves_parameters_and_buffers_in_place(fake):
    model = mlp(batchnorm=True)
    params = model.parameters()
    before = host_state(model)
    assert model.to("fake") is model
    assert model.device == "fake"
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(type(p.data) is FakeArray for p in params)
    assert all(type(b) is FakeArray for _, b in model.named_buffers())
    after = host_state(model)
    assert before.keys() == after.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])
    model.cpu()
    assert model.device == "cpu" and all(type(p.data) is np.ndarray for p in params)


def test_predict_on_device_returns_host_output_for_host_input(fake):
    X, _ = blobs(50)
    model = mlp()
    expected = model.predict(X)
    model.to("fake")
    out = model.predict(X, batch_size=16)
    assert type(out) is np.ndarray
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)
    on_device = model.predict(backend.to_device(X, "fake"))
    assert type(on_device) is FakeArray
    np.testing.assert_allclose(backend.to_numpy(on_device), expected, rtol=1e-6, atol=1e-7)


def test_initializers_fill_device_parameters_like_cpu_ones(fake):
    cpu = pn.nn.Linear(5, 4)
    dev = pn.nn.Linear(5, 4).to("fake")
    for fn in (pn.nn.init.kaiming_normal_, pn.nn.init.xavier_uniform_):
        fn(cpu.weight, rng=7)
        fn(dev.weight, rng=7)
        assert type(dev.weight.data) is FakeArray
        np.testing.assert_array_equal(backend.to_numpy(dev.weight.data), cpu.weight.data)
    pn.nn.init.constant_(dev.bias, 0.25)
    np.testing.assert_array_equal(backend.to_numpy(dev.bias.data), np.full(4, 0.25))


def test_load_state_dict_across_devices(fake):
    source = mlp(seed=1, batchnorm=True)
    target = mlp(seed=2, batchnorm=True).to("fake")
    target.load_state_dict(source.state_dict())  # host values into device parameters
    assert target.device == "fake"
    for k, v in source.state_dict().items():
        np.testing.assert_array_equal(host_state(target)[k], v)
    back = mlp(seed=3, batchnorm=True)
    back.load_state_dict(target.state_dict())  # device values into host parameters
    assert all(type(p.data) is np.ndarray for p in back.parameters())
    for k, v in source.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v)


# --------------------------------------------------------------------------- losses
@pytest.mark.parametrize(
    ("loss", "target"),
    LOSS_CASES,
)
def test_losses_and_their_gradients_match_the_cpu(fake, loss, target):
    rng = np.random.default_rng(0)
    z0 = rng.standard_normal((5, 3))
    fn = pn.losses.get(loss)
    weights = np.array([1.0, 2.0, 0.5, 0.0, 1.0])
    results = []
    for device in ("cpu", "fake"):
        z = pn.tensor(z0, requires_grad=True, device=device)
        value = fn(z.log_softmax(axis=1) if loss == "nll" else z, target(5),
                   sample_weight=weights)
        assert value.device == device
        value.backward()
        results.append((float(value), backend.to_numpy(z.grad)))
    assert results[1][0] == pytest.approx(results[0][0], rel=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12, atol=1e-15)


def test_loss_checks_still_run_on_device(fake):
    z = pn.tensor(np.zeros((2, 3)), device="fake")
    with pytest.raises(ValueError, match="class label 3 is out of range"):
        pn.losses.cross_entropy(z, backend.to_device(np.array([0, 3]), "fake"))
    with pytest.raises(backend.DeviceMismatchError, match="target"):
        pn.losses.cross_entropy(z, pn.tensor(np.array([0, 1])))  # a CPU Tensor target


# --------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize(
    "make",
    [
        lambda p: pn.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        lambda p: pn.optim.Adam(p, lr=0.01, amsgrad=True),
        lambda p: pn.optim.AdamW(p, lr=0.01),
        lambda p: pn.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
        lambda p: pn.optim.Adagrad(p, lr=0.1),
    ],
    ids=["sgd", "adam", "adamw", "rmsprop", "adagrad"],
)
def test_optimizers_step_on_device_like_on_cpu(fake, make):
    finals = []
    for device in ("cpu", "fake"):
        w = pn.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True, device=device)
        opt = make([w])
        for _ in range(4):
            opt.zero_grad()
            ((w * w).sum() + w.sum() * 0.3).backward()
            opt.step()
        assert w.device == device
        for value in opt.state[w].values():
            if hasattr(value, "dtype"):
                assert backend.device_of(value) == device
        finals.append(backend.to_numpy(w.data))
        state = opt.state_dict()
        fresh = make([w])
        fresh.load_state_dict(state)
        for key, value in fresh.state[w].items():
            if hasattr(value, "shape") and value.shape:
                assert backend.device_of(value) == device, key
    np.testing.assert_allclose(finals[1], finals[0], rtol=1e-12)


def test_optimizer_state_left_behind_is_a_clear_error(fake):
    model = mlp()
    opt = pn.optim.Adam(model.parameters())
    X, y = blobs(20)
    pn.fit(model, X, y, optimizer=opt, epochs=1, verbose=0)
    model.to("fake")
    for p in model.parameters():
        p.grad = backend.to_device(np.ones(p.shape, p.dtype), "fake")
    with pytest.raises(backend.DeviceMismatchError, match="optimizer state is on 'cpu'"):
        opt.step()


def test_gradient_clipping_on_device(fake):
    w = pn.tensor(np.array([3.0, 4.0]), requires_grad=True, device="fake")
    (w * w).sum().backward()
    norm = pn.optim.clip_grad_norm([w], 1.0)
    assert norm == pytest.approx(10.0)
    assert type(w.grad) is FakeArray
    np.testing.assert_allclose(backend.to_numpy(w.grad), [0.6, 0.8], rtol=1e-6)


# --------------------------------------------------------------------------- training
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"dropout": 0.3, "batchnorm": True, "validation_split": 0.25,
         "metrics": ("accuracy",)},
        {"sample_weight": True, "optimizer": "sgd"},
    ],
    ids=["plain", "dropout-batchnorm-validation", "weighted-sgd"],
)
def test_fit_on_device_gives_the_cpu_weights(fake, options):
    X, y = blobs()
    options = dict(options)
    build = {k: options.pop(k) for k in ("dropout", "batchnorm") if k in options}
    if options.pop("sample_weight", False):
        options["sample_weight"] = np.linspace(0.5, 1.5, len(X))
    runs = []
    for device in ("cpu", "fake"):
        model = mlp(seed=3, **build)
        history = pn.fit(model, X, y, epochs=3, batch_size=16, seed=5, verbose=0,
                         device=device, **options)
        assert model.device == device
        runs.append((host_state(model), history.history))
    # the fake device runs the very NumPy kernels the CPU runs, in the same order, with the
    # same seeded shuffles and dropout masks: the results are identical, bit for bit
    (cpu_state, cpu_hist), (dev_state, dev_hist) = runs
    for key in cpu_state:
        np.testing.assert_array_equal(dev_state[key], cpu_state[key])
    assert cpu_hist.keys() == dev_hist.keys()
    for key in cpu_hist:
        if key != "epoch_time":
            assert all(isinstance(v, float) for v in dev_hist[key])
            assert dev_hist[key] == cpu_hist[key], key


def test_fit_without_device_trains_where_the_model_is(fake):
    X, y = blobs(40)
    model = mlp().to("fake")
    pn.fit(model, X, y, epochs=1, verbose=0)
    assert model.device == "fake"


def test_fit_moves_an_optimizers_state_with_the_model(fake):
    X, y = blobs(40)
    model = mlp()
    opt = pn.optim.Adam(model.parameters())
    pn.fit(model, X, y, optimizer=opt, epochs=1, verbose=0)
    pn.fit(model, X, y, optimizer=opt, epochs=1, verbose=0, device="fake")
    assert all(type(v) is FakeArray for s in opt.state.values() for v in s.values()
               if hasattr(v, "shape") and v.shape)


def test_divergence_on_device_keeps_the_last_finite_weights(fake):
    X, y = blobs(64)  # (an inf in X is refused before training: test_training.py)
    model = mlp()
    overflowing = pn.optim.SGD(model.parameters(), lr=1e38)  # the first step makes inf weights
    with pytest.warns(RuntimeWarning, match="training diverged"):
        history = pn.fit(model, X, y, epochs=1, batch_size=16, shuffle=False, verbose=0,
                         device="fake", optimizer=overflowing)
    assert history.stop_reason == "diverged"
    assert all(np.isfinite(backend.to_numpy(p.data)).all() for p in model.parameters())


def test_early_stopping_restores_weights_on_device(fake):
    X, y = blobs()
    model = mlp()
    stop = pn.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    pn.fit(model, X, y, epochs=6, validation_split=0.3, callbacks=[stop], verbose=0,
           device="fake")
    assert model.device == "fake"


# --------------------------------------------------------------------------- files
def test_save_from_device_and_load_onto_it(fake, tmp_path):
    X, y = blobs(40)
    model = mlp(batchnorm=True)
    pn.fit(model, X, y, epochs=1, verbose=0, device="fake")
    path = tmp_path / "m.safetensors"
    pn.save(model, path)
    assert model.device == "fake"  # saving copies to the host; the model stays
    on_cpu = pn.load(path)
    assert on_cpu.device == "cpu"
    for k, v in host_state(model).items():
        np.testing.assert_array_equal(on_cpu.state_dict()[k], v)
    on_fake = pn.load(path, device="fake")
    assert on_fake.device == "fake"
    assert all(type(b) is FakeArray for _, b in on_fake.named_buffers())
    np.testing.assert_allclose(on_fake.predict(X), on_cpu.predict(X), rtol=1e-6)


# --------------------------------------------------------------------------- estimators
def test_estimator_on_device_matches_the_cpu(fake, tmp_path):
    X, y = blobs()
    kwargs = {"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0, "batch_size": 32}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpu = pn.estimators.MLPClassifier(**kwargs).fit(X, y)
        dev = pn.estimators.MLPClassifier(device="fake", **kwargs).fit(X, y)
    assert dev.model_.device == "fake"
    proba = dev.predict_proba(X)
    assert type(proba) is np.ndarray
    np.testing.assert_array_equal(proba, cpu.predict_proba(X))
    assert dev.loss_curve_ == cpu.loss_curve_
    dev.save(tmp_path / "clf.safetensors")
    assert pn.load(tmp_path / "clf.safetensors").device == "cpu"


def test_neuron_estimator_coefficients_come_back_to_the_host(fake):
    X, y = blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = pn.estimators.NeuronClassifier(max_iter=3, random_state=0, device="fake")
        clf.fit(X, (y > 0).astype(int))
    assert type(clf.coef_) is np.ndarray and clf.coef_.shape == (1, 6)
    assert type(clf.intercept_) is np.ndarray


# --------------------------------------------------------------------------- functional API
def _cubic(t):
    return (t * t * t).sum() + (t[0] * t[1]).tanh()


@pytest.mark.parametrize("as_tensor", [False, True], ids=["array", "tensor"])
def test_grad_and_value_and_grad_return_on_the_arguments_device(fake, as_tensor):
    x0 = np.array([0.5, -1.0, 2.0])
    x = backend.to_device(x0, "fake")
    if as_tensor:
        x = pn.tensor(x, requires_grad=True)
    g = pn.grad(_cubic)(x)
    assert type(g) is FakeArray
    np.testing.assert_allclose(backend.to_numpy(g), pn.grad(_cubic)(x0), rtol=1e-14)
    value, g2 = pn.value_and_grad(_cubic)(x)
    assert isinstance(value, float) and value == pytest.approx(float(_cubic(pn.tensor(x0))))
    assert type(g2) is FakeArray
    ints = backend.to_device(np.array([1, 2]), "fake")  # integers become float64 there
    gi = pn.grad(lambda t: (t * t).sum())(ints)
    assert type(gi) is FakeArray and gi.dtype == np.float64
    np.testing.assert_array_equal(backend.to_numpy(gi), [2.0, 4.0])


def test_grad_with_several_argnums_and_a_shaped_output_on_device(fake):
    a = backend.to_device(np.array([1.0, 2.0]), "fake")
    b = backend.to_device(np.array([3.0, -1.0]), "fake")
    ga, gb = pn.grad(lambda u, v: (u * v).sum().reshape(1), argnums=(0, 1))(a, b)
    assert type(ga) is FakeArray and type(gb) is FakeArray
    np.testing.assert_array_equal(backend.to_numpy(ga), [3.0, -1.0])
    np.testing.assert_array_equal(backend.to_numpy(gb), [1.0, 2.0])
    unused = pn.grad(lambda u, v: (u * u).sum() + 0 * v.sum(), argnums=1)(a, b)
    assert type(unused) is FakeArray
    np.testing.assert_array_equal(backend.to_numpy(unused), [0.0, 0.0])
    with pytest.raises(TypeError, match="does not depend on its argument"):
        pn.grad(lambda u, v: (u * u).sum(), argnums=1)(a, b)  # no graph back to v at all


def test_jacobian_and_hessian_on_device(fake):
    x0 = np.array([0.5, -1.0, 2.0])
    x = backend.to_device(x0, "fake")
    jac = pn.jacobian(lambda t: t * t.sum())(x)
    assert type(jac) is FakeArray
    np.testing.assert_allclose(backend.to_numpy(jac), np.diag(np.full(3, x0.sum())) + x0[:, None])
    hess = pn.hessian(_cubic)(x)
    assert type(hess) is FakeArray
    np.testing.assert_allclose(backend.to_numpy(hess), pn.hessian(_cubic)(x0), rtol=1e-14)
    constant = pn.jacobian(lambda t: pn.tensor(np.ones(2)).to("fake"))(x)
    assert type(constant) is FakeArray and constant.shape == (2, 3)


def test_numerical_grad_and_check_grad_on_device(fake):
    x0 = np.array([0.5, -1.0, 2.0])
    x = pn.tensor(x0, device="fake")
    seen = []

    def f(t):
        seen.append(t.device)
        return _cubic(t)

    num = pn.numerical_grad(f, x)
    assert type(num) is FakeArray and set(seen) == {"fake"}  # f ran on the device
    np.testing.assert_allclose(backend.to_numpy(num), pn.numerical_grad(_cubic, x0), rtol=1e-12)
    assert pn.check_grad(_cubic, x.data) < 1e-8
    assert pn.check_grad(_cubic, x.astype(np.float32)) < 1e-8  # checked in float64 there


# --------------------------------------------------------------------------- raw device arrays
ACTIVATION_NAMES = sorted(set(pn.ACTIVATIONS) - {"linear"})


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_on_raw_device_arrays(fake, name, dtype):
    act = pn.get_activation(name)
    x0 = np.array([[-30.0, -1.5, 0.0], [0.25, 2.0, 40.0]], dtype)
    x = backend.to_device(x0, "fake")
    for fn in (act, act.derivative):
        out = fn(x)
        assert type(out) is FakeArray and out.dtype == dtype
        np.testing.assert_array_equal(backend.to_numpy(out), fn(x0))


def test_activations_keep_their_input_rules_on_device(fake):
    out = pn.relu(backend.to_device(np.array([-1, 2]), "fake"))
    assert type(out) is FakeArray and out.dtype == np.float64
    with pytest.raises(TypeError, match="x must be a number or an array of numbers"):
        pn.sigmoid(backend.to_device(np.array(["a", "b"]), "fake"))
    zero_d = pn.tanh(backend.to_device(np.array(0.5), "fake"))
    assert type(zero_d) is FakeArray and float(zero_d) == pytest.approx(np.tanh(0.5))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: pn.softmax(x, axis=1),
        lambda x: pn.log_softmax(x, axis=0),
        lambda x: pn.logsumexp(x, axis=1),
        lambda x: pn.logsumexp(x, axis=0, keepdims=True),
        lambda x: pn.magnitude(x, axis=-1),
        lambda x: pn.magnitude(x),
        lambda x: pn.normalize(x, axis=1),
        lambda x: pn.augment(x),
        lambda x: pn.integrate(x, [0.5, -1.0, 2.0], b=0.25),
        lambda x: pn.fold_bias(x[0], 0.5),
    ],
    ids=["softmax", "log_softmax", "logsumexp", "logsumexp-keepdims", "magnitude-axis",
         "magnitude", "normalize", "augment", "integrate", "fold_bias"],
)
def test_array_functions_on_raw_device_arrays(fake, fn):
    x0 = np.array([[1.0, -2.0, 3.0], [1e3, 0.0, -50.0]])
    expected = fn(x0)
    out = fn(backend.to_device(x0, "fake"))
    assert type(out) is FakeArray
    np.testing.assert_array_equal(backend.to_numpy(out), expected)


def test_array_functions_refuse_mixed_devices(fake):
    x = backend.to_device(np.ones((2, 2)), "fake")
    with pytest.raises(backend.DeviceMismatchError, match="'fake' and 'fake2'"):
        pn.integrate(x, backend.to_device(np.ones(2), "fake2"))
    with pytest.raises(ValueError, match="zero vector"):
        pn.normalize(backend.to_device(np.zeros(3), "fake"))


def test_host_only_functions_say_to_move_device_data(fake):
    with pytest.raises(TypeError, match=r"X is an array on 'fake'.*to_numpy\(X\)"):
        pn.datasets.standardize(backend.to_device(np.ones((3, 2)), "fake"))
    with pytest.raises(TypeError, match=r"A is an array on 'fake'"):
        pn.optimize.functions.make_quadratic(pn.tensor(np.eye(2), device="fake"), np.ones(2))


# --------------------------------------------------------------------------- comparisons
@pytest.mark.parametrize(
    "compare",
    [
        lambda a, b: a < b, lambda a, b: a <= b, lambda a, b: a > b,
        lambda a, b: a >= b, lambda a, b: a == b, lambda a, b: a != b,
    ],
    ids=["lt", "le", "gt", "ge", "eq", "ne"],
)
def test_comparisons_across_devices_name_both(fake, compare):
    t = pn.tensor([1.0, 2.0], device="fake")
    for other, names in (
        (pn.tensor([1.0, 3.0]), "'fake' and 'cpu'"),
        (np.array([1.0, 3.0]), "'fake' and 'cpu'"),  # a NumPy array is CPU data
        (pn.tensor([1.0, 3.0], device="fake2"), "'fake' and 'fake2'"),
    ):
        with pytest.raises(backend.DeviceMismatchError, match=names) as info:
            compare(t, other)
        assert "never moves data implicitly" in str(info.value)
    with pytest.raises(backend.DeviceMismatchError, match="'cpu' and 'fake'"):
        compare(pn.tensor([1.0, 3.0]), t)
    same = compare(t, pn.tensor([1.0, 3.0], device="fake"))
    assert same.device == "fake"
    np.testing.assert_array_equal(
        backend.to_numpy(same.data), compare(np.array([1.0, 2.0]), np.array([1.0, 3.0]))
    )
    assert compare(t, [1.0, 3.0]).device == "fake"  # a list is numbers: it goes anywhere
    assert compare(t, 1.5).device == "fake"


# --------------------------------------------------------------------------- fit on device data
@pytest.mark.parametrize(
    "options",
    [{}, {"validation_split": 0.25, "sample_weight": True}, {"validation_data": True}],
    ids=["plain", "split-weights", "validation-data"],
)
def test_fit_on_data_already_on_the_device(fake, options):
    X, y = blobs()
    X_val, y_val = blobs(30, seed=1)
    options = dict(options)
    weights = np.linspace(0.5, 1.5, len(X)) if options.pop("sample_weight", False) else None
    use_val = options.pop("validation_data", False)
    runs = []
    for on_device in (False, True):
        put = (lambda a: backend.to_device(a, "fake")) if on_device else (lambda a: a)
        kwargs = dict(options)
        if weights is not None:
            kwargs["sample_weight"] = put(weights)
        if use_val:
            kwargs["validation_data"] = (put(X_val), put(y_val))
        model = mlp(seed=3)
        history = pn.fit(model, put(X), put(y), epochs=2, batch_size=16, seed=5, verbose=0,
                         device="fake", **kwargs)
        runs.append((host_state(model), history.history))
    (host_state_, host_hist), (dev_state, dev_hist) = runs
    for key in host_state_:
        np.testing.assert_array_equal(dev_state[key], host_state_[key])
    for key in host_hist:
        if key != "epoch_time":
            assert dev_hist[key] == host_hist[key], key


def test_fit_on_a_device_tensor_without_naming_the_device(fake):
    X, y = blobs(40)
    model = mlp().to("fake")
    pn.fit(model, pn.tensor(X, device="fake"), backend.to_device(y, "fake"), epochs=1,
           verbose=0)
    assert model.device == "fake"


@pytest.mark.parametrize("what", ["X", "y", "sample_weight", "X_val", "y_val"])
def test_fit_refuses_data_on_another_device(fake, what):
    X, y = blobs(40)
    data = {"X": X, "y": y, "sample_weight": np.ones(len(X)), "X_val": X[:8], "y_val": y[:8]}
    data[what] = backend.to_device(data[what], "fake2")
    with pytest.raises(backend.DeviceMismatchError, match=rf"{what} on 'fake2'.*'fake'"):
        pn.fit(mlp(), data["X"], data["y"], sample_weight=data["sample_weight"],
               validation_data=(data["X_val"], data["y_val"]), epochs=1, verbose=0,
               device="fake")
    with pytest.raises(backend.DeviceMismatchError, match=r"trains on 'cpu'"):
        pn.fit(mlp(), backend.to_device(X, "fake"), y, epochs=1, verbose=0)


# --------------------------------------------------------------------------- waits and launches
def _counted(fn):
    Counts.reset()
    fn()
    return Counts.launches, Counts.syncs


def test_a_networks_backward_never_makes_the_host_wait(fake):
    X, y = blobs(32)
    model = mlp().to("fake")
    loss = pn.losses.cross_entropy(model(pn.tensor(X, device="fake")),
                                   backend.to_device(y, "fake"))
    _, syncs = _counted(loss.backward)
    assert syncs == 0  # no NaN check: no vjp of this graph changes in the careful pass
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(("loss", "target"), LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_a_weighted_mean_of_positive_weights_reads_nothing(fake, loss, target):
    """Inside ``targets_checked(positive_weights=True)`` a weighted mean divides by the
    weights' sum on the device, unread, and equals the mean that reads it."""
    n = 6
    x = np.random.default_rng(0).standard_normal((n, 3)).astype(np.float32)
    if loss == "nll":
        x = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    fn = pn.losses.get(loss)
    w = backend.to_device(np.linspace(0.5, 1.5, n).astype(np.float32), "fake")
    t = backend.to_device(target(n), "fake")
    values = []
    for positive in (False, True):
        with pn.losses.targets_checked(positive_weights=positive):
            Counts.reset()
            value = fn(pn.tensor(x, device="fake"), t, sample_weight=w)
            syncs = Counts.syncs
        values.append(backend.to_numpy(value.data))
        assert syncs == (0 if positive else 1)
    np.testing.assert_allclose(values[1], values[0], rtol=1e-6)


def test_weights_summing_to_zero_are_still_refused_outside_the_promise(fake):
    x = pn.tensor(np.ones((2, 3), np.float32), device="fake")
    zero = backend.to_device(np.zeros(2, np.float32), "fake")
    with pn.losses.targets_checked(), pytest.raises(ValueError, match="sums to 0"):
        pn.losses.mse(x, backend.to_device(np.zeros((2, 3), np.float32), "fake"),
                      sample_weight=zero)
    with pn.losses.targets_checked(), pytest.raises(ValueError, match="sums to 0"):
        pn.losses.cross_entropy(x, backend.to_device(np.zeros(2, np.int64), "fake"),
                                sample_weight=zero)


def test_products_with_finite_numbers_need_no_look_at_the_gradients(fake):
    """Multiplying or dividing by a finite Python number keeps a zero gradient zero: the
    backward pass does not read the gradients to look for NaN (a tensor factor, or an
    infinite number, does)."""
    x = pn.tensor(np.array([1.0, -2.0, 3.0], np.float32), requires_grad=True, device="fake")

    def syncs_of_backward(build):
        x.grad = None
        y = build(x)
        _, syncs = _counted(y.backward)
        return syncs, backend.to_numpy(x.grad)

    syncs, grad = syncs_of_backward(lambda t: ((t * 3.0).relu() / 2 + t * 0.5).sum())
    assert syncs == 0
    np.testing.assert_array_equal(grad, [2.0, 0.5, 2.0])
    assert syncs_of_backward(lambda t: (t * t).sum())[0] == 1  # a tensor factor
    with np.errstate(invalid="ignore"):  # inf - inf in the forward sum
        syncs, grad = syncs_of_backward(lambda t: (t * np.inf).sum() * 0.0)
    assert syncs >= 1  # an infinite factor: NaN found, the careful pass redoes it
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.0])


def test_a_careful_backward_reads_nothing_and_gives_the_same_gradients(fake):
    from plainnet.autodiff.engine import careful_backward

    x0 = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)

    def backward(careful):
        x = pn.tensor(x0, requires_grad=True, device="fake")
        y = ((x * x).sigmoid() * x.exp() / (1.0 + x * x)).sum()
        with careful_backward() if careful else warnings.catch_warnings():
            _, syncs = _counted(y.backward)
        return syncs, backend.to_numpy(x.grad)

    (fast_syncs, fast), (careful_syncs, careful) = backward(False), backward(True)
    assert fast_syncs == 1 and careful_syncs == 0  # the look for NaN, or none
    np.testing.assert_array_equal(careful, fast)


def test_a_loop_with_labels_checked_once_never_waits_for_the_device(fake):
    """Forward, loss, backward and an Adam step, batch after batch, inside
    ``targets_checked``: the host never reads from the device, so it can run ahead of it."""
    X, y = blobs(64)
    model = mlp().to("fake")
    opt = pn.optim.Adam(model.parameters(), lr=1e-2)
    X_dev = backend.to_device(X, "fake")
    y_dev = pn.losses.check_labels(backend.to_device(y, "fake"), 3)

    def steps():
        with pn.losses.targets_checked():
            for i in range(0, 64, 16):
                loss = pn.losses.cross_entropy(model(pn.Tensor(X_dev[i:i + 16])),
                                               y_dev[i:i + 16])
                opt.zero_grad()
                loss.backward()
                opt.step()
        return loss

    before = [backend.to_numpy(p.data) for p in model.parameters()]
    _, syncs = _counted(steps)
    assert syncs == 0
    assert all(not np.array_equal(backend.to_numpy(p.data), b)
               for p, b in zip(model.parameters(), before, strict=True))


def test_a_guarded_backward_still_repairs_where_on_a_device(fake):
    x = pn.tensor(np.array([0.0, 4.0], np.float32), requires_grad=True, device="fake")
    _, syncs = _counted(lambda: pn.where(x > 0, x.sqrt(), 0.0).sum().backward())
    assert syncs >= 1  # sqrt's vjp divides: the gradient is looked at, found NaN, redone
    np.testing.assert_array_equal(backend.to_numpy(x.grad), [0.0, 0.25])


@pytest.mark.parametrize("metrics", [(), ("accuracy",)])
def test_fit_waits_for_the_device_once_per_step(fake, metrics):
    X, y = blobs(160)
    n_batches, epochs = 10, 2
    model = mlp()
    launches, syncs = _counted(lambda: pn.fit(
        model, X, y, epochs=epochs, batch_size=16, verbose=0, device="fake", metrics=metrics))
    # one read of the loss and the gradients' finiteness per step; the metrics read the
    # epoch's outputs once
    assert syncs == epochs * (n_batches + len(metrics))
    # a step (23): forward 4 (2 matmuls, the bias add and ReLU in one kernel, a bias add),
    # loss 5 (max, exp, sum, the rows' losses, mean) and the backward's seed 1, backward 7
    # (loss 1, layers 5, ReLU 1), the update of the 4 parameters in one multi-tensor launch,
    # the finiteness check 5 (a dot per gradient, and the loss and the dots' sum side by
    # side); an epoch: the shuffle 2, the snapshot of the weights 4, the outputs joined for
    # the metrics 2 (CuPy joins more than 8 arrays with a table of their addresses and one
    # kernel); once: Adam's state 8, the first step's updates one launch per parameter 3
    # more, the row numbers 1, the class labels checked against one row's output 4 (the
    # forward pass). (PyTorch's step launches about 28 for the 784-128-64-10 MLP; plainnet's
    # 31.)
    assert launches <= epochs * (n_batches * 23 + 6 + 2 * len(metrics)) + 16


def test_fit_checks_labels_once_with_the_classes_from_the_output(fake):
    X, y = blobs(40)
    for device in ("cpu", "fake"):
        bad = y.copy()
        bad[-1] = 3  # the model has 3 outputs
        with pytest.raises(ValueError, match="class label 3 is out of range for 3 classes"):
            pn.fit(mlp(), X, bad, epochs=1, verbose=0, device=device)
        with pytest.raises(ValueError, match="class label -1 is out of range"):
            pn.fit(mlp(), X, y, validation_data=(X[:5], -np.ones(5, int)), epochs=1,
                   verbose=0, device=device)


def test_losses_skip_value_checks_only_inside_targets_checked(fake):
    X, y = blobs(32)
    out = pn.tensor(X[:, :3], device="fake")
    labels = backend.to_device(y, "fake")
    checked, syncs = _counted(lambda: pn.losses.cross_entropy(out, labels))
    assert syncs == 1  # the range check reads one number
    with pn.losses.targets_checked():
        trusted, syncs = _counted(lambda: pn.losses.cross_entropy(out, labels))
        assert syncs == 0
    assert checked - trusted == 1  # one reduction checks both ends of the range
    with pn.losses.targets_checked():
        with pytest.raises(ValueError, match="shape"):  # shapes are still checked
            pn.losses.cross_entropy(out, labels[:5])
    with pytest.raises(ValueError, match="out of range"):
        pn.losses.cross_entropy(out, backend.to_device(y + 3, "fake"))


@pytest.mark.parametrize(
    ("loss", "grad", "finite", "reads"),
    [
        (1.5, [1.0, -2.0], True, 1),
        # a second look: the loss and the sums, then a gradient whose sum is not finite
        (1.5, [3e19, 3e19], True, 3),  # the sum of squares overflows
        (1.5, [1.0, np.nan], False, 3),
        (1.5, [np.inf, 1.0], False, 3),
        (np.inf, [1.0, 1.0], False, 2),  # the loss alone decides
        (np.nan, [1.0, 1.0], False, 2),
    ],
)
@pytest.mark.parametrize("compiles", [True, False], ids=["fused", "array-functions"])
def test_one_read_gives_the_loss_and_whether_all_is_finite(fake, loss, grad, finite, reads,
                                                           compiles):
    from plainnet.training.finite import read_step

    fake.compiles = compiles
    w = pn.tensor(np.zeros(2, np.float32), requires_grad=True, device="fake")
    v = pn.tensor(np.zeros(3, np.float32), requires_grad=True, device="fake")
    w.grad = backend.to_device(np.array(grad, np.float32), "fake")
    v.grad = backend.to_device(np.ones(3, np.float32), "fake")
    Counts.reset()
    Counts.log = []
    with np.errstate(over="ignore", invalid="ignore"):
        value, ok = read_step(pn.tensor(np.float32(loss), device="fake"), [w, v])
    launched, Counts.log = Counts.log, None
    assert ok is finite
    assert value == pytest.approx(loss, nan_ok=True)
    assert Counts.syncs == reads
    assert ("loss_and_squares_2" in launched) == compiles
    if compiles:  # a dot product (matmul) per gradient and the pair
        assert launched[:3] == ["matmul", "matmul", "loss_and_squares_2"]
