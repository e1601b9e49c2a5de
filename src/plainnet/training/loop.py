"""The training loop: :func:`fit`."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Sequence

import numpy as np

from .. import backend as _backend
from .._validation import as_float_array, check_int
from ..autodiff import Tensor, no_grad
from ..callbacks import Callback
from ..random import get_rng
from .finite import all_finite, gradients, read_step, sums_of_squares
from .graphed import WARMUP_STEPS, capture_step
from .history import History
from .metrics import CLASSIFICATION_LOSSES, get_metric
from .progress import ProgressLogger
from .split import train_test_split

#: The losses that take integer class labels.
LABEL_LOSSES = ("cross_entropy", "nll")


class Trainer:
    """The state shared with callbacks during :func:`fit`."""

    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.stop_training = False
        self.stop_reason = "epochs"


def _loss_name(loss) -> str | None:
    return loss if isinstance(loss, str) else getattr(loss, "__name__", None)


def _data_on(x, name: str, device: str):
    """``x`` itself, after checking that a device array (or Tensor on a device) given as data
    is on the training ``device``: data on another device is refused, never moved."""
    if type(x) is np.ndarray:
        return x
    data = x.data if isinstance(x, Tensor) else x
    if _backend.is_device_array(data):
        where = _backend.device_of(data)
        if where != device:
            raise _backend.DeviceMismatchError(
                f"pn.fit got {name} on {where!r}, but the model trains on {device!r}: plainnet "
                f"never moves data implicitly. Pass device={where!r} to train there, or move "
                f"{name} to {device!r} first."
            )
    return x


def _host_data(x, name: str, device: str):
    """Targets and weights in host memory (the split and the metrics use them there): a
    device array on the training device is copied to the host once."""
    if type(x) is np.ndarray:
        return x
    x = _data_on(x, name, device)
    data = x.data if isinstance(x, Tensor) else x
    return _backend.to_numpy(data) if _backend.is_device_array(data) else x


def _prepare_targets(y, n: int, loss_name: str | None, dtype) -> np.ndarray:
    y = np.asarray(y)
    if len(y) != n:
        raise ValueError(f"X and y must have the same number of rows; got {n} and {len(y)}")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"y must be numeric; got dtype {y.dtype}")
    if loss_name in LABEL_LOSSES and y.ndim == 1:
        if y.dtype.kind == "f" and not np.all(y == np.round(y)):
            raise ValueError(f"{loss_name} needs integer class labels; y has non-integer values")
        return y.astype(np.int64)
    y = y.astype(dtype)
    if y.ndim == 1 and loss_name not in LABEL_LOSSES:
        y = y.reshape(-1, 1)
    return y


def _evaluate(model, X, y, loss_fn, metric_fns, loss_name, batch_size, y_host=None) -> dict:
    """Loss and metrics on ``(X, y)`` in eval mode, batch by batch, with no graph.

    On a device, ``y_host`` is ``y`` in host memory: the metrics are computed there."""
    was_training = model.training
    model.eval()
    total, outputs = 0.0, []
    try:
        with no_grad():
            for i in range(0, len(X), batch_size):
                out = model(Tensor(X[i : i + batch_size]))
                yb = y[i : i + batch_size]
                total += float(loss_fn(out, yb).data) * len(yb)
                outputs.append(out.data)
    finally:
        model.train(was_training)
    logs = {"loss": total / len(X)}
    if metric_fns:
        output = np.concatenate(outputs)
        if y_host is not None:
            output, y = _backend.to_numpy(output), y_host
        for name, fn in metric_fns:
            logs[name] = fn(output, y, loss_name)
    return logs


def fit(
    model,
    X,
    y,
    loss="cross_entropy",
    optimizer="adam",
    epochs: int = 10,
    batch_size: int = 32,
    validation_split: float = 0.0,
    validation_data: tuple | None = None,
    metrics: Sequence = ("accuracy",),
    callbacks: Sequence[Callback] = (),
    shuffle: bool = True,
    seed=None,
    verbose: int = 1,
    sample_weight=None,
    device: str | None = None,
    cuda_graph: bool = False,
) -> History:
    r"""Train ``model`` on ``(X, y)`` by mini-batch gradient descent.

    Each epoch shuffles the rows, and for each batch computes the loss
    :math:`L(\theta) = \frac1{|B|}\sum_{i \in B} \ell(f_\theta(x_i), y_i)`, its gradient by
    backpropagation, and one optimizer step.

    Parameters
    ----------
    model : plainnet.nn.Module
    X : array_like, shape (n_samples, ...)
    y : array_like
        Integer class labels (``cross_entropy``, ``nll``), 0/1 or probabilities (``bce``),
        or targets (regression losses).
    loss : str or callable, default "cross_entropy"
        A name from :mod:`plainnet.losses` or ``f(output, target, sample_weight=None)``.
    optimizer : str or plainnet.optim.Optimizer, default "adam"
        An optimizer over ``model.parameters()``, or its name (default hyperparameters).
    epochs, batch_size : int
    validation_split : float
        Fraction of ``(X, y)`` held out for validation: shuffled, stratified for
        classification, and seeded by ``seed``. Ignored when ``validation_data`` is given.
    validation_data : (X_val, y_val), optional
    metrics : sequence of str or callable, default ("accuracy",)
        Logged per epoch on training and validation data. ``"accuracy"`` is skipped for
        regression losses.
    callbacks : sequence of Callback
        E.g. :class:`plainnet.callbacks.EarlyStopping`.
    shuffle : bool
    seed : int or numpy.random.Generator, optional
        Seeds the validation split and the shuffling (the weights are seeded where the
        model is built, e.g. with :func:`plainnet.seed`).
    verbose : {0, 1, 2}
        0 silent, 1 a progress bar per epoch, 2 one line per epoch.
    sample_weight : array_like, optional
        One weight per sample, passed to the loss.
    device : str, optional
        Where to train: ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (see :mod:`plainnet.backend`).
        The model and the optimizer's state are moved there (and stay there), and the data
        is copied there once; losses and metrics are logged as host floats. By default the
        model trains where it is. ``X``, ``y``, ``sample_weight`` and ``validation_data``
        may already be device arrays on that device (``X`` stays there; ``y`` and the weights
        are read to the host once, for the split and the metrics); data on another device is
        refused with :class:`plainnet.backend.DeviceMismatchError`.
    cuda_graph : bool, default False
        On a GPU, record the step's forward pass, loss and backward pass once as a CUDA graph
        (after two full batches without one) and launch it for each full batch: one launch
        instead of one per kernel, for small networks whose speed the host's launches
        bound. The graph is checked against the step computed without one on the batch it is
        recorded on; where it can't be recorded (a model that draws random numbers on the
        host, as ``Dropout``, or reads values in its forward pass) or disagrees, a
        ``RuntimeWarning`` says why and training goes on without it. The optimizer's update
        is not recorded (one launch already). See ``docs/gpu.md``.

    Returns
    -------
    History
        Per-epoch ``loss``, ``val_loss``, metrics, ``lr`` and ``epoch_time``.

    Notes
    -----
    Integer class labels are checked once, against the model's number of outputs, when the
    first batch has gone through the model (not again in every batch: on a GPU each check
    would make the host wait). If the loss or a gradient turns NaN or infinite, the step is
    not taken, training stops, the last finite weights stay in the model and a
    ``RuntimeWarning`` says where it happened and what to try. Validation and prediction
    build no graph. A seed gives the same shuffling, dropout masks and so the same training
    on every device (up to the devices' rounding).
    """
    from ..losses import check_labels, targets_checked
    from ..losses import get as get_loss
    from ..optim import get_optimizer
    from ..optim.optimizer import move_state

    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2; got {verbose!r}")
    if not isinstance(cuda_graph, bool):
        raise TypeError(f"cuda_graph must be True or False; got {cuda_graph!r}")
    if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
        raise ValueError(f"validation_split must be in [0, 1); got {validation_split!r}")
    loss_name = _loss_name(loss)
    loss_fn = get_loss(loss)
    target = model.device if device is None else _backend.canonical_device(device)
    if cuda_graph and not _backend.get_backend(target).captures:
        raise ValueError(
            f"cuda_graph=True records the training step as a CUDA graph, on a GPU; the model "
            f"trains on {target!r}. Pass device='cuda', or leave cuda_graph False."
        )
    if device is not None:
        device = target
        model.to(device)
        if not isinstance(optimizer, str):
            move_state(optimizer, device)
    device = model.device
    on_host = device == "cpu"
    if isinstance(optimizer, str):
        optimizer = get_optimizer(optimizer, model.parameters())
    params = model.parameters()
    dtype = model.dtype

    X = _data_on(as_float_array(X, "X", allow_device=True), "X", device).astype(dtype, copy=False)
    if X.ndim < 2:
        raise ValueError(f"X must have shape (n_samples, n_features); got shape {X.shape}")
    y = _prepare_targets(_host_data(y, "y", device), len(X), loss_name, dtype)
    weights = None
    if sample_weight is not None:
        sample_weight = _host_data(sample_weight, "sample_weight", device)
        weights = as_float_array(sample_weight, "sample_weight").astype(dtype)
        if weights.shape != (len(X),):
            raise ValueError(
                f"sample_weight must have shape ({len(X)},); got {weights.shape}"
            )
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("sample_weight must be finite and non-negative")

    rng = get_rng(seed)
    if validation_data is not None:
        X_val, y_val = validation_data
        X_val = as_float_array(X_val, "X_val", allow_device=True)
        X_val = _data_on(X_val, "X_val", device).astype(dtype, copy=False)
        y_val = _prepare_targets(_host_data(y_val, "y_val", device), len(X_val), loss_name, dtype)
    elif validation_split > 0:
        index = np.arange(len(X))
        labels = y if y.ndim == 1 else (y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0])
        stratify = loss_name in CLASSIFICATION_LOSSES and bool(
            np.all(labels == np.round(labels))
        )
        train_idx, val_idx, _, _ = train_test_split(
            index, labels.astype(np.int64) if stratify else index,
            test_size=float(validation_split), stratify=stratify, random_state=rng,
        )
        if type(X) is np.ndarray:
            X_val, X = X[val_idx], X[train_idx]
        else:  # X is already on the device: it is gathered there
            X_val = X[_backend.to_device(val_idx, device)]
            X = X[_backend.to_device(train_idx, device)]
        y_val, y = y[val_idx], y[train_idx]
        if weights is not None:
            weights = weights[train_idx]
    else:
        X_val = y_val = None

    metric_fns = []
    for m in metrics:
        name, fn = get_metric(m)
        if name == "accuracy" and loss_name not in CLASSIFICATION_LOSSES and isinstance(
            loss, str
        ):
            continue
        metric_fns.append((name, fn))

    n = len(X)
    n_batches = -(-n // batch_size)
    trainer = Trainer(model, optimizer)
    all_callbacks = list(callbacks)
    if verbose:
        all_callbacks.append(ProgressLogger(verbose, epochs, n_batches))
    for cb in all_callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be Callback instances; got {type(cb).__name__}")
        cb.set_context(trainer)

    history = History()
    history.params = {"epochs": epochs, "batch_size": batch_size, "n_samples": n}
    eval_batch = max(batch_size, 1024)
    # A named loss gets labels checked here, once, instead of in each batch (on a GPU each
    # check makes the host wait): their range once the first output shows the class count.
    trusted = isinstance(loss, str)
    unchecked_labels = []
    if trusted and loss_name in LABEL_LOSSES:
        unchecked_labels = [a for a in (y, y_val) if a is not None and a.ndim == 1]
    y_val_host = None
    positive = weights is None or bool(np.all(weights > 0))  # no batch's weights sum to 0
    if not on_host:  # the data go to the device once; shuffling gathers there
        y_host = y
        X, y = _backend.to_device(X, device), _backend.to_device(y, device)
        if weights is not None:
            weights = _backend.to_device(weights, device)
        if X_val is not None:
            y_val_host = y_val
            X_val, y_val = _backend.to_device(X_val, device), _backend.to_device(y_val, device)
    graph, warm, tried = None, 0, False  # the captured step, full batches before it
    model.train()
    for cb in all_callbacks:
        cb.on_train_begin({})
    try:
        # divergence is detected and reported clearly; NumPy's overflow chatter is noise
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
                _backend.device_context(device), \
                (_backend.graph_stream(device) if cuda_graph else contextlib.nullcontext()), \
                (targets_checked(positive) if trusted else contextlib.nullcontext()):
            for epoch in range(1, epochs + 1):
                for cb in all_callbacks:
                    cb.on_epoch_begin(epoch, {})
                start = time.perf_counter()
                order = rng.permutation(n) if shuffle else np.arange(n)
                if on_host:
                    ys_host = ys = y[order]
                    Xs = X[order]
                else:
                    ys_host = y_host[order] if metric_fns else None
                    order = _backend.to_device(order, device)
                    Xs, ys = X[order], y[order]
                ws = weights[order] if weights is not None else None
                total_loss = 0.0
                outputs = [] if metric_fns else None
                snapshot = [p.data.copy() for p in params]
                for b in range(n_batches):
                    lo, hi = b * batch_size, min((b + 1) * batch_size, n)
                    for cb in all_callbacks:
                        cb.on_batch_begin(b, {})
                    xb, yb = Xs[lo:hi], ys[lo:hi]
                    wb = None if ws is None else ws[lo:hi]
                    full = hi - lo == min(batch_size, n)  # the size of most batches
                    if graph is not None and not graph.current():  # recorded again below
                        graph.release()
                        graph, tried = None, False
                    if graph is not None and full:
                        out, value, finite = graph(xb, yb, wb)
                    elif cuda_graph and full and warm >= WARMUP_STEPS and not tried:
                        tried = True
                        graph, out, value, finite = capture_step(
                            model, loss_fn, params, device, xb, yb, wb)
                    else:
                        warm += full
                        out = model(Tensor(xb))
                        if unchecked_labels and out.ndim == 2:
                            for labels in unchecked_labels:
                                check_labels(labels, out.shape[1], loss_name)
                            unchecked_labels = []
                        if wb is None:
                            batch_loss = loss_fn(out, yb)
                        else:
                            batch_loss = loss_fn(out, yb, sample_weight=wb)
                        out = out.data
                        optimizer.zero_grad()
                        if on_host:
                            value = float(batch_loss.data)
                            if np.isfinite(value):
                                batch_loss.backward()
                            finite = np.isfinite(value) and all_finite(
                                grads := gradients(params), sums_of_squares(grads))
                        else:  # a NaN loss gives NaN gradients, and no step: as above
                            batch_loss.backward()
                            value, finite = read_step(batch_loss, params)
                    if not finite:
                        _diverged(model, params, snapshot, epoch, b, value, optimizer)
                        trainer.stop_training = True
                        trainer.stop_reason = "diverged"
                        break
                    optimizer.step()
                    total_loss += value * (hi - lo)
                    if outputs is not None:  # a graph's output: its next launch rewrites it
                        outputs.append(out.copy() if graph is not None and out is graph.out
                                       else out)
                    for cb in all_callbacks:
                        cb.on_batch_end(b, {"loss": value, "size": hi - lo})
                    if trainer.stop_training:
                        break
                if trainer.stop_reason == "diverged":
                    break
                seen = hi if trainer.stop_training else n
                logs = {"loss": total_loss / max(seen, 1)}
                if metric_fns:
                    output = _backend.to_numpy(np.concatenate(outputs))
                    for name, fn in metric_fns:
                        logs[name] = fn(output, ys_host[: len(output)], loss_name)
                if X_val is not None:
                    val = _evaluate(model, X_val, y_val, loss_fn, metric_fns, loss_name,
                                    eval_batch, y_val_host)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                logs["lr"] = float(optimizer.param_groups[0]["lr"])
                logs["epoch_time"] = time.perf_counter() - start
                history.record(epoch, logs)
                for cb in all_callbacks:
                    cb.on_epoch_end(epoch, logs)
                if trainer.stop_training:
                    break
    finally:
        if graph is not None:
            with _backend.device_context(device):
                graph.release()
        for cb in all_callbacks:
            cb.on_train_end({})
    history.stop_reason = trainer.stop_reason
    return history


def _diverged(model, params, snapshot, epoch, batch, value, optimizer) -> None:
    finite = all(np.all(np.isfinite(p.data)) for p in params)
    if not finite:
        for p, saved in zip(params, snapshot, strict=True):
            p.data[...] = saved
    model.zero_grad()
    what = f"the loss became {value}" if not np.isfinite(value) else "a gradient became NaN/inf"
    lr = optimizer.param_groups[0].get("lr")
    warnings.warn(
        f"training diverged at epoch {epoch}, batch {batch + 1}: {what}. Training stopped and "
        f"the last finite weights were kept. Try a lower learning rate (now {lr}), "
        "standardizing the inputs, or clipping gradients (pn.optim.clip_grad_norm).",
        RuntimeWarning,
        stacklevel=3,
    )
