"""pn.fit's loop read as the notes write it, its fast paths against plain ones, and what users
of Keras and PyTorch look for: evaluate, metrics, optimizers by name, class weights, resuming,
schedules by function, CSV logs, faults reported before training, divergence, Ctrl-C."""

from __future__ import annotations

import csv
import io
import warnings

import numpy as np
import pytest

import plainnet as pn
from plainnet.callbacks import Callback, CSVLogger, LearningRateScheduler, ModelCheckpoint
from plainnet.training.progress import ProgressLogger, epoch_line
from plainnet.training.step import Batch, check_on_host, train_step


def blobs(n=300, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(classes, 2)) * 3
    y = rng.integers(0, classes, n)
    X = centers[y] + rng.normal(size=(n, 2))
    return X.astype(np.float32), y


def mlp(n_in=2, n_out=3, seed=0, dropout=0.0):
    pn.seed(seed)
    layers = [pn.nn.Linear(n_in, 16), pn.nn.ReLU()]
    if dropout:
        layers.append(pn.nn.Dropout(dropout))
    return pn.nn.Sequential(*layers, pn.nn.Linear(16, n_out))


def states_equal(a, b, exact=True):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        if exact:
            np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)
        else:
            np.testing.assert_allclose(sa[k], sb[k], rtol=1e-5, atol=1e-6, err_msg=k)


# -- the step and the loop ----------------------------------------------------------------

def test_train_step_moves_the_weights_by_minus_lr_times_the_gradient():
    X, y = blobs(16)
    X = X.astype(np.float64)
    model = mlp()
    model.double()
    params = model.parameters()
    before = [p.data.copy() for p in params]

    def loss_now():
        return float(pn.losses.cross_entropy(model(pn.tensor(X)), y).data)

    numeric = []  # the gradient by central differences, in float64
    for p in params:
        g = np.zeros_like(p.data)
        for i in np.ndindex(p.data.shape):
            keep = p.data[i]
            p.data[i] = keep + 1e-6
            up = loss_now()
            p.data[i] = keep - 1e-6
            g[i] = (up - loss_now()) / 2e-6
            p.data[i] = keep
        numeric.append(g)
    loss_before = loss_now()
    opt = pn.optim.SGD(params, lr=0.1)
    batch = Batch(X, y, None, y)
    _, value, finite = train_step(model, pn.losses.cross_entropy, opt, batch,
                                  lambda loss: check_on_host(loss, params))
    assert finite and value == pytest.approx(loss_before, rel=1e-12)
    for p, b, g in zip(params, before, numeric, strict=True):
        np.testing.assert_allclose(p.data, b - 0.1 * g, rtol=1e-6, atol=1e-8)


def hand_loop(model, X, y, epochs, batch_size, lr, seed=None):
    """The loop users write: shuffled order from the seed, slices, forward, loss, backward,
    step (the plain path pn.fit's buffer gather must agree with)."""
    opt = pn.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(X)) if seed is not None else np.arange(len(X))
        Xs, ys = X[order], y[order]
        for lo in range(0, len(X), batch_size):
            loss = pn.losses.cross_entropy(model(pn.tensor(Xs[lo : lo + batch_size])),
                                           ys[lo : lo + batch_size])
            opt.zero_grad()
            loss.backward()
            opt.step()


@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_equals_the_hand_written_loop(shuffle):
    X, y = blobs(100)  # 100 rows, batches of 32: a short last batch
    a, b = mlp(seed=2), mlp(seed=2)
    pn.fit(a, X, y, optimizer=pn.optim.SGD(a.parameters(), lr=0.05, momentum=0.9), epochs=3,
           batch_size=32, shuffle=shuffle, seed=11, verbose=0)
    hand_loop(b, X, y, 3, 32, 0.05, seed=11 if shuffle else None)
    states_equal(a, b)


