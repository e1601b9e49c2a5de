"""When an estimator stops training: scikit-learn's two criteria on top of
:class:`plainnet.callbacks.EarlyStopping`.

* ``early_stopping=False``: stop when the training loss has not fallen below its best by more
  than ``tol`` for ``n_iter_no_change`` epochs in a row (converged; the last weights are kept).
* ``early_stopping=True``: hold out ``validation_fraction`` of the data and stop when the
  validation score (accuracy, or :math:`R^2`) has not risen above its best by more than ``tol``
  for ``n_iter_no_change`` epochs; the weights of the best epoch are put back.
"""

from __future__ import annotations

from ..callbacks import EarlyStopping

STOP_REASONS = ("tol", "early_stopping", "max_iter", "diverged", "partial_fit")
"""Values of ``stop_reason_``: the training loss converged (``tol``), the validation score
stopped improving (``early_stopping``), ``max_iter`` epochs ran without either, or the loss
became NaN/inf (``diverged``)."""


class PlateauStopping(EarlyStopping):
    """:class:`~plainnet.callbacks.EarlyStopping` whose record survives several
    :func:`plainnet.fit` calls, so ``partial_fit`` (one epoch per call) counts epochs without
    improvement across calls.

    Parameters
    ----------
    monitor : str
        ``"loss"`` (training loss, minimized) or ``"val_accuracy"`` / ``"val_r2"`` (maximized).
    tol : float
        The least change that counts as an improvement (``min_delta``).
    n_iter_no_change : int
        Epochs without improvement before stopping (``patience``).
    restore : {"never", "at_end", "on_stop"}
        When to put back the best epoch's weights: never (training-loss criterion), at the end
        of every :func:`plainnet.fit` call (``fit`` with early stopping), or only once the
        criterion has fired (``partial_fit`` with early stopping).
    """

    def __init__(self, monitor: str, tol: float, n_iter_no_change: int, restore: str):
        mode = "min" if monitor == "loss" else "max"
        super().__init__(monitor=monitor, min_delta=tol, patience=n_iter_no_change, mode=mode,
                         restore_best_weights=restore != "never")
        self.restore = restore
        self.started = False
        self.stopped = False

    def on_train_begin(self, logs):
        if not self.started:
            super().on_train_begin(logs)
            self.started = True

    def on_epoch_end(self, epoch, logs):
        super().on_epoch_end(epoch, logs)
        if self.trainer.stop_training and self.stopped_epoch is not None:
            self.stopped = True

    def on_train_end(self, logs):
        if self.best_weights is None:
            return
        if self.restore == "at_end" or (self.restore == "on_stop" and self.stopped):
            self.model.load_state_dict(self.best_weights)


def convergence_message(name: str, max_iter: int, early_stopping: bool, tol: float,
                        n_iter_no_change: int, last_loss: float, grad_norm: float,
                        metric: str) -> str:
    """The text of the ``ConvergenceWarning`` for a run that used up ``max_iter`` epochs."""
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
