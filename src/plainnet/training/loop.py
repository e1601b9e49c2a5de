"""The training loop: `fit`.

Read it from the bottom up. `train_step` (in `step`) is one
step of gradient descent: forward, loss, gradient, check, step. `Loop.train_epoch`
runs it on every batch of an epoch; `Loop.run` repeats epochs until they run out or a
callback (e.g. `EarlyStopping`, when the improvement falls below
its threshold) stops training. `fit` checks the arguments and the data, and chooses,
once, where the data lives and how batches arrive (`batches`) and how
a step runs (`step`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

import numpy as np

from .. import backend as _backend
from .._validation import check_int
from ..autodiff import Tensor, no_grad
from ..callbacks import Callback
from ..random import get_rng
from . import inputs
from .batches import (
    ArrayBatches,
    BatchReader,
    DaskBatches,
    IterableBatches,
    is_dask_array,
    placement,
)
from .evaluate import Tally, evaluate_batches
from .guard import DIVERGENCE, DivergenceGuard
from .history import History
from .metrics import CLASSIFICATION_LOSSES, resolve
from .progress import ProgressLogger
from .split import train_test_split
from .step import GraphedStep, PlainStep

#: The losses that take integer class labels.
LABEL_LOSSES = inputs.LABEL_LOSSES


class Trainer:
    """The state shared with callbacks during `fit`."""

    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.stop_training = False
        self.stop_reason = "epochs"


class Callbacks:
    """Calls a hook of every callback; the per-batch hooks only of those that define them."""

    def __init__(self, callbacks, trainer):
        self.all = list(callbacks)
        for cb in self.all:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances; got {type(cb).__name__}")
            cb.set_context(trainer)
        self.batch_begin = [cb for cb in self.all
                            if type(cb).on_batch_begin is not Callback.on_batch_begin]
        self.batch_end = [cb for cb in self.all
                          if type(cb).on_batch_end is not Callback.on_batch_end]

    def __call__(self, hook: str, *args) -> None:
        for cb in self.all:
            getattr(cb, hook)(*args)


class Loop:
    """The epochs of `fit`, with everything chosen before they start."""

    def __init__(self, model, step, train, val, loss_fn, metric_fns, callbacks, guard,
                 trainer, history):
        self.model, self.step, self.train, self.val = model, step, train, val
        self.loss_fn, self.metric_fns, self.callbacks = loss_fn, metric_fns, callbacks
        self.guard, self.trainer, self.history = guard, trainer, history
        self.full_size = None  # the usual batch size: the first batch's

    def run(self, first_epoch: int, epochs: int, rng) -> None:
        """Train epoch after epoch, until ``epochs`` or until something stops training."""
        for epoch in range(first_epoch, epochs + 1):
            self.callbacks("on_epoch_begin", epoch, {})
            start = time.perf_counter()
            self.guard.epoch_begins()
            tally = self.train_epoch(epoch, rng)
            if tally.count and not self.step.weights_finite():
                self.guard.not_finite(epoch, None, np.nan)
                self.stop("diverged")
            if self.trainer.stop_reason == "diverged" or tally.count == 0:
                break  # nothing finished: the History keeps the epochs before
            logs = self.epoch_logs(tally, start)
            self.history.record(epoch, logs)
            if self.guard.exploded(epoch, logs["loss"]):
                self.stop("diverged")
                break
            self.callbacks("on_epoch_end", epoch, logs)
            if self.trainer.stop_training or getattr(self.train, "exhausted", False):
                break

    def train_epoch(self, epoch: int, rng) -> Tally:
        """One pass over the batches: a step on each, its loss added up."""
        tally = Tally(self.metric_fns)
        for b, batch in enumerate(self.train.epoch(rng)):
            for cb in self.callbacks.batch_begin:
                cb.on_batch_begin(b, {})
            size = len(batch.y_host)
            self.full_size = self.full_size or size
            output, value, finite = self.step(batch, size == self.full_size)
            if not finite:  # no step was taken: stop, keeping the last finite weights
                self.guard.not_finite(epoch, b, value)
                self.stop("diverged")
                break
            self.guard.first_step(value)
            tally.add(value, batch, self.step.keep(output) if self.metric_fns else None)
            for cb in self.callbacks.batch_end:
                cb.on_batch_end(b, {"loss": value, "size": size})
            if self.trainer.stop_training:
                break
        return tally

    def epoch_logs(self, tally: Tally, start: float) -> dict:
        """The epoch's loss and metrics, on the validation data too, the rate, the time."""
        logs = tally.logs()
        if self.val is not None:
            val = evaluate_batches(self.model, self.val.epoch(None), self.loss_fn,
                                   self.metric_fns)
            logs.update({f"val_{k}": v for k, v in val.items()})
        logs["lr"] = float(self.trainer.optimizer.param_groups[0]["lr"])
        logs["epoch_time"] = time.perf_counter() - start
        return logs

    def stop(self, reason: str) -> None:
        self.trainer.stop_training = True
        self.trainer.stop_reason = reason


