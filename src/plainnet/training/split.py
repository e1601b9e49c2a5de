"""Splitting data into training and test (or validation) parts: shuffled, stratified, seeded.

It lives in the training layer because `plainnet.fit` uses it for ``validation_split``;
`plainnet.datasets` re-exports it as ``pn.datasets.split``.
"""

from __future__ import annotations

import numbers

import numpy as np

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
        None uses plainnet's global generator (`plainnet.seed`).

    Notes
    -----
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


train_test_split = split
