"""What `plainnet.fit` checks and prepares before its loop: arrays on the right device,
targets in the loss's form, every value finite, weights per sample and per class.

Every problem is reported here, before the first step, naming what was expected and what
came (and, for a NaN, where it is), so that no fault in the data is blamed on the learning
rate later.
"""

from __future__ import annotations

import numpy as np

from .. import backend as _backend
from .._validation import as_float_array
from ..autodiff import Tensor

#: The losses that take integer class labels.
LABEL_LOSSES = ("cross_entropy", "nll")


def data_on(x, name: str, device: str):
    """``x`` itself, after checking that a device array (or Tensor on a device) given as data
    is on the training ``device``: data on another device is refused, never moved."""
    if type(x) is np.ndarray:
        return x
    data = x.data if isinstance(x, Tensor) else x
    if _backend.is_device_array(data):
        where = _backend.device_of(data)
        if where != device:
            raise _backend.DeviceMismatchError(
                f"pn.fit got {name} on {where!r}, but the model trains on {device!r}: plainnet "
                f"never moves data implicitly. Pass device={where!r} to train there, or move "
                f"{name} to {device!r} first."
            )
    return x


def host_data(x, name: str, device: str):
    """Targets and weights in host memory (the split and the metrics use them there): a
    device array on the training device is copied to the host once."""
    if type(x) is np.ndarray:
        return x
    x = data_on(x, name, device)
    data = x.data if isinstance(x, Tensor) else x
    return _backend.to_numpy(data) if _backend.is_device_array(data) else x


def check_finite(x, name: str) -> None:
    """Raise a ``ValueError`` naming the first NaN or infinity of ``x`` by row and column.

    Two reductions (min and max, which propagate NaN) decide; only an array that has one is
    searched. Integer arrays are finite by construction."""
    if x.dtype.kind not in "fc" or x.size == 0:
        return
    xp = _backend.array_module(x)
    if bool(xp.isfinite(x.min())) and bool(xp.isfinite(x.max())):
        return
    where = tuple(int(i) for i in _backend.to_numpy(xp.argwhere(~xp.isfinite(x))[0]))
    value = float(x[where])
    what = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    place = f"row {where[0]}" + (f", column {where[1]}" if len(where) > 1 else "")
    if len(where) > 2:
        place += f" (index {where})"
    raise ValueError(
        f"{name} contains {what} at {place}: training on it would make every weight NaN. "
        "Remove or impute the missing values first (e.g. with the column's mean)."
    )


def features(X, name: str, device: str, dtype):
    """``X`` as a float array of the model's dtype, on ``device`` if it is a device array,
    checked: at least one row and two dimensions, every value finite."""
    X = data_on(as_float_array(X, name, allow_device=True), name, device)
    X = X.astype(dtype, copy=False)
    if X.ndim < 2:
        raise ValueError(f"{name} must have shape (n_samples, n_features); got shape {X.shape}")
    if len(X) == 0:
        raise ValueError(f"{name} has no rows (shape {X.shape}): pn.fit needs at least one "
                         "sample to train on")
    check_finite(X, name)
    return X


def targets(y, n: int, loss_name: str | None, dtype, name: str = "y") -> np.ndarray:
    """``y`` (host) in the form the loss takes: int64 class labels for ``cross_entropy`` and
    ``nll``, else float targets of the model's dtype, one column at least; checked against
    ``n`` rows and for finite values."""
    y = np.asarray(y)
    if len(y) != n:
        what = "X and y" if name == "y" else f"X and y of {name.split()[0]}"
        raise ValueError(f"{what} must have the same number of rows; got {n} and {len(y)}")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric; got dtype {y.dtype}")
    check_finite(y, name)
    if loss_name in LABEL_LOSSES and y.ndim == 1:
        if y.dtype.kind == "f" and not np.all(y == np.round(y)):
            raise ValueError(f"{loss_name} needs integer class labels; {name} has non-integer "
                             "values")
        return y.astype(np.int64)
    y = y.astype(dtype)
    if y.ndim == 1 and loss_name not in LABEL_LOSSES:
        y = y.reshape(-1, 1)
    return y


def sample_weights(w, n: int, dtype, name: str = "sample_weight"):
    """One finite, non-negative weight per sample, of the model's dtype (host)."""
    w = as_float_array(w, name).astype(dtype)
    if w.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},); got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return w


def labels_of(y: np.ndarray) -> np.ndarray:
    """The class label of each row of targets: labels as they are, one-hot rows by argmax,
    one column of 0/1 as it is."""
    if y.ndim == 1:
        return y
    return y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0]


def class_weights(class_weight, y: np.ndarray, dtype) -> np.ndarray:
    r"""The weight of each sample's class: ``class_weight[label]`` (classes not named weigh
    1), or for ``"balanced"`` scikit-learn's $n / (k \, n_c)$ (``k`` classes, ``n_c``
    samples of class ``c``), so that every class weighs as much in the loss."""
    labels = labels_of(y)
    if not np.all(labels == np.round(labels)):
        raise ValueError("class_weight needs class labels (or one-hot rows) as targets")
    labels = labels.astype(np.int64)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be a dict or 'balanced'; got {class_weight!r}")
        classes, counts = np.unique(labels, return_counts=True)
        table = dict(zip(classes.tolist(), (len(labels) / (len(classes) * counts)).tolist(),
                         strict=True))
    elif isinstance(class_weight, dict):
        table = {int(k): float(v) for k, v in class_weight.items()}
        bad = {k: v for k, v in table.items() if not (np.isfinite(v) and v >= 0)}
        if bad:
            raise ValueError(f"class_weight values must be finite and >= 0; got {bad}")
    else:
        raise TypeError("class_weight must be a dict {class: weight} or 'balanced'; got "
                        f"{type(class_weight).__name__}")
    return np.array([table.get(c, 1.0) for c in labels.tolist()], dtype=dtype)
