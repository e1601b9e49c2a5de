"""plainnet's MLPs as scikit-learn's: the same fitted attributes, the same algorithm step for
step (from the same starting weights), the solvers, multilabel targets, divergence, and a
cheap parity check of held-out scores over seeds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import (
    load_diabetes,
    load_iris,
    make_blobs,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from plainnet.estimators import MLPClassifier, MLPRegressor
from plainnet.estimators.stopping import DIVERGED_FACTOR, diverged


@pytest.fixture(autouse=True)
def _one_thread_no_convergence_noise():
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=150, centers=3, n_features=4, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=5, n_targets=2, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), (y - y.mean(0)) / y.std(0)


@pytest.fixture(scope="module")
def multilabel():
    X, Y = make_multilabel_classification(n_samples=200, n_features=6, n_classes=3,
                                          random_state=0)
    return StandardScaler().fit_transform(X), Y


def sklearn_start(ours, theirs, X, y, **params):
    """Fit ``ours`` (a plainnet estimator) from the very weights ``theirs`` (scikit-learn's)
    starts from: scikit-learn draws each layer's weights, then biases, from
    ``RandomState(random_state)``; we build the network with one epoch, overwrite its
    weights with those draws, and continue with ``warm_start`` and a fresh optimizer."""
    ours.set_params(max_iter=1).fit(X, y)
    rng = np.random.RandomState(theirs.random_state)
    factor = 2.0 if theirs.activation == "logistic" else 6.0
    for layer in (m for m in ours.model_.modules() if type(m).__name__ == "Linear"):
        bound = np.sqrt(factor / (layer.in_features + layer.out_features))
        layer.weight.data[...] = rng.uniform(-bound, bound,
                                             (layer.in_features, layer.out_features)).T
        layer.bias.data[...] = rng.uniform(-bound, bound, layer.out_features)
    ours._optimizer, ours._stopping, ours.loss_curve_, ours.t_ = None, None, [], 0
    ours.best_loss_ = np.inf
    ours.set_params(warm_start=True, **params).fit(X, y)
    theirs.set_params(**params).fit(X, y)
    return ours, theirs


# ------------------------------------------------------------------ the same algorithm
@pytest.mark.parametrize("solver_params", [
    dict(solver="adam"),
    dict(solver="sgd", learning_rate_init=0.01),
    dict(solver="sgd", learning_rate_init=0.01, nesterovs_momentum=False, momentum=0.5),
    dict(solver="sgd", learning_rate_init=0.05, learning_rate="invscaling", power_t=0.3),
    dict(solver="sgd", learning_rate_init=0.01, learning_rate="adaptive", tol=1e-2,
         n_iter_no_change=2),
])
def test_classifier_takes_sklearns_steps(blobs, solver_params):
    X, y = blobs
    kw = dict(hidden_layer_sizes=(8,), shuffle=False, batch_size=32, random_state=0)
    ours, theirs = sklearn_start(MLPClassifier(**kw), SkClassifier(**kw), X, y,
                                 max_iter=40, **solver_params)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-6)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_,
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_regressor_takes_sklearns_steps_with_its_loss_and_penalty(regression):
    X, y = regression
    kw = dict(hidden_layer_sizes=(6,), activation="tanh", alpha=0.5, shuffle=False,
              random_state=1)
    ours, theirs = sklearn_start(MLPRegressor(**kw), SkRegressor(**kw), X, y[:, 0],
                                 max_iter=30, learning_rate_init=0.01)
    # half the squared error plus alpha/(2n) |W|^2: the very loss scikit-learn reports
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-4, atol=1e-5)


def test_multilabel_takes_sklearns_steps(multilabel):
    X, Y = multilabel
    kw = dict(hidden_layer_sizes=(5,), activation="logistic", shuffle=False, random_state=2)
    ours, theirs = sklearn_start(MLPClassifier(**kw), SkClassifier(**kw), X, Y,
                                 max_iter=20, learning_rate_init=0.01)
    # the binary log loss summed over the labels, as scikit-learn's
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-4)


def test_early_stopping_follows_sklearns_rule_and_restores_the_best(blobs):
    X, y = blobs
    clf = MLPClassifier((8,), early_stopping=True, n_iter_no_change=4, tol=0.01,
                        learning_rate_init=0.02, max_iter=300, random_state=0).fit(X, y)
    scores = clf.validation_scores_
    assert clf.stop_reason_ == "early_stopping" and clf.converged_
    assert clf.best_validation_score_ == max(scores) and clf.best_loss_ is None
    # scikit-learn's count: an epoch not above the best so far by tol counts, any other
    # resets it; any higher score becomes the best. It stops when the count passes 4.
    best, count, counts = -np.inf, 0, []
    for score in scores:
        count = count + 1 if score < best + 0.01 else 0
        best = max(best, score)
        counts.append(count)
    assert counts[-1] == 5 and max(counts[:-1]) <= 4
    # the weights put back are those saved at the best epoch, not the last epoch's
    saved = clf._stopping.best_weights
    last = MLPClassifier((8,), early_stopping=True, n_iter_no_change=4, tol=0.01,
                         learning_rate_init=0.02, max_iter=len(scores), random_state=0)
    last.fit(X, y)  # the same run, cut at the same epoch: it ends on the best weights too
    for name, value in clf.model_.state_dict().items():
        np.testing.assert_array_equal(value, saved[name])
        np.testing.assert_array_equal(value, last.model_.state_dict()[name])


# ------------------------------------------------------------------ fitted attributes
@pytest.mark.parametrize("make", ["binary", "multiclass", "multilabel", "regressor"])
def test_attributes_have_sklearns_shapes_and_meaning(make, blobs, regression, multilabel):
    if make == "regressor":
        X, y = regression
        kw = dict(hidden_layer_sizes=(7, 5), max_iter=15, random_state=0)
        ours, theirs = MLPRegressor(**kw).fit(X, y), SkRegressor(**kw).fit(X, y)
    else:
        X, y = multilabel if make == "multilabel" else blobs
        if make == "binary":
            y = (y == 0).astype(int)
        kw = dict(hidden_layer_sizes=(7, 5), max_iter=15, random_state=0)
        ours, theirs = MLPClassifier(**kw).fit(X, y), SkClassifier(**kw).fit(X, y)
        np.testing.assert_array_equal(ours.classes_, theirs.classes_)
        assert ours.predict_proba(X).shape == theirs.predict_proba(X).shape
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    for name in ("n_layers_", "n_outputs_", "out_activation_", "n_iter_", "t_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert len(ours.loss_curve_) == len(theirs.loss_curve_) == 15
    assert ours.loss_ == ours.loss_curve_[-1] and ours.best_loss_ == min(ours.loss_curve_)
    assert ours.validation_scores_ is None and ours.best_validation_score_ is None
    assert ours.predict(X).shape == theirs.predict(X).shape
    # coefs_ are copies in scikit-learn's layout: x @ W + b, layer after layer
    first = ours.coefs_[0]
    np.testing.assert_array_equal(first, ours.model_[0].weight.data.T)
    first += 1.0
    assert not np.array_equal(first, ours.coefs_[0])


def test_attributes_with_early_stopping_and_partial_fit(blobs):
    X, y = blobs
    clf = MLPClassifier((8,), early_stopping=True, max_iter=30, random_state=0).fit(X, y)
    ref = SkClassifier((8,), early_stopping=True, max_iter=30, random_state=0).fit(X, y)
    assert clf.best_loss_ is None is ref.best_loss_
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.t_ == ref.t_ == clf.n_iter_ * 135  # 150 samples, 15 held out
    inc = MLPClassifier((8,), random_state=0)
    for _ in range(3):
        inc.partial_fit(X, y, classes=[0, 1, 2])
    assert (inc.n_iter_, inc.t_, len(inc.loss_curve_)) == (1, 450, 3)


# ------------------------------------------------------------------ lbfgs
def test_lbfgs_fits_small_problems_like_sklearns():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    kw = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=300, random_state=0)
    ours, theirs = MLPClassifier(**kw).fit(X, y), SkClassifier(**kw).fit(X, y)
    assert ours.score(X, y) >= theirs.score(X, y) - 0.02
    assert ours.t_ == 0 and 0 < ours.n_iter_ <= 300
    assert ours.loss_ == pytest.approx(min(ours.loss_curve_))
    # the loss is the full-data objective at the final weights
    Xr, yr = make_regression(n_samples=80, n_features=3, noise=1.0, random_state=0)
    yr = (yr - yr.mean()) / yr.std()
    reg = MLPRegressor((8,), solver="lbfgs", alpha=0.0, tol=1e-8, max_iter=500,
                       random_state=0).fit(Xr, yr)
    assert reg.loss_ == pytest.approx(0.5 * np.mean((reg.predict(Xr) - yr) ** 2), rel=1e-6)
    assert reg.score(Xr, yr) > 0.99


def test_lbfgs_max_fun_and_max_iter_bound_the_run(blobs):
    X, y = blobs
    with pytest.warns(ConvergenceWarning, match="lbfgs"):
        clf = MLPClassifier((8,), solver="lbfgs", max_fun=5, random_state=0).fit(X, y)
    assert clf.stop_reason_ == "max_iter" and not clf.converged_
    assert clf.n_iter_ <= 5
    with pytest.warns(ConvergenceWarning):
        clf = MLPClassifier((8,), solver="lbfgs", max_iter=3, random_state=0).fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    assert clf.loss_curve_[0] > clf.loss_curve_[-1]


def test_lbfgs_refuses_partial_fit_and_dropout(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="partial_fit needs a stochastic solver"):
        MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="dropout=0"):
        MLPClassifier(solver="lbfgs", dropout=0.2).fit(X, y)


# ------------------------------------------------------------------ sgd schedules
def test_invscaling_sets_the_rate_from_the_samples_seen(blobs):
    X, y = blobs
    clf = MLPClassifier((8,), solver="sgd", learning_rate="invscaling", power_t=0.25,
                        learning_rate_init=0.1, max_iter=7, random_state=0).fit(X, y)
    assert clf.t_ == 7 * 150
    assert clf._optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / (clf.t_ + 1) ** 0.25)


def test_adaptive_divides_the_rate_by_five_until_it_is_tiny(blobs):
    X, y = blobs
    clf = MLPClassifier((8,), solver="sgd", learning_rate="adaptive", tol=10.0,
                        n_iter_no_change=1, learning_rate_init=0.01, max_iter=500,
                        random_state=0).fit(X, y)
    # 0.01 / 5^k <= 1e-6 first at k = 6. The first epoch improves on nothing; after it,
    # every n_iter_no_change + 1 = 2 epochs the criterion fires: 6 divisions, then the stop
    lr = clf._optimizer.param_groups[0]["lr"]
    assert lr == pytest.approx(0.01 / 5**6) and lr <= 1e-6
    assert clf.stop_reason_ == "tol" and clf.n_iter_ == 1 + 7 * 2


@pytest.mark.parametrize("params, match", [
    ({"learning_rate": "optimal"}, "learning_rate must be one of"),
    ({"momentum": 1.5}, r"momentum must be a number in \[0, 1\]"),
    ({"beta_2": 1.0}, r"beta_2 must be a number in \[0, 1\)"),
    ({"max_fun": 0}, "max_fun"),
    ({"power_t": -1.0}, "power_t"),
])
def test_bad_solver_parameters_are_named(blobs, params, match):
    X, y = blobs
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit(X, y)


# ------------------------------------------------------------------ multilabel
def test_multilabel_predicts_the_indicator_matrix(multilabel):
    X, Y = multilabel
    clf = MLPClassifier((16,), learning_rate_init=0.01, max_iter=200, random_state=0).fit(X, Y)
    ref = SkClassifier((16,), learning_rate_init=0.01, max_iter=200, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    pred, proba = clf.predict(X), clf.predict_proba(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    assert proba.shape == Y.shape and np.all((proba > 0) & (proba < 1))
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert clf.score(X, Y) >= ref.score(X, Y) - 0.05  # subset accuracy
    es = MLPClassifier((16,), early_stopping=True, random_state=0).fit(X, Y)
    assert len(es.validation_scores_) == es.n_iter_


def test_multilabel_mistakes_are_named(multilabel):
    X, Y = multilabel
    with pytest.raises(ValueError, match="multilabel indicator matrix"):
        MLPClassifier(max_iter=2).fit(X, Y * 2)
    clf = MLPClassifier(max_iter=2, warm_start=True).fit(X, Y)
    with pytest.raises(ValueError, match="one label per row"):
        clf.fit(X, Y[:, 0])


# ------------------------------------------------------------------ divergence
def test_an_exploding_loss_is_not_convergence():
    X, y = load_iris(return_X_y=True)
    with pytest.warns(RuntimeWarning, match="diverged"):
        clf = MLPClassifier(learning_rate_init=1e6, random_state=0).fit(X, y)
    assert not clf.converged_ and clf.stop_reason_ == "diverged"
    assert clf.loss_curve_[-1] > DIVERGED_FACTOR * clf.loss_curve_[0] or not np.isfinite(
        clf.loss_curve_[-1])


def test_a_finite_loss_that_climbs_tenfold_is_divergence_not_convergence(blobs):
    import plainnet as pn

    X, y = blobs
    calls = []

    def climbing(output, target, sample_weight=None):  # the log loss plus 2^step
        calls.append(1)
        return pn.losses.cross_entropy(output, target) + 2.0 ** len(calls)

    with pytest.warns(RuntimeWarning, match="diverged: the training loss rose"):
        clf = MLPClassifier((4,), loss=climbing, batch_size=150, random_state=0).fit(X, y)
    # the loss criterion fired (no epoch improved), but the loss ended 10x above the first
    assert clf.stop_reason_ == "diverged" and not clf.converged_
    assert clf.n_iter_ == 12 and clf.loss_curve_[-1] > DIVERGED_FACTOR * clf.loss_curve_[0]


def test_divergence_is_judged_on_comparable_losses():
    from plainnet.estimators import NetworkEstimator
    from plainnet.estimators.stopping import Stopping

    stopper = Stopping(tol=1e-4, n_iter_no_change=2)
    # fit: the call's epochs saw the same data
    assert NetworkEstimator._explosion([1.0, 0.5, 20.0], stopper, False) == (
        1.0, 20.0, "first epoch")
    assert NetworkEstimator._explosion([1.0, 0.5, 9.0], stopper, False) is None
    # partial_fit: a later chunk may simply be harder; only a claim of convergence counts
    stopper.best_loss = 0.01
    assert NetworkEstimator._explosion([0.5], stopper, True) is None
    stopper.fired = True
    assert NetworkEstimator._explosion([0.5], stopper, True) == (0.01, 0.5, "best epoch")


def test_divergence_rule():
    assert diverged([1.44, 2.0, 1.9e12])
    assert diverged([1.0, float("nan")])
    assert not diverged([1.0, 0.5, 0.7, 5.0])
    assert not diverged([])


# ------------------------------------------------------------------ parity
def test_mean_score_over_seeds_is_not_below_sklearns():
    """The issue's case: diabetes, standardized, (32,), early stopping, 5 seeds (each its own
    split and random_state)."""
    X, y = load_diabetes(return_X_y=True)
    ours, theirs = [], []
    for seed in range(5):
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed)
        scaler = StandardScaler().fit(X_tr)
        X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
        mean, std = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mean) / std, (y_te - mean) / std
        kw = dict(hidden_layer_sizes=(32,), early_stopping=True, random_state=seed)
        ours.append(MLPRegressor(**kw).fit(X_tr, y_tr).score(X_te, y_te))
        theirs.append(SkRegressor(**kw).fit(X_tr, y_tr).score(X_te, y_te))
    assert np.mean(ours) >= np.mean(theirs) - 0.02, (ours, theirs)


# ------------------------------------------------------------------ after a file
def test_a_loaded_estimator_keeps_its_attributes_and_trains_on(tmp_path, multilabel):
    X, Y = multilabel
    clf = MLPClassifier((6,), solver="sgd", learning_rate_init=0.05, max_iter=5,
                        random_state=0).fit(X, Y)
    clf.save(tmp_path / "clf.safetensors")
    back = MLPClassifier.load(tmp_path / "clf.safetensors")
    for name in ("n_layers_", "n_outputs_", "out_activation_", "n_iter_", "t_", "loss_"):
        assert getattr(back, name) == getattr(clf, name), name
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    for a, b in zip(back.coefs_, clf.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    back.partial_fit(X, Y)  # a fresh optimizer and stopping record, the same network
    assert back.n_iter_ == 1 and back.t_ == clf.t_ + len(X)
    assert len(back.loss_curve_) == len(clf.loss_curve_) + 1


def test_fitted_estimators_pickle_after_early_stopping_and_partial_fit(blobs):
    import pickle

    X, y = blobs
    clf = MLPClassifier((6,), early_stopping=True, max_iter=5, random_state=0).fit(X, y)
    inc = MLPClassifier((6,), early_stopping=True, solver="sgd", learning_rate="adaptive",
                        random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    for est in (clf, inc):
        back = pickle.loads(pickle.dumps(est))
        np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
        assert back.validation_scores_ == est.validation_scores_
    back.partial_fit(X, y)  # the stopping record and optimizer came along
    assert len(back.validation_scores_) == 2 and back.t_ == 2 * 135
