"""Where the data lives and how its batches arrive: chosen once, before `plainnet.fit`'s
loop, by small objects with one job each.

*Where the data lives* (`OnHost`, `OnDevice`): the arrays stay in host memory,
or go to the training device once; a batch from elsewhere (a loader, a Dask block) is moved
there explicitly.

*How batches arrive*: `ArrayBatches` (arrays in memory, shuffled each epoch),
`IterableBatches` (a `DataLoader` or any iterable of
``(xb, yb)`` or ``(xb, yb, wb)``), `DaskBatches` (Dask arrays, one block in memory at
a time). Each has ``epoch(rng)``, which yields `Batch` es, and
``n_batches`` (per epoch, or None when unknown).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator

import numpy as np

from .. import backend as _backend
from .._validation import as_float_array
from ..autodiff import Tensor
from .inputs import check_finite, targets
from .step import Batch


class OnHost:
    """Training in host memory: batches of in-memory arrays are gathered into one
    preallocated buffer (no shuffled copy of the whole array per epoch)."""

    device = "cpu"

    def put(self, a):
        return a

    def array_batches(self, X, y, w, order, batch_size: int) -> Iterator[Batch]:
        n = len(X)
        if order is None:  # in order: views of the arrays, nothing copied
            for lo in range(0, n, batch_size):
                s = slice(lo, lo + batch_size)
                yield Batch(X[s], y[s], None if w is None else w[s], y[s])
            return
        buffer = np.empty((min(batch_size, n), *X.shape[1:]), dtype=X.dtype)
        for lo in range(0, n, batch_size):
            index = order[lo : lo + batch_size]
            # mode="wrap": the indices are valid; "raise" (the default) would buffer the copy
            xb = np.take(X, index, axis=0, out=buffer[: len(index)], mode="wrap")
            yb = y[index]
            yield Batch(xb, yb, None if w is None else w[index], yb)


class OnDevice:
    """Training on a device (GPU): in-memory arrays go there once and each epoch's shuffle
    gathers there (one upload of the order); batches from elsewhere are copied there."""

    def __init__(self, device: str):
        self.device = device

    def put(self, a):
        return None if a is None else _backend.to_device(a, self.device)

    def array_batches(self, X, y, w, order, batch_size: int, y_host=None) -> Iterator[Batch]:
        n = len(X)
        if order is not None:
            on_device = self.put(order)
            X, y = X[on_device], y[on_device]
            w = None if w is None else w[on_device]
            y_host = y_host[order]
        for lo in range(0, n, batch_size):
            s = slice(lo, lo + batch_size)
            yield Batch(X[s], y[s], None if w is None else w[s], y_host[s])


def placement(device: str):
    """`OnHost` for ``"cpu"``, else `OnDevice`."""
    return OnHost() if device == "cpu" else OnDevice(device)


class ArrayBatches:
    """Batches of arrays in memory (``X``, ``y``, weights), shuffled each epoch."""

    def __init__(self, X, y, w, batch_size: int, shuffle: bool, place):
        self.place, self.batch_size, self.shuffle = place, batch_size, shuffle
        self.n = len(X)
        self.n_batches = -(-self.n // batch_size)
        self.y_host = y
        self.positive = w is None or bool(np.all(w > 0))  # no batch's weights sum to 0
        self.X, self.y, self.w = X, place.put(y), place.put(w)
        if isinstance(place, OnDevice):
            self.X = place.put(X) if type(X) is np.ndarray else X

    def epoch(self, rng) -> Iterator[Batch]:
        order = rng.permutation(self.n) if self.shuffle else None
        if isinstance(self.place, OnDevice):
            return self.place.array_batches(self.X, self.y, self.w, order, self.batch_size,
                                            self.y_host)
        return self.place.array_batches(self.X, self.y, self.w, order, self.batch_size)


class BatchReader:
    """Turns a batch from outside (a loader's, a generator's, a Dask block's) into a
    `Batch` where the model trains: a float array of the model's dtype, targets in the
    loss's form, every value checked finite (the error names the batch, row and column)."""

    def __init__(self, place, loss_name, dtype):
        self.place, self.loss_name, self.dtype = place, loss_name, dtype
        self.count = 0

    def __call__(self, item) -> Batch:
        self.count += 1
        where = f"batch {self.count}"
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise TypeError(f"pn.fit: each batch must be (x, y) or (x, y, sample_weight); "
                            f"{where} is {type(item).__name__}"
                            + (f" of length {len(item)}" if isinstance(item, tuple | list)
                               else ""))
        xb, yb, *rest = item
        xb = as_float_array(xb.data if isinstance(xb, Tensor) else xb, f"x of {where}",
                            allow_device=True).astype(self.dtype, copy=False)
        if xb.ndim < 2 or len(xb) == 0:
            raise ValueError(f"x of {where} must have shape (batch, features...) with at "
                             f"least one row; got shape {xb.shape}")
        check_finite(xb, f"x of {where}")
        y_host = targets(_backend.to_numpy(getattr(yb, "data", yb)), len(xb), self.loss_name,
                         self.dtype, name=f"y of {where}")
        w = None
        if rest and rest[0] is not None:
            w = as_float_array(rest[0], f"sample_weight of {where}").astype(self.dtype)
            if w.shape != (len(xb),) or not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ValueError(f"sample_weight of {where} must be {len(xb)} finite, "
                                 f"non-negative numbers; got shape {w.shape}")
        if type(xb) is np.ndarray:
            xb = self.place.put(xb)
        return Batch(xb, self.place.put(y_host), self.place.put(w), y_host)


class IterableBatches:
    """Batches from a `DataLoader` or any iterable of ``(xb, yb)`` or
    ``(xb, yb, wb)``.

    Without ``steps_per_epoch`` an epoch is one pass over the iterable (iterated anew each
    epoch). With it, an epoch is that many batches, taken from one running iterator (a
    generator that never ends, or a loader whose pass is longer or shorter than an epoch:
    a re-iterable one starts a new pass where it runs out). An iterator that runs out ends
    the epoch early, and training, with a warning.
    """

    def __init__(self, data, read: BatchReader, steps_per_epoch: int | None):
        self.data, self.read, self.steps = data, read, steps_per_epoch
        self.reiterable = iter(data) is not data
        self.running = None
        self.exhausted = False
        length = len(data) if hasattr(data, "__len__") and self.reiterable else None
        self.n_batches = steps_per_epoch if steps_per_epoch is not None else length

    def epoch(self, rng) -> Iterator[Batch]:
        if self.steps is None:
            source = iter(self.data)
        else:
            if self.running is None:
                self.running = iter(self.data)
            source = itertools.islice(self._endless(), self.steps)
        count = 0
        for item in source:
            count += 1
            yield self.read(item)
        if count == 0 or (self.steps is not None and count < self.steps):
            self.exhausted = True
            warnings.warn(
                f"pn.fit: the data ran out after {count} batches of this epoch; training "
                "stops here. Pass steps_per_epoch (batches per epoch) for a generator, or "
                "give an iterable that can be read again each epoch (a list, a DataLoader).",
                RuntimeWarning, stacklevel=4)

    def _endless(self) -> Iterator:
        while True:
            for item in self.running:  # noqa: UP028 - `yield from` would close the user's
                yield item             # generator when an epoch stops reading it
            if not self.reiterable:
                return
            self.running = iter(self.data)


def is_dask_array(x) -> bool:
    """Whether ``x`` is a Dask array (without importing Dask)."""
    return type(x).__module__.startswith("dask.") and hasattr(x, "chunks") \
        and hasattr(x, "blocks")


class DaskBatches:
    """Batches streamed from Dask arrays, one block of rows in memory at a time.

    Each epoch visits the blocks in a random order and the rows of each block in a random
    order (both from the fit's seed); rows left over at the end of a block start the next
    batch, so every batch but the epoch's last has ``batch_size`` rows. The arrays are never
    computed whole: an array larger than memory trains. Blocks are computed with whatever
    scheduler is active (a ``dask.distributed.Client`` when one is).
    """

    def __init__(self, X, y, w, batch_size: int, shuffle: bool, read: BatchReader):
        X = X.rechunk({k: -1 for k in range(1, X.ndim)}) if X.ndim > 1 else X
        self.arrays = [X] + [a.rechunk({0: X.chunks[0]}) if is_dask_array(a) else a
                             for a in (y, w) if a is not None]
        self.has_w = w is not None
        self.batch_size, self.shuffle, self.read = batch_size, shuffle, read
        rows = X.chunks[0]
        self.n = int(sum(rows)) if all(np.isfinite(rows)) else None
        self.n_batches = None if self.n is None else -(-self.n // batch_size)
        self.offsets = np.cumsum([0, *rows]) if self.n is not None else None

    def _block(self, k: int) -> list:
        import dask

        parts = []
        for a in self.arrays:
            if is_dask_array(a):
                parts.append(a.blocks[k])
            else:  # a NumPy array beside a Dask one: the block's rows
                parts.append(a[self.offsets[k] : self.offsets[k + 1]])
        return list(dask.compute(*parts))

    def epoch(self, rng) -> Iterator[Batch]:
        n_blocks = self.arrays[0].numblocks[0]
        blocks = rng.permutation(n_blocks) if self.shuffle else range(n_blocks)
        carry = None
        for k in blocks:
            block = self._block(int(k))
            if self.shuffle:
                order = rng.permutation(len(block[0]))
                block = [b[order] for b in block]
            if carry is not None:
                block = [np.concatenate([c, b]) for c, b in zip(carry, block, strict=True)]
            full = len(block[0]) - len(block[0]) % self.batch_size
            for lo in range(0, full, self.batch_size):
                yield self.read(tuple(b[lo : lo + self.batch_size] for b in block))
            carry = [b[full:] for b in block] if full < len(block[0]) else None
        if carry is not None:
            yield self.read(tuple(carry))
