"""plainnet.estimators: fitted attributes, stopping, warnings, dtypes, partial_fit, warm start,
saving, reproducibility, and agreement with scikit-learn's logistic regression."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.datasets import make_blobs, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight
from threadpoolctl import threadpool_limits

import plainnet as pn
from plainnet.estimators import STOP_REASONS, MLPClassifier, MLPRegressor, NeuronClassifier
from plainnet.estimators.network import build_network
from plainnet.estimators.objective import gradient_norm, penalized


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=150, centers=3, n_features=4, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    return X, (y - y.mean()) / y.std()


def quiet(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


# -------------------------------------------------------------------------- attributes
def test_fitted_attributes(blobs):
    X, y = blobs
    clf = quiet(MLPClassifier((8,), max_iter=30, learning_rate_init=0.01, random_state=0), X, y)
    assert clf.classes_.tolist() == [0, 1, 2]
    assert clf.n_features_in_ == 4 and clf.n_outputs_ == 3
    assert isinstance(clf.model_, pn.nn.Module)
    assert len(clf.loss_curve_) == clf.n_iter_ == 30
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None
    assert clf.stop_reason_ in STOP_REASONS
    assert clf.converged_ == (clf.stop_reason_ in ("tol", "early_stopping"))
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert clf.score(X, y) > 0.9


def test_string_labels_and_binary_output(blobs):
    X, y = blobs
    mask = y < 2
    labels = np.where(y[mask] == 0, "cat", "dog")
    clf = quiet(MLPClassifier((8,), learning_rate_init=0.01, max_iter=50, random_state=0),
                X[mask], labels)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert set(clf.predict(X[mask])) <= {"cat", "dog"}
    assert clf.score(X[mask], labels) > 0.95
    np.testing.assert_allclose(clf.predict_log_proba(X[mask]), np.log(clf.predict_proba(X[mask])))


def test_regressor_outputs(regression):
    X, y = regression
    reg = quiet(MLPRegressor((16,), max_iter=100, learning_rate_init=0.01, random_state=0), X, y)
    assert reg.predict(X).shape == (120,)
    assert reg.score(X, y) > 0.9
    two = quiet(MLPRegressor((16,), max_iter=20, random_state=0), X, np.column_stack([y, -y]))
    assert two.predict(X).shape == (120, 2) and two.n_outputs_ == 2


# -------------------------------------------------------------------------- stopping
def test_convergence_warning_names_the_criterion(blobs):
    X, y = blobs
    with pytest.warns(ConvergenceWarning) as record:
        clf = MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    text = str(record[0].message)
    assert "max_iter=3" in text and "training loss" in text and "tol=0.0001" in text
    assert f"last training loss {clf.loss_curve_[-1]:.6g}" in text
    assert "gradient norm" in text
    assert clf.stop_reason_ == "max_iter" and not clf.converged_
    with pytest.warns(ConvergenceWarning, match="validation accuracy"):
        MLPClassifier((8,), max_iter=3, early_stopping=True, random_state=0).fit(X, y)


def test_tol_stops_when_the_loss_plateaus(blobs):
    X, y = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier((8,), max_iter=100, tol=10.0, n_iter_no_change=4,
                            random_state=0).fit(X, y)
    # no epoch beats the first by 10; the 5th such epoch is one more than n_iter_no_change
    assert clf.n_iter_ == 6
    assert clf.stop_reason_ == "tol" and clf.converged_


def test_early_stopping_keeps_the_best_epoch(blobs):
    X, y = blobs
    clf = quiet(MLPClassifier((8,), max_iter=200, early_stopping=True, n_iter_no_change=3,
                              random_state=0), X, y)
    assert clf.stop_reason_ == "early_stopping" and clf.converged_
    assert len(clf.validation_scores_) == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_regressor_early_stopping_scores_r2(regression):
    X, y = regression
    reg = quiet(MLPRegressor((8,), max_iter=300, early_stopping=True, learning_rate_init=0.01,
                             random_state=0), X, y)
    assert reg.validation_scores_[-1] <= 1.0
    assert max(reg.validation_scores_) > 0.8


def test_divergence_is_reported_and_weights_stay_finite(regression):
    X, y = regression
    reg = MLPRegressor((8,), solver="sgd", learning_rate_init=1e6, max_iter=50, random_state=0)
    with pytest.warns(RuntimeWarning, match="diverged"):
        reg.fit(X, y * 1e3)
    assert reg.stop_reason_ == "diverged" and not reg.converged_
    assert np.all(np.isfinite(reg.predict(X)))


def test_gradient_norm_matches_finite_differences():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(7, 3)), rng.integers(0, 3, 7)
    sw = rng.uniform(0.5, 2.0, 7)
    model = build_network(3, (4,), ("tanh",), (0.0,), 3, np.float64, rng)
    weights = [m.weight for m in model if isinstance(m, pn.nn.Linear)]
    objective = penalized(pn.losses.cross_entropy, weights, 0.3, "cross_entropy")
    params = model.parameters()
    sizes = [p.data.size for p in params]

    def J(theta):
        for p, part in zip(params, np.split(theta, np.cumsum(sizes)[:-1]), strict=True):
            p.data[...] = part.reshape(p.shape)
        return float(objective(model(X), y, sample_weight=sw).data)

    theta0 = np.concatenate([p.data.ravel() for p in params])
    expected = np.linalg.norm(pn.numerical_grad(J, theta0.copy()))
    J(theta0)
    got = gradient_norm(model, X, y, sw, pn.losses.cross_entropy, weights, 0.3, chunk=3)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


# -------------------------------------------------------------------------- dtypes, saving
def test_float32_trains_in_float32_and_float64_in_float64(blobs):
    X, y = blobs
    c32 = quiet(MLPClassifier((8,), max_iter=5, random_state=0), X.astype(np.float32), y)
    assert c32.model_.dtype == np.float32
    assert all(p.dtype == np.float32 for p in c32.model_.parameters())
    assert c32.predict_proba(X).dtype == np.float32
    c64 = quiet(MLPClassifier((8,), max_iter=5, random_state=0), X, y)
    assert c64.model_.dtype == np.float64
    cint = quiet(MLPClassifier((8,), max_iter=5, random_state=0), np.round(X * 3).astype(int), y)
    assert cint.model_.dtype == np.float64


def test_model_saves_and_loads(tmp_path, blobs):
    X, y = blobs
    clf = quiet(MLPClassifier((8, 4), activation=("tanh", "relu"), dropout=0.2, max_iter=5,
                              random_state=0), X, np.array(["a", "b", "c"])[y])
    pn.save(clf.model_, tmp_path / "net.safetensors")
    loaded = pn.load(tmp_path / "net.safetensors")
    np.testing.assert_array_equal(loaded.predict(X), clf.model_.predict(X))
    clf.save(tmp_path / "clf.safetensors")
    model, meta = pn.io.load_with_metadata(tmp_path / "clf.safetensors")
    assert meta["classes"] == ["a", "b", "c"] and meta["estimator"] == "MLPClassifier"
    labels = np.array(meta["classes"])[model.predict(X).argmax(axis=1)]
    np.testing.assert_array_equal(labels, clf.predict(X))


def test_dataframe_feature_names(tmp_path, blobs):
    pd = pytest.importorskip("pandas")
    X, y = blobs
    frame = pd.DataFrame(X, columns=["w", "x", "y", "z"])
    clf = quiet(NeuronClassifier(max_iter=5, random_state=0), frame, y)
    assert clf.feature_names_in_.tolist() == ["w", "x", "y", "z"]
    clf.save(tmp_path / "n.safetensors")
    assert pn.io.read_metadata(tmp_path / "n.safetensors")["metadata"]["feature_names"] == [
        "w", "x", "y", "z"]


# -------------------------------------------------------------------------- architecture
def test_activation_and_dropout_per_layer(blobs):
    X, y = blobs
    clf = quiet(MLPClassifier((8, 4), activation=("tanh", "logistic"), dropout=(0.5, 0.0),
                              max_iter=2, random_state=0), X, y)
    kinds = [type(m).__name__ for m in clf.model_]
    assert kinds == ["Linear", "Tanh", "Dropout", "Linear", "Sigmoid", "Linear"]
    with pytest.raises(ValueError, match="2 hidden layers"):
        MLPClassifier((8, 4), activation=("tanh",)).fit(X, y)


def test_random_state_fixes_everything_including_dropout(blobs):
    X, y = blobs
    kw = dict(hidden_layer_sizes=(16,), dropout=0.3, max_iter=5, early_stopping=True)
    a = quiet(MLPClassifier(random_state=1, **kw), X, y)
    b = quiet(MLPClassifier(random_state=1, **kw), X, y)
    c = quiet(MLPClassifier(random_state=2, **kw), X, y)
    assert a.loss_curve_ == b.loss_curve_
    assert a.loss_curve_ != c.loss_curve_
    kw["dropout"] = 0.0
    d = quiet(MLPClassifier(random_state=1, **kw), X, y)
    assert d.loss_curve_ != a.loss_curve_  # the masks took effect
    assert type(a.model_[2]) is pn.nn.Dropout  # the plain layer is back after training


def test_global_seed_applies_when_random_state_is_none(blobs):
    X, y = blobs
    pn.seed(5)
    a = quiet(MLPClassifier((8,), max_iter=3), X, y)
    pn.seed(5)
    b = quiet(MLPClassifier((8,), max_iter=3), X, y)
    assert a.loss_curve_ == b.loss_curve_


# -------------------------------------------------------------------------- weights, losses
def test_balanced_class_weight_equals_balanced_sample_weight(blobs):
    X, y = blobs
    keep = np.r_[np.flatnonzero(y == 0)[:10], np.flatnonzero(y > 0)]
    X, y = X[keep], y[keep]
    kw = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    a = quiet(MLPClassifier(class_weight="balanced", **kw), X, y)
    b = quiet(MLPClassifier(**kw), X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)


def test_callable_loss_matches_the_named_loss(blobs, regression):
    X, y = blobs
    kw = dict(hidden_layer_sizes=(8,), max_iter=4, random_state=0)
    a = quiet(MLPClassifier(loss=pn.losses.cross_entropy, **kw), X, y)
    b = quiet(MLPClassifier(loss="log_loss", **kw), X, y)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)
    Xr, yr = regression

    def squared(output, target):  # scikit-learn's squared error: half the mean square
        return ((output - target) ** 2).mean() * 0.5

    c = quiet(MLPRegressor(loss=squared, **kw), Xr, yr)
    d = quiet(MLPRegressor(loss="squared_error", **kw), Xr, yr)
    np.testing.assert_allclose(c.loss_curve_, d.loss_curve_, rtol=1e-10)


def test_neuron_is_logistic_regression():
    X, y = make_classification(n_samples=200, n_features=5, n_informative=3, n_redundant=0,
                               random_state=0)
    X = StandardScaler().fit_transform(X)
    # mean log loss + alpha/(2n) |w|^2 has the minimizer of C sum(log loss) + |w|^2/2, C = 1/alpha
    ref = LogisticRegression(C=0.5, tol=1e-10, max_iter=1000).fit(X, y)
    neuron = NeuronClassifier(solver="sgd", learning_rate_init=1.0, batch_size=200,
                              max_iter=2000, alpha=2.0, tol=0.0, random_state=0).fit(X, y)
    np.testing.assert_allclose(neuron.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(neuron.intercept_, ref.intercept_, atol=1e-6)
    np.testing.assert_allclose(neuron.decision_function(X), ref.decision_function(X), atol=1e-5)


def test_neuron_multiclass_is_one_vs_rest(blobs):
    X, y = blobs
    ref = OneVsRestClassifier(LogisticRegression(C=1.0, tol=1e-10, max_iter=1000)).fit(X, y)
    neuron = NeuronClassifier(solver="sgd", learning_rate_init=1.0, batch_size=150,
                              max_iter=3000, alpha=1.0, tol=0.0, random_state=0).fit(X, y)
    assert neuron.out_activation_ == "logistic_ovr" and neuron.coef_.shape == (3, 4)
    np.testing.assert_allclose(neuron.predict_proba(X), ref.predict_proba(X), atol=1e-4)


# -------------------------------------------------------------------------- incremental
def test_partial_fit_needs_classes_then_continues(blobs):
    X, y = blobs
    clf = MLPClassifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    for _ in range(4):
        clf.partial_fit(X, y)
    # as in scikit-learn: n_iter_ counts the last call's epochs, t_ every sample seen
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 5 and clf.t_ == 50 + 4 * 150
    assert clf.stop_reason_ in ("partial_fit", "tol")
    with pytest.raises(ValueError, match="not among the classes"):
        clf.partial_fit(X, y + 1)


def test_partial_fit_with_early_stopping_stops_and_keeps_the_best(blobs):
    X, y = blobs
    clf = MLPClassifier((8,), early_stopping=True, n_iter_no_change=2, tol=1.0,
                        learning_rate_init=0.05, batch_size=16, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    states = [clf.model_.state_dict()]
    for _ in range(2):
        clf.partial_fit(X, y)
        states.append(clf.model_.state_dict())
        assert clf.stop_reason_ == "partial_fit" and not clf.converged_
    clf.partial_fit(X, y)  # the third call in a row without an improvement of 1.0: stop
    assert clf.stop_reason_ == "early_stopping" and clf.converged_
    assert len(clf.validation_scores_) == 4
    # the weights of the best score (the first of equals) are put back, as in scikit-learn
    first_best = int(np.argmax(clf.validation_scores_))
    assert first_best < 3
    for name, value in clf.model_.state_dict().items():
        np.testing.assert_array_equal(value, states[first_best][name])
    seen = clf.t_
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 0 and clf.t_ == seen  # later calls learn nothing


def test_warm_start_continues_and_cold_start_repeats(regression):
    X, y = regression
    kw = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    warm = quiet(MLPRegressor(warm_start=True, **kw), X, y)
    first = list(warm.loss_curve_)
    quiet(warm, X, y)
    assert warm.n_iter_ == 5 and len(warm.loss_curve_) == 10 and warm.loss_curve_[:5] == first
    assert warm.loss_curve_[5] < first[0]
    cold = quiet(MLPRegressor(**kw), X, y)
    quiet(cold, X, y)
    assert cold.n_iter_ == 5 and cold.loss_curve_ == first


# -------------------------------------------------------------------------- probabilities
@pytest.fixture(scope="module")
def fitted(blobs):
    X, y = blobs
    return {
        "softmax": quiet(MLPClassifier((8,), max_iter=20, random_state=0), X, y),
        "logistic": quiet(MLPClassifier((8,), max_iter=20, random_state=0), X, y == 0),
        "logistic_ovr": quiet(NeuronClassifier(max_iter=20, random_state=0), X, y),
    }


@settings(max_examples=30, deadline=None)
@given(rows=arrays(np.float64, st.tuples(st.integers(1, 6), st.just(4)),
                   elements=st.floats(-1e6, 1e6)),
       kind=st.sampled_from(["softmax", "logistic", "logistic_ovr"]))
def test_probabilities_are_distributions_even_at_extreme_inputs(fitted, rows, kind):
    clf = fitted[kind]
    assert clf.out_activation_ == kind
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warnings
        proba = clf.predict_proba(rows)
        labels = clf.predict(rows)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(labels, clf.classes_[proba.argmax(axis=1)])


def test_one_vs_rest_probabilities_survive_underflowing_sigmoids(blobs):
    X, y = blobs
    clf = quiet(NeuronClassifier(max_iter=2, random_state=0), X, y)
    clf.model_[-1].bias.data[...] = [-1e4, -1e4 + 1.0, -1e4]  # every sigmoid underflows to 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = clf.predict_proba(X[:3])
    z = clf.decision_function(X[:3])
    expected = np.exp(z - z.max(axis=1, keepdims=True))  # sigma(z) = e^z (1 + O(e^z)) there
    np.testing.assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), rtol=1e-9)


# -------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"solver": "newton"}, ValueError, "unknown solver 'newton'"),
        ({"device": "tpu"}, ValueError, "unknown device 'tpu'"),
        ({"activation": "swish"}, ValueError, "unknown activation 'swish'"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"hidden_layer_sizes": "64"}, TypeError, "hidden_layer_sizes"),
        ({"dropout": 1.0}, ValueError, r"dropout must be a probability in \[0, 1\)"),
        ({"loss": "hinge"}, ValueError, "loss must be one of"),
        ({"validation_fraction": 1.5}, ValueError, "validation_fraction"),
        ({"random_state": "zero"}, TypeError, "random_state"),
    ],
)
def test_bad_parameters_are_named(blobs, params, error, match):
    X, y = blobs
    with pytest.raises(error, match=match):
        MLPClassifier(max_iter=1, **params).fit(X, y)


def test_one_class_is_refused(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier(max_iter=1).fit(X, np.zeros(len(X)))


def test_verbose_prints_one_line_per_epoch(blobs, capsys):
    X, y = blobs
    quiet(MLPClassifier((4,), max_iter=3, verbose=True, random_state=0), X, y)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("epoch")]
    assert len(lines) == 3 and "loss=" in lines[0]
    quiet(MLPClassifier((4,), solver="lbfgs", max_iter=3, verbose=True, random_state=0), X, y)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("iteration")]
    assert len(lines) == 3 and "loss=" in lines[0]
