"""Checks at the public boundary: turn user input into float arrays or say what was wrong."""

from __future__ import annotations

import numbers

import numpy as np

from . import backend as _backend


def as_float_array(x, name: str = "x", *, allow_device: bool = False) -> np.ndarray:
    """Return ``x`` as a floating NumPy array.

    float16/32/64 arrays keep their dtype; bools, integers, lists and scalars become float64.
    Anything that is not numeric raises a ``TypeError`` that names ``name`` and what came.

    A device array (e.g. CuPy) is returned on its device, under the same dtype rules, when
    ``allow_device``; otherwise it is refused with a ``TypeError`` saying to move it to the
    host (the caller computes with NumPy).
    """
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x
    if hasattr(x, "data") and type(x).__name__ == "Tensor":
        return as_float_array(x.data, name, allow_device=allow_device)
    t = type(x)
    if t is not list and t is not float and t is not int and _backend.is_device_array(x):
        return _device_float_array(x, name, allow_device)
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as err:
        raise TypeError(
            f"{name} must be a number or an array of numbers; got {_describe(x)}"
        ) from err
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    raise TypeError(f"{name} must be a number or an array of numbers; got {_describe(x)}")


def _device_float_array(x, name: str, allow_device: bool):
    where = _backend.device_of(x)
    if not allow_device:
        raise TypeError(
            f"{name} is an array on {where!r}, but this function computes on the host: "
            f"move it first with pn.backend.to_numpy({name}) (or tensor.to('cpu'))"
        )
    kind = x.dtype.kind
    if kind == "f":
        return x
    if kind in "biu":
        return x.astype(np.float64)
    raise TypeError(
        f"{name} must be a number or an array of numbers; got an array on {where!r} of dtype "
        f"{x.dtype}"
    )


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as float, raising ``ValueError`` unless it is finite and > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {_describe(value)}")
    v = float(value)
    ok = v >= 0 if allow_zero else v > 0
    if not (np.isfinite(v) and ok):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    return v


def check_int(value, name: str, *, minimum: int = 0) -> int:
    """Return ``value`` as int, raising unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {_describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype} and shape {x.shape}"
    text = repr(x)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(x).__name__} {text}"
