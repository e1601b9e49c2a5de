"""What a network regressor adds: real-valued targets, one output per target column."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from .. import losses
from .base import NetworkEstimator, loss_for_fit


def half_mse(output, target, sample_weight=None):
    r"""Half the mean squared error, $\frac{1}{2 m k}\sum_{i,j} (f_j(x_i) - y_{ij})^2$
    (weighted over samples): scikit-learn's squared-error loss, whose gradient at the output
    is the residual $f(x) - y$. With it, ``alpha`` and ``tol`` mean what they mean in
    scikit-learn."""
    return losses.mse(output, target, sample_weight=sample_weight) * 0.5


half_mse.__name__ = "mse"


class NetworkRegressor(RegressorMixin, NetworkEstimator):
    """Base of `MLPRegressor`: the network's outputs are the predictions."""

    _metric = "r2"
    _losses: tuple[str, ...] = ("mse", "mae", "l1", "huber")

    def _y_options(self) -> dict:
        return {"multi_output": True, "y_numeric": True}

    def _targets(self, y, first: bool, classes, incremental: bool):
        base, name = loss_for_fit(self.loss, self._losses, type(self).__name__)
        if name == "mse":
            base = half_mse
        y = np.asarray(y, dtype=np.float64)
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        if not first and targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {targets.shape[1]} target columns; the network was built for "
                f"{self.n_outputs_}"
            )
        return targets, None, ("identity", targets.shape[1], base, name or "regression")

    def _validation_score(self, output, targets, sample_weight) -> float:
        """$R^2$ of ``output`` (averaged over the targets), as `score()`."""
        return float(r2_score(targets, output, sample_weight=sample_weight))

    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current weights.

        With ``early_stopping``, each call holds out ``validation_fraction`` of its data to
        score; once the score has not improved for ``n_iter_no_change`` calls, the best weights
        are put back and later calls do nothing (``stop_reason_ == "early_stopping"``).
        """
        return self._train(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """The network's outputs: shape ``(n_samples,)`` for one target, else
        ``(n_samples, n_outputs)``."""
        out = self._forward(X)
        return out[:, 0] if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