def test_the_loop_functions_are_short():
    import inspect

    from plainnet.training import loop, step

    for fn in (step.train_step, loop.Loop.run, loop.Loop.train_epoch, loop.Loop.epoch_logs):
        assert len(inspect.getsource(fn).splitlines()) < 40, fn.__qualname__


# -- evaluate and metrics -----------------------------------------------------------------

def test_evaluate_gives_what_fit_logs_for_validation():
    X, y = blobs(200)
    Xv, yv = blobs(80, seed=1)
    model = mlp()
    h = pn.fit(model, X, y, epochs=3, validation_data=(Xv, yv), verbose=0,
               metrics=["accuracy", "f1"])
    logs = pn.evaluate(model, Xv, yv, metrics=["accuracy", "f1"])
    assert logs["loss"] == pytest.approx(h["val_loss"][-1], rel=1e-6)
    assert logs["accuracy"] == h["val_accuracy"][-1] and logs["f1"] == h["val_f1"][-1]
    direct = float(pn.losses.cross_entropy(pn.tensor(model.predict(Xv)), yv).data)
    assert logs["loss"] == pytest.approx(direct, rel=1e-5)


def test_a_custom_metric_takes_y_true_and_y_pred():
    X, y = blobs(90)
    seen = []

    def wrong_rate(y_true, y_pred):
        seen.append((y_true.shape, y_pred.shape))
        return float(np.mean(y_pred.argmax(axis=1) != y_true))

    h = pn.fit(mlp(), X, y, epochs=2, verbose=0,
               metrics=["accuracy", wrong_rate, lambda yt, yp: float(len(yt))])
    assert seen[0] == ((90,), (90, 3))
    np.testing.assert_allclose(np.add(h["accuracy"], h["wrong_rate"]), 1.0)
    assert h["metric"] == [90.0, 90.0]  # a lambda is logged as "metric"


@pytest.mark.parametrize("classes", [2, 4])
def test_precision_recall_f1_top_k_agree_with_scikit_learn(classes):
    metrics = pytest.importorskip("sklearn.metrics")
    from plainnet.training import metrics as m

    rng = np.random.default_rng(classes)
    y_true = rng.integers(0, classes, 200)
    y_pred = rng.normal(size=(200, classes)) + np.eye(classes)[y_true]
    labels = y_pred.argmax(axis=1)
    for name, sk in (("precision", metrics.precision_score), ("recall", metrics.recall_score),
                     ("f1", metrics.f1_score)):
        want = sk(y_true, labels, average="macro", zero_division=0)
        assert m.get_metric(name)[1](y_true, y_pred) == pytest.approx(want), name
    if classes > 2:
        want = metrics.top_k_accuracy_score(y_true, y_pred, k=2)
        assert m.get_metric("top_2_accuracy")[1](y_true, y_pred) == pytest.approx(want)
    # one output column (logits): the positive class's precision, as scikit-learn's binary
    logit = rng.normal(size=(200, 1))
    yb = (logit[:, 0] + rng.normal(size=200) > 0).astype(int)
    want = metrics.precision_score(yb, (logit[:, 0] > 0).astype(int))
    assert m.precision(yb, logit) == pytest.approx(want)


def test_unknown_metric_is_a_clear_error():
    X, y = blobs(30)
    with pytest.raises(ValueError, match="unknown metric 'acc'.*f\\(y_true, y_pred\\)"):
        pn.fit(mlp(), X, y, metrics=["acc"], verbose=0)


# -- optimizers, schedules, logs ----------------------------------------------------------

def test_optimizer_by_name_with_lr_and_by_class():
    X, y = blobs(64)
    h = pn.fit(mlp(), X, y, optimizer="adam", lr=0.005, epochs=1, verbose=0)
    assert h["lr"] == [0.005]
    a, b = mlp(seed=1), mlp(seed=1)
    pn.fit(a, X, y, optimizer=pn.optim.SGD, lr=0.1, epochs=2, verbose=0, seed=0)
    pn.fit(b, X, y, optimizer=pn.optim.SGD(b.parameters(), lr=0.1), epochs=2, verbose=0, seed=0)
    states_equal(a, b)
    model = mlp()
    with pytest.raises(ValueError, match="only be given with an optimizer name or class"):
        pn.fit(model, X, y, optimizer=pn.optim.Adam(model.parameters()), lr=0.1, verbose=0)
    with pytest.raises(TypeError, match="optimizer must be a name"):
        pn.fit(model, X, y, optimizer=42, verbose=0)


