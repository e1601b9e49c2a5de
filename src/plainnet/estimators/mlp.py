"""``MLPClassifier`` and ``MLPRegressor``: multi-layer perceptrons with scikit-learn's API,
trained by `plainnet.fit()`."""

from __future__ import annotations

from . import params as P
from .classifier import NetworkClassifier
from .regressor import NetworkRegressor


class MLPClassifier(NetworkClassifier):
    r"""A multi-layer perceptron classifier: ``Linear -> activation [-> Dropout]`` per hidden
    layer, then one output per class (one logit for two classes), trained on cross-entropy
    by `plainnet.fit()`.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default (100,)
        The width of each hidden layer; ``()`` gives a linear model.
    activation : str or tuple of str, default "relu"
        The activation after each hidden layer: one name for all, or one per layer. Any of
        `plainnet.nn.ACTIVATION_MODULES` (``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"gelu"``,
        ``"leaky_relu"``, ``"identity"``, ...) or scikit-learn's ``"logistic"``.
    solver : str or Optimizer class, default "adam"
        ``"adam"`` (with ``beta_1``, ``beta_2``, ``epsilon``), ``"sgd"`` (with ``momentum``,
        ``nesterovs_momentum``, ``learning_rate`` and ``power_t``), both mini-batch as in
        scikit-learn; ``"lbfgs"``, full-batch L-BFGS by `plainnet.optimize.minimize()` (good for
        small data sets; ``max_iter`` counts its iterations, ``max_fun`` its loss evaluations,
        ``tol`` bounds the gradient norm); or another optimizer of
        [`plainnet.optim`][plainnet.optim] (``"adamw"``, ``"rmsprop"``, ``"adagrad"``, or a class),
        with its default hyperparameters except the learning rate.
    learning_rate_init : float, default 0.001
        The optimizer's (initial) learning rate $\eta_0$.
    batch_size : int or "auto", default "auto"
        Samples per gradient step; ``"auto"`` is ``min(200, n_samples)``.
    max_iter : int, default 200
        The most epochs (passes over the data) that ``fit`` runs; for ``"lbfgs"``, the most
        iterations.
    alpha : float, default 0.0001
        L2 penalty: $\frac{\alpha}{2 S}\sum_l \lVert W_l\rVert^2$ is added to the
        batch loss ($S$ the batch's total sample weight; biases are not penalized),
        scikit-learn's scaling.
    dropout : float or tuple of float, default 0.0
        Probability of zeroing each hidden unit while training (one for all hidden layers, or
        one per layer).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data (stratified for classifiers,
        except multilabel) and stop when its accuracy has not been above its best by more
        than ``tol`` for more than ``n_iter_no_change`` epochs in a row; the best epoch's
        weights are kept. Without it, training stops when the training loss has not been
        below its best by more than ``tol`` for more than ``n_iter_no_change`` epochs
        (scikit-learn's rules; stochastic solvers only).
    validation_fraction : float, default 0.1
    n_iter_no_change : int, default 10
    tol : float, default 1e-4
    loss : str or callable, default "cross_entropy"
        ``"cross_entropy"`` (alias ``"log_loss"``: softmax cross-entropy, or binary
        cross-entropy on one logit for two classes), ``"bce_with_logits"`` (one sigmoid per
        class, one-vs-rest) or a callable ``loss(logits, labels, sample_weight=None)``
        receiving logits of shape ``(n, n_classes)`` and integer labels indexing ``classes_``.
    class_weight : dict, "balanced" or None
        Multiplies each sample's weight by its class's weight; ``"balanced"`` uses
        ``n_samples / (n_classes * count(class))``.
    random_state : int, numpy Generator or RandomState, or None
        Fixes the initial weights, the shuffling, the validation split and the dropout masks.
        None draws from plainnet's global generator ([`plainnet.seed()`][plainnet.seed]).
    warm_start : bool, default False
        ``fit`` continues from the current weights instead of starting over.
    verbose : bool, default False
        Print one line per epoch (loss, validation score) to stderr; for ``"lbfgs"``, per
        iteration (loss, gradient norm).
    device : None, "cpu", "cuda" or "cuda:N"
        Where the network trains: the CPU (NumPy) or an NVIDIA GPU (CuPy, installed with
        ``pip install "plainnet[cuda12]"`` or ``"plainnet[cuda13]"``). ``model_`` stays on
        that device; predictions come back as NumPy arrays.
    cuda_graph : bool, default False
        On a GPU, run each full batch's forward and backward pass as one CUDA graph launch
        (`plainnet.fit()`'s ``cuda_graph``): for small networks, whose speed the host's
        kernel launches bound. Without ``dropout``; a model that can't be recorded trains
        without a graph, after a ``RuntimeWarning``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        The schedule of ``solver="sgd"``: constant $\eta_0$;
        $\eta_0 / (t + 1)^{\text{power\_t}}$ after each epoch, $t$ the samples
        seen (``t_``); or $\eta_0$ until the stopping criterion fires, then divided by
        5 each time it fires again, stopping once it is at most $10^{-6}$.
    power_t : float, default 0.5
    momentum : float, default 0.9
        ``solver="sgd"``'s momentum $\mu$, in [0, 1].
    nesterovs_momentum : bool, default True
        Nesterov's momentum for ``solver="sgd"`` (with ``momentum > 0``).
    shuffle : bool, default True
        Shuffle the samples every epoch (stochastic solvers).
    beta_1, beta_2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's decay rates and $\epsilon$.
    max_fun : int, default 15000
        The most loss evaluations of ``solver="lbfgs"``.

    Attributes
    ----------
    model_ : plainnet.nn.Sequential
        The trained network; its outputs are logits (``predict_proba`` applies the softmax or
        sigmoid). Save it with `plainnet.save()` (or `save()`, which also keeps
        ``classes_`` and the feature names).
    coefs_ : list of ndarray
        ``coefs_[i]`` is the weight matrix of layer ``i``, shape ``(fan_in, fan_out)``
        (scikit-learn's layout; a copy of ``model_``'s ``Linear.weight``, transposed).
    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer ``i``, shape ``(fan_out,)``.
    loss_ : float
        The training loss (with the penalty) at the end of the last fit.
    loss_curve_ : list of float
        The training loss (with the penalty) of every epoch (for ``"lbfgs"``, of every
        iteration), over all fits since the network was built.
    validation_scores_ : list of float or None
        The validation score of every epoch (``early_stopping`` only).
    best_validation_score_ : float or None
        The best of ``validation_scores_`` (``early_stopping`` only).
    best_loss_ : float or None
        The lowest training loss so far; None with ``early_stopping``, as in scikit-learn.
    n_iter_ : int
        Epochs (``"lbfgs"``: iterations) run by the last ``fit`` or ``partial_fit`` call.
    t_ : int
        Training samples seen by the stochastic solver since the network was built (the
        $t$ of ``learning_rate="invscaling"``).
    n_layers_ : int
        Layers, input and output included: ``len(hidden_layer_sizes) + 2``.
    converged_ : bool
        Whether the last ``fit`` stopped because a criterion was met, not at ``max_iter``
        and not by diverging.
    stop_reason_ : str
        ``"tol"`` (the training loss stopped falling, or lbfgs's gradient norm fell below
        ``tol``), ``"early_stopping"`` (the validation score stopped rising), ``"max_iter"``
        (a ``ConvergenceWarning`` says which criterion was not met, with the last loss and
        gradient norm), ``"diverged"`` (the loss became NaN or inf, the last finite weights
        kept, or it ended more than 10 times above its first epoch's; a ``RuntimeWarning``
        says so) or ``"partial_fit"`` (one epoch ran).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        The column names, when ``X`` was a DataFrame with string column names.
    n_outputs_ : int
        The number of network outputs (1 for two classes, else one per class or label).
    out_activation_ : str
        How outputs become predictions: ``"logistic"`` (two classes, or multilabel),
        ``"softmax"`` or ``"logistic_ovr"`` (``loss="bce_with_logits"``).
    classes_ : ndarray
        The class labels; for a multilabel ``y`` (an ``(n, k)`` 0/1 matrix: one sigmoid
        output per label, ``predict`` returning the 0/1 matrix and ``predict_proba`` each
        label's probability), the column indices ``0, ..., k-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from plainnet.estimators import MLPClassifier
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 25)
    >>> y = np.array(["no", "yes", "yes", "no"] * 25)
    >>> clf = MLPClassifier((16,), activation="tanh", learning_rate_init=0.05,
    ...                     max_iter=300, random_state=0).fit(X, y)
    >>> clf.predict([[0.0, 1.0], [1.0, 1.0]]).tolist()
    ['yes', 'no']
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        solver="adam",
        learning_rate_init=0.001,
        batch_size="auto",
        max_iter=200,
        alpha=0.0001,
        dropout=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        loss="cross_entropy",
        class_weight=None,
        random_state=None,
        warm_start=False,
        verbose=False,
        device=None,
        cuda_graph=False,
        learning_rate="constant",
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        shuffle=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_fun=15000,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.dropout = dropout
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
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.shuffle = shuffle
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.max_fun = max_fun

    _multilabel = True

    def _architecture(self):
        return mlp_architecture(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(NetworkRegressor):
    r"""A multi-layer perceptron regressor: ``Linear -> activation [-> Dropout]`` per hidden
    layer, then one linear output per target column, trained on squared error by
    `plainnet.fit()`.

    The parameters and fitted attributes are those of `MLPClassifier` (without
    ``class_weight`` and ``classes_``), except:

    Parameters
    ----------
    loss : str or callable, default "mse"
        ``"mse"`` (alias ``"squared_error"``): scikit-learn's squared error, half the mean
        square $\frac{1}{2}\overline{(f(x) - y)^2}$ (so ``alpha`` and ``tol`` mean what
        they mean there); ``"mae"`` (``"l1"``), ``"huber"``, or a callable
        ``loss(output, target, sample_weight=None)`` on arrays of shape ``(n, n_outputs)``.
    early_stopping : bool, default False
        As in `MLPClassifier`, with the validation score $R^2$.

    Attributes
    ----------
    model_ : plainnet.nn.Sequential
        The trained network; its outputs are the predictions.
    out_activation_ : str
        ``"identity"``.

    ``predict`` returns shape ``(n_samples,)`` for one target and ``(n_samples, n_outputs)``
    for several.

    Examples
    --------
    >>> import numpy as np
    >>> from plainnet.estimators import MLPRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> reg = MLPRegressor((32,), activation="tanh", learning_rate_init=0.01,
    ...                    max_iter=300, random_state=0).fit(X, 3 * X[:, 0] + 1)
    >>> reg.score(X, 3 * X[:, 0] + 1) > 0.98
    True
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        solver="adam",
        learning_rate_init=0.001,
        batch_size="auto",
        max_iter=200,
        alpha=0.0001,
        dropout=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        loss="mse",
        random_state=None,
        warm_start=False,
        verbose=False,
        device=None,
        cuda_graph=False,
        learning_rate="constant",
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        shuffle=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_fun=15000,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.loss = loss
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.device = device
        self.cuda_graph = cuda_graph
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.shuffle = shuffle
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.max_fun = max_fun

    def _architecture(self):
        return mlp_architecture(self)


def mlp_architecture(est) -> tuple[tuple, tuple, tuple]:
    """The checked ``(hidden sizes, activations, dropout rates)`` of an MLP estimator."""
    hidden = P.hidden_sizes(est.hidden_layer_sizes)
    activations = P.per_layer(est.activation, len(hidden), "activation", P.activation)
    dropouts = P.per_layer(est.dropout, len(hidden), "dropout", P.dropout)
    return hidden, activations, dropouts
