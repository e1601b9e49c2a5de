"""Data for `plainnet.fit` that is not one array in memory: datasets, loaders, splits.

``pn.fit(model, loader)`` trains on a `DataLoader` (or any iterable of ``(xb, yb)`` or
``(xb, yb, wb)`` batches); Dask arrays are streamed block by block (see ``docs/training.md``).
"""

from .dataset import Dataset, IterableDataset, Subset, TensorDataset, random_split
from .loader import DataLoader, default_collate

__all__ = ["DataLoader", "Dataset", "IterableDataset", "Subset", "TensorDataset",
           "default_collate", "random_split"]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
