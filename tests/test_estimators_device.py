"""The solvers, early stopping and multilabel targets on a device (the simulated one of
``fake_device.py``, which refuses implicit host-device copies): the same fits as on the CPU."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from fake_device import FakeArray, FakeBackend
from plainnet import backend
from plainnet.estimators import MLPClassifier, MLPRegressor


@pytest.fixture
def fake():
    device = FakeBackend("fake", FakeArray)
    backend.register_backend(device)
    yield device
    backend.unregister_backend("fake")


def both(make, X, y, **params):
    """The estimator fitted on the CPU and on the fake device."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make(**params).fit(X, y), make(device="fake", **params).fit(X, y)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=120, centers=3, n_features=4, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("params", [
    dict(solver="lbfgs", max_iter=30),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.1, max_iter=5),
    dict(solver="sgd", learning_rate="adaptive", tol=1.0, n_iter_no_change=1, max_iter=6),
    dict(early_stopping=True, max_iter=8, n_iter_no_change=2),
])
def test_solvers_and_early_stopping_on_a_device_match_the_cpu(fake, blobs, params):
    X, y = blobs
    cpu, dev = both(MLPClassifier, X, y, hidden_layer_sizes=(6,), random_state=0, **params)
    assert dev.model_.device == "fake"
    assert (dev.n_iter_, dev.t_, dev.stop_reason_) == (cpu.n_iter_, cpu.t_, cpu.stop_reason_)
    np.testing.assert_allclose(dev.loss_curve_, cpu.loss_curve_, rtol=1e-10)
    assert dev.validation_scores_ == cpu.validation_scores_
    for a, b in zip(dev.coefs_ + dev.intercepts_, cpu.coefs_ + cpu.intercepts_, strict=True):
        assert type(a) is np.ndarray
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_multilabel_and_regression_on_a_device(fake):
    X, Y = make_multilabel_classification(n_samples=80, n_features=5, n_classes=3,
                                          random_state=0)
    cpu, dev = both(MLPClassifier, X, Y, hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    np.testing.assert_array_equal(dev.predict(X), cpu.predict(X))
    np.testing.assert_allclose(dev.predict_proba(X), cpu.predict_proba(X), rtol=1e-10)
    cpu, dev = both(MLPRegressor, X, Y.astype(float), hidden_layer_sizes=(4,), max_iter=20,
                    solver="lbfgs", random_state=0)
    np.testing.assert_allclose(dev.predict(X), cpu.predict(X), rtol=1e-9)
    assert dev.loss_ == pytest.approx(cpu.loss_, rel=1e-10)
