r"""When a stochastic solver stops, and how its learning rate moves: scikit-learn's rules.

After every epoch `Stopping` counts the epochs without improvement, exactly as
scikit-learn's MLPs do:

* ``early_stopping=False``: an epoch whose training loss $L_t$ is not below the best so
  far by more than ``tol`` ($L_t > L_{\text{best}} - \text{tol}$) counts; the best is
  then lowered to any smaller loss. The last weights are kept.
* ``early_stopping=True``: an epoch whose validation score $v_t$ (accuracy, or
  $R^2$) is not above the best by more than ``tol`` counts; any higher score becomes the
  best and its weights are saved, and put back at the end.

Once more than ``n_iter_no_change`` epochs in a row count, training stops, except with
``solver="sgd", learning_rate="adaptive"``, which divides the learning rate by 5 and goes on
until it falls below $10^{-6}$. ``learning_rate="invscaling"`` sets it after each epoch
to $\eta_0 / (t + 1)^{\text{power\_t}}$, $t$ the samples seen so far.

A ``fit`` whose training loss ends more than `DIVERGED_FACTOR` times above its first
epoch's (or becomes NaN/inf) has diverged: it is reported as such, not as converged.
"""

from __future__ import annotations

import math

import numpy as np

from ..callbacks import Callback

STOP_REASONS = ("tol", "early_stopping", "max_iter", "diverged", "partial_fit")
"""Values of ``stop_reason_``: the training loss converged (``tol``), the validation score
stopped improving (``early_stopping``), ``max_iter`` epochs (or lbfgs iterations or function
calls) ran out without either, the loss became NaN/inf or exploded (``diverged``), or one
``partial_fit`` epoch ran."""

DIVERGED_FACTOR = 10.0
"""A training loss that ends this many times above its first epoch's means divergence."""

MIN_ADAPTIVE_LR = 1e-6
"""``learning_rate="adaptive"`` stops once the learning rate is at most this."""


class Stopping(Callback):
    """scikit-learn's stopping rule, learning-rate schedules and best-weight restore, as a
    `plainnet.fit()` callback whose record lasts over several calls (``partial_fit``).

    Parameters
    ----------
    tol : float
    n_iter_no_change : int
    validation : bool
        Whether the validation score decides (``early_stopping``), computed after each epoch
        by the attribute ``scorer(model) -> float``; else the training loss decides.
    schedule : {"constant", "invscaling", "adaptive"}
        The learning-rate schedule (applied to every parameter group of the optimizer).
    lr : float
        The initial learning rate $\\eta_0$.
    power_t : float
        The exponent of ``"invscaling"``.
    restore : {"at_end", "on_stop"}
        With validation, put the best weights back at the end of every `plainnet.fit()`
        call, or only once the criterion has fired (``partial_fit``).
    """

    def __init__(self, tol: float, n_iter_no_change: int, validation: bool = False,
                 schedule: str = "constant", lr: float = 1e-3, power_t: float = 0.5,
                 restore: str = "at_end", samples: int = 0):
        self.tol = float(tol)
        self.n_iter_no_change = int(n_iter_no_change)
        self.validation = validation
        self.scorer = None
        self.schedule = schedule
        self.lr_init = float(lr)
        self.power_t = float(power_t)
        self.restore = restore
        self.count = 0
        self.best_loss = math.inf
        self.best_score = -math.inf
        self.best_weights = None
        self.scores: list[float] = []
        self.samples = int(samples)  # t_: samples seen, over all calls
        self.fired = False  # the criterion fired (stop)
        self.stopped = False  # with validation in partial_fit: no more learning

    def on_train_begin(self, logs):
        self.scores = []
        self.fired = False

    def on_batch_end(self, batch, logs):
        self.samples += int(logs.get("size", 0))

    def on_epoch_end(self, epoch, logs):
        loss = float(logs["loss"])
        if not self.validation:
            if loss > self.best_loss - self.tol:
                self.count += 1
            else:
                self.count = 0
            self.best_loss = min(self.best_loss, loss)
        else:
            score = float(self.scorer(self.model))
            self.scores.append(score)
            if score < self.best_score + self.tol:
                self.count += 1
            else:
                self.count = 0
            if score > self.best_score:
                self.best_score = score
                self.best_weights = self.model.state_dict()
        if self.schedule == "invscaling":
            self._set_lr(self.lr_init / (self.samples + 1) ** self.power_t)
        if self.count > self.n_iter_no_change:
            lr = self.optimizer.param_groups[0]["lr"]
            if self.schedule == "adaptive" and lr > MIN_ADAPTIVE_LR:
                self._set_lr(lr / 5.0)
                self.count = 0
                return
            self.fired = True
            self.trainer.stop_training = True
            self.trainer.stop_reason = "early_stopping" if self.validation else "tol"

    def on_train_end(self, logs):
        if not self.validation or self.best_weights is None:
            return
        if self.fired and self.restore == "on_stop":
            self.stopped = True
        if self.restore == "at_end" or self.stopped:
            self.model.load_state_dict(self.best_weights)

    def _set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr


def diverged(loss_curve: list[float]) -> bool:
    """Whether the training loss became NaN/inf or ended more than `DIVERGED_FACTOR`
    times above the first epoch's."""
    if not loss_curve:
        return False
    last = loss_curve[-1]
    return not np.isfinite(last) or last > DIVERGED_FACTOR * abs(loss_curve[0])


def divergence_message(name: str, start: float, end: float, what: str, lr: float) -> str:
    """The warning of a run whose loss exploded from ``start`` (at ``what``) to ``end``."""
    return (
        f"{name} diverged: the training loss rose from {start:.3g} ({what}) to {end:.3g} "
        f"at the end, so the fit did not converge (converged_ is False, stop_reason_ "
        f"'diverged'). Lower learning_rate_init (now {lr:g}) or standardize the inputs."
    )


def convergence_message(name: str, max_iter: int, early_stopping: bool, tol: float,
                        n_iter_no_change: int, last_loss: float, grad_norm: float,
                        metric: str, solver: str = "adam") -> str:
    """The text of the ``ConvergenceWarning`` for a run that used up ``max_iter`` epochs (or,
    for ``"lbfgs"``, iterations or ``max_fun`` function calls)."""
    if solver == "lbfgs":
        return (
            f"{name} did not converge: lbfgs stopped at max_iter={max_iter} iterations (or "
            f"max_fun function calls) before the gradient norm fell below tol={tol:g}; last "
            f"training loss {last_loss:.6g}, gradient norm {grad_norm:.3g}. Raise max_iter "
            "(and max_fun) or tol."
        )
    if early_stopping:
        criterion = (f"the early-stopping criterion (the validation {metric} not rising more "
                     f"than tol={tol:g} above its best for n_iter_no_change={n_iter_no_change} "
                     "epochs in a row)")
    else:
        criterion = (f"the convergence criterion (the training loss not falling more than "
                     f"tol={tol:g} below its best for n_iter_no_change={n_iter_no_change} "
                     "epochs in a row)")
    return (
        f"{name} did not converge: max_iter={max_iter} epochs ran out before {criterion} "
        f"was met; last training loss {last_loss:.6g}, gradient norm {grad_norm:.3g}. Raise "
        "max_iter or tol, or try another learning_rate_init."
    )
