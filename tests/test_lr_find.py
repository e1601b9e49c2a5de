"""pn.lr_find: the range test's schedule, stopping rule, suggestion, restoration and picture."""

from __future__ import annotations

import numpy as np
import pytest

import plainnet as pn


def _data(n=512, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def _model():
    pn.seed(0)
    return pn.nn.Sequential(pn.nn.Linear(8, 16), pn.nn.ReLU(), pn.nn.Linear(16, 2))


def test_rates_grow_geometrically_and_the_loss_is_smoothed_with_bias_correction():
    X, y = _data()
    result = pn.lr_find(_model(), X, y, start_lr=1e-5, end_lr=1.0, num_iter=20,
                        diverge=1e9, seed=0)
    assert result.stop_reason == "end" and len(result.lrs) == 20
    np.testing.assert_allclose(result.lrs, 1e-5 * (1e5 ** (np.arange(20) / 19)), rtol=1e-12)
    beta, avg = 0.98, 0.0
    for i, raw in enumerate(result.raw_losses):
        avg = beta * avg + (1 - beta) * raw
        assert result.losses[i] == pytest.approx(avg / (1 - beta ** (i + 1)), rel=1e-12)


def test_stops_when_the_loss_diverges_and_suggests_a_rate_before_it():
    X, y = _data()
    result = pn.lr_find(_model(), X, y, optimizer="sgd", start_lr=1e-4, end_lr=1e4,
                        num_iter=200, seed=0)
    assert result.stop_reason in ("diverged", "not finite")
    assert len(result.lrs) < 200
    assert 1e-4 < result.suggestion < result.lrs[-1]
    assert result.minimum <= result.lrs[-1]


def test_the_suggested_rate_trains_well():
    X, y = _data()
    result = pn.lr_find(_model(), X, y, optimizer="sgd", start_lr=1e-4, end_lr=100,
                        num_iter=100, seed=0)
    model = _model()
    pn.fit(model, X, y, optimizer="sgd", lr=result.suggestion, epochs=5, verbose=0, seed=0)
    assert np.mean(model.predict(X).argmax(1) == y) > 0.9


def test_weights_and_optimizer_state_are_put_back():
    X, y = _data()
    model = _model()
    opt = pn.optim.Adam(model.parameters(), lr=1e-3)
    pn.fit(model, X, y, optimizer=opt, epochs=1, verbose=0)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    opt_before = opt.state_dict()
    model.eval()
    pn.lr_find(model, X, y, optimizer=opt, num_iter=30)
    assert not model.training
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert opt.param_groups[0]["lr"] == 1e-3
    after = opt.state_dict()
    assert after["state"].keys() == opt_before["state"].keys()
    for k in after["state"]:
        for name, value in after["state"][k].items():
            np.testing.assert_array_equal(value, opt_before["state"][k][name])


def test_takes_an_iterable_of_batches():
    X, y = _data()
    batches = [(X[i:i + 64], y[i:i + 64]) for i in range(0, len(X), 64)]
    result = pn.lr_find(_model(), batches, num_iter=20, end_lr=1.0)
    assert len(result.lrs) == 20  # the 8 batches cycled


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"start_lr": 1.0, "end_lr": 0.1}, "start_lr < end_lr"),
     ({"num_iter": 2}, "num_iter"),
     ({"smooth": 1.0}, "smooth"),
     ({"diverge": 0.5}, "diverge")],
)
def test_bad_arguments(kwargs, match):
    X, y = _data(64)
    with pytest.raises(ValueError, match=match):
        pn.lr_find(_model(), X, y, **kwargs)


def test_picture_marks_the_suggestion():
    pytest.importorskip("matplotlib")
    X, y = _data()
    result = pn.lr_find(_model(), X, y, num_iter=30)
    fig = pn.plot.lr_find(result)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert any(f"{result.steepest:.1e}" in t.get_text() for t in ax.get_legend().get_texts())
    with pytest.raises(TypeError, match="pn.lr_find"):
        pn.plot.lr_find({"lrs": []})
