"""Checks of optimizer and scheduler hyperparameters, with the bad value in every message."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._validation import check_int, check_positive


def non_negative(value, name: str, owner: str) -> float:
    """``value`` as a float, or a ``ValueError``/``TypeError`` unless it is finite and >= 0."""
    try:
        return check_positive(value, name, allow_zero=True)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{owner}: {err}") from None


def positive(value, name: str, owner: str) -> float:
    """``value`` as a float, or an error unless it is finite and > 0."""
    try:
        return check_positive(value, name)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{owner}: {err}") from None


def real(value, name: str, owner: str) -> float:
    """``value`` as a float, or an error unless it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number; got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be finite; got {value!r}")
    return float(value)


def in_unit_interval(value, name: str, owner: str, *, closed: bool = False) -> float:
    """``value`` as a float in ``[0, 1)`` (``[0, 1]`` when ``closed``), or an error."""
    v = real(value, name, owner)
    if not (0.0 <= v < 1.0 or (closed and v == 1.0)):
        bound = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{owner}: {name} must be in {bound}; got {value!r}")
    return v


def betas(value, owner: str) -> tuple[float, float]:
    """``(beta1, beta2)``, each in ``[0, 1)``."""
    try:
        b1, b2 = value
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2); got {value!r}") from None
    return in_unit_interval(b1, "betas[0]", owner), in_unit_interval(b2, "betas[1]", owner)


def integer(value, name: str, owner: str, *, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, or an error."""
    try:
        return check_int(value, name, minimum=minimum)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{owner}: {err}") from None


def flag(value, name: str, owner: str) -> bool:
    """``value`` as a bool; only ``True``/``False`` (or NumPy bools) are accepted."""
    if not isinstance(value, (bool, np.bool_, numbers.Integral)) or value not in (0, 1):
        raise TypeError(f"{owner}: {name} must be True or False; got {value!r}")
    return bool(value)
