"""Loss and metrics of a model on data, with no graph: validation in `plainnet.fit`,
and `evaluate` for users."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import backend as _backend
from ..autodiff import Tensor, no_grad
from .step import Batch, batch_loss


class Tally:
    """Sums an epoch's (or an evaluation's) loss over its samples, and keeps the outputs and
    targets the metrics need (nothing when there are no metrics). ``weighted``: each batch's
    loss counts by its total sample weight instead of its number of samples."""

    def __init__(self, metric_fns, weighted: bool = False):
        self.metric_fns, self.weighted = metric_fns, weighted
        self.total, self.weight, self.count = 0.0, 0.0, 0
        self.outputs, self.targets = [], []

    def add(self, value: float, batch: Batch, output) -> None:
        n = len(batch.y_host)
        weight = n
        if self.weighted and batch.w is not None:
            weight = float(_backend.to_numpy(batch.w.sum()))
        self.total += value * weight
        self.weight += weight
        self.count += n
        if self.metric_fns:
            self.outputs.append(output)
            self.targets.append(batch.y_host)

    def logs(self) -> dict:
        """``{"loss": mean loss per sample (or per unit of weight), metric: value...}``."""
        logs = {"loss": self.total / self.weight if self.weight > 0 else 0.0}
        if self.metric_fns and self.outputs:
            y_pred = _backend.to_numpy(np.concatenate(self.outputs))
            y_true = np.concatenate(self.targets)
            for name, fn in self.metric_fns:
                logs[name] = float(fn(y_true, y_pred))
        return logs


def evaluate_batches(model, batches, loss_fn, metric_fns) -> dict:
    """Loss (the weighted mean where batches have weights) and metrics over ``batches`` (an
    iterable of `Batch`), in eval mode, recording no graph."""
    was_training = model.training
    model.eval()
    tally = Tally(metric_fns, weighted=True)
    try:
        with no_grad():
            for batch in batches:
                out = model(Tensor(batch.x))
                tally.add(float(batch_loss(loss_fn, out, batch).data), batch, out.data)
    finally:
        model.train(was_training)
    return tally.logs()


def evaluate(model, X, y=None, loss="cross_entropy", metrics: Sequence = ("accuracy",),
             batch_size: int = 1024, sample_weight=None, steps: int | None = None) -> dict:
    """The loss and metrics of ``model`` on data, as `plainnet.fit` logs them.

    Parameters
    ----------
    model : plainnet.nn.Module
    X, y : array_like
        Inputs and targets, as for `plainnet.fit`. Or ``X`` alone: a
        `DataLoader`, an iterable of ``(xb, yb)`` / ``(xb, yb, wb)``
        batches, with ``y`` None; or Dask arrays.
    loss : str or callable, default "cross_entropy"
    metrics : sequence of str or callable, default ("accuracy",)
        See `plainnet.training.metrics`: ``f(y_true, y_pred) -> float``.
    batch_size : int, default 1024
    sample_weight : array_like, optional
        The loss is then the weighted mean over the samples.
    steps : int, optional
        For an endless iterable: the number of batches to read.

    Returns
    -------
    dict
        ``{"loss": ..., <metric>: ...}``, host floats.

    Examples
    --------
    >>> import numpy as np, plainnet as pn
    >>> model = pn.nn.Sequential(pn.nn.Linear(2, 3))
    >>> X, y = np.zeros((4, 2), np.float32), np.array([0, 1, 2, 0])
    >>> logs = pn.evaluate(model, X, y)
    >>> sorted(logs), round(logs["loss"], 4)
    (['accuracy', 'loss'], 1.0986)
    """
    from ..losses import get as get_loss
    from .loop import prepare_data
    from .metrics import resolve

    loss_name = loss if isinstance(loss, str) else getattr(loss, "__name__", None)
    loss_fn = get_loss(loss)
    metric_fns = resolve(metrics, loss, loss_name)
    with _backend.device_context(model.device), \
            np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        source = prepare_data(model, X, y, sample_weight, None, loss_name, batch_size,
                              shuffle=False, steps_per_epoch=steps, name="X")
        return evaluate_batches(model, source.epoch(None), loss_fn, metric_fns)
