"""Training steps recorded as device graphs (``pn.fit(..., cuda_graph=True)``), on the fake
device, which records graphs as CUDA stream capture does (``fake_device.Capture``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

import plainnet as pn
from fake_device import Counts, FakeArray, FakeBackend, FakeCaptureError, FakeGraph
from plainnet import backend
from small_net import blobs, host_state, mlp


@pytest.fixture
def fake():
    device = FakeBackend("fake", FakeArray)
    backend.register_backend(device)
    yield device
    backend.unregister_backend("fake")


@pytest.fixture
def launches(monkeypatch):
    """The number of graph launches, counted as fit runs."""
    counted = []
    launch = FakeGraph.launch

    def counting(self):
        counted.append(self)
        launch(self)

    monkeypatch.setattr(FakeGraph, "launch", counting)
    return counted


def _train(cuda_graph, build=None, **options):
    X, y = options.pop("data", None) or blobs(150)
    model = mlp(seed=3, **(build or {}))
    options = {"epochs": 3, "batch_size": 16, **options}
    history = pn.fit(model, X, y, seed=5, verbose=0, device="fake", cuda_graph=cuda_graph,
                     **options)
    return host_state(model), history


def _assert_same_training(a, b):
    (state_a, hist_a), (state_b, hist_b) = a, b
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        np.testing.assert_array_equal(state_a[key], state_b[key], err_msg=key)
    for key in hist_a.history:
        if key != "epoch_time":
            assert hist_a.history[key] == hist_b.history[key], key
    assert hist_a.stop_reason == hist_b.stop_reason


# ------------------------------------------------------------------ the fake device's capture
def test_recorded_work_runs_only_when_the_graph_is_launched(fake):
    x = backend.to_device(np.array([1.0, 2.0, 3.0], np.float32), "fake")
    total = backend.to_device(np.zeros((), np.float32), "fake")

    def work():
        total[...] = total + (x * x).sum()  # into an array that existed before
        return x * 2  # a new array

    graph, doubled = backend.capture("fake", work)
    # as on a GPU, nothing ran: the old array is unchanged, the new one holds garbage
    assert backend.to_numpy(total) == 0
    assert np.isnan(backend.to_numpy(doubled)).all()
    graph.launch()
    assert backend.to_numpy(total) == 14
    np.testing.assert_array_equal(backend.to_numpy(doubled), [2, 4, 6])
    x[...] = backend.to_device(np.array([0.5, 0.5, 0.5], np.float32), "fake")  # a new input
    Counts.reset()
    graph.launch()
    assert (Counts.launches, Counts.syncs) == (1, 0)  # the whole work: one launch
    assert backend.to_numpy(total) == 14.75
    np.testing.assert_array_equal(backend.to_numpy(doubled), [1, 1, 1])


#: Operations of a recorded program: each takes the values so far (and an index array) and
#: appends one, or writes into one in place (as the library's kernels and updates do).
_PROGRAM_OPS = {
    "add": lambda v, rows: v.append(v[-1] + v[0]),
    "mul": lambda v, rows: v.append(v[-1] * v[1]),
    "exp": lambda v, rows: v.append(np.exp(-abs(v[-1]))),
    "sum_rows": lambda v, rows: v.append(v[-1] - v[-1].sum(axis=1, keepdims=True)),
    "matmul": lambda v, rows: v.append(backend.matmul(v[-1], v[1].T)),
    "gather": lambda v, rows: v.append(v[-1][rows]),
    "transpose_copy": lambda v, rows: v.append(v[-1].T.copy().T),
    "scale_in_place": lambda v, rows: v[-1].__imul__(0.5),
    "add_into_input": lambda v, rows: v[1].__iadd__(v[-1][:, :1]),
    "setitem": lambda v, rows: v[-1].__setitem__((slice(None), 0), v[0][:, 1]),
}


@settings(max_examples=60, deadline=None)
@given(program=st.lists(st.sampled_from(sorted(_PROGRAM_OPS)), min_size=1, max_size=8),
       seed=st.integers(0, 2**16))
def test_a_recorded_program_launched_on_new_inputs_computes_what_it_would(program, seed):
    """Any sequence of array operations, recorded on the fake device and launched after new
    inputs are copied in, gives what running it on those inputs gives (the emulation of
    stream capture the graph tests rest on); and recording alone changes nothing."""
    device = FakeBackend("fake", FakeArray)
    backend.register_backend(device)
    try:
        rng = np.random.default_rng(seed)
        first, second = (rng.standard_normal((2, 3, 3)).astype(np.float32) for _ in range(2))
        rows = backend.to_device(np.array([2, 0, 2]), "fake")

        def run(values):
            for name in program:
                _PROGRAM_OPS[name](values, rows)
            return values[-1]

        inputs = [backend.to_device(a, "fake") for a in first]
        graph, out = backend.capture("fake", lambda: run(list(inputs)))
        np.testing.assert_array_equal(backend.to_numpy(inputs[0]), first[0])  # nothing ran
        np.testing.assert_array_equal(backend.to_numpy(inputs[1]), first[1])
        for target, values in zip(inputs, second, strict=True):
            target[...] = backend.to_device(values, "fake")
        graph.launch()
        expected_inputs = [backend.to_device(a, "fake") for a in second]
        expected = run(list(expected_inputs))
        np.testing.assert_array_equal(backend.to_numpy(out), backend.to_numpy(expected))
        for got, want in zip(inputs, expected_inputs, strict=True):  # written in place too
            np.testing.assert_array_equal(backend.to_numpy(got), backend.to_numpy(want))
    finally:
        backend.unregister_backend("fake")


def test_matrix_products_record_through_plainnet_not_through_cupy(fake):
    """CuPy refuses cuBLAS on a capturing stream, and so does the fake device; the matrix
    products of plainnet's layers and ops go through ``backend.matmul``, which records them
    (on CUDA by calling cuBLAS itself)."""
    rng = np.random.default_rng(0)
    a0, b0 = rng.standard_normal((2, 4, 4)).astype(np.float32)
    a, b = backend.to_device(a0, "fake"), backend.to_device(b0, "fake")
    for refused in (lambda: a @ b, lambda: a[0].dot(b[0])):
        with pytest.raises(NotImplementedError, match="cuBLAS"):
            backend.capture("fake", refused)
    graph, out = backend.capture(
        "fake", lambda: backend.matmul(a, b.T) + backend.matmul(a[0], b[0]))
    a[...] = backend.to_device(b0, "fake")  # a new input
    graph.launch()
    np.testing.assert_allclose(backend.to_numpy(out), b0 @ b0.T + b0[0] @ b0[0], rtol=1e-6)


def test_recording_refuses_reads_and_uploads(fake):
    x = backend.to_device(np.ones(3, np.float32), "fake")
    with pytest.raises(FakeCaptureError, match="capturing"):
        backend.capture("fake", lambda: float(x.sum()))
    with pytest.raises(backend.GraphCaptureError, match="recorded as a graph.*host"):
        backend.capture("fake", lambda: backend.to_numpy(x))
    with pytest.raises(backend.GraphCaptureError, match="from 'cpu' to 'fake'.*Dropout"):
        backend.capture("fake", lambda: x + backend.to_device(np.ones(3, np.float32), "fake"))
    np.testing.assert_array_equal(backend.to_numpy(x), 1)  # reads are allowed again after


def test_devices_that_record_no_graphs_say_so(fake):
    with pytest.raises(backend.GraphCaptureError, match="'cpu' does not record graphs"):
        backend.capture("cpu", lambda: None)


# ------------------------------------------------------------------------- fit with a graph
@pytest.mark.parametrize(
    "build, options",
    [
        ({}, {}),
        ({}, {"sample_weight": np.linspace(0.5, 1.5, 150), "optimizer": "sgd"}),
        ({"batchnorm": True}, {"validation_split": 0.2, "metrics": ("accuracy",)}),
        ({"dtype": np.float64}, {"metrics": (), "shuffle": False}),
    ],
    ids=["plain", "weighted-sgd", "batchnorm-validation", "float64-in-order"],
)
def test_fit_with_a_graph_gives_the_weights_of_fit_without(fake, launches, build, options):
    without = _train(False, build, **dict(options))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the graph is recorded and kept
        graphed = _train(True, build, **dict(options))
    # the graph runs the very kernels, in the same order, on the same numbers
    _assert_same_training(graphed, without)
    # 150 rows (120 after a 20% split) in batches of 16: 9 (7) full batches an epoch; the
    # first two train without a graph, the third records and launches it; the last, partial
    # batch of each epoch runs without it
    full = (120 if "validation_split" in options else 150) // 16
    assert len(launches) == 3 * full - 2
    assert len({id(g) for g in launches}) == 1  # recorded once


def test_a_regression_with_guarded_products_is_recorded(fake, launches):
    """The squared error's backward multiplies by the residual, a product the backward pass
    would read the gradients to check: recorded, it runs careful instead (reads nothing)."""
    X, y = blobs(150)
    targets = np.eye(3)[y] + 0.1 * X[:, :3]
    without = _train(False, loss="mse", data=(X, targets), metrics=())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graphed = _train(True, loss="mse", data=(X, targets), metrics=())
    _assert_same_training(graphed, without)
    assert len(launches) == 3 * (150 // 16) - 2


def test_no_gradient_is_left_in_the_graphs_memory(fake, launches):
    """On CUDA a graph's memory goes with it: the gradients it wrote are copied out of it
    when training ends."""
    X, y = blobs(160)
    model = mlp()
    pn.fit(model, X, y, epochs=1, batch_size=16, verbose=0, device="fake", cuda_graph=True)
    graph = launches[0]
    assert graph.made and all(p.grad is not None for p in model.parameters())
    assert not any(graph.owns(p.grad) for p in model.parameters())


@pytest.mark.parametrize("metrics", [(), ("accuracy",)])
def test_a_step_with_a_graph_is_four_launches_and_one_wait(fake, metrics):
    X, y = blobs(160)  # 10 full batches an epoch, none partial

    def counted(epochs):
        model = mlp()
        Counts.reset()
        pn.fit(model, X, y, epochs=epochs, batch_size=16, verbose=0, device="fake",
               cuda_graph=True, metrics=metrics)
        return Counts.launches, Counts.syncs

    counted(1)  # what happens once in a process (a kernel's first launch goes alone)
    (launches_2, syncs_2), (launches_3, syncs_3) = counted(2), counted(3)
    # the third epoch is all graph steps: each copies its batch in (2), launches the graph,
    # updates the parameters (1: one multi-tensor launch) and reads the loss and the step's
    # finiteness (one wait); a metric keeps a copy of the output (1). An epoch also shuffles
    # (2), keeps a snapshot of the weights (4) and joins the outputs for the metric (2) and
    # reads them. (Without a graph, a step is 23 launches: test_backend.py.)
    assert launches_3 - launches_2 == 10 * (4 + len(metrics)) + 6 + 2 * len(metrics)
    assert syncs_3 - syncs_2 == 10 + len(metrics)


def test_a_model_that_draws_on_the_host_trains_without_a_graph(fake):
    without = _train(False, {"dropout": 0.3})
    with pytest.warns(RuntimeWarning, match="not run as a graph.*could not be recorded"
                      ".*GraphCaptureError.*Dropout"):
        graphed = _train(True, {"dropout": 0.3})
    # the failed recording drew no mask that the training then misses
    _assert_same_training(graphed, without)


def test_a_graph_whose_launch_disagrees_is_dropped(fake, monkeypatch):
    monkeypatch.setattr(FakeGraph, "launch", lambda self: None)  # a graph that does nothing
    without = _train(False)
    with pytest.warns(RuntimeWarning, match="not run as a graph.*gave the output different"):
        graphed = _train(True)
    _assert_same_training(graphed, without)


class _GrowingLR(pn.callbacks.Callback):
    """Multiplies the learning rate by 10 after each batch: training diverges within a few
    steps."""

    def on_batch_end(self, batch, logs):
        self.optimizer.param_groups[0]["lr"] *= 10.0


def test_divergence_with_a_graph_stops_as_without(fake, launches):
    runs = []
    for cuda_graph in (False, True):
        X, y = blobs(150)
        model = mlp(seed=3)
        optimizer = pn.optim.SGD(model.parameters(), lr=0.01)
        with pytest.warns(RuntimeWarning, match="training diverged"):
            history = pn.fit(model, X, y, epochs=5, batch_size=16, seed=5, verbose=0,
                             device="fake", optimizer=optimizer, callbacks=[_GrowingLR()],
                             cuda_graph=cuda_graph)
        runs.append((host_state(model), history))
    _assert_same_training(runs[1], runs[0])
    assert runs[1][1].stop_reason == "diverged"
    assert launches  # the graph was in use when the step stopped being finite
    assert all(np.isfinite(v).all() for v in runs[1][0].values())


def test_cuda_graph_needs_a_device_that_records_graphs(fake):
    X, y = blobs(32)
    with pytest.raises(ValueError, match="cuda_graph=True .* trains on 'cpu'"):
        pn.fit(mlp(), X, y, epochs=1, verbose=0, cuda_graph=True)
    model = mlp().to("fake")
    with pytest.raises(ValueError, match="cuda_graph=True .* trains on 'cpu'"):
        pn.fit(model, X, y, epochs=1, verbose=0, cuda_graph=True, device="cpu")
    assert model.device == "fake"  # refused before anything moved
    with pytest.raises(TypeError, match="cuda_graph must be True or False; got 'yes'"):
        pn.fit(mlp(), X, y, epochs=1, verbose=0, cuda_graph="yes")


@pytest.mark.parametrize(
    ("build", "options", "why"),
    [
        ({"batchnorm": True}, {}, "host read a value"),  # momentum=None reads its count
        ({}, {"sample_weight": np.r_[np.zeros(10), np.ones(140)]}, "host read a value"),
    ],
    ids=["batchnorm-cumulative", "weights-with-zeros"],
)
def test_steps_that_read_values_train_without_a_graph(fake, build, options, why):
    def train(cuda_graph):
        X, y = blobs(150)
        model = mlp(seed=3, **build)
        for m in model.modules():
            if isinstance(m, pn.nn.BatchNorm1d):
                m.momentum = None
        history = pn.fit(model, X, y, epochs=2, batch_size=16, seed=5, verbose=0,
                         device="fake", cuda_graph=cuda_graph, **options)
        return host_state(model), history

    without = train(False)
    with pytest.warns(RuntimeWarning, match=f"not run as a graph.*{why}"):
        graphed = train(True)
    _assert_same_training(graphed, without)


class _Reload(pn.callbacks.Callback):
    """Loads the model's own state dict after one batch of the second epoch: the buffers
    become new arrays (the parameters are written in place)."""

    epoch = 0

    def on_epoch_begin(self, epoch, logs):
        self.epoch = epoch

    def on_batch_end(self, batch, logs):
        if self.epoch == 2 and batch == 4:
            self.model.load_state_dict(self.model.state_dict())


def test_a_graph_is_recorded_again_when_the_model_gets_new_arrays(fake, launches):
    runs = []
    for cuda_graph in (False, True):
        X, y = blobs(150)
        model = mlp(seed=3, batchnorm=True)
        history = pn.fit(model, X, y, epochs=3, batch_size=16, seed=5, verbose=0,
                         device="fake", cuda_graph=cuda_graph, callbacks=[_Reload()])
        runs.append((host_state(model), history))
    _assert_same_training(runs[1], runs[0])
    assert len({id(g) for g in launches}) == 2


# ------------------------------------------------------------------------- the estimators
@pytest.mark.parametrize(
    ("make", "options"),
    [
        (pn.estimators.MLPClassifier, {"hidden_layer_sizes": (8,), "alpha": 1e-3}),
        (pn.estimators.MLPClassifier, {"hidden_layer_sizes": (8,), "early_stopping": True,
                                       "sample_weight": True}),
        (pn.estimators.MLPRegressor, {"hidden_layer_sizes": (8,)}),
        (pn.estimators.NeuronClassifier, {}),
    ],
    ids=["mlp-classifier", "early-stopping-weighted", "mlp-regressor", "neuron"],
)
def test_estimators_train_with_a_graph_as_without(fake, launches, make, options):
    X, y = blobs(200)
    if make is pn.estimators.MLPRegressor:
        y = X[:, 0] - 2 * X[:, 1]
    elif make is pn.estimators.NeuronClassifier:
        y = (y > 0).astype(int)
    options = dict(options)
    weights = np.linspace(0.5, 1.5, len(X)) if options.pop("sample_weight", False) else None
    fitted = []
    for cuda_graph in (False, True):
        est = make(max_iter=4, batch_size=16, random_state=0, device="fake",
                   cuda_graph=cuda_graph, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("error", RuntimeWarning)  # recorded, not fallen back
            est.fit(X, y, sample_weight=weights)
        fitted.append(est)
    without, graphed = fitted
    assert graphed.loss_curve_ == without.loss_curve_
    np.testing.assert_array_equal(graphed.predict(X), without.predict(X))
    assert launches


def test_an_estimator_step_waits_once(fake):
    """The estimators check their labels and weights once, before training: a step reads
    only the loss and its finiteness (the L2 penalty and a weighted mean read nothing)."""
    X, y = blobs(320)  # 10 batches of 32 an epoch

    def syncs(max_iter, weights):
        est = pn.estimators.MLPClassifier((8,), max_iter=max_iter, batch_size=32, alpha=1e-3,
                                          random_state=0, device="fake", tol=0.0,
                                          n_iter_no_change=50)
        Counts.reset()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y, sample_weight=weights)
        return Counts.syncs

    for weights in (None, np.linspace(0.5, 1.5, len(X))):
        assert syncs(3, weights) - syncs(2, weights) == 10


def test_recording_in_one_thread_leaves_transfers_in_others_alone(fake):
    import threading

    x = backend.to_device(np.ones(3, np.float32), "fake")
    seen = []

    def other_thread():
        seen.append(backend.to_numpy(backend.to_device(np.arange(3.0), "fake")))

    def work():
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        return x * 2

    backend.capture("fake", work)
    np.testing.assert_array_equal(seen[0], [0.0, 1.0, 2.0])


def test_a_batch_size_above_the_row_count_still_records(fake, launches):
    X, y = blobs(40)  # one batch of 40 rows an epoch, though batch_size is 64
    without = _train(False, data=(X, y), batch_size=64)
    graphed = _train(True, data=(X, y), batch_size=64)
    _assert_same_training(graphed, without)
    assert len(launches) == 3 - 2  # epochs 1 and 2 without, the third recorded and launched
