"""``DataLoader``: batches from a dataset, with PyTorch's names and defaults."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator

import numpy as np

from ..autodiff import Tensor
from ..random import get_rng
from .dataset import IterableDataset


def default_collate(samples: list):
    """Stack a list of samples into a batch: tuples field by field (a tuple of batches),
    dicts key by key, arrays and numbers along a new first axis.

    Examples
    --------
    >>> default_collate([(np.zeros(2), 1), (np.ones(2), 0)])[1]
    array([1, 0])
    """
    first = samples[0]
    if isinstance(first, tuple | list):
        return tuple(default_collate([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, Tensor):
        return np.stack([s.data for s in samples])
    return np.stack([np.asarray(s) for s in samples])


class DataLoader:
    """Batches of ``batch_size`` samples from ``dataset``, as PyTorch's ``DataLoader``.

    A map-style dataset (``len`` and ``dataset[i]``) is read in order, or in a new random
    order each time the loader is iterated with ``shuffle=True``; an
    `IterableDataset` (or any iterable of samples) is read in its own
    order. Samples are combined by ``collate_fn`` (default: `default_collate`); a
    dataset whose ``__getitem__`` takes an array of indices (as
    `TensorDataset` does) is asked once per batch, not once per sample.

    Parameters
    ----------
    dataset : Dataset, IterableDataset or iterable of samples
    batch_size : int, default 1
    shuffle : bool, default False
        Map-style datasets only.
    drop_last : bool, default False
        Leave out the last batch when it is smaller than ``batch_size``.
    collate_fn : callable, optional
    generator : int or numpy.random.Generator, optional
        Seeds the shuffling (default: plainnet's global generator, see `plainnet.seed`).
    seed : int, optional
        The same as ``generator=seed``.

    Examples
    --------
    >>> from plainnet.data import TensorDataset
    >>> loader = DataLoader(TensorDataset(np.arange(10.0), np.arange(10)), batch_size=4)
    >>> [len(xb) for xb, yb in loader]
    [4, 4, 2]
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, collate_fn: Callable | None = None,
                 generator=None, seed: int | None = None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}")
        self.map_style = hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__") \
            and not isinstance(dataset, IterableDataset)
        if shuffle and not self.map_style:
            raise ValueError("shuffle=True needs a map-style dataset (len and dataset[i]); an "
                             "iterable dataset is read in its own order: shuffle inside it")
        if generator is not None and seed is not None:
            raise ValueError("give generator= or seed=, not both")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        source = generator if generator is not None else seed
        self.generator = None if source is None else get_rng(source)
        self._batched = self.map_style and collate_fn is None and hasattr(dataset, "tensors")

    def __len__(self) -> int:
        """Batches per pass (map-style datasets only)."""
        if not self.map_style:
            raise TypeError("an iterable dataset has no length")
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator:
        if self.map_style:
            return self._map_batches()
        return self._stream_batches()

    def _map_batches(self) -> Iterator:
        n = len(self.dataset)
        order = get_rng(self.generator).permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        for lo in range(0, stop, self.batch_size):
            index = order[lo : lo + self.batch_size]
            if self._batched:  # arrays answer a batch of indices at once
                yield self.dataset[index]
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in index])

    def _stream_batches(self) -> Iterator:
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)