def _loss_name(loss) -> str | None:
    return loss if isinstance(loss, str) else getattr(loss, "__name__", None)


def _is_arrays(data) -> bool:
    """Whether ``data`` is an array (NumPy, device, Tensor, Dask) or a list of rows, rather
    than a loader or another iterable of batches."""
    return hasattr(data, "shape") or isinstance(data, Tensor) or (
        isinstance(data, list) and len(data) > 0
        and not isinstance(data[0], (tuple, np.ndarray, Tensor)))


def check_arrays(model, X, y, w, class_weight, loss_name, name: str = "X") -> tuple:
    """``(X, y, w)`` checked and prepared (see `inputs`): ``X`` on the
    model's device if it came there, ``y`` and ``w`` in host memory."""
    device, dtype = model.device, model.dtype
    if y is None:
        raise ValueError(f"pn.fit got {name} as an array but no targets: pass y too, or give a "
                         "DataLoader or an iterable of (x, y) batches as the data")
    X = inputs.features(X, name, device, dtype)
    what = "y" if name == "X" else f"{name.replace('X', 'y', 1)}"
    y = inputs.targets(inputs.host_data(y, what, device), len(X), loss_name, dtype, what)
    if w is not None:
        w = inputs.sample_weights(inputs.host_data(w, "sample_weight", device), len(X), dtype)
    if class_weight is not None:
        cw = inputs.class_weights(class_weight, y, dtype)
        w = cw if w is None else w * cw
    return X, y, w


def prepare_data(model, X, y, w, class_weight, loss_name, batch_size: int, shuffle: bool,
                 steps_per_epoch: int | None, name: str = "X"):
    """The batch source for ``X`` (and ``y``, ``w``): arrays, Dask arrays, or an iterable of
    batches (``y`` None), each where the model trains."""
    place = placement(model.device)
    if is_dask_array(X):
        if y is None:
            raise ValueError(f"pn.fit got {name} as a Dask array but no targets: pass y too")
        if class_weight is not None:
            raise ValueError("class_weight needs in-memory targets; with Dask arrays pass "
                             "sample_weight")
        return DaskBatches(X, y, w, batch_size, shuffle,
                           BatchReader(place, loss_name, model.dtype))
    if y is None and not _is_arrays(X):
        if w is not None or class_weight is not None:
            raise ValueError("with a loader or an iterable of batches, give the sample weights "
                             "in the batches: (x, y, w)")
        if not hasattr(X, "__iter__"):
            raise TypeError(f"pn.fit's data must be arrays X, y, a DataLoader or an iterable "
                            f"of (x, y) batches; got {type(X).__name__}")
        return IterableBatches(X, BatchReader(place, loss_name, model.dtype), steps_per_epoch)
    X, y, w = check_arrays(model, X, y, w, class_weight, loss_name, name)
    return ArrayBatches(X, y, w, batch_size, shuffle, place)


def _split(model, X, y, w, class_weight, fraction, loss_name, rng) -> tuple:
    """Arrays held out for validation: ``(X, y, w), (X_val, y_val)``, stratified for
    classification, shuffled by ``rng``."""
    X, y, w = check_arrays(model, X, y, w, class_weight, loss_name)
    index = np.arange(len(X))
    labels = inputs.labels_of(y)
    stratify = loss_name in CLASSIFICATION_LOSSES and bool(np.all(labels == np.round(labels)))
    train_idx, val_idx, _, _ = train_test_split(
        index, labels.astype(np.int64) if stratify else index,
        test_size=float(fraction), stratify=stratify, random_state=rng)
    if type(X) is np.ndarray:
        X_val, X = X[val_idx], X[train_idx]
    else:  # X is already on the device: it is gathered there
        X_val = X[_backend.to_device(val_idx, model.device)]
        X = X[_backend.to_device(train_idx, model.device)]
    return (X, y[train_idx], None if w is None else w[train_idx]), (X_val, y[val_idx])


