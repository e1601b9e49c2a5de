r"""What the classifiers share: class labels in, probabilities and labels out.

The network outputs raw scores $z$ (logits). How they become probabilities depends on the
output kind chosen from the loss and the number of classes $K$:

* ``"logistic"`` (two classes, one output): $P(\text{class } 1) = \sigma(z)$,
  trained with binary cross-entropy on the logit;
* ``"softmax"`` ($K > 2$ outputs): $P(k) = e^{z_k} / \sum_j e^{z_j}$, trained with
  cross-entropy;
* ``"logistic_ovr"`` ($K > 2$ outputs, one sigmoid neuron per class, one-vs-rest): each
  $\sigma(z_k)$ is trained on "class k or not" and the probabilities are
  $\sigma(z_k) / \sum_j \sigma(z_j)$.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils import check_array
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from .. import losses
from ..functions import sigmoid
from .base import NetworkEstimator, loss_for_fit
from .objective import summed_over_outputs


def softmax(z: np.ndarray) -> np.ndarray:
    r"""$e^{z_k - m} / \sum_j e^{z_j - m}$ row by row, with $m = \max_j z_j$
    (so nothing overflows)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid_spec(n_classes: int, base, name: str, summed: bool = True) -> tuple:
    """The loss spec of sigmoid outputs: one logit for two classes, else one per class, whose
    losses are summed per sample (``summed``) so each is its own binary problem."""
    if n_classes == 2:
        return "logistic", 1, base, name
    return "logistic_ovr", n_classes, summed_over_outputs(base) if summed else base, name


