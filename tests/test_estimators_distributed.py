"""Scaling out: estimators under joblib (GridSearchCV on several processes) and under joblib's
Dask backend on a dask.distributed cluster running on loopback."""

from __future__ import annotations

import threading
import warnings

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from plainnet.estimators import MLPClassifier, NeuronClassifier

GRID = {"mlpclassifier__hidden_layer_sizes": [(4,), (16,)],
        "mlpclassifier__learning_rate_init": [0.003, 0.03]}


@pytest.fixture(scope="module")
def data():
    return make_blobs(n_samples=120, centers=3, n_features=4, cluster_std=2.0, random_state=0)


def search(n_jobs=None) -> GridSearchCV:
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=20, random_state=0))
    return GridSearchCV(pipe, GRID, cv=3, n_jobs=n_jobs)


def fit_quietly(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


@pytest.fixture(scope="module")
def sequential(data):
    return fit_quietly(search(), *data)


def test_grid_search_on_two_processes_matches_sequential(data, sequential):
    parallel = search(n_jobs=2)
    with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
        fit_quietly(parallel, *data)
    assert parallel.best_params_ == sequential.best_params_
    np.testing.assert_allclose(parallel.cv_results_["mean_test_score"],
                               sequential.cv_results_["mean_test_score"])


def test_estimators_in_threads_do_not_interfere(data):
    X, y = data
    expected = fit_quietly(NeuronClassifier(max_iter=30, random_state=0), X, y).loss_curve_
    curves, errors = [], []

    def work():
        try:
            clf = fit_quietly(NeuronClassifier(max_iter=30, random_state=0, early_stopping=True,
                                               validation_fraction=0.2), X, y)
            clf.predict(X)
            curves.append(fit_quietly(NeuronClassifier(max_iter=30, random_state=0), X, y)
                          .loss_curve_)
        except Exception as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert curves == [expected] * 3


def test_grid_search_on_a_dask_cluster(data, sequential):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp", host="127.0.0.1", scheduler_port=0,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client, \
            distributed.get_task_stream(client) as tasks:
        dask_search = search(n_jobs=-1)
        with joblib.parallel_backend("dask"):
            fit_quietly(dask_search, *data)
        workers = set(client.scheduler_info()["workers"])
    assert tasks.data and {task["worker"] for task in tasks.data} <= workers  # ran on the cluster
    assert dask_search.best_params_ == sequential.best_params_
    np.testing.assert_allclose(dask_search.cv_results_["mean_test_score"],
                               sequential.cv_results_["mean_test_score"])