def _validation(model, validation_data, loss_name, batch_size):
    """The batch source of ``validation_data``: ``(X, y)`` or ``(X, y, w)`` arrays, or a
    loader / iterable of batches."""
    if isinstance(validation_data, tuple) and len(validation_data) in (2, 3) \
            and _is_arrays(validation_data[0]):
        X_val, y_val, *w_val = validation_data
        w_val = w_val[0] if w_val else None
        return prepare_data(model, X_val, y_val, w_val, None, loss_name, batch_size, False,
                            None, name="X_val")
    if isinstance(validation_data, tuple):
        raise ValueError("validation_data must be (X_val, y_val), (X_val, y_val, w_val) or a "
                         f"loader of batches; got a tuple of {len(validation_data)}")
    return prepare_data(model, validation_data, None, None, None, loss_name, batch_size,
                        False, None, name="validation_data")


def _check_labels_first(model, train, val, loss_name) -> bool:
    """For arrays and a named label loss: every class label checked once, against the model's
    number of outputs (one row through the model, in eval mode, shows it), before the first
    step. Returns whether the losses may then skip their per-batch checks."""
    from ..losses import check_labels

    sources = [s for s in (train, val) if s is not None]
    if not all(isinstance(s, ArrayBatches) for s in sources):
        return False
    labels = [s.y_host for s in sources if s.y_host.ndim == 1]
    if loss_name in LABEL_LOSSES and labels:
        was_training = model.training
        model.eval()
        try:
            with no_grad(), np.errstate(all="ignore"):  # huge inputs: reported by the step
                out = model(Tensor(train.X[:1]))
        finally:
            model.train(was_training)
        if out.ndim == 2:
            for y in labels:
                check_labels(y, out.shape[1], loss_name)
    return True


@contextlib.contextmanager
def seeded_dropout(model, rng):
    """Within the block, every dropout layer of ``model`` that has no generator of its own
    draws its masks from ``rng`` (the fit's seed), so two seeded fits are equal."""
    layers = [m for m in model.modules()
              if hasattr(m, "p") and hasattr(m, "rng") and m.rng is None]
    for m in layers:
        m.rng = rng
    try:
        yield
    finally:
        for m in layers:
            m.rng = None


def _check_settings(epochs, batch_size, verbose, cuda_graph, validation_split,
                    initial_epoch, steps_per_epoch) -> None:
    check_int(epochs, "epochs", minimum=1)
    check_int(batch_size, "batch_size", minimum=1)
    check_int(initial_epoch, "initial_epoch", minimum=0)
    if initial_epoch >= epochs:
        raise ValueError(f"initial_epoch ({initial_epoch}) must be below epochs ({epochs}): "
                         "epochs is the number of the last epoch, as in Keras")
    if steps_per_epoch is not None:
        check_int(steps_per_epoch, "steps_per_epoch", minimum=1)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2; got {verbose!r}")
    if not isinstance(cuda_graph, bool):
        raise TypeError(f"cuda_graph must be True or False; got {cuda_graph!r}")
    if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
        raise ValueError(f"validation_split must be in [0, 1); got {validation_split!r}")


def _place_model(model, device, optimizer, cuda_graph) -> str:
    """Move the model (and a given optimizer's state) to ``device``; return where it is."""
    from ..optim.optimizer import move_state

    target = model.device if device is None else _backend.canonical_device(device)
    if cuda_graph and not _backend.get_backend(target).captures:
        raise ValueError(
            f"cuda_graph=True records the training step as a CUDA graph, on a GPU; the model "
            f"trains on {target!r}. Pass device='cuda', or leave cuda_graph False."
        )
    if device is not None:
        model.to(target)
        if not isinstance(optimizer, (str, type)):
            move_state(optimizer, target)
    return model.device


