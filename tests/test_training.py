"""pn.fit: the training loop, validation split, callbacks, divergence, determinism."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import plainnet as pn
from plainnet.callbacks import (
    Callback,
    EarlyStopping,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from plainnet.training import train_test_split


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [3.0, 0.0], [-3.0, -3.0]])
    y = rng.integers(0, 3, n)
    X = centers[y] + rng.normal(size=(n, 2))
    return X.astype(np.float32), y


def mlp(n_in=2, n_out=3, seed=0):
    pn.seed(seed)
    return pn.nn.Sequential(pn.nn.Linear(n_in, 16), pn.nn.ReLU(), pn.nn.Linear(16, n_out))


def test_fit_learns_blobs_and_records_history():
    X, y = blobs()
    model = mlp()
    opt = pn.optim.Adam(model.parameters(), lr=1e-2)
    h = pn.fit(model, X, y, loss="cross_entropy", optimizer=opt, epochs=15, batch_size=32,
               validation_split=0.2, seed=0, verbose=0)
    assert len(h) == 15
    for key in ("loss", "val_loss", "accuracy", "val_accuracy", "lr", "epoch_time"):
        assert len(h.history[key]) == 15
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert h.history["val_accuracy"][-1] >= 0.9
    pred = model.predict(X).argmax(axis=1)
    assert np.mean(pred == y) >= 0.9
    assert h.stop_reason == "epochs"


def test_same_seed_same_weights_and_curve():
    X, y = blobs()
    runs = []
    for _ in range(2):
        model = mlp(seed=3)
        h = pn.fit(model, X, y, optimizer=pn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                   epochs=3, validation_split=0.25, seed=7, verbose=0)
        runs.append((h.history["loss"], h.history["val_loss"], model.state_dict()))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    for k in runs[0][2]:
        np.testing.assert_array_equal(runs[0][2][k], runs[1][2][k])


def test_validation_split_is_stratified_shuffled_and_seeded():
    y = np.array([0] * 90 + [1] * 10)
    X = np.arange(100, dtype=float).reshape(-1, 1)
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.2, random_state=0)
    assert len(y_val) == 20
    assert np.sum(y_val == 1) == 2  # the class keeps its 10% share
    assert not np.array_equal(np.sort(X_val[:, 0]), np.arange(80, 100))  # not "the last 20%"
    again = train_test_split(X, y, test_size=0.2, random_state=0)[1]
    np.testing.assert_array_equal(X_val, again)


def test_early_stopping_stops_and_restores_best_weights():
    X, y = blobs(seed=1)
    X_val, y_val = blobs(n=100, seed=2)
    model = mlp()
    stopper = EarlyStopping(monitor="val_loss", min_delta=1e-4, patience=2)
    # a learning rate so large that the validation loss soon stops improving
    h = pn.fit(model, X, y, optimizer=pn.optim.SGD(model.parameters(), lr=2.0), epochs=40,
               validation_data=(X_val, y_val), callbacks=[stopper], verbose=0)
    assert h.stop_reason == "early_stopping"
    assert len(h) < 40
    best = min(h.history["val_loss"])
    out = pn.tensor(model.predict(X_val))
    restored = float(pn.losses.cross_entropy(out, y_val).data)
    assert restored == pytest.approx(best, rel=1e-5)


def test_early_stopping_restores_best_even_when_epochs_run_out():
    X, y = blobs(seed=4)
    X_val, y_val = blobs(n=100, seed=5)
    model = mlp()
    stopper = EarlyStopping(monitor="val_loss", patience=100)
    h = pn.fit(model, X, y, optimizer=pn.optim.SGD(model.parameters(), lr=1.0), epochs=8,
               validation_data=(X_val, y_val), callbacks=[stopper], verbose=0)
    assert h.stop_reason == "epochs"
    out = pn.tensor(model.predict(X_val))
    restored = float(pn.losses.cross_entropy(out, y_val).data)
    assert restored == pytest.approx(min(h.history["val_loss"]), rel=1e-5)


def test_divergence_stops_keeps_finite_weights_and_warns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)) * 1e3
    y = X @ np.array([1.0, -2.0, 3.0])
    pn.seed(0)
    model = pn.nn.Sequential(pn.nn.Linear(3, 1))
    with pytest.warns(RuntimeWarning, match=r"diverged at epoch \d+, batch \d+"):
        h = pn.fit(model, X, y, loss="mse", optimizer=pn.optim.SGD(model.parameters(), lr=10.0),
                   epochs=50, batch_size=8, verbose=0)
    assert h.stop_reason == "diverged"
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())


class Recorder(Callback):
    def __init__(self, stop_after_batches=None):
        self.calls = []
        self.stop_after = stop_after_batches
        self.batches = 0

    def on_train_begin(self, logs):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs):
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_end(self, batch, logs):
        self.batches += 1
        assert np.isfinite(logs["loss"])
        if self.stop_after is not None and self.batches >= self.stop_after:
            self.trainer.stop_training = True

    def on_epoch_end(self, epoch, logs):
        self.calls.append(f"epoch_end {epoch} {'loss' in logs}")

    def on_train_end(self, logs):
        self.calls.append("train_end")


def test_callback_protocol_order_and_stopping():
    X, y = blobs(n=96)
    rec = Recorder()
    pn.fit(mlp(), X, y, epochs=2, batch_size=32, callbacks=[rec], verbose=0)
    assert rec.calls == ["train_begin", "epoch_begin 1", "epoch_end 1 True", "epoch_begin 2",
                         "epoch_end 2 True", "train_end"]
    assert rec.batches == 6
    stopper = Recorder(stop_after_batches=4)
    h = pn.fit(mlp(), X, y, epochs=5, batch_size=32, callbacks=[stopper], verbose=0)
    assert stopper.batches == 4 and len(h) == 2


def test_reduce_lr_on_plateau_lowers_the_logged_learning_rate():
    X, y = blobs(n=96)
    model = mlp()
    opt = pn.optim.SGD(model.parameters(), lr=1e-3)  # min_delta=1 counts no epoch as better
    h = pn.fit(model, X, y, optimizer=opt, epochs=4,
               callbacks=[ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
                                            min_delta=1.0)], verbose=0)
    assert h.history["lr"][0] == pytest.approx(1e-3)
    assert h.history["lr"][-1] < h.history["lr"][0]


def test_model_checkpoint_saves_loadable_best_model(tmp_path):
    X, y = blobs(n=96)
    model = mlp()
    path = tmp_path / "best.safetensors"
    ckpt = ModelCheckpoint(path, monitor="loss")
    pn.fit(model, X, y, epochs=3, callbacks=[ckpt], verbose=0)
    assert path.exists() and ckpt.saved
    loaded = pn.load(path)
    assert set(loaded.state_dict()) == set(model.state_dict())


def test_terminate_on_nan_callback_stops_on_a_nan_batch_loss():
    cb = TerminateOnNaN()

    class T:
        stop_training = False
        stop_reason = "epochs"

    cb.trainer = T()
    cb.on_batch_end(0, {"loss": 1.0})
    assert not cb.trainer.stop_training
    cb.on_batch_end(1, {"loss": float("nan")})
    assert cb.trainer.stop_training


def test_sample_weight_zero_equals_training_on_the_rest():
    X, y = blobs(n=60)
    w = np.r_[np.ones(30), np.zeros(30)]
    a, b = mlp(seed=1), mlp(seed=1)
    kw = dict(epochs=3, batch_size=60, shuffle=False, verbose=0, metrics=())
    pn.fit(a, X, y, optimizer=pn.optim.SGD(a.parameters(), lr=0.1), sample_weight=w, **kw)
    pn.fit(b, X[:30], y[:30], optimizer=pn.optim.SGD(b.parameters(), lr=0.1), **kw)
    for k, v in a.state_dict().items():
        np.testing.assert_allclose(v, b.state_dict()[k], rtol=1e-5, atol=1e-6)


def test_verbose_modes(capsys):
    X, y = blobs(n=64)
    pn.fit(mlp(), X, y, epochs=2, verbose=0)
    assert capsys.readouterr().err == ""
    pn.fit(mlp(), X, y, epochs=2, verbose=2)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("epoch")]
    assert len(lines) == 2 and "loss=" in lines[0]


def test_regression_with_mse_skips_accuracy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    pn.seed(0)
    model = pn.nn.Sequential(pn.nn.Linear(3, 1))
    h = pn.fit(model, X, y, loss="mse", optimizer=pn.optim.Adam(model.parameters(), lr=0.05),
               epochs=60, verbose=0)
    assert "accuracy" not in h.history
    assert h.history["loss"][-1] < 1e-2
    np.testing.assert_allclose(model[0].weight.data.ravel(), [1.0, -2.0, 0.5], atol=0.05)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"validation_split": 1.5}, "validation_split"),
        ({"verbose": 5}, "verbose"),
        ({"loss": "nope"}, "nope"),
    ],
)
def test_bad_arguments_get_clear_errors(kwargs, match):
    X, y = blobs(n=32)
    with pytest.raises(ValueError, match=match):
        pn.fit(mlp(), X, y, **{"verbose": 0, **kwargs})


def test_mismatched_rows_error():
    X, y = blobs(n=32)
    with pytest.raises(ValueError, match="same number of rows"):
        pn.fit(mlp(), X, y[:10], verbose=0)


def test_memory_flat_across_epochs():
    import tracemalloc

    X, y = blobs(n=512)
    model = mlp()

    def peak(epochs):
        tracemalloc.start()
        with warnings.catch_warnings():
            pn.fit(model, X, y, epochs=epochs, batch_size=64, verbose=0, validation_split=0.1)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    short, long = peak(2), peak(10)
    assert long < short * 1.5 + 200_000


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0])
def test_fit_refuses_bad_sample_weights_before_training(bad):
    X = np.random.default_rng(0).random((20, 4)).astype(np.float32)
    y = np.arange(20) % 3
    model = pn.nn.Sequential(pn.nn.Linear(4, 3))
    before = model.state_dict()["0.weight"].copy()
    weights = np.ones(20)
    weights[-1] = bad
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
        pn.fit(model, X, y, sample_weight=weights, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], before)


def test_fit_checks_every_label_once_before_the_first_step():
    X = np.random.default_rng(0).random((64, 4)).astype(np.float32)
    y = np.arange(64) % 3
    y[-1] = 7  # in the last batch: found before any step is taken
    model = pn.nn.Sequential(pn.nn.Linear(4, 3))
    before = model.state_dict()["0.weight"].copy()
    with pytest.raises(ValueError, match="class label 7 is out of range for 3 classes"):
        pn.fit(model, X, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], before)
