"""Training: the `fit` loop, `evaluate`, the `History`, metrics and data
splitting."""

from .evaluate import evaluate
from .history import History
from .loop import fit
from .lr_find import LRFinderResult, lr_find
from .metrics import METRICS, accuracy, f1, precision, recall, top_k_accuracy
from .split import split, train_test_split

__all__ = ["METRICS", "History", "LRFinderResult", "accuracy", "evaluate", "f1", "fit",
           "lr_find", "precision", "recall", "split", "top_k_accuracy", "train_test_split"]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
