"""What every network estimator shares: checking data, building the network, training it with
`plainnet.fit()`, and the fitted attributes scikit-learn users expect.

Subclasses say how targets are encoded (`NetworkEstimator._targets()`), which layers the
network has (`NetworkEstimator._architecture()`) and how outputs become predictions.
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
from ..backend import to_numpy
from ..losses import get as get_loss
from ..nn import Linear
from ..random import get_rng
from ..training import fit as train
from ..training.split import split
from . import params as P
from ._files import EstimatorFilesMixin
from .network import build_network, seeded_dropout, weight_matrices
from .objective import gradient_norm, penalized
from .solvers import fit_lbfgs, stochastic_optimizer
from .stopping import Stopping, convergence_message, diverged, divergence_message

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6

    def validate_data(estimator, X="no_validation", y="no_validation", **kwargs):
        return estimator._validate_data(X, y, **kwargs)


FLOAT_DTYPES = (np.float64, np.float32)


def make_rng(random_state) -> np.random.Generator:
    """A Generator from ``random_state``: None draws a seed from plainnet's global generator
    (so [`plainnet.seed()`][plainnet.seed] applies), an int seeds it, a Generator is used as is, and
    a NumPy ``RandomState`` gives a seed."""
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


class NetworkEstimator(EstimatorFilesMixin, BaseEstimator):
    """Base of the estimators: see [`MLPClassifier`][plainnet.estimators.MLPClassifier] for the
    parameters and fitted attributes."""

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

    def _strata(self, targets) -> np.ndarray | None:
        """The labels the validation split is stratified by (None: not stratified)."""
        return None

    def _validation_score(self, output: np.ndarray, targets, sample_weight) -> float:
        """The early-stopping score of the network's ``output`` (accuracy, or R^2)."""
        raise NotImplementedError

    # -- fitting -----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)``: up to ``max_iter`` epochs (stochastic solvers) or
        L-BFGS iterations (``solver="lbfgs"``).

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
        if incremental and opts["solver"] == "lbfgs":
            raise ValueError(
                "partial_fit needs a stochastic solver ('adam', 'sgd', ...); solver='lbfgs' "
                "minimizes over the whole data set, in fit"
            )
        first = not hasattr(self, "model_") or not (incremental or opts["warm_start"])
        architecture = self._architecture() if first else None  # bad values fail before data
        if opts["solver"] == "lbfgs" and any(p > 0 for p in (architecture or ((), (), ()))[2]):
            raise ValueError("solver='lbfgs' needs a deterministic objective: set dropout=0")
        X, y = validate_data(self, X, y, reset=first, dtype=FLOAT_DTYPES, **self._y_options())
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
        else:
            self._resume()
        if kind != self.out_activation_ or n_outputs != self.n_outputs_:
            raise ValueError(
                f"the targets now need {n_outputs} {kind!r} outputs but the network was built "
                f"with {self.n_outputs_} {self.out_activation_!r} outputs; fit with "
                "warm_start=False to rebuild it"
            )
        if targets.dtype.kind == "f":
            targets = targets.astype(X.dtype, copy=False)
        weights = weight_matrices(self.model_)
        objective = penalized(base, weights, opts["alpha"], loss_name)
        if opts["solver"] == "lbfgs":
            self._fit_lbfgs(X, targets, sw, objective, opts)
        else:
            self._fit_stochastic(X, targets, sw, objective, opts, incremental)
        if self.stop_reason_ == "max_iter":
            grad = self._last_grad_norm
            if grad is None:
                grad = gradient_norm(self.model_, X, targets, sw, base, weights, opts["alpha"])
            warnings.warn(
                convergence_message(type(self).__name__, opts["max_iter"],
                                    opts["early_stopping"] and opts["solver"] != "lbfgs",
                                    opts["tol"], opts["n_iter_no_change"], self.loss_, grad,
                                    self._metric, opts["solver"]),
                ConvergenceWarning, stacklevel=3,
            )
        return self

    def _initialize(self, architecture: tuple, n_features: int, n_outputs: int, kind: str,
                    dtype) -> None:
        hidden, activations, dropouts = architecture
        self._rng = make_rng(self.random_state)
        self.model_ = build_network(n_features, hidden, activations, dropouts, n_outputs,
                                    dtype, self._rng)
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(hidden) + 2
        self.out_activation_ = kind
        self.loss_curve_ = []
        self.validation_scores_ = None
        self.best_validation_score_ = None
        self.best_loss_ = math.inf
        self.loss_ = None
        self.n_iter_ = 0
        self.t_ = 0
        self._optimizer = None
        self._stopping = None
        self._last_grad_norm = None

    def _resume(self) -> None:
        """The training state a fitted estimator loaded from a file lacks (the file keeps the
        network and the fitted attributes): a fresh generator, optimizer and stopping rule."""
        if not hasattr(self, "_rng"):
            self._rng = make_rng(self.random_state)
        for name in ("_optimizer", "_stopping", "_last_grad_norm"):
            if not hasattr(self, name):
                setattr(self, name, None)
        if not hasattr(self, "t_"):
            self.t_ = 0

    def _fit_stochastic(self, X, targets, sw, objective, opts: dict, incremental: bool):
        es = opts["early_stopping"]
        stopper = self._stopper(opts, incremental)
        if incremental and es and stopper.stopped:
            self.n_iter_ = 0
            return  # early stopping has fired: partial_fit learns no more
        if es:
            X, X_val, targets, t_val, sw, sw_val = self._validation_split(
                X, targets, sw, opts["validation_fraction"])
            stopper.scorer = lambda model: self._validation_score(
                model.predict(X_val, batch_size=4096), t_val, sw_val)
            if self.validation_scores_ is None:
                self.validation_scores_ = []
        optimizer = self._optimizer_for(opts, incremental)
        # the labels were encoded here and the weights checked: not again in every batch
        positive = sw is None or bool(np.all(sw > 0))
        try:
            with seeded_dropout(self.model_, self._rng), \
                    losses.targets_checked(positive_weights=positive):
                history = train(
                    self.model_, X, targets, loss=objective, optimizer=optimizer,
                    epochs=1 if incremental else opts["max_iter"],
                    batch_size=P.batch_size(self.batch_size, len(X)),
                    metrics=(), callbacks=[stopper], shuffle=opts["shuffle"],
                    seed=self._rng, verbose=opts["verbose"], sample_weight=sw,
                    device=opts["device"], cuda_graph=opts["cuda_graph"],
                )
        finally:
            stopper.scorer = None  # it holds this call's validation data (and can't pickle)
            stopper.trainer = None
        self._record(history, stopper, opts, incremental)

    def _validation_split(self, X, targets, sw, fraction: float) -> tuple:
        """Hold out ``fraction`` of the rows (stratified by `_strata()`), as
        scikit-learn's early stopping does: ``X, X_val, targets, targets_val, sw, sw_val``."""
        strata = self._strata(targets)
        index = np.arange(len(X))
        try:
            train_idx, val_idx, _, _ = split(index, index if strata is None else strata,
                                             test_size=fraction, stratify=strata is not None,
                                             random_state=self._rng)
        except ValueError as err:
            raise ValueError(
                f"early_stopping holds out validation_fraction={fraction:g} of the "
                f"{len(X)} samples: {err}"
            ) from None
        if len(val_idx) < 2:
            raise ValueError(
                f"the validation set is too small: validation_fraction={fraction:g} of "
                f"{len(X)} samples holds out {len(val_idx)}; increase validation_fraction or "
                "give more data"
            )
        sw_train, sw_val = (None, None) if sw is None else (sw[train_idx], sw[val_idx])
        return (X[train_idx], X[val_idx], targets[train_idx], targets[val_idx],
                sw_train, sw_val)

    def _stopper(self, opts: dict, incremental: bool) -> Stopping:
        """The stopping rule: its record (best loss or score, epochs without improvement,
        samples seen) lasts until the network is rebuilt, as scikit-learn's does."""
        es = opts["early_stopping"]
        stopper = self._stopping
        if stopper is None or stopper.validation != es:
            stopper = Stopping(opts["tol"], opts["n_iter_no_change"], validation=es,
                               samples=self.t_)
            if not es and math.isfinite(self.best_loss_ or math.inf):
                stopper.best_loss = self.best_loss_
            self._stopping = stopper
        stopper.tol, stopper.n_iter_no_change = opts["tol"], opts["n_iter_no_change"]
        stopper.schedule = opts["schedule"] if opts["solver"] == "sgd" else "constant"
        stopper.lr_init, stopper.power_t = opts["lr"], opts["power_t"]
        stopper.restore = "on_stop" if incremental else "at_end"
        if not incremental:
            stopper.stopped = False
        return stopper

    def _optimizer_for(self, opts: dict, incremental: bool):
        if incremental and self._optimizer is not None:
            return self._optimizer
        self._optimizer = stochastic_optimizer(opts, self.model_.parameters())
        return self._optimizer

    def _record(self, history, stopper: Stopping, opts: dict, incremental: bool) -> None:
        es = opts["early_stopping"]
        epoch_losses = [float(v) for v in history.history.get("loss", [])]
        self.loss_curve_.extend(epoch_losses)
        self.n_iter_ = len(epoch_losses)
        self.t_ = stopper.samples
        if self.loss_curve_:
            self.loss_ = self.loss_curve_[-1]
        if es:
            self.validation_scores_.extend(stopper.scores)
            self.best_validation_score_ = float(stopper.best_score)
            self.best_loss_ = None
        else:
            self.best_loss_ = float(stopper.best_loss)
        self._last_grad_norm = None
        explosion = self._explosion(epoch_losses, stopper, incremental)
        if history.stop_reason == "diverged" or explosion is not None:
            if history.stop_reason != "diverged":  # pn.fit warned of NaN/inf itself
                warnings.warn(divergence_message(type(self).__name__, *explosion, opts["lr"]),
                              RuntimeWarning, stacklevel=4)
            reason = "diverged"
        elif stopper.fired:
            reason = "early_stopping" if es else "tol"
        else:
            reason = "partial_fit" if incremental else "max_iter"
        self.stop_reason_ = reason
        self.converged_ = reason in ("tol", "early_stopping")

    @staticmethod
    def _explosion(epoch_losses: list[float], stopper: Stopping, incremental: bool):
        """``(reference loss, last loss, what the reference is)`` when the training loss ended
        more than [`DIVERGED_FACTOR`][plainnet.estimators.stopping.DIVERGED_FACTOR] times above the
        reference, else None. In ``fit`` every epoch sees the same data, and the reference is
        the call's first epoch; ``partial_fit`` calls may each see other data, so there only a
        claim of convergence (the loss criterion fired) is checked, against the best loss."""
        if not epoch_losses:
            return None
        if not incremental:
            pair, what = [epoch_losses[0], epoch_losses[-1]], "first epoch"
        elif stopper.fired and not stopper.validation:
            pair, what = [stopper.best_loss, epoch_losses[-1]], "best epoch"
        else:
            return None
        return (*pair, what) if diverged(pair) else None

    def _fit_lbfgs(self, X, targets, sw, objective, opts: dict) -> None:
        if opts["device"] is not None:
            self.model_.to(opts["device"])
        result, values, out_of_calls = fit_lbfgs(
            self.model_, X, targets, sw, objective, opts["max_iter"], opts["max_fun"],
            opts["tol"], verbose=bool(opts["verbose"]))
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)
        self.loss_curve_.extend(values[1:])
        self.best_loss_ = min(self.loss_curve_, default=self.loss_)
        self._last_grad_norm = float(np.linalg.norm(result.grad))
        if result.status == 2 or diverged(values):
            if result.status != 2:
                warnings.warn(divergence_message(type(self).__name__, values[0], values[-1],
                                                 "start", opts["lr"]),
                              RuntimeWarning, stacklevel=4)
            else:
                warnings.warn(f"{type(self).__name__}: lbfgs {result.message}",
                              RuntimeWarning, stacklevel=4)
            reason = "diverged"
        elif result.status == 1 or out_of_calls:
            reason = "max_iter"
        else:  # converged, or no step lowers the loss any more (a minimum, up to rounding)
            reason = "tol"
        self.stop_reason_ = reason
        self.converged_ = reason == "tol"

    # -- scikit-learn's view of the weights ----------------------------------------------
    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices, layer by layer, each of shape ``(fan_in, fan_out)``
        (scikit-learn's layout: the transpose of each ``Linear.weight``); copies."""
        return [np.array(to_numpy(w.data), copy=True).T for w in weight_matrices(self.model_)]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors, layer by layer, each of shape ``(fan_out,)``; copies."""
        return [np.array(to_numpy(m.bias.data), copy=True) for m in self.model_.modules()
                if isinstance(m, Linear)]

    # -- using the network -------------------------------------------------------------
    def _forward(self, X) -> np.ndarray:
        """The network's raw outputs on ``X`` (checked against the training data's shape)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=FLOAT_DTYPES)
        return self.model_.predict(X.astype(self.model_.dtype, copy=False), batch_size=4096)


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
