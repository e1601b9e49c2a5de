"""scikit-learn estimators built on plainnet networks.

``MLPClassifier``, ``MLPRegressor`` and ``NeuronClassifier`` follow scikit-learn's estimator API
(they pass its ``check_estimator``), so they work in pipelines, grid searches and cross-validation,
and under joblib and Dask. Each trains a [`plainnet.nn.Sequential`][plainnet.nn.Sequential] with
`plainnet.fit()`; the trained network is ``model_``.

>>> from plainnet.estimators import MLPClassifier
>>> MLPClassifier(hidden_layer_sizes=(32, 16)).get_params()["hidden_layer_sizes"]
(32, 16)

This is the only part of plainnet that imports scikit-learn.
"""

from .base import NetworkEstimator
from .mlp import MLPClassifier, MLPRegressor
from .neuron import NeuronClassifier
from .stopping import STOP_REASONS

__all__ = ["STOP_REASONS", "MLPClassifier", "MLPRegressor", "NetworkEstimator", "NeuronClassifier"]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
