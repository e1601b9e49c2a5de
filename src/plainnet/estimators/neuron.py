r"""``NeuronClassifier``: the notes' sigmoid neuron as a scikit-learn classifier.

One neuron integrates the inputs and squashes the result,
$p = \sigma(x \cdot w + b)$, read as the probability of the positive class: logistic
regression, trained by gradient descent on the log loss
$-[y \log p + (1 - y) \log(1 - p)]$ (or on the squared error $(p - y)^2$). With
$K > 2$ classes there is one such neuron per class, each trained on "this class or not"
(one-vs-rest), and the probabilities are normalized to sum to 1.
"""

from __future__ import annotations

import numpy as np

from .. import losses
from ..backend import to_numpy
from .base import loss_for_fit
from .classifier import NetworkClassifier, sigmoid_spec
from .objective import sigmoid_mse


class NeuronClassifier(NetworkClassifier):
    r"""Logistic regression by gradient descent: one sigmoid neuron (one per class for more than
    two classes).

    Parameters
    ----------
    solver : str or Optimizer class, default "adam"
        ``"sgd"`` is the notes' plain gradient descent,
        $\theta \leftarrow \theta - \eta \nabla J$ (it needs standardized inputs and a
        learning rate below $2 / \lambda_{\max}$ of the loss's curvature); Adam's
        per-weight steps also cope with unscaled features.
    learning_rate_init : float, default 0.01
    batch_size : int or "auto", default "auto"
        ``"auto"`` is ``min(200, n_samples)``; pass ``n_samples`` for full-batch descent.
    max_iter : int, default 200
    alpha : float, default 0.0001
        L2 penalty $\frac{\alpha}{2 S}\lVert w\rVert^2$ (the bias is not penalized).
    early_stopping, validation_fraction, n_iter_no_change, tol
        As in `MLPClassifier` (the validation score is accuracy).
    loss : {"bce_with_logits", "mse"} or callable, default "bce_with_logits"
        The log loss of each neuron (aliases ``"log_loss"``, ``"cross_entropy"``), the squared
        error of its sigmoid output, or a callable ``loss(logits, targets,
        sample_weight=None)`` receiving logits and 0/1 targets, both of shape
        ``(n, n_neurons)``.
    class_weight : dict, "balanced" or None
    random_state, warm_start, verbose, device, cuda_graph
        As in `MLPClassifier`.

    Attributes
    ----------
    model_ : plainnet.nn.Sequential
        ``Sequential(Linear(n_features, n_neurons))``: the neurons' integration
        $x \cdot w + b$ (the logits).
    coef_ : ndarray of shape (n_neurons, n_features)
        Each neuron's weight vector $w$.
    intercept_ : ndarray of shape (n_neurons,)
        Each neuron's bias $b$.

    The other fitted attributes are those of `MLPClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from plainnet.estimators import NeuronClassifier
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> clf = NeuronClassifier(learning_rate_init=0.1, alpha=0.1, random_state=0)
    >>> clf.fit(X, [0, 0, 1, 1]).predict([[-3.0], [3.0]]).tolist()
    [0, 1]
    >>> clf.stop_reason_, bool(clf.coef_[0, 0] > 0)
    ('tol', True)
    """

    _losses = ("bce_with_logits", "cross_entropy", "mse")

    def __init__(
        self,
        solver="adam",
        learning_rate_init=0.01,
        batch_size="auto",
        max_iter=200,
        alpha=0.0001,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        loss="bce_with_logits",
        class_weight=None,
        random_state=None,
        warm_start=False,
        verbose=False,
        device=None,
        cuda_graph=False,
    ):
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.loss = loss
        self.class_weight = class_weight
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.device = device
        self.cuda_graph = cuda_graph

    def _architecture(self):
        return (), (), ()

    def _loss_spec(self, n_classes: int) -> tuple:
        base, name = loss_for_fit(self.loss, self._losses, type(self).__name__)
        if name == "mse":
            base = sigmoid_mse
        elif name is not None:  # the log loss of each neuron's sigmoid
            base, name = losses.bce_with_logits, "bce_with_logits"
        return sigmoid_spec(n_classes, base, name or "bce_with_logits", summed=name is not None)

    def decision_function(self, X) -> np.ndarray:
        r"""The neurons' integration $x \cdot w + b$: shape ``(n_samples,)`` for two
        classes (positive means ``classes_[1]``), else ``(n_samples, n_classes)``."""
        z = self._forward(X)
        return z[:, 0] if z.shape[1] == 1 else z

    @property
    def coef_(self) -> np.ndarray:
        return np.array(to_numpy(self.model_[-1].weight.data), copy=True)

    @property
    def intercept_(self) -> np.ndarray:
        return np.array(to_numpy(self.model_[-1].bias.data), copy=True)
