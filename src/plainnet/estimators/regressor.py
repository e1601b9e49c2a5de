"""What a network regressor adds: real-valued targets, one output per target column."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from .base import NetworkEstimator, loss_for_fit


class NetworkRegressor(RegressorMixin, NetworkEstimator):
    """Base of :class:`MLPRegressor`: the network's outputs are the predictions."""

    _metric = "r2"
    _losses: tuple[str, ...] = ("mse", "mae", "l1", "huber")

    def _y_options(self) -> dict:
        return {"multi_output": True, "y_numeric": True}

    def _targets(self, y, first: bool, classes, incremental: bool):
        base, name = loss_for_fit(self.loss, self._losses, type(self).__name__)
        y = np.asarray(y, dtype=np.float64)
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        if not first and targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {targets.shape[1]} target columns; the network was built for "
                f"{self.n_outputs_}"
            )
        return targets, None, ("identity", targets.shape[1], base, name or "regression")

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
