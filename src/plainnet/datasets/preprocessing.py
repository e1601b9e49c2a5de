"""Preparing data for training: a seeded, stratified train/test split and standardization."""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array


class Standardizer:
    """Scale features to zero mean and unit variance with statistics of the training data.

    ``z = (x - mean) / scale`` where ``mean`` and ``scale`` (the population standard
    deviation; 1 for constant columns) are per column of the data given to :meth:`fit`.
    """

    def __init__(self):
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X) -> Standardizer:
        X = _as_2d(X)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0).astype(X.dtype)
        return self

    def transform(self, X) -> np.ndarray:
        if self.mean_ is None:
            raise RuntimeError("call fit(X_train) before transform")
        X = _as_2d(X)
        if X.shape[1] != len(self.mean_):
            raise ValueError(
                f"X has {X.shape[1]} features; the standardizer was fit on {len(self.mean_)}"
            )
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z) -> np.ndarray:
        if self.mean_ is None:
            raise RuntimeError("call fit(X_train) before inverse_transform")
        return _as_2d(Z) * self.scale_ + self.mean_


def standardize(X_train, *others):
    """Standardize ``X_train`` and apply its mean and scale to ``others`` (test sets).

    Returns the transformed arrays in the order given: ``standardize(X_train, X_test)``
    gives ``(Z_train, Z_test)``; ``standardize(X)`` gives just ``Z``.
    """
    scaler = Standardizer().fit(X_train)
    results = [scaler.transform(X_train)] + [scaler.transform(X) for X in others]
    return results[0] if not others else tuple(results)


def _as_2d(X) -> np.ndarray:
    X = as_float_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}")
    return X