class NetworkClassifier(ClassifierMixin, NetworkEstimator):
    """Base of `MLPClassifier` and `NeuronClassifier`."""

    _metric = "accuracy"
    _losses: tuple[str, ...] = ("cross_entropy", "bce_with_logits")
    _multilabel = False  # whether y may be a 0/1 indicator matrix (one column per label)

    def _y_options(self) -> dict:
        return {"multi_output": self._multilabel}

    def _loss_spec(self, n_classes: int) -> tuple:
        """``(output kind, n_outputs, base loss, name for pn.fit)`` for ``self.loss``."""
        base, name = loss_for_fit(self.loss, self._losses, type(self).__name__)
        if name is None:  # a callable gets the logits of every class and integer labels
            return "softmax", n_classes, base, "cross_entropy"
        if name == "cross_entropy" and n_classes > 2:
            return "softmax", n_classes, base, "cross_entropy"
        return sigmoid_spec(n_classes, losses.bce_with_logits, "bce_with_logits")

    def _targets(self, y, first: bool, classes, incremental: bool):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        multilabel = y.ndim == 2
        if not first and multilabel != self._is_multilabel:
            kinds = ("one label per row", "a multilabel indicator matrix")
            raise ValueError(
                f"y is {kinds[multilabel]} but the network was fitted on "
                f"{kinds[not multilabel]}; fit with warm_start=False to rebuild it"
            )
        if multilabel:
            return self._multilabel_targets(y, first, classes)
        check_classification_targets(y)
        if classes is not None:
            classes = np.unique(check_array(classes, ensure_2d=False, dtype=None,
                                            input_name="classes"))
        if first:
            if classes is None and incremental:
                raise ValueError("classes must be passed on the first call to partial_fit")
            labels = np.unique(y) if classes is None else classes
            if len(labels) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes to learn; got 1 class "
                    f"({labels[0]!r})"
                )
            self.classes_ = labels
            self._is_multilabel = False
        elif classes is not None and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"classes={classes.tolist()} differs from the classes of the first call, "
                f"{self.classes_.tolist()}"
            )
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(
                f"y has labels {unknown.tolist()} that are not among the classes "
                f"{self.classes_.tolist()} this classifier was built for; fit again with "
                "warm_start=False (or pass every class to the first partial_fit)"
            )
        codes = np.searchsorted(self.classes_, y)
        spec = self._loss_spec(len(self.classes_))
        kind = spec[0]
        if kind == "softmax":
            targets = codes.astype(np.int64)
        elif kind == "logistic":
            targets = codes.astype(np.float64).reshape(-1, 1)
        else:
            targets = np.zeros((len(codes), len(self.classes_)))
            targets[np.arange(len(codes)), codes] = 1.0
        extra = None
        if self.class_weight is not None:
            extra = compute_sample_weight(self.class_weight, y)
        return targets, extra, spec

    def _multilabel_targets(self, y, first: bool, classes):
        r"""A 0/1 indicator matrix: one sigmoid output per label, each trained on its own
        binary cross-entropy, summed over the labels (scikit-learn's multilabel loss)."""
        if type_of_target(y) != "multilabel-indicator" or not np.isin(y, (0, 1)).all():
            raise ValueError(
                f"{type(self).__name__} takes a 2-D y only as a multilabel indicator matrix "
                f"(0/1 entries, one column per label, at least 2 columns); got y of shape "
                f"{y.shape} with values {np.unique(y)[:6].tolist()}"
            )
        if self.class_weight is not None:
            raise ValueError("class_weight is not supported for multilabel targets")
        base, name = loss_for_fit(self.loss, self._losses, type(self).__name__)
        if name is None:
            raise ValueError("a callable loss is not supported for multilabel targets")
        labels = np.arange(y.shape[1])
        if first:
            self.classes_ = labels
            self._is_multilabel = True
        elif not np.array_equal(labels, self.classes_):
            raise ValueError(
                f"y has {y.shape[1]} label columns; the network was built for "
                f"{len(self.classes_)}"
            )
        if classes is not None and not np.array_equal(np.unique(classes), labels):
            raise ValueError(
                f"for multilabel y, classes must be the column indices {labels.tolist()}; got "
                f"{np.asarray(classes).tolist()}"
            )
        spec = ("logistic", y.shape[1], summed_over_outputs(losses.bce_with_logits),
                "bce_with_logits")
        return y.astype(np.float64), None, spec

    def _strata(self, targets) -> np.ndarray | None:
        if self._is_multilabel:
            return None  # as scikit-learn: a multilabel split is not stratified
        if targets.ndim == 1:
            return targets
        return targets[:, 0].astype(np.int64) if targets.shape[1] == 1 else targets.argmax(1)

    def _validation_score(self, output, targets, sample_weight) -> float:
        """Accuracy (exact match of every label, for multilabel) of ``output``."""
        if self._is_multilabel:
            right = np.all((output > 0) == (targets > 0.5), axis=1)
        elif targets.ndim == 1:
            right = output.argmax(axis=1) == targets
        elif targets.shape[1] == 1:
            right = (output[:, 0] > 0) == (targets[:, 0] > 0.5)
        else:
            right = output.argmax(axis=1) == targets.argmax(axis=1)
        return float(np.average(right, weights=sample_weight))

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current weights.

        ``classes`` (every label that will ever appear) is required on the first call (not
        for multilabel ``y``). With ``early_stopping``, each call holds out
        ``validation_fraction`` of its data to score; once the score has not improved for
        ``n_iter_no_change`` calls, the best weights are put back and later calls do nothing
        (``stop_reason_ == "early_stopping"``).
        """
        return self._train(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``, columns in ``classes_``
        order; for multilabel ``y``, each label's probability (rows need not sum to 1)."""
        z = self._forward(X)
        kind = self.out_activation_
        if kind == "softmax":
            return softmax(z)
        if self._is_multilabel:
            return sigmoid(z)
        if kind == "logistic":
            p = sigmoid(z[:, 0])
            return np.column_stack([1.0 - p, p])
        # sigma(z_k) / sum_j sigma(z_j), as a softmax of log sigma(z) = -log(1 + e^-z), so
        # it stays finite when every sigmoid underflows
        return softmax(-np.logaddexp(0.0, -z))

    def predict_log_proba(self, X) -> np.ndarray:
        """The logarithm of `predict_proba()`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample (labels as given in ``y``); for multilabel
        ``y``, the 0/1 matrix of the labels whose probability exceeds 1/2."""
        if getattr(self, "_is_multilabel", False):
            return (self._forward(X) > 0).astype(np.int64)
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
