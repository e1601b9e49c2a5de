"""On digits and diabetes, plainnet's MLPs score like scikit-learn's of the same shape."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from plainnet.estimators import MLPClassifier, MLPRegressor


@pytest.fixture(autouse=True)
def _quiet_and_single_threaded():
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def diabetes_split():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=1)
    scaler = StandardScaler().fit(X_train)
    mean, std = y_train.mean(), y_train.std()
    return (scaler.transform(X_train), scaler.transform(X_test),
            (y_train - mean) / std, (y_test - mean) / std)


DIGITS = dict(hidden_layer_sizes=(64,), max_iter=200, random_state=0)
DIABETES = dict(hidden_layer_sizes=(16,), activation="tanh", alpha=10.0,
                learning_rate_init=0.01, max_iter=300, random_state=0)


def test_digits_accuracy_within_a_point_of_sklearn():
    X_train, X_test, y_train, y_test = digits_split()
    ours = MLPClassifier(**DIGITS).fit(X_train, y_train).score(X_test, y_test)
    theirs = SkMLPClassifier(**DIGITS).fit(X_train, y_train).score(X_test, y_test)
    assert ours > 0.95
    assert abs(ours - theirs) <= 0.01, (ours, theirs)


def test_diabetes_r2_within_005_of_sklearn():
    X_train, X_test, y_train, y_test = diabetes_split()
    ours = MLPRegressor(**DIABETES).fit(X_train, y_train).score(X_test, y_test)
    theirs = SkMLPRegressor(**DIABETES).fit(X_train, y_train).score(X_test, y_test)
    assert ours > 0.35
    assert abs(ours - theirs) <= 0.05, (ours, theirs)


def test_float32_digits_scores_like_float64():
    X_train, X_test, y_train, y_test = digits_split()
    kw = dict(DIGITS, max_iter=60)
    single = MLPClassifier(**kw).fit(X_train.astype(np.float32), y_train)
    double = MLPClassifier(**kw).fit(X_train, y_train)
    assert single.model_.dtype == np.float32
    assert abs(single.score(X_test, y_test) - double.score(X_test, y_test)) <= 0.01