def fit(
    model,
    X,
    y=None,
    loss="cross_entropy",
    optimizer="adam",
    epochs: int = 10,
    batch_size: int = 32,
    validation_split: float = 0.0,
    validation_data=None,
    metrics: Sequence = ("accuracy",),
    callbacks: Sequence[Callback] = (),
    shuffle: bool = True,
    seed=None,
    verbose: int = 1,
    sample_weight=None,
    device: str | None = None,
    cuda_graph: bool = False,
    *,
    lr: float | None = None,
    class_weight=None,
    initial_epoch: int = 0,
    steps_per_epoch: int | None = None,
    divergence: float | None = DIVERGENCE,
) -> History:
    r"""Train ``model`` by mini-batch gradient descent.

    Each epoch shuffles the rows, and for each batch computes the loss
    $L(\theta) = \frac1{|B|}\sum_{i \in B} \ell(f_\theta(x_i), y_i)$, its gradient by
    backpropagation, and one optimizer step (see ``docs/training.md``, which walks the code).

    Parameters
    ----------
    model : plainnet.nn.Module
    X : array_like, Dask array, DataLoader or iterable of batches
        Inputs, shape ``(n_samples, ...)``. Or, with ``y`` None, the data itself: a
        `plainnet.data.DataLoader` or any iterable of ``(xb, yb)`` or ``(xb, yb, wb)``
        batches. Dask arrays (``X`` and ``y``) are streamed a block at a time, never computed
        whole, in a seeded random order of blocks and of rows within each block.
    y : array_like, optional
        Integer class labels (``cross_entropy``, ``nll``), 0/1 or probabilities (``bce``),
        or targets (regression losses).
    loss : str or callable, default "cross_entropy"
        A name from `plainnet.losses` or ``f(output, target, sample_weight=None)``.
    optimizer : str, Optimizer class or plainnet.optim.Optimizer, default "adam"
        An optimizer over ``model.parameters()``, or its name or class (built over the
        model's parameters, with ``lr`` if given, else its defaults).
    epochs, batch_size : int
        ``epochs`` is the number of the last epoch (with ``initial_epoch``, as in Keras).
        ``batch_size`` is for arrays; a loader has its own.
    validation_split : float
        Fraction of ``(X, y)`` held out for validation: shuffled, stratified for
        classification, and seeded by ``seed``. Ignored when ``validation_data`` is given.
    validation_data : (X_val, y_val), (X_val, y_val, w_val) or a loader, optional
        Evaluated after every epoch (``val_loss``, ``val_<metric>``); with weights, the
        validation loss is their weighted mean.
    metrics : sequence of str or callable, default ("accuracy",)
        Logged per epoch on training and validation data. A callable is
        ``f(y_true, y_pred) -> float`` (targets, raw model outputs; NumPy arrays); names are
        listed in `plainnet.training.metrics` (``"accuracy"``, ``"precision"``,
        ``"recall"``, ``"f1"``, ``"top_k_accuracy"``, ``"mse"``, ``"mae"``, ``"r2"``). The
        label metrics are skipped for regression losses.
    callbacks : sequence of Callback
        E.g. `plainnet.callbacks.EarlyStopping`, ``CSVLogger``.
    shuffle : bool
    seed : int or numpy.random.Generator, optional
        Seeds the validation split, the shuffling and the masks of dropout layers that have
        no generator of their own (the weights are seeded where the model is built, e.g.
        with `plainnet.seed`). Two fits with the same seed are equal.
    verbose : {0, 1, 2}
        0 silent, 1 a progress bar per epoch, 2 one line per epoch.
    sample_weight : array_like, optional
        One weight per sample, passed to the loss.
    device : str, optional
        Where to train: ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (see `plainnet.backend`).
        The model and the optimizer's state are moved there (and stay there), and the data
        is copied there once (a loader's batches, one by one); losses and metrics are logged
        as host floats. By default the model trains where it is. ``X``, ``y``,
        ``sample_weight`` and ``validation_data`` may already be device arrays on that
        device (``X`` stays there; ``y`` and the weights are read to the host once, for the
        split and the metrics); data on another device is refused with
        `plainnet.backend.DeviceMismatchError`.
    cuda_graph : bool, default False
        On a GPU, record the step's forward pass, loss and backward pass once as a CUDA graph
        (after two full batches without one) and launch it for each full batch: one launch
        instead of one per kernel, for small networks whose speed the host's launches
        bound. The graph is checked against the step computed without one on the batch it is
        recorded on; where it can't be recorded (a model that draws random numbers on the
        host, as ``Dropout``, or reads values in its forward pass) or disagrees, a
        ``RuntimeWarning`` says why and training goes on without it. The optimizer's update
        is not recorded (one launch already). See ``docs/gpu.md``.
    lr : float, optional
        The learning rate of an optimizer given by name or class.
    class_weight : dict or "balanced", optional
        A weight per class (``{label: weight}``; classes not named weigh 1), multiplying
        ``sample_weight``; ``"balanced"`` weighs each class by ``n / (k n_c)``.
    initial_epoch : int, default 0
        The epoch to resume from: training runs epochs ``initial_epoch + 1`` to ``epochs``.
    steps_per_epoch : int, optional
        Batches per epoch from an iterable (needed for a generator that never ends).
    divergence : float or None, default 1e4
        The exploding-loss rule: an epoch whose loss is above ``divergence`` times the first
        batch's stops training and puts back the weights of the last good epoch, with a
        warning. None turns the rule off. (A NaN or infinite loss or gradient always stops
        training, with the last finite weights kept.)

    Returns
    -------
    History
        Per-epoch ``loss``, ``val_loss``, metrics, ``lr`` and ``epoch_time`` of every epoch
        that finished, and ``stop_reason``.

    Raises
    ------
    KeyboardInterrupt
        Interrupting training (Ctrl-C) stops it after on_train_end callbacks ran; the
        exception's ``history`` attribute holds the History of the epochs that finished
        (``stop_reason`` ``"interrupted"``), and the model keeps its weights.

    Notes
    -----
    The data are checked before anything is trained: a NaN or infinity in ``X``, ``y`` or
    the validation data is reported with its row and column, integer class labels against
    the model's number of outputs. If the loss or a gradient turns NaN or infinite, the step
    is not taken, training stops, the last finite weights stay in the model and a
    ``RuntimeWarning`` says where it happened and what to try (see
    `plainnet.training.guard`). Validation and prediction build no graph. A seed gives
    the same shuffling, dropout masks and so the same training on every device (up to the
    devices' rounding).
    """
    from ..losses import get as get_loss
    from ..losses import targets_checked
    from ..optim import get_optimizer

    _check_settings(epochs, batch_size, verbose, cuda_graph, validation_split, initial_epoch,
                    steps_per_epoch)
    loss_name, loss_fn = _loss_name(loss), get_loss(loss)
    device = _place_model(model, device, optimizer, cuda_graph)
    optimizer = get_optimizer(optimizer, model.parameters(),
                              **({} if lr is None else {"lr": lr}))
    rng = get_rng(seed)
    with _backend.device_context(device):
        val_batch = max(batch_size, 1024)
        if validation_data is None and validation_split > 0 and _is_arrays(X) \
                and not is_dask_array(X):
            (X, y, sample_weight), (X_val, y_val) = _split(
                model, X, y, sample_weight, class_weight, validation_split, loss_name, rng)
            class_weight, validation_data = None, (X_val, y_val)
        elif validation_split > 0 and validation_data is None:
            raise ValueError("validation_split needs arrays in memory; with a loader, "
                             "a generator or Dask arrays pass validation_data")
        train = prepare_data(model, X, y, sample_weight, class_weight, loss_name, batch_size,
                             shuffle, steps_per_epoch)
        val = None if validation_data is None else _validation(
            model, validation_data, loss_name, val_batch)
        trusted = isinstance(loss, str) and _check_labels_first(model, train, val, loss_name)
    metric_fns = resolve(metrics, loss, loss_name)
    trainer = Trainer(model, optimizer)
    extra = [ProgressLogger(verbose, epochs, train.n_batches)] if verbose else []
    hooks = Callbacks([*callbacks, *extra], trainer)
    history = History()
    history.params = {"epochs": epochs, "batch_size": batch_size,
                      "n_samples": getattr(train, "n", None)}
    step = (GraphedStep(model, loss_fn, optimizer, device) if cuda_graph
            else PlainStep(model, loss_fn, optimizer, on_host=device == "cpu"))
    loop = Loop(model, step, train, val, loss_fn, metric_fns, hooks,
                DivergenceGuard(model, optimizer, divergence), trainer, history)
    history.history["loss"] = []  # h["loss"] is a list even when no epoch finished
    positive = getattr(train, "positive", False)
    model.train()
    hooks("on_train_begin", {})
    try:
        # divergence is detected and reported clearly; NumPy's overflow chatter is noise
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
                _backend.device_context(device), \
                (_backend.graph_stream(device) if cuda_graph else contextlib.nullcontext()), \
                (targets_checked(positive) if trusted else contextlib.nullcontext()), \
                (seeded_dropout(model, rng) if seed is not None else contextlib.nullcontext()):
            loop.run(initial_epoch + 1, epochs, rng)
    except KeyboardInterrupt as err:
        trainer.stop_reason = "interrupted"
        history.stop_reason = "interrupted"
        err.history = history
        raise
    finally:
        with _backend.device_context(device):
            step.release()
        hooks("on_train_end", {})
    history.stop_reason = trainer.stop_reason
    return history
