"""Training: the :func:`fit` loop, its :class:`History`, metrics and data splitting."""

from .history import History
from .loop import fit
from .metrics import METRICS, accuracy
from .split import split, train_test_split

__all__ = ["METRICS", "History", "accuracy", "fit", "split", "train_test_split"]
