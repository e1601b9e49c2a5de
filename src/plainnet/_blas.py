"""A fast path for one matrix product NumPy's BLAS runs slowly: the weight gradient of a layer
at small batch sizes.

The weight gradient of a ``Linear`` layer is $g^\\top x$, ``(out, B) @ (B, in)``: a
product whose inner dimension is the batch size. OpenBLAS splits such a product over its
threads by rows and columns of the output, and with an inner dimension of 32 each thread's
share is too small to pay for waking and joining the threads: on a 2-core machine the
784-128 layer's weight gradient took 178 us on two threads and 71 us on one at batch 32
(207 and 131 us at 64, 282 and 252 at 128; at 256 two threads win, 407 against 493 us).
`weight_gradient()` runs such products on one BLAS thread and leaves every other
product alone; the result is the same product (the tests compare it with ``g.T @ x``).

The thread count is set through threadpoolctl's handle on the loaded OpenBLAS (about 1 us a
switch); where there is none (another BLAS, threadpoolctl missing, one thread already) the
product is just ``g.T @ x``.
"""

from __future__ import annotations

import numpy as np

from .backend import matmul

#: The largest inner dimension (batch size) run on one BLAS thread.
SMALL_K = 128
#: The smallest output (``out * in`` entries) worth the switch; OpenBLAS runs smaller
#: products on one thread by itself.
MIN_OUTPUT = 1 << 15

_openblas: list = []  # [controller or None], looked up on first use


def _controller():
    """threadpoolctl's controller of the loaded OpenBLAS when it runs several threads, else
    None (looked up once)."""
    if not _openblas:
        found = None
        try:
            from threadpoolctl import ThreadpoolController

            for lib in ThreadpoolController().lib_controllers:
                if lib.internal_api == "openblas" and lib.get_num_threads() > 1:
                    found = lib
                    break
        except Exception:  # no threadpoolctl, or it can't read this process: the plain path
            found = None
        _openblas.append(found)
    return _openblas[0]


def weight_gradient(g, x):
    """``g.T @ x`` for ``g`` of shape ``(B, out)`` and ``x`` of shape ``(B, in)``, through
    [`plainnet.backend.matmul()`][plainnet.backend.matmul]; for NumPy arrays with ``B <= SMALL_K``
    and ``out * in >= MIN_OUTPUT``, on one BLAS thread."""
    if type(g) is not np.ndarray or type(x) is not np.ndarray or g.shape[0] > SMALL_K \
            or g.shape[1] * x.shape[1] < MIN_OUTPUT:
        return matmul(g.T, x)  # Tensors, device arrays (recorded graphs), other shapes
    with one_thread():
        return _product(g, x)


def _product(g, x):
    return g.T @ x


class one_thread:
    """A context in which NumPy's BLAS runs on one thread: for a loop of small products, such
    as a recurrent layer's one product of a small batch by its recurrent weights per time step
    (on a machine whose cores are busy, a thread spinning while it waits for a sibling made
    those products up to ten times slower). The products around the loop keep every thread."""

    __slots__ = ("_lib", "_threads")

    def __enter__(self) -> one_thread:
        self._lib = _controller()
        if self._lib is not None:
            self._threads = self._lib.get_num_threads()
            self._lib.set_num_threads(1)
        return self

    def __exit__(self, *exc) -> None:
        if self._lib is not None:
            self._lib.set_num_threads(self._threads)
