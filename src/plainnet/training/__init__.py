"""Training: the :func:`fit` loop, :func:`evaluate`, the :class:`History`, metrics and data
splitting."""

from .evaluate import evaluate
from .history import History
from .loop import fit
from .metrics import METRICS, accuracy, f1, precision, recall, top_k_accuracy
from .split import split, train_test_split

__all__ = ["METRICS", "History", "accuracy", "evaluate", "f1", "fit", "precision", "recall",
           "split", "top_k_accuracy", "train_test_split"]
