r"""Road one of the notes: set the derivative to zero and solve, for a linear neuron."""

from __future__ import annotations

import numpy as np

from .._validation import as_float_array, check_positive


def least_squares(X, y, l2: float = 0.0) -> tuple[np.ndarray, np.ndarray | float]:
    r"""Weights and bias of a linear neuron $\hat y = X w + b$ in closed form.

    They minimize the squared error, plus an optional ridge penalty on the weights (never on
    the bias):

    $$
    L(w, b) = \|X w + b - y\|^2 + \lambda \|w\|^2
    $$

    Setting the derivatives to zero gives $b = \bar y - \bar x \cdot w$ and the normal
    equations of the centered data $X_c = X - \bar x$, $y_c = y - \bar y$:

    $$
    (X_c^T X_c + \lambda I)\, w = X_c^T y_c
    $$

    They are solved without forming $X_c^T X_c$ (which squares the condition number):
    by ``numpy.linalg.lstsq`` on $X_c$ when $\lambda = 0$ (the minimum-norm
    solution if the columns are dependent), and on $X_c$ stacked over
    $\sqrt{\lambda} I$ when $\lambda > 0$.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features) or (n_samples,)
        Inputs; a 1-D ``X`` is one feature.
    y : array_like, shape (n_samples,) or (n_samples, n_targets)
        Targets.
    l2 : float, default 0
        The ridge strength $\lambda \ge 0$.

    Returns
    -------
    w : numpy.ndarray, shape (n_features,) or (n_features, n_targets)
    b : float or numpy.ndarray of shape (n_targets,)

    Examples
    --------
    >>> import plainnet as pn
    >>> w, b = pn.optimize.least_squares([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
    >>> w.round(12).tolist(), round(b, 12)
    ([2.0], 1.0)
    """
    X = np.asarray(as_float_array(X, "X"), dtype=np.float64)
    y = np.asarray(as_float_array(y, "y"), dtype=np.float64)
    lam = check_positive(l2, "l2", allow_zero=True)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must have shape ({X.shape[0]},) or ({X.shape[0]}, n_targets) to match X of "
            f"shape {X.shape}; got shape {y.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError("X and y must hold at least one sample")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite (no NaN or inf)")
    x_mean, y_mean = X.mean(axis=0), y.mean(axis=0)
    Xc, yc = X - x_mean, y - y_mean
    if lam > 0:
        d = X.shape[1]
        Xc = np.vstack([Xc, np.sqrt(lam) * np.eye(d)])
        yc = np.concatenate([yc, np.zeros((d, *y.shape[1:]))])
    w = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    b = y_mean - x_mean @ w
    return w, (float(b) if y.ndim == 1 else b)
