"""Preparing data for training: a seeded, stratified train/test split and standardization."""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import as_float_array
from ..random import get_rng


def split(X, y=None, test_size: float | int = 0.2, stratify: bool | None = None,
          random_state=None):
    """Shuffle and split into train and test parts: ``X_train, X_test, y_train, y_test``.

    Parameters
    ----------
    X, y : arrays with the same first dimension (``y`` optional: then ``X_train, X_test``)
    test_size : float in (0, 1) or int
        A fraction of the samples (rounded up) or a count.
    stratify : bool, optional
        Keep each class's share in both parts. None (default): stratify when ``y`` holds
        integer, boolean or string labels, not for float regression targets.
    random_state : int, Generator or None
        None uses plainnet's global generator (:func:`plainnet.seed`).

    With stratification, class ``c`` with ``n_c`` samples puts ``n_c · n_test / n`` of them
    in the test part, rounded so the counts sum to ``n_test`` (largest remainders first).
    """
    X = np.asarray(X)
    n = len(X)
    if y is not None:
        y = np.asarray(y)
        if len(y) != n:
            raise ValueError(f"X has {n} samples but y has {len(y)}")
    n_test = _test_count(test_size, n)
    rng = get_rng(random_state)
    if stratify is None:
        stratify = y is not None and y.dtype.kind in "biuUSO"
    if stratify:
        if y is None:
            raise ValueError("stratify=True needs y")
        test_idx = _stratified_test_indices(y, n_test, rng)
        mask = np.zeros(n, dtype=bool)
        mask[test_idx] = True
        train_idx = rng.permutation(np.flatnonzero(~mask))
        test_idx = rng.permutation(test_idx)
    else:
        order = rng.permutation(n)
        test_idx, train_idx = order[:n_test], order[n_test:]
    if y is None:
        return X[train_idx], X[test_idx]
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


def _test_count(test_size, n: int) -> int:
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size must be a fraction or a count; got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    elif 0 < test_size < 1:
        n_test = int(np.ceil(test_size * n))
    else:
        raise ValueError(f"test_size as a fraction must be in (0, 1); got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"test_size={test_size!r} leaves {n_test} of {n} samples for testing; both parts "
            "need at least one sample"
        )
    return n_test


def _stratified_test_indices(y, n_test: int, rng) -> np.ndarray:
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    exact = counts * n_test / len(y)
    take = np.floor(exact).astype(int)
    remainder = n_test - take.sum()
    # ties among equal remainders are broken at random so no class is always favoured
    order = np.lexsort((rng.random(len(classes)), -(exact - take)))
    take[order[:remainder]] += 1
    parts = [rng.permutation(np.flatnonzero(inverse == k))[:t] for k, t in enumerate(take)]
    return np.concatenate(parts)


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
