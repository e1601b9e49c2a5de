"""Checks at the public boundary: turn user input into float arrays or say what was wrong."""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(x, name: str = "x") -> np.ndarray:
    """Return ``x`` as a floating NumPy array.

    float16/32/64 arrays keep their dtype; bools, integers, lists and scalars become float64.
    Anything that is not numeric raises a ``TypeError`` that names ``name`` and what came.
    """
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x
    if hasattr(x, "data") and type(x).__name__ == "Tensor":
        return as_float_array(x.data, name)
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
