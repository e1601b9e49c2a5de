"""Tensor constructors with PyTorch's names: ``pn.zeros``, ``pn.ones``, ``pn.full``,
``pn.arange``, ``pn.linspace``, ``pn.eye``, ``pn.rand``, ``pn.randn``, ``pn.randint``,
``pn.zeros_like``, ``pn.ones_like``, ``pn.from_numpy``.

Each takes ``dtype=``, ``device=`` and ``requires_grad=``. The default dtype is NumPy's, as for
[`plainnet.tensor()`][plainnet.tensor]: float64 for floating values (PyTorch's default is float32;
pass ``dtype=np.float32`` for it, as the layers of [`plainnet.nn`][plainnet.nn] use), int64 for
`arange()` of ints and `randint()`. Arrays are made on ``device`` directly; the random ones are
drawn on the host from plainnet's generator ([`plainnet.seed()`][plainnet.seed]), so a seed gives
the same numbers on every device, and then copied there. """

from __future__ import annotations

import numbers

import numpy as np

from .. import backend as _backend
from ..random import get_rng
from .engine import Tensor

__all__ = [
    "arange", "eye", "from_numpy", "full", "linspace", "ones", "ones_like", "rand", "randint",
    "randn", "zeros", "zeros_like",
]


def _size(size, what: str) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])`` as the shape ``(2, 3)``."""
    if len(size) == 1 and not isinstance(size[0], numbers.Integral):
        try:
            size = tuple(size[0])
        except TypeError:
            raise TypeError(f"{what}: the size must be ints or one sequence of ints; got "
                            f"{type(size[0]).__name__}") from None
    if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in size):
        raise TypeError(f"{what}: the size must be ints; got {size}")
    if any(n < 0 for n in size):
        raise ValueError(f"{what}: the size must be non-negative; got {size}")
    return tuple(int(n) for n in size)


def _dtype(dtype, default=None):
    """``dtype`` as a NumPy dtype; ``default`` (which may be None: NumPy's choice) if None."""
    if dtype is None:
        return None if default is None else np.dtype(default)
    return np.dtype(dtype)


def _made(data, device, requires_grad):
    """A Tensor of the host or device array ``data``."""
    return Tensor(data, requires_grad=requires_grad, device=device)


def _on(device, make):
    """``make(xp)`` with ``xp`` the array module of ``device`` (made current there)."""
    if device is None or _backend.canonical_device(device) == "cpu":
        return make(np)
    xp = _backend.get_backend(device).module()
    with _backend.device_context(device):
        return make(xp)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A Tensor of zeros of shape ``size`` (float64 unless ``dtype``)."""
    shape, dt = _size(size, "zeros"), _dtype(dtype, np.float64)
    return _made(_on(device, lambda xp: xp.zeros(shape, dtype=dt)), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A Tensor of ones of shape ``size`` (float64 unless ``dtype``)."""
    shape, dt = _size(size, "ones"), _dtype(dtype, np.float64)
    return _made(_on(device, lambda xp: xp.ones(shape, dtype=dt)), device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A Tensor of shape ``size`` filled with ``fill_value`` (its dtype follows the value, as
    in NumPy and PyTorch: an int gives int64, a float float64)."""
    if isinstance(size, numbers.Integral):
        size = (size,)
    shape = _size((size,), "full")
    if not isinstance(fill_value, (numbers.Number, np.generic)):
        raise TypeError(f"full: fill_value must be a number; got {type(fill_value).__name__}")
    dt = _dtype(dtype)
    return _made(_on(device, lambda xp: xp.full(shape, fill_value, dtype=dt)), device,
                 requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """``start, start + step, ...`` below ``end`` (``arange(n)`` is ``0 ... n-1``); int64
    for ints, float64 for floats, as NumPy and PyTorch."""
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if not isinstance(v, numbers.Real):
            raise TypeError(f"arange: {name} must be a number; got {type(v).__name__}")
    if step == 0:
        raise ValueError("arange: step must not be 0")
    dt = _dtype(dtype)
    return _made(_on(device, lambda xp: xp.arange(start, end, step, dtype=dt)), device,
                 requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    if not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int; got {steps!r}")
    dt = _dtype(dtype, np.float64)
    return _made(_on(device, lambda xp: xp.linspace(start, end, int(steps), dtype=dt)), device,
                 requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The ``n`` by ``m`` (default ``n``) identity matrix."""
    shape = _size((n, n if m is None else m), "eye")
    dt = _dtype(dtype, np.float64)
    return _made(_on(device, lambda xp: xp.eye(*shape, dtype=dt)), device, requires_grad)


def _random(draw, size, what, dtype, device, requires_grad, generator):
    shape = _size(size, what)
    dt = _dtype(dtype, np.float64)
    if dt.kind != "f":
        raise TypeError(f"{what} draws floats; got dtype {dt}")
    data = draw(get_rng(generator), shape).astype(dt, copy=False)
    return Tensor(data, requires_grad=requires_grad, device=device)


def rand(*size, dtype=None, device=None, requires_grad: bool = False,
         generator=None) -> Tensor:
    """Uniform values in ``[0, 1)`` from plainnet's generator (or ``generator``: a NumPy
    Generator or a seed)."""
    return _random(lambda rng, s: rng.random(s), size, "rand", dtype, device, requires_grad,
                   generator)


def randn(*size, dtype=None, device=None, requires_grad: bool = False,
          generator=None) -> Tensor:
    """Standard normal values from plainnet's generator (or ``generator``)."""
    return _random(lambda rng, s: rng.standard_normal(s), size, "randn", dtype, device,
                   requires_grad, generator)


def randint(low, high=None, size=(), *, dtype=None, device=None, requires_grad: bool = False,
            generator=None) -> Tensor:
    """Integers uniform in ``[low, high)`` (``randint(high, size)``: in ``[0, high)``), int64
    unless ``dtype``."""
    if high is None or (not isinstance(high, numbers.Integral) and size == ()):
        low, high, size = 0, low, (() if high is None else high)
    if not all(isinstance(v, numbers.Integral) for v in (low, high)):
        raise TypeError(f"randint: low and high must be ints; got {low!r}, {high!r}")
    if low >= high:
        raise ValueError(f"randint: low must be below high; got [{low}, {high})")
    shape = _size((size,), "randint")
    data = get_rng(generator).integers(low, high, shape).astype(_dtype(dtype, np.int64))
    return Tensor(data, requires_grad=requires_grad, device=device)


def _like(t, fill, dtype, device, requires_grad):
    data = t.data if isinstance(t, Tensor) else t
    if not hasattr(data, "shape"):
        data = np.asarray(data)
    dt = np.dtype(dtype) if dtype is not None else data.dtype
    if device is None:
        device = _backend.device_of(data)
    return full(tuple(data.shape), fill, dtype=dt, device=device, requires_grad=requires_grad)


def zeros_like(t, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``t``'s shape, dtype and device (unless given)."""
    return _like(t, 0, dtype, device, requires_grad)


def ones_like(t, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones of ``t``'s shape, dtype and device (unless given)."""
    return _like(t, 1, dtype, device, requires_grad)


def from_numpy(array, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A Tensor of the NumPy array ``array``, sharing its memory (as `torch.from_numpy()`)
    unless ``dtype`` or ``device`` ask for a copy."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a NumPy array; got {type(array).__name__}")
    return Tensor(array, requires_grad=requires_grad, dtype=dtype, device=device)
