"""One training step, and the two ways `plainnet.fit` runs it.

`train_step` is the step of gradient descent as the notes write it: the forward pass,
the loss, its gradient by backpropagation, a check that nothing became NaN or infinite, and
the optimizer's step. `PlainStep` runs it batch after batch; `GraphedStep`
runs the same step from a recorded CUDA graph where it can (``pn.fit(..., cuda_graph=True)``),
and `PlainStep` where it can't. Which of the two is chosen once, before the loop.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..autodiff import Tensor
from .finite import all_finite, gradients, read_step, sums_of_squares
from .graphed import WARMUP_STEPS, capture_step


class Batch(NamedTuple):
    """One batch: inputs ``x``, targets ``y`` and sample weights ``w`` (or None) where the
    model trains, and the targets in host memory for the metrics (``y_host``)."""

    x: object
    y: object
    w: object
    y_host: np.ndarray


def batch_loss(loss_fn, output, batch: Batch):
    """The loss of ``output`` against the batch's targets (weighted when it has weights)."""
    if batch.w is None:
        return loss_fn(output, batch.y)
    return loss_fn(output, batch.y, sample_weight=batch.w)


def train_step(model, loss_fn, optimizer, batch: Batch, check) -> tuple:
    r"""One step of gradient descent on one batch: $\theta \leftarrow \theta - \eta
    \nabla_\theta L(\theta)$, as the optimizer's rule computes it.

    Returns ``(output, loss value, finite)``. Where the loss or a gradient is NaN or infinite
    (``finite`` False), no step is taken: the weights stay as they were.
    """
    optimizer.zero_grad()                      # forget the last batch's gradients
    output = model(Tensor(batch.x))            # forward: the predictions for the batch
    loss = batch_loss(loss_fn, output, batch)  # loss: how far they are from the targets
    loss.backward()                            # gradient of the loss, by backpropagation
    value, finite = check(loss)                # the loss as a number; all finite?
    if finite:
        optimizer.step()                       # step: move every weight downhill
    return output.data, value, finite


def check_on_host(loss, params) -> tuple[float, bool]:
    """The loss as a float, and whether it and every gradient are finite (one BLAS dot per
    gradient; only a gradient whose sum of squares is not finite is looked at entrywise)."""
    value = float(loss.data)
    grads = gradients(params)
    return value, bool(np.isfinite(value)) and all_finite(grads, sums_of_squares(grads))


def check_loss(loss, params) -> tuple[float, bool]:
    """The loss as a float, and whether it is finite: the host's check of each step. The
    gradients are not looked at (six BLAS dots a step for a small MLP, 7% of its time at
    batch 32): a NaN gradient makes NaN weights, and so a NaN loss at the next step, and
    `PlainStep.weights_finite` looks at the weights once an epoch."""
    value = float(loss.data)
    return value, bool(np.isfinite(value))


def check_on_device(loss, params) -> tuple[float, bool]:
    """The same, with one read from the device (each read makes the host wait for it)."""
    return read_step(loss, params)


class PlainStep:
    """Runs `train_step` for every batch: the step as written."""

    def __init__(self, model, loss_fn, optimizer, on_host: bool):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.params = model.parameters()
        self.on_host = on_host
        check = check_loss if on_host else check_on_device
        self.check = lambda loss: check(loss, self.params)

    def __call__(self, batch: Batch, full: bool) -> tuple:
        """``(output, loss value, finite)`` of the step on ``batch`` (``full``: a batch of the
        usual size)."""
        return train_step(self.model, self.loss_fn, self.optimizer, batch, self.check)

    def keep(self, output):
        """``output`` as an array that stays as it is after the next step."""
        return output

    def weights_finite(self) -> bool:
        """After an epoch: whether every weight is finite. On the host, where the steps check
        only the loss, one BLAS dot per parameter; on a device every step checked its
        gradients already."""
        if not self.on_host:
            return True
        data = [p.data for p in self.params]
        return all_finite(data, sums_of_squares(data))

    def release(self) -> None:
        """Nothing to free."""


class GraphedStep(PlainStep):
    """The step of full batches from a recorded device graph (see
    `plainnet.training.graphed`): after `WARMUP_STEPS` full batches without one,
    the forward pass, loss and backward pass are recorded once and launched for each full
    batch; the optimizer's update runs as usual. A batch of another size, or a step that
    can't be recorded, runs plain."""

    def __init__(self, model, loss_fn, optimizer, device: str):
        super().__init__(model, loss_fn, optimizer, on_host=False)
        self.device, self.graph, self.warm, self.tried = device, None, 0, False

    def __call__(self, batch: Batch, full: bool) -> tuple:
        if self.graph is not None and not self.graph.current():  # the model's arrays changed
            self.release()
        if self.graph is not None and full:
            out, value, finite = self.graph(batch.x, batch.y, batch.w)
        elif full and self.warm >= WARMUP_STEPS and not self.tried:
            self.tried = True
            self.graph, out, value, finite = capture_step(
                self.model, self.loss_fn, self.params, self.device,
                batch.x, batch.y, batch.w)
        else:
            self.warm += full
            return super().__call__(batch, full)
        if finite:
            self.optimizer.step()
        return out, value, finite

    def keep(self, output):
        """A copy of a graph's output (its next launch rewrites it)."""
        return output.copy() if self.graph is not None and output is self.graph.out \
            else output

    def release(self) -> None:
        """Drop the recorded graph (it is recorded again at the next full batch)."""
        if self.graph is not None:
            self.graph.release()
        self.graph, self.tried = None, False
