r"""The objective an estimator minimizes: a loss of [`plainnet.losses`][plainnet.losses] plus an L2
penalty.

For a batch $B$ with sample weights $s_i$ (all 1 when none are given) and the
weight matrices $W_l$ of the Linear layers (not the biases),

$$
J(\theta) = \frac{\sum_{i \in B} s_i\, \ell(f_\theta(x_i), y_i)}{\sum_{i \in B} s_i}
+ \frac{\alpha}{2 \sum_{i \in B} s_i} \sum_l \lVert W_l \rVert_F^2
$$

which is scikit-learn's MLP objective. Dividing the penalty by the batch's total weight makes a
sample of weight 2 exactly the same as the sample repeated twice.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import backend, losses
from ..autodiff import Tensor
from ..autodiff.ops import scale


def penalized(base: Callable, weights: list, alpha: float, name: str) -> Callable:
    """``loss(output, target, sample_weight=None)``: ``base`` plus the L2 penalty on ``weights``.

    ``name`` is the loss name `plainnet.fit()` sees (it decides how targets are prepared).
    """

    def objective(output, target, sample_weight=None):
        if sample_weight is None:
            value = base(output, target)
            total = float(output.shape[0])
        else:
            value = base(output, target, sample_weight=sample_weight)
            total = np.sum(sample_weight)
            if not losses.weights_promised_positive():  # else left on the device, unread
                total = float(total)
        if alpha and (not isinstance(total, float) or total > 0):
            square = None
            for w in weights:
                flat = w.reshape(-1)
                term = flat @ flat
                square = term if square is None else square + term
            value = value + scale(square, 0.5 * alpha / total)
        return value

    objective.__name__ = name
    return objective


def sigmoid_mse(output, target, sample_weight=None) -> Tensor:
    r"""Squared error of the sigmoid of the logits, $(\sigma(z) - y)^2$ (the notes' sigmoid
    neuron trained on squared error)."""
    return losses.mse(output.sigmoid(), target, sample_weight=sample_weight)


def summed_over_outputs(loss: Callable) -> Callable:
    r"""``loss`` with the mean over outputs replaced by their sum: per sample
    $\sum_k \ell_{ik}$, averaged (weighted) over samples.

    With one sigmoid neuron per class this makes each neuron's objective exactly that of its own
    logistic regression, with the penalty at the same scale.
    """

    def summed(output, target, sample_weight=None):
        return loss(output, target, sample_weight=sample_weight) * output.shape[1]

    summed.__name__ = getattr(loss, "__name__", "loss")
    return summed


def gradient_norm(model, X: np.ndarray, y: np.ndarray, sample_weight, base: Callable,
                  weights: list, alpha: float, chunk: int = 8192) -> float:
    r"""The Euclidean norm $\lVert \nabla_\theta J \rVert_2$ of the full-data gradient of
    the objective at the current weights, in eval mode (no dropout), ``chunk`` rows at a time.

    The data loss is the weighted average of the chunks' losses, so each chunk's gradient is
    scaled by its share of the total weight $S$; the penalty adds
    $\alpha W_l / S$ to each weight matrix's gradient.
    """
    params = model.parameters()
    device = model.device
    was_training = model.training
    model.eval()
    model.zero_grad()
    n = len(X)
    total = float(n if sample_weight is None else np.sum(sample_weight))
    if total <= 0:
        return float("nan")
    try:
        for lo in range(0, n, chunk):
            hi = min(lo + chunk, n)
            sw = None if sample_weight is None else sample_weight[lo:hi]
            share = (hi - lo if sw is None else float(np.sum(sw))) / total
            if share == 0:
                continue
            out = model(Tensor(X[lo:hi], device=device))
            value = base(out, y[lo:hi]) if sw is None else base(out, y[lo:hi], sample_weight=sw)
            (value * share).backward()
        grads = {id(p): (np.zeros(p.shape, p.dtype) if p.grad is None
                         else backend.to_numpy(p.grad)) for p in params}
        for w in weights:
            grads[id(w)] = grads[id(w)] + (alpha / total) * backend.to_numpy(w.data)
        squares = sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values())
    finally:
        model.zero_grad()
        model.train(was_training)
    return float(np.sqrt(squares))
