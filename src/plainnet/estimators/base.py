"""What every network estimator shares: checking data, building the network, training it with
:func:`plainnet.fit`, and the fitted attributes scikit-learn users expect.

Subclasses say how targets are encoded (:meth:`NetworkEstimator._targets`), which layers the
network has (:meth:`NetworkEstimator._architecture`) and how outputs become predictions.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from .. import losses
from ..losses import get as get_loss
from ..optim import get_optimizer
from ..random import get_rng
from ..training import fit as train
from . import params as P
from .network import build_network, seeded_dropout, weight_matrices
from .objective import gradient_norm, penalized
from .stopping import PlateauStopping, convergence_message

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6

    def validate_data(estimator, X="no_validation", y="no_validation", **kwargs):
        return estimator._validate_data(X, y, **kwargs)


FLOAT_DTYPES = (np.float64, np.float32)


def make_rng(random_state) -> np.random.Generator:
    """A Generator from ``random_state``: None draws a seed from plainnet's global generator
    (so :func:`plainnet.seed` applies), an int seeds it, a Generator is used as is, and a
    NumPy ``RandomState`` gives a seed."""
    if random_state is None:
        return np.random.default_rng(get_rng().integers(2**63))
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state))
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))
    raise TypeError(
        "random_state must be None, an int, a numpy Generator or RandomState; got "
        f"{random_state!r}"
    )


def check_sample_weight(sample_weight, n_samples: int, dtype) -> np.ndarray | None:
    """``sample_weight`` as a finite, non-negative array of shape ``(n_samples,)`` (or None)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real):
        sample_weight = np.full(n_samples, sample_weight)
    sw = check_array(sample_weight, ensure_2d=False, dtype=dtype, input_name="sample_weight")
    if sw.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per sample; got shape "
            f"{sw.shape}"
        )
    if np.any(sw < 0):
        raise ValueError("sample_weight must be non-negative; got negative weights")
    if not np.any(sw > 0):
        raise ValueError("sample_weight must contain at least one non-zero weight; all are zero")
    return sw


