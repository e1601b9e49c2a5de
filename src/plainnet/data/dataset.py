"""Datasets with PyTorch's names: where samples come from, one at a time or as a stream.

A *map-style* dataset has a length and gives sample ``i`` (``dataset[i]``); an *iterable*
dataset yields samples (or whole batches) in its own order, e.g. from a file or a generator
too large to hold in memory. `DataLoader` turns either into batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from ..random import get_rng


class Dataset:
    """A map-style dataset: subclasses define ``__len__`` and ``__getitem__(i)``, which
    returns one sample, usually a tuple ``(x, y)`` or ``(x, y, w)`` of arrays or numbers."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class IterableDataset:
    """A dataset that is a stream: subclasses define ``__iter__``, which yields samples.

    A `DataLoader` over it groups consecutive samples into batches (it
    cannot shuffle a stream: shuffle inside ``__iter__``)."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class TensorDataset(Dataset):
    """Samples that are rows of arrays of the same length: ``dataset[i]`` is
    ``(arrays[0][i], arrays[1][i], ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> ds = TensorDataset(np.zeros((4, 2)), np.arange(4))
    >>> len(ds), ds[3][1]
    (4, np.int64(3))
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        arrays = tuple(np.asarray(getattr(a, "data", a)) if not hasattr(a, "shape") else a
                       for a in arrays)
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) > 1:
            raise ValueError(f"TensorDataset's arrays must have the same length; got {lengths}")
        self.tensors = arrays

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.intp)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.dataset[int(self.indices[index])]
        return self.dataset[self.indices[index]]


def random_split(dataset: Dataset, lengths: Sequence, generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given ``lengths``.

    ``lengths`` are counts that sum to ``len(dataset)``, or fractions that sum to 1 (each
    count is then ``floor(fraction * n)``, and the rows left over go one each to the subsets
    in turn, as PyTorch does). ``generator`` is a seed or a NumPy Generator (default:
    plainnet's global one).

    Examples
    --------
    >>> parts = random_split(TensorDataset(np.arange(10)), [0.7, 0.3], generator=0)
    >>> [len(p) for p in parts]
    [7, 3]
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(f, float) for f in lengths) and math.isclose(sum(lengths), 1):
        if any(not 0 <= f <= 1 for f in lengths):
            raise ValueError(f"random_split's fractions must be in [0, 1]; got {lengths}")
        counts = [math.floor(n * f) for f in lengths]
        for k in range(n - sum(counts)):
            counts[k % len(counts)] += 1
        lengths = counts
    if any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0
           for c in lengths) or sum(lengths) != n:
        raise ValueError(
            f"random_split's lengths must be counts that sum to the dataset's length ({n}) or "
            f"fractions that sum to 1; got {lengths}"
        )
    order = get_rng(generator).permutation(n)
    bounds = np.cumsum([0, *lengths])
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