def test_learning_rate_scheduler_takes_a_function_of_epoch_and_lr():
    X, y = blobs(64)
    calls = []

    def schedule(epoch, lr):
        calls.append((epoch, lr))
        return lr / 2 if epoch > 0 else lr

    h = pn.fit(mlp(), X, y, optimizer="sgd", lr=0.4, epochs=4, verbose=0,
               callbacks=[LearningRateScheduler(schedule)])
    assert h["lr"] == pytest.approx([0.4, 0.2, 0.1, 0.05])
    assert [e for e, _ in calls] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="must return a finite learning rate"):
        pn.fit(mlp(), X, y, epochs=2, verbose=0,
               callbacks=[LearningRateScheduler(lambda e, lr: float("nan"))])


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    X, y = blobs(64)
    path = tmp_path / "log.csv"
    h = pn.fit(mlp(), X, y, epochs=3, validation_split=0.25, verbose=0,
               callbacks=[CSVLogger(path)])
    rows = list(csv.DictReader(path.read_text().splitlines()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(h["val_loss"])
    pn.fit(mlp(), X, y, epochs=2, verbose=0, validation_split=0.25,
           callbacks=[CSVLogger(path, append=True)])
    assert len(list(csv.DictReader(path.read_text().splitlines()))) == 5


def test_the_last_line_of_an_epoch_keeps_validation_numbers_in_80_columns():
    logs = {"loss": 0.123456, "accuracy": 0.912345, "precision": 0.9, "recall": 0.8,
            "val_loss": 0.234567, "val_accuracy": 0.901234, "val_precision": 0.5,
            "lr": 1e-3, "epoch_time": 12.5}
    line = epoch_line(10, 100, logs, width=80)
    assert len(line) <= 80
    assert "val_loss=0.2346" in line and "val_accuracy=0.9012" in line

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    X, y = blobs(64)
    pn.fit(mlp(), X, y, epochs=2, validation_split=0.25, verbose=0,
           metrics=["accuracy", "precision", "recall"],
           callbacks=[ProgressLogger(1, 2, 2, file=out)])
    last = out.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("epoch 2/2") and len(last) <= 80
    assert "val_loss=" in last and "val_accuracy=" in last


# -- weights, resuming, validation --------------------------------------------------------

def test_class_weight_is_a_sample_weight_per_class():
    X, y = blobs(90)
    kw = dict(epochs=2, verbose=0, seed=0, optimizer="sgd", lr=0.1)
    a, b, c, d = (mlp(seed=4) for _ in range(4))
    pn.fit(a, X, y, class_weight={0: 3.0, 2: 0.5}, **kw)
    pn.fit(b, X, y, sample_weight=np.select([y == 0, y == 2], [3.0, 0.5], 1.0), **kw)
    states_equal(a, b, exact=False)
    pn.fit(c, X, y, class_weight="balanced", **kw)
    counts = np.bincount(y)
    pn.fit(d, X, y, sample_weight=(len(y) / (3 * counts))[y], **kw)
    states_equal(c, d, exact=False)
    with pytest.raises(ValueError, match="class_weight must be a dict or 'balanced'"):
        pn.fit(mlp(), X, y, class_weight="even", verbose=0)


def test_initial_epoch_resumes_the_count():
    X, y = blobs(64)
    h = pn.fit(mlp(), X, y, epochs=5, initial_epoch=3, verbose=0)
    assert h.epoch == [4, 5] and len(h["loss"]) == 2
    with pytest.raises(ValueError, match="initial_epoch .5. must be below epochs .5."):
        pn.fit(mlp(), X, y, epochs=5, initial_epoch=5, verbose=0)


def test_validation_data_with_weights_gives_the_weighted_loss():
    X, y = blobs(64)
    Xv, yv = blobs(40, seed=3)
    w = np.r_[np.ones(20), np.zeros(20)]
    model = mlp()
    h = pn.fit(model, X, y, epochs=1, validation_data=(Xv, yv, w), verbose=0)
    first_half = float(pn.losses.cross_entropy(pn.tensor(model.predict(Xv[:20])), yv[:20]).data)
    assert h["val_loss"][0] == pytest.approx(first_half, rel=1e-5)


# -- bad data, reported before training --------------------------------------------------

@pytest.mark.parametrize("where, value, message", [
    ("X", np.nan, r"X contains NaN at row 17, column 1"),
    ("X", np.inf, r"X contains inf at row 17, column 1"),
    ("y", np.nan, r"y contains NaN at row 17"),
    ("X_val", np.nan, r"X_val contains NaN at row 17, column 1"),
])
def test_nan_in_the_data_is_reported_with_its_row_and_column(where, value, message):
    X, y = blobs(40)
    Xv, yv = X.copy(), y.astype(float)
    y = y.astype(float)
    arrays = {"X": X, "y": y, "X_val": Xv}
    arrays[where][(17, 1) if arrays[where].ndim == 2 else 17] = value
    model = mlp()
    before = model.state_dict()["0.weight"].copy()
    with pytest.raises(ValueError, match=message):
        pn.fit(model, X, y, loss="mse" if where == "y" else "cross_entropy",
               validation_data=(Xv, yv) if where == "X_val" else None, verbose=0)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], before)


