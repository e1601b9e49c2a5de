"""A neuron's integration, the bias trick, and the length of a vector.

Each function also takes device arrays (e.g. CuPy) and computes on the first argument's device;
accompanying host data (NumPy arrays, lists, numbers) is copied there, and a device array on another
device is refused with
[`plainnet.backend.DeviceMismatchError`][plainnet.backend.DeviceMismatchError]. """

from __future__ import annotations

import numpy as np

from .. import backend as _backend
from .._validation import as_float_array


def _with(arr, like, what: str):
    """``arr`` on the device of ``like`` (nothing to do when both are NumPy arrays)."""
    if type(arr) is np.ndarray and type(like) is np.ndarray:
        return arr
    return _backend.match_device(arr, like, what)


def _out(arr):
    """A NumPy result as an array (not a NumPy scalar); a device array unchanged."""
    if type(arr) is np.ndarray or _backend.is_device_array(arr):
        return arr
    return np.asarray(arr)


def _number_or_array(arr):
    """A host result with no axes as a Python float (it prints as ``-1.25``, not
    ``array(-1.25)``); arrays, and device results (reading one would wait for the device),
    unchanged."""
    if _backend.is_device_array(arr):
        return arr
    return float(arr) if np.ndim(arr) == 0 else _out(arr)


def integrate(x, w, b=0.0) -> float | np.ndarray:
    r"""A neuron's integration: the weighted sum of its inputs plus its bias.

    $$
    v = x \cdot w + b = \sum_k x_k w_k + b
    $$

    Parameters
    ----------
    x : array_like, shape (n,) or (batch, n)
        One input vector, or a batch of them (one per row).
    w : array_like, shape (n,)
        The weights, one per input.
    b : float, default 0.0
        The bias.

    Returns
    -------
    float or numpy.ndarray
        A Python float for one input vector (a 0-d array for one on a device), an array of
        shape ``(batch,)`` for a batch.

    Examples
    --------
    >>> import plainnet as pn
    >>> pn.integrate([1.0, 2.0], [0.5, -1.0], b=0.25)
    -1.25
    """
    x = as_float_array(x, "x", allow_device=True)
    w = as_float_array(w, "w", allow_device=True)
    b_arr = as_float_array(b, "b", allow_device=True)
    if w.ndim != 1:
        raise ValueError(f"w must be a vector of shape (n,); got shape {w.shape}")
    if x.ndim not in (1, 2) or x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"x must have shape ({w.shape[0]},) or (batch, {w.shape[0]}) to match w of shape "
            f"{w.shape}; got x of shape {x.shape}"
        )
    if b_arr.ndim != 0:
        raise ValueError(f"b must be a scalar; got shape {b_arr.shape}")
    if type(x) is np.ndarray and type(w) is np.ndarray and type(b_arr) is np.ndarray:
        return _number_or_array(x @ w + b_arr)
    w, b_arr = _with(w, x, "integrate's w"), _with(b_arr, x, "integrate's b")
    return _out(x @ w + b_arr)


def augment(x) -> np.ndarray:
    r"""The bias trick, input side: append a constant 1 to ``x`` along its last axis.

    With `fold_bias()` on the weight side, ``integrate(augment(x), fold_bias(w, b))``
    equals ``integrate(x, w, b)``: the bias becomes the weight of an input that is always 1,

    $$
    x \cdot w + b = [x, 1] \cdot [w, b].
    $$

    Examples
    --------
    >>> import plainnet as pn
    >>> pn.augment([2.0, 3.0]).tolist()
    [2.0, 3.0, 1.0]
    """
    x = as_float_array(x, "x", allow_device=True)
    if x.ndim == 0:
        raise ValueError("x must have at least one axis to append the constant 1 to; got a scalar")
    ones = _backend.array_module(x).ones(x.shape[:-1] + (1,), dtype=x.dtype)
    return np.concatenate([x, ones], axis=-1)


def fold_bias(w, b) -> np.ndarray:
    r"""The bias trick, weight side: append the bias ``b`` to the weights ``w``.

    $$
    \tilde w = [w_1, \dots, w_n, b]
    $$

    Examples
    --------
    >>> import plainnet as pn
    >>> pn.fold_bias([0.5, -1.0], 0.25).tolist()
    [0.5, -1.0, 0.25]
    """
    w = as_float_array(w, "w", allow_device=True)
    b = as_float_array(b, "b", allow_device=True)
    if w.ndim != 1:
        raise ValueError(f"w must be a vector of shape (n,); got shape {w.shape}")
    if b.ndim != 0:
        raise ValueError(f"b must be a scalar; got shape {b.shape}")
    b = _with(b, w, "fold_bias's b")
    return np.concatenate([w, b.astype(w.dtype).reshape(1)])


def magnitude(x, axis: int | None = None, keepdims: bool = False) -> float | np.ndarray:
    r"""Euclidean length (2-norm) of a vector, computed without overflow or underflow.

    $$
    |x| = \sqrt{\sum_k x_k^2} = s \sqrt{\sum_k (x_k / s)^2}, \quad s = \max_k |x_k|
    $$

    Scaling by the largest entry first keeps ``[1e200, 1e200]`` from overflowing to inf and
    ``[1e-200, 1e-200]`` from underflowing to 0.

    Parameters
    ----------
    x : array_like
    axis : int, optional
        The axis holding the vectors (``axis=-1`` for a batch of row vectors). ``None``
        (default) treats all of ``x`` as one vector.
    keepdims : bool, default False

    Returns
    -------
    float or numpy.ndarray
        A Python float for the length of one vector on the host (a 0-d array on a device),
        an array of ``x``'s dtype for a batch or with ``keepdims``.

    Examples
    --------
    >>> import plainnet as pn
    >>> pn.magnitude([3.0, 4.0])
    5.0
    """
    x = as_float_array(x, "x", allow_device=True)
    if axis is not None and not -x.ndim <= axis < max(x.ndim, 1):
        raise ValueError(f"axis must be in [-{x.ndim}, {x.ndim - 1}] for x of shape {x.shape}")
    a = np.abs(x)
    if a.size:
        scale = np.max(a, axis=axis, keepdims=True)
    else:
        scale = _backend.array_module(x).zeros((1,) * a.ndim, x.dtype)
    safe = np.where(scale > 0, scale, 1)
    with np.errstate(invalid="ignore"):
        out = scale * np.sqrt(np.sum(np.square(a / safe), axis=axis, keepdims=True))
    out = np.where(np.isinf(scale), np.inf, out)
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else out.reshape(())
    return _number_or_array(out)


def normalize(x, axis: int | None = None) -> np.ndarray:
    r"""The unit vector pointing the same way as ``x``.

    $$
    \hat x = \frac{x}{|x|}
    $$

    The notes say "divide by the unit vector"; what is divided by is the *magnitude* ``|x|``,
    and the result is the unit vector (magnitude 1).

    Raises
    ------
    ValueError
        For a zero vector, which has no direction (rather than returning NaNs).

    Examples
    --------
    >>> import plainnet as pn
    >>> pn.normalize([3.0, 4.0]).tolist()
    [0.6, 0.8]
    """
    x = as_float_array(x, "x", allow_device=True)
    length = magnitude(x, axis=axis, keepdims=True)
    if np.any(length == 0):
        raise ValueError("cannot normalize a zero vector: it has magnitude 0 and no direction")
    if not np.all(np.isfinite(length)):
        raise ValueError("cannot normalize a vector with inf or NaN entries")
    return x / length