class NetworkEstimator(BaseEstimator):
    """Base of the estimators: see :class:`~plainnet.estimators.MLPClassifier` for the
    parameters and fitted attributes."""

    _metric = "accuracy"  # the validation score of early stopping: "accuracy" or "r2"

    # -- hooks -------------------------------------------------------------------------
    def _architecture(self) -> tuple[tuple, tuple, tuple]:
        """``(hidden sizes, activation names, dropout rates)``, one entry per hidden layer."""
        raise NotImplementedError

    def _y_options(self) -> dict:
        """Keyword arguments for ``validate_data`` about ``y``."""
        raise NotImplementedError

    def _targets(self, y, first: bool, classes, incremental: bool):
        """``(targets for pn.fit, extra sample weights or None, loss spec)`` where the loss spec
        is ``(output kind, n_outputs, base loss, loss name for pn.fit)``."""
        raise NotImplementedError

    # -- fitting -----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            float32 data trains a float32 network; anything else trains in float64.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
            Each sample's weight in the (weighted-mean) loss.

        Returns
        -------
        self
        """
        return self._train(X, y, sample_weight, incremental=False)

    def _train(self, X, y, sample_weight, *, incremental: bool, classes=None):
        opts = P.common(self)
        first = not hasattr(self, "model_") or not (incremental or opts["warm_start"])
        architecture = self._architecture() if first else None  # bad values fail before data
        X, y = validate_data(self, X, y, reset=first, dtype=FLOAT_DTYPES, **self._y_options())
        batch_size = P.batch_size(self.batch_size, len(X))
        if not first:
            X = X.astype(self.model_.dtype, copy=False)
        sw = check_sample_weight(sample_weight, len(X), X.dtype)
        targets, extra, spec = self._targets(y, first, classes, incremental)
        kind, n_outputs, base, loss_name = spec
        if extra is not None:
            sw = extra.astype(X.dtype) if sw is None else sw * extra
            if not np.any(sw > 0):
                raise ValueError("the class and sample weights are all zero; nothing to learn")
        if first:
            self._initialize(architecture, X.shape[1], n_outputs, kind, X.dtype)
        elif kind != self.out_activation_:
            raise ValueError(
                f"the loss now needs a {kind!r} output but the network was built with a "
                f"{self.out_activation_!r} output; fit with warm_start=False to rebuild it"
            )
        if opts["early_stopping"] and self.validation_scores_ is None:
            self.validation_scores_ = []
        stopper = self._stopper(opts, incremental)
        if incremental and opts["early_stopping"] and stopper.stopped:
            return self  # early stopping has fired: partial_fit learns no more
        optimizer = self._optimizer_for(opts, incremental)
        weights = weight_matrices(self.model_)
        objective = penalized(base, weights, opts["alpha"], loss_name)
        es = opts["early_stopping"]
        # the labels were encoded here and the weights checked: not again in every batch
        positive = sw is None or bool(np.all(sw > 0))
        with seeded_dropout(self.model_, self._rng), \
                losses.targets_checked(positive_weights=positive):
            history = train(
                self.model_, X, targets, loss=objective, optimizer=optimizer,
                epochs=1 if incremental else opts["max_iter"],
                batch_size=batch_size,
                validation_split=opts["validation_fraction"] if es else 0.0,
                metrics=(self._metric,) if es else (), callbacks=[stopper], shuffle=True,
                seed=self._rng, verbose=opts["verbose"], sample_weight=sw,
                device=opts["device"], cuda_graph=opts["cuda_graph"],
            )
        self._record(history, stopper, opts, incremental)
        if self.stop_reason_ == "max_iter":
            grad = gradient_norm(self.model_, X, targets, sw, base, weights, opts["alpha"])
            warnings.warn(
                convergence_message(type(self).__name__, opts["max_iter"], es, opts["tol"],
                                    opts["n_iter_no_change"], self.loss_curve_[-1], grad,
                                    self._metric),
                ConvergenceWarning, stacklevel=4,
            )
        return self

    def _initialize(self, architecture: tuple, n_features: int, n_outputs: int, kind: str,
                    dtype) -> None:
        hidden, activations, dropouts = architecture
        self._rng = make_rng(self.random_state)
        self.model_ = build_network(n_features, hidden, activations, dropouts, n_outputs,
                                    dtype, self._rng)
        self.n_outputs_ = n_outputs
        self.out_activation_ = kind
        self.loss_curve_ = []
        self.validation_scores_ = None
        self.best_validation_score_ = None
        self.best_loss_ = math.inf
        self.n_iter_ = 0
        self._optimizer = None
        self._partial_stopper = None

    def _stopper(self, opts: dict, incremental: bool) -> PlateauStopping:
        es = opts["early_stopping"]
        monitor = f"val_{self._metric}" if es else "loss"
        if not incremental:
            self._partial_stopper = None
            return PlateauStopping(monitor, opts["tol"], opts["n_iter_no_change"],
                                   "at_end" if es else "never")
        stopper = self._partial_stopper
        if stopper is None or stopper.monitor != monitor:
            stopper = PlateauStopping(monitor, opts["tol"], opts["n_iter_no_change"],
                                      "on_stop" if es else "never")
            self._partial_stopper = stopper
        return stopper

    def _optimizer_for(self, opts: dict, incremental: bool):
        if incremental and self._optimizer is not None:
            return self._optimizer
        self._optimizer = get_optimizer(opts["solver"], self.model_.parameters(), lr=opts["lr"])
        return self._optimizer

    def _record(self, history, stopper: PlateauStopping, opts: dict, incremental: bool) -> None:
        es = opts["early_stopping"]
        self.loss_curve_.extend(float(v) for v in history.history.get("loss", []))
        if es:
            self.validation_scores_.extend(
                float(v) for v in history.history.get(f"val_{self._metric}", [])
            )
            self.best_validation_score_ = float(stopper.best)
        finite = [v for v in self.loss_curve_ if math.isfinite(v)]
        self.best_loss_ = min(finite) if finite else math.inf
        self.n_iter_ += len(history)
        if history.stop_reason == "diverged":
            reason = "diverged"
        elif stopper.wait > stopper.patience:
            reason = "early_stopping" if es else "tol"
        else:
            reason = "partial_fit" if incremental else "max_iter"
        self.stop_reason_ = reason
        self.converged_ = reason in ("tol", "early_stopping")

    # -- using the network -------------------------------------------------------------
    def _forward(self, X) -> np.ndarray:
        """The network's raw outputs on ``X`` (checked against the training data's shape)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=FLOAT_DTYPES)
        return self.model_.predict(X.astype(self.model_.dtype, copy=False), batch_size=4096)

    def save(self, path) -> None:
        """Save the fitted network with :func:`plainnet.save`, keeping what turns its outputs
        into predictions in the file's metadata: ``estimator``, ``out_activation``,
        ``classes`` (classifiers) and ``feature_names`` (when fitted on a DataFrame)."""
        from ..io import save

        check_is_fitted(self, "model_")
        meta = {"estimator": type(self).__name__, "out_activation": self.out_activation_}
        if hasattr(self, "classes_"):
            meta["classes"] = self.classes_.tolist()
        if hasattr(self, "feature_names_in_"):
            meta["feature_names"] = [str(c) for c in self.feature_names_in_]
        save(self.model_, path, metadata=meta)


LOSS_ALIASES = {"log_loss": "cross_entropy", "squared_error": "mse", "absolute_error": "mae"}
"""scikit-learn's loss names and the plainnet loss each means."""


def loss_for_fit(loss, allowed: tuple[str, ...], what: str):
    """``(base loss function, its name)`` for a loss parameter: a name in ``allowed`` (or a
    scikit-learn alias of one), or a callable ``loss(output, target[, sample_weight])``, for
    which the name is None."""
    if callable(loss):
        return get_loss(loss), None
    name = loss.lower().replace("-", "_") if isinstance(loss, str) else None
    name = LOSS_ALIASES.get(name, name)
    if name not in allowed:
        raise ValueError(
            f"{what} loss must be one of {list(allowed)} or a callable; got {loss!r}"
        )
    return get_loss(name), name
