"""Diagnostics: forward hooks, per-layer statistics, the report's rules, the fit callback, the
backward-pass checker and the pictures."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn
from plainnet.diagnostics import stats


def _tanh_net(gain: float, depth: int = 5, width: int = 64, seed: int = 0):
    pn.seed(seed)
    layers = []
    for i in range(depth):
        lin = pn.nn.Linear(width if i else 10, width)
        fan_in = lin.in_features
        lin.weight.data[...] = np.random.default_rng(seed + i).normal(
            0, gain / np.sqrt(fan_in), lin.weight.shape
        )
        layers += [lin, pn.nn.Tanh()]
    layers.append(pn.nn.Linear(width, 3))
    return pn.nn.Sequential(*layers)


def _train(model, steps=3, lr=0.01, every=1):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(128, model[0].in_features))
    y = rng.integers(0, 3, 128)
    opt = pn.optim.SGD(model.parameters(), lr=lr)
    with pn.diagnostics.watch(model, optimizer=opt, every=every) as w:
        for _ in range(steps):
            loss = pn.losses.cross_entropy(model(X), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return w


# --------------------------------------------------------------------------- forward hooks
def test_forward_hook_sees_inputs_and_output_and_can_replace_it():
    lin = pn.nn.Linear(2, 2)
    seen = []

    def hook(module, inputs, out):
        seen.append((module, inputs[0].shape, out.shape))
        return out * 0.0

    handle = lin.register_forward_hook(hook)
    out = lin(np.ones((4, 2)))
    assert seen == [(lin, (4, 2), (4, 2))]
    assert np.all(out.data == 0)
    handle.remove()
    assert np.any(lin(np.ones((4, 2))).data != 0)
    assert len(seen) == 1


def test_forward_hook_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        pn.nn.ReLU().register_forward_hook(3)


def test_hooked_relu_is_not_fused_and_gives_the_same_values():
    pn.seed(0)
    model = pn.nn.Sequential(pn.nn.Linear(3, 5), pn.nn.ReLU(), pn.nn.Linear(5, 1))
    X = np.random.default_rng(0).normal(size=(8, 3))
    fused = model(X).data
    calls = []
    with model[1].register_forward_hook(lambda m, i, o: calls.append(o.shape)):
        unfused = model(X).data
    assert calls == [(8, 5)]
    np.testing.assert_array_equal(fused, unfused)


# --------------------------------------------------------------------------- statistics
def test_saturated_fraction_by_definition():
    y = np.array([[0.99, -0.98, 0.5, 0.0]])
    assert stats.saturated_fraction(y, "tanh") == 0.5
    s = np.array([0.01, 0.98, 0.5, 0.2])
    assert stats.saturated_fraction(s, "sigmoid") == 0.5
    assert stats.saturated_fraction(y, "relu") == 0.0


def test_dead_fraction_counts_units_never_positive_over_the_batch():
    y = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [-1.0, 0.0, 0.0, 0.0]])
    assert stats.dead_fraction(y) == 0.5


def test_update_ratio_by_definition():
    old = np.array([1.0, 2.0, 3.0, 4.0])
    new = old + np.array([0.1, -0.1, 0.1, -0.1])
    assert stats.update_ratio(old, new) == pytest.approx(0.1 / np.std(old))
    assert stats.update_ratio(np.ones(3), np.ones(3)) == 0.0


# --------------------------------------------------------------------------- watch
def test_watch_records_exact_activation_statistics_of_each_layer():
    model = _tanh_net(gain=1.0, depth=2, width=8)
    X = np.random.default_rng(2).normal(size=(16, 10))
    with pn.diagnostics.watch(model) as w:
        model(X)
    h = np.tanh(X @ model[0].weight.data.T.astype(np.float64) + model[0].bias.data)
    rec = w.layers["1"]
    assert rec.kind == "tanh"
    assert rec.mean[0] == pytest.approx(h.mean(), rel=1e-5)
    assert rec.std[0] == pytest.approx(h.std(), rel=1e-5)
    assert rec.saturated[0] == pytest.approx(np.mean(np.abs(h) > 0.97), abs=1 / h.size)


def test_watch_captures_the_gradient_reaching_each_output():
    pn.seed(3)
    model = pn.nn.Sequential(pn.nn.Linear(4, 6), pn.nn.Tanh(), pn.nn.Linear(6, 2))
    X = np.random.default_rng(3).normal(size=(10, 4))
    with pn.diagnostics.watch(model) as w:
        out = model(X)
        (out * out).sum().backward()
    expected = 2 * out.data  # d/dy of sum(y^2)
    rec = w.layers["2"]
    assert rec.grad_std[0] == pytest.approx(float(np.std(expected)), rel=1e-5)
    assert rec.grad_mean[0] == pytest.approx(float(np.mean(expected)), rel=1e-4, abs=1e-7)


def test_update_ratio_of_sgd_is_lr_times_gradient_over_weights():
    model = _tanh_net(gain=1.0, depth=1, width=8)
    before = model[0].weight.data.astype(np.float64).copy()
    w = _train(model, steps=1, lr=0.05)
    rec = w.parameters["0.weight"]
    g = np.array(rec.grad_std)
    assert rec.update_ratio[0] == pytest.approx(0.05 * g[0] / before.std(), rel=1e-4)


def test_every_records_one_step_in_every():
    w = _train(_tanh_net(gain=1.0, depth=1, width=8), steps=6, every=3)
    assert w.parameters["0.weight"].steps == [0, 3]
    assert w.layers["1"].steps == [0, 3]


def test_closed_watch_records_nothing_more():
    model = _tanh_net(gain=1.0, depth=1, width=8)
    w = _train(model, steps=1)
    n = len(w.layers["1"].mean)
    model(np.zeros((2, 10)))
    assert len(w.layers["1"].mean) == n
    assert all(not m._forward_hooks for m in model.modules())


def test_watch_refuses_bad_arguments():
    with pytest.raises(TypeError, match="Module"):
        pn.diagnostics.watch(lambda x: x)
    with pytest.raises(ValueError, match="every"):
        pn.diagnostics.watch(pn.nn.Linear(2, 2), every=0)


# --------------------------------------------------------------------------- report
def test_report_finds_saturated_tanh_layers_and_not_after_the_fix():
    bad = pn.diagnostics.report(_train(_tanh_net(gain=5.0)))
    saturated = [f for f in bad if f.problem == "saturated"]
    assert len(saturated) >= 3
    assert "Tanh" in str(saturated[0]) and "smaller" in str(saturated[0])
    good = pn.diagnostics.report(_train(_tanh_net(gain=5 / 3 / 2)))
    assert not [f for f in good if f.problem == "saturated"]


def test_report_finds_dead_relus_by_their_fraction():
    pn.seed(0)
    model = pn.nn.Sequential(pn.nn.Linear(10, 20), pn.nn.ReLU(), pn.nn.Linear(20, 3))
    model[0].bias.data[:8] = -100.0  # 8 of 20 units can never be positive
    findings = pn.diagnostics.report(_train(model))
    dead = [f for f in findings if f.problem == "dead"]
    assert len(dead) == 1 and dead[0].value == pytest.approx(0.4)
    assert "LeakyReLU" in dead[0].message


def test_report_flags_a_learning_rate_too_large_and_too_small():
    high = pn.diagnostics.report(_train(_tanh_net(gain=1.0, depth=2), lr=5.0))
    assert any(f.problem == "update too large" for f in high)
    low = pn.diagnostics.report(_train(_tanh_net(gain=1.0, depth=2), lr=1e-7))
    assert any(f.problem == "update too small" for f in low)


def test_report_flags_vanishing_gradients_in_a_deep_sigmoid_net():
    pn.seed(0)
    layers = []
    for i in range(8):
        layers += [pn.nn.Linear(32 if i else 10, 32), pn.nn.Sigmoid()]
    model = pn.nn.Sequential(*layers, pn.nn.Linear(32, 3))
    findings = pn.diagnostics.report(_train(model))
    assert any(f.problem == "vanishing gradient" and f.name == "1" for f in findings)


def test_report_prints_a_healthy_message(capsys):
    w = _train(_tanh_net(gain=1.0, depth=1, width=8), lr=0.003)
    findings = pn.diagnostics.report(w, print_report=True)
    out = capsys.readouterr().out
    if findings:
        assert str(findings[0]) in out
    else:
        assert "No problems found" in out
    with pytest.raises(ValueError, match="window"):
        pn.diagnostics.report(w, window=0)
    with pytest.raises(TypeError, match="Watch"):
        pn.diagnostics.report(object())


# --------------------------------------------------------------------------- fit callback
def test_diagnostics_callback_records_during_fit():
    pn.seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10)).astype(np.float32)
    y = rng.integers(0, 3, 200)
    model = pn.nn.Sequential(pn.nn.Linear(10, 16), pn.nn.Tanh(), pn.nn.Linear(16, 3))
    diag = pn.callbacks.Diagnostics(every=2)
    pn.fit(model, X, y, loss="cross_entropy", epochs=2, batch_size=50, callbacks=[diag],
           verbose=0)
    w = diag.watch
    assert w.step == 8  # 4 batches an epoch, 2 epochs
    assert w.parameters["0.weight"].steps == [0, 2, 4, 6]
    assert len(w.layers["1"].grad_std) == 4
    assert all(not m._forward_hooks for m in model.modules())
    assert isinstance(diag.report(), list)


# --------------------------------------------------------------------------- check_backward
def _neuron_forward(X, y, w, b):
    a = pn.sigmoid(X @ w + b)
    loss = -(y * pn.log(a) + (1 - y) * pn.log(1 - a)).mean()
    return {"a": a, "loss": loss}


def test_check_backward_accepts_the_notes_sigmoid_neuron_gradient(capsys):
    rng = np.random.default_rng(0)
    inputs = {"X": rng.normal(size=(20, 3)), "y": rng.integers(0, 2, 20), "w": rng.normal(
        size=3), "b": np.array(0.1)}

    def backward(X, y, w, b, a, loss):
        dz = (a - y) / len(y)  # the notes' sigmoid' = s(1 - s) cancels the log-loss's
        return {"dw": X.T @ dz, "db": dz.sum()}

    result = pn.check_backward(_neuron_forward, backward, inputs)
    assert result.ok
    assert result["w"].status in ("exact", "close") and result["w"].max_difference < 1e-12
    assert result["X"].status == "not given"
    assert "w" in capsys.readouterr().out


def test_check_backward_finds_a_wrong_gradient_and_a_wrong_shape():
    rng = np.random.default_rng(1)
    inputs = {"X": rng.normal(size=(20, 3)), "y": rng.integers(0, 2, 20), "w": rng.normal(
        size=3), "b": np.array(0.1)}

    def backward(X, y, w, b, a, loss):
        dz = (a - y)  # forgot the mean's 1/n
        return {"dw": X.T @ dz, "db": np.array([dz.sum()])}

    result = pn.check_backward(_neuron_forward, backward, inputs, print_table=False)
    assert not result.ok
    assert result["w"].status == "wrong" and result["w"].max_difference > 0
    assert result["b"].status == "wrong"


def test_check_backward_refuses_unknown_names_and_a_broken_chain():
    with pytest.raises(ValueError, match="unknown names"):
        pn.check_backward(lambda x: (x * x).sum(), lambda x, loss: {"dq": x},
                          {"x": np.ones(2)}, print_table=False)
    with pytest.raises(ValueError, match="does not depend"):
        pn.check_backward(lambda x: pn.tensor(float((x * x).sum().item())),
                          lambda x, loss: {}, {"x": np.ones(2)}, print_table=False)


# --------------------------------------------------------------------------- pictures
def test_pictures_draw_one_curve_per_layer():
    pytest.importorskip("matplotlib")
    w = _train(_tanh_net(gain=1.0, depth=3, width=16))
    fig = pn.plot.activation_histograms(w)
    assert len(fig.axes[0].lines) == 3
    fig = pn.plot.gradient_histograms(w)
    assert len(fig.axes[0].lines) == 3
    fig = pn.plot.update_ratios(w)
    assert len(fig.axes[0].lines) == 4 + 1  # 4 weight matrices and the dashed 1e-3 line


def test_pictures_refuse_an_empty_watch():
    pytest.importorskip("matplotlib")
    w = pn.diagnostics.watch(_tanh_net(gain=1.0, depth=1, width=4))
    with pytest.raises(ValueError, match="nothing recorded"):
        pn.plot.activation_histograms(w)
    with pytest.raises(ValueError, match="no update"):
        pn.plot.update_ratios(w)
    with pytest.raises(TypeError, match="Watch"):
        pn.plot.update_ratios(3)