def test_empty_arrays_are_a_clear_error():
    with pytest.raises(ValueError, match="X has no rows .shape .0, 2..: pn.fit needs at least"):
        pn.fit(mlp(), np.zeros((0, 2), np.float32), np.zeros(0, int), verbose=0)


# -- faults: divergence, interruption -----------------------------------------------------

def test_history_keeps_the_epochs_before_a_nan():
    X, y = blobs(64)

    class Poison(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 2:  # the next step's loss is NaN
                self.model[0].weight.data[0, 0] = np.nan

    model = mlp()
    with pytest.warns(RuntimeWarning, match="diverged at epoch 3, batch 1"):
        h = pn.fit(model, X, y, epochs=5, verbose=0, callbacks=[Poison()])
    assert h.stop_reason == "diverged" and len(h["loss"]) == 2 and h.epoch == [1, 2]
    X[0, 0] = 3e38  # finite, but the first loss is not: no epoch finished, h["loss"] is a list
    with pytest.warns(RuntimeWarning, match="diverged at epoch 1, batch 1"):
        h = pn.fit(mlp(), X, y, epochs=2, verbose=0, shuffle=False)
    assert h["loss"] == [] and h.stop_reason == "diverged"


@pytest.mark.parametrize("batch_size, where", [(16, "epoch 1, batch 2: the loss became nan"),
                                               (64, "epoch 1: a weight became NaN/inf")])
def test_a_nan_gradient_under_a_finite_loss_stops_training_with_finite_weights(batch_size,
                                                                               where):
    X = np.random.default_rng(0).random((64, 2)).astype(np.float32)

    def loss(out, target):  # finite, but its gradient is NaN: sqrt'(0) times (1 - 1)
        a = out[:, :1]
        return pn.losses.mse(out, target) + pn.sqrt(a - a).sum()

    model = pn.nn.Sequential(pn.nn.Linear(2, 1))
    start = [p.data.copy() for p in model.parameters()]
    with pytest.warns(RuntimeWarning, match=where) as caught:
        h = pn.fit(model, X, X.sum(axis=1), loss=loss, epochs=3, batch_size=batch_size,
                   verbose=0, metrics=())
    assert caught[0].filename == __file__  # the warning points at the call of pn.fit
    assert h.stop_reason == "diverged" and len(h) == 0
    for p, s in zip(model.parameters(), start, strict=True):
        np.testing.assert_array_equal(p.data, s)


def test_an_exploding_loss_stops_training_and_restores_the_last_good_weights():
    rng = np.random.default_rng(0)
    X = rng.random((256, 20)).astype(np.float32)
    y = rng.integers(0, 10, 256)

    def run(**kw):
        pn.seed(0)
        model = pn.nn.Sequential(pn.nn.Linear(20, 32), pn.nn.ReLU(), pn.nn.Linear(32, 10))
        start = {k: v.copy() for k, v in model.state_dict().items()}
        h = pn.fit(model, X, y, optimizer="sgd", lr=1e4, epochs=4, verbose=0, seed=0, **kw)
        return model, start, h

    with pytest.warns(RuntimeWarning, match=r"diverged at epoch 1: the loss exploded to .*"
                      r"lower learning rate \(now 10000"):
        model, start, h = run()
    assert h.stop_reason == "diverged" and len(h) == 1 and h["loss"][0] > 1e4 * np.log(10)
    for k, v in model.state_dict().items():  # the weights the exploded epoch started from
        np.testing.assert_array_equal(v, start[k])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, h = run(divergence=None)  # the rule turned off: finite all along, no word
    assert len(h) == 4 and np.all(np.isfinite(h["loss"]))


def test_ctrl_c_keeps_the_history_of_the_finished_epochs():
    X, y = blobs(64)

    class Interrupt(Callback):  # Ctrl-C in the middle of epoch 3
        def on_batch_begin(self, batch, logs):
            if self.epoch == 3 and batch == 1:
                raise KeyboardInterrupt

        def on_epoch_begin(self, epoch, logs):
            self.epoch = epoch

    with pytest.raises(KeyboardInterrupt) as info:
        pn.fit(mlp(), X, y, epochs=10, verbose=0, callbacks=[Interrupt()])
    h = info.value.history
    assert h.epoch == [1, 2] and len(h["loss"]) == 2 and h.stop_reason == "interrupted"


# -- reproducibility, files ---------------------------------------------------------------

def test_dropout_masks_come_from_the_fits_seed():
    X, y = blobs(64)
    runs = []
    for noise in (1, 2):
        model = mlp(seed=5, dropout=0.5)
        pn.random.get_rng().random(noise)  # the global generator in another state each time
        pn.fit(model, X, y, epochs=2, verbose=0, seed=3)
        runs.append(model)
    states_equal(*runs)
    assert runs[0][2].rng is None  # the layer's own setting is back


def test_a_brace_in_a_checkpoint_path_is_part_of_the_name(tmp_path):
    X, y = blobs(64)
    folder = tmp_path / "run{1"
    folder.mkdir()
    ckpt = ModelCheckpoint(str(folder / "m-{epoch:02d}-{nope}.safetensors"), monitor="loss",
                           save_best_only=False)
    h = pn.fit(mlp(), X, y, epochs=2, verbose=0, callbacks=[ckpt])
    assert len(h) == 2
    assert sorted(p.name for p in folder.iterdir()) == ["m-01-{nope}.safetensors",
                                                         "m-02-{nope}.safetensors"]


def test_model_summary_lists_layers_output_shapes_and_parameter_counts(capsys):
    model = pn.nn.Sequential(pn.nn.Linear(784, 128), pn.nn.ReLU(), pn.nn.Linear(128, 10))
    model.summary()
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split() == ["0", "(Linear)", "(-1,", "128)", "100,480"]
    assert lines[4].split() == ["2", "(Linear)", "(-1,", "10)", "1,290"]
    assert "Total params: 101,770" in lines and "Trainable params: 101,770" in lines
    model[0].requires_grad_(False)
    text = pn.nn.summary.summary(model, input_shape=(784,))
    assert "Non-trainable params: 100,480" in text
