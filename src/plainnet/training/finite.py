"""The one read of a training step on a device: the loss, and whether the step is finite.

On a GPU each value the host reads makes it wait for the device. A step of `pn.fit` reads
once: the loss beside the sum of the gradients' sums of squares, written side by side by one
kernel (`loss_and_squares`, then `read_pair`).
"""

from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..autodiff import Tensor
from ..kernels import ElementwiseKernel, run_fused


def gradients(params) -> list:
    """The gradient arrays of ``params`` that have one."""
    grads = []
    for p in params:
        g = p.grad
        if g is not None:
            grads.append(g.data if isinstance(g, Tensor) else g)
    return grads


def sums_of_squares(grads) -> list:
    """Each gradient's sum of squares (on its device): finite exactly when the gradient is,
    unless it overflows. One BLAS dot is much cheaper than ``isfinite``, which makes a boolean
    array."""
    return [_backend.matmul(v, v) for v in (g.reshape(-1) for g in grads)]


def all_finite(grads, sums=None) -> bool:
    """Whether every gradient is finite. Given their sums of squares (host numbers), only a
    gradient whose sum is not finite (it may have overflowed) is looked at entry by entry;
    without them, each one is."""
    if sums is None:
        sums = [np.inf] * len(grads)
    return all(np.isfinite(s) or bool(np.isfinite(g).all())
               for g, s in zip(grads, sums, strict=True))


def read_step(loss, params) -> tuple[float, bool]:
    """``(loss value, whether the loss and every gradient are finite)`` after a backward pass
    on a device, with one read from it (each separate read would make the host wait for the
    device again)."""
    grads = gradients(params)
    return read_pair(*loss_and_squares(loss.data, grads), grads)


def loss_and_squares(loss, grads) -> tuple:
    """``(pair, loss, squares)``, all on the loss's device: ``squares`` the gradients' sums of
    squares (each finite exactly when its gradient is, unless it overflows), ``pair`` the loss
    beside their sum, written by one kernel. Nothing is read."""
    xp = _backend.array_module(loss)
    squares = sums_of_squares(grads)
    pair = np.empty_like(loss, shape=(2,))
    if not run_fused(pair_kernel(len(squares)), loss, loss=loss, pair=pair,
                     **{f"square{k}": v for k, v in enumerate(squares)}):
        pair = xp.stack([loss.reshape(()), sum(squares, xp.zeros((), loss.dtype))])
    return pair, loss, squares


def read_pair(pair, loss, squares, grads) -> tuple[float, bool]:
    """``(loss value, whether the loss and every gradient are finite)`` from
    `loss_and_squares`: one read of ``pair``. Where the pair is not finite (the step
    diverged, or a sum overflowed), a second look finds out which."""
    value, total = _backend.to_numpy(pair).tolist()
    if np.isfinite(value) and np.isfinite(total):
        return value, True
    # neither half of the pair is finite then: read the loss and each sum, then look at the
    # gradients whose sum is not finite
    xp = _backend.array_module(loss)
    value, *sums = _backend.to_numpy(xp.stack([loss.reshape(()), *squares])).tolist()
    return value, bool(np.isfinite(value)) and all_finite(grads, sums)


_PAIRS: dict[int, ElementwiseKernel] = {}


def pair_kernel(n: int) -> ElementwiseKernel:
    """The kernel writing ``pair = (loss, square0 + ... + square{n-1})``. Where either is not
    finite, neither half is (0 times infinity is NaN)."""
    kernel = _PAIRS.get(n)
    if kernel is None:
        names = tuple(f"square{k}" for k in range(n))
        total = " + ".join(names) or "0"
        kernel = _PAIRS[n] = ElementwiseKernel(
            f"loss_and_squares_{n}", ("loss", *names), ("pair",),
            f"pair = (i == 0) * loss + (i == 1) * ({total});",
        )
    return kernel
