"""scikit-learn's own estimator checks (``check_estimator``) on every plainnet estimator."""

from __future__ import annotations

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from plainnet.estimators import MLPClassifier, MLPRegressor, NeuronClassifier

ESTIMATORS = [
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=100),
    NeuronClassifier(max_iter=100),
]


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # tiny matrices: BLAS threads only fight over the cores
    with threadpool_limits(limits=1):
        yield


@pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
