r"""Loss functions: how far a model's output is from the target, as one differentiable number.

Every loss takes the model output ``input`` (a Tensor, or an array) and a ``target`` (an array
or a Tensor), computes a per-element loss $\ell_i$ and reduces it:

* ``reduction="mean"`` (default): $\frac{1}{n}\sum_i \ell_i$, or with per-sample weights
  $w$ the weighted mean $\sum_i w_i \ell_i / \sum_i w_i$ (a sample's weight applies
  to each of its elements);
* ``reduction="sum"``: $\sum_i w_i \ell_i$;
* ``reduction="none"``: the array $w_i \ell_i$.

Values and gradients follow PyTorch's definitions (``torch.nn.functional``). Each loss is
finite at extreme inputs: cross-entropy uses log-sum-exp, ``bce_with_logits`` the log-sigmoid
form, and ``bce`` clips probabilities to $[\epsilon, 1 - \epsilon]$ with the machine
epsilon of the input's dtype.

`get()` turns a name (``"mse"``, ``"cross_entropy"``, ...) into the function, for
``pn.fit(loss=...)``.

On a GPU the loss is computed where its input is. Targets and sample weights given as host data
(NumPy arrays, lists) are copied to the input's device; a target Tensor must already be there.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Callable

import numpy as np

from . import backend as _backend
from ._validation import as_float_array
from .autodiff import ops
from .autodiff.engine import Op, Tensor, apply
from .kernels import ElementwiseKernel, run_fused

__all__ = [
    "LOSSES",
    "bce",
    "bce_with_logits",
    "check_labels",
    "cross_entropy",
    "get",
    "huber",
    "l1",
    "mae",
    "mse",
    "nll",
    "targets_checked",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)


REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- input checks
class _Checks(threading.local):
    skip_values = False  # set by targets_checked()
    positive_weights = False  # set by targets_checked(positive_weights=True)


_CHECKS = _Checks()


@contextlib.contextmanager
def targets_checked(positive_weights: bool = False):
    """A block in which the losses do not re-check the *values* of integer labels and sample
    weights on each call (shapes, dtypes and devices are still checked).

    For a training loop that checked all its labels (`check_labels()`) and weights once
    before it started: on a GPU each of those per-batch checks makes the host wait for the
    device. With ``positive_weights`` (every sample weight is above 0, so no batch's weights
    sum to 0), a weighted mean divides by the weights' sum where it lies, unread. Per thread.
    """
    prev = _CHECKS.skip_values, _CHECKS.positive_weights
    _CHECKS.skip_values, _CHECKS.positive_weights = True, bool(positive_weights)
    try:
        yield
    finally:
        _CHECKS.skip_values, _CHECKS.positive_weights = prev


def weights_promised_positive() -> bool:
    """Whether the current block promises that every sample weight is above 0
    (`targets_checked()` with ``positive_weights``)."""
    return _CHECKS.positive_weights


def _as_input(x) -> Tensor:
    if isinstance(x, Tensor):
        if x.dtype.kind != "f":
            raise TypeError(f"a loss needs a floating-point input; got dtype {x.dtype}")
        return x
    return Tensor(_float_array(x, "input"))


def _float_array(x, name: str):
    """``as_float_array`` that leaves a device array on its device."""
    if type(x) is not np.ndarray and _backend.is_device_array(x):
        return x if x.dtype.kind == "f" else x.astype(np.float64)
    return as_float_array(x, name)


def _on_input_device(arr, x: Tensor, what: str, strict: bool = False):
    """``arr`` on the device of the input ``x`` (host data is copied there)."""
    data = x.data
    if type(arr) is np.ndarray and type(data) is np.ndarray:
        return arr
    return _backend.match_device(arr, data, what, strict=strict)


def _check_reduction(reduction) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}")
    return reduction


def _squeezed(shape) -> tuple:
    return tuple(n for n in shape if n != 1)


def _float_target(target, x: Tensor):
    """The target as an array of ``x``'s dtype and shape, or as a Tensor when it requires
    grad. A target that differs from the input only by axes of length 1 (``(N,)`` against
    ``(N, 1)``) is reshaped; any other mismatch is an error (no silent broadcasting)."""
    if isinstance(target, Tensor) and target.requires_grad:
        t = target if target.dtype == x.dtype else target.astype(x.dtype)
    else:
        is_tensor = isinstance(target, Tensor)
        arr = _float_array(target.data if is_tensor else target, "target")
        arr = _on_input_device(arr, x, "the loss's target", strict=is_tensor)
        t = arr if arr.dtype == x.dtype else arr.astype(x.dtype)
    if t.shape != x.shape:
        if _squeezed(t.shape) != _squeezed(x.shape):
            raise ValueError(
                f"target of shape {t.shape} does not match input of shape {x.shape}"
            )
        t = t.reshape(x.shape)
    return t


def _labels(target, n: int, n_classes: int, what: str, x: Tensor) -> np.ndarray:
    """Integer class labels in ``[0, n_classes)``, shaped ``(n,)``, on ``x``'s device."""
    is_tensor = isinstance(target, Tensor)
    arr = target.data if is_tensor else target
    if not _backend.is_device_array(arr):
        arr = np.asarray(arr)
    if arr.shape != (n,):
        raise ValueError(
            f"{what} expects integer class labels of shape ({n},) or class probabilities of "
            f"the input's shape; got a target of shape {arr.shape}"
        )
    if _CHECKS.skip_values and arr.dtype.kind in "iu":
        labels = arr.astype(np.intp, copy=False)
    else:
        labels = check_labels(arr, n_classes, what)
    return _on_input_device(labels, x, f"{what}'s target", strict=is_tensor)


def check_labels(labels, n_classes: int, what: str = "labels"):
    """``labels`` (an array of class labels, on any device) as ``intp``, after checking that
    they are whole numbers in ``[0, n_classes)``; else a ``ValueError``/``TypeError`` that
    names ``what``.

    Examples
    --------
    >>> import plainnet as pn
    >>> pn.losses.check_labels([0, 2, 1], 3).tolist()
    [0, 2, 1]
    """
    if not _backend.is_device_array(labels):
        labels = np.asarray(labels)
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ValueError(
                f"{what}: class labels must be whole numbers; got {labels[:5]}..."
            )
    elif labels.dtype.kind not in "iub":
        raise TypeError(f"{what}: class labels must be integers; got dtype {labels.dtype}")
    labels = labels.astype(np.intp, copy=False)
    # read as unsigned, a negative label is larger than any class count: one pass (on a
    # device, one reduction and one read) checks both ends
    if labels.size and int(labels.view(np.uintp).max()) >= n_classes:
        bad = labels[(labels < 0) | (labels >= n_classes)][0].item()
        raise ValueError(
            f"{what}: class label {bad} is out of range for {n_classes} classes "
            f"(labels must be in [0, {n_classes - 1}])"
        )
    return labels


def _sample_weight(sample_weight, n: int, x: Tensor) -> np.ndarray | None:
    if sample_weight is None:
        return None
    dtype = x.dtype
    is_tensor = isinstance(sample_weight, Tensor)
    w = _float_array(sample_weight.data if is_tensor else sample_weight, "sample_weight")
    if w.shape != (n,):
        raise ValueError(
            f"sample_weight must have one weight per sample, shape ({n},); got {w.shape}"
        )
    if not _CHECKS.skip_values and (not np.all(np.isfinite(w)) or np.any(w < 0)):
        raise ValueError("sample_weight must be finite and non-negative")
    return _on_input_device(w.astype(dtype, copy=False), x, "sample_weight", strict=is_tensor)


def _batch_size(x: Tensor) -> int:
    if x.ndim == 0:
        raise ValueError("sample_weight needs a batch axis; the input is a scalar")
    return x.shape[0]


def _reduce(loss: Tensor, reduction: str, w: np.ndarray | None) -> Tensor:
    """Reduce per-element losses (first axis = samples) with optional per-sample weights."""
    if w is None:
        if reduction == "mean":
            return loss.mean()
        return loss.sum() if reduction == "sum" else loss
    weighted = loss * w.reshape((-1,) + (1,) * (loss.ndim - 1))
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    per_sample = loss.size // max(loss.shape[0], 1)
    if _CHECKS.positive_weights:
        return weighted.sum() / (w.sum() * per_sample)
    total = float(w.sum()) * per_sample
    if total <= 0:
        raise ValueError("sample_weight sums to 0: the weighted mean is undefined")
    return weighted.sum() / total


def _prepare(input, target, reduction, sample_weight):
    x = _as_input(input)
    t = _float_target(target, x)
    reduction = _check_reduction(reduction)
    w = None if sample_weight is None else _sample_weight(sample_weight, _batch_size(x), x)
    return x, t, reduction, w


# --------------------------------------------------------------------------- regression
def mse(input, target, reduction: str = "mean", sample_weight=None) -> Tensor:
    r"""Mean squared error.

    $$
    \ell_i = (x_i - y_i)^2, \qquad \frac{\partial \ell_i}{\partial x_i} = 2(x_i - y_i)
    $$

    Examples
    --------
    >>> import plainnet as pn
    >>> float(pn.losses.mse(pn.tensor([1.0, 2.0]), [1.0, 4.0]))
    2.0
    """
    x, t, reduction, w = _prepare(input, target, reduction, sample_weight)
    d = x - t
    return _reduce(d * d, reduction, w)


def mae(input, target, reduction: str = "mean", sample_weight=None) -> Tensor:
    r"""Mean absolute error (L1 loss).

    $$
    \ell_i = |x_i - y_i|, \qquad \frac{\partial \ell_i}{\partial x_i} =
    \mathrm{sign}(x_i - y_i) \ (0 \text{ at } 0)
    $$
    """
    x, t, reduction, w = _prepare(input, target, reduction, sample_weight)
    return _reduce((x - t).abs(), reduction, w)


l1 = mae


def _huber_forward(x, t, delta):
    d = x - t
    a = np.abs(d)
    return np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)).astype(x.dtype, copy=False)


def _huber_vjp(i, g, out, x, t, delta):
    slope = g * ops.clip(x - t, -delta, delta)
    return slope if i == 0 else -slope


HUBER = Op("huber", _huber_forward, _huber_vjp)


def huber(input, target, delta: float = 1.0, reduction: str = "mean", sample_weight=None):
    r"""Huber loss: quadratic near the target, linear far from it (robust to outliers).

    $$
    \ell_i = \begin{cases} \tfrac12 d_i^2 & |d_i| < \delta \\
    \delta\,(|d_i| - \tfrac12\delta) & \text{otherwise} \end{cases}, \qquad
    \frac{\partial \ell_i}{\partial x_i} = \mathrm{clip}(d_i, -\delta, \delta)
    $$

    with $d_i = x_i - y_i$ (PyTorch's ``HuberLoss``).
    """
    delta = float(delta)
    if not (np.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be a finite number > 0; got {delta!r}")
    x, t, reduction, w = _prepare(input, target, reduction, sample_weight)
    return _reduce(apply(HUBER, x, t, delta), reduction, w)


# --------------------------------------------------------------------------- binary
def _check_unit_interval(arr, what: str) -> None:
    if arr.size and not (np.all(arr >= 0) and np.all(arr <= 1)):
        raise ValueError(f"{what} must lie in [0, 1]; got values from {arr.min()} to {arr.max()}")


def bce(input, target, reduction: str = "mean", sample_weight=None) -> Tensor:
    r"""Binary cross-entropy of probabilities ``input`` against targets in [0, 1].

    $$
    \ell_i = -\left[y_i \log p_i + (1 - y_i)\log(1 - p_i)\right], \qquad
    \frac{\partial \ell_i}{\partial p_i} = \frac{p_i - y_i}{p_i(1 - p_i)}
    $$

    where $p_i$ is the input clipped to $[\epsilon, 1-\epsilon]$,
    $\epsilon$ the machine epsilon of its dtype, so the loss stays finite at 0 and 1.
    Where the input is outside the clip range its gradient is 0. For logits use
    `bce_with_logits()`, which is exact everywhere.

    Against PyTorch's `binary_cross_entropy`, which clamps each logarithm at -100 and divides
    the gradient by $\max(p(1-p), 10^{-12})$: the losses are equal (to rounding) for inputs
    inside the clip range; outside it plainnet's loss stops at $-\log\epsilon$ (36.04 in
    float64, 15.94 in float32) where PyTorch's reaches 100. The gradients are equal where
    $p(1-p) \ge 10^{-12}$ (in float32, the whole clip range); closer to 0 or 1, plainnet's is
    the exact $(p - y)/(p(1-p))$ of its clipped loss, up to about $1/\epsilon$ in size,
    where PyTorch's stops at $|p - y| \cdot 10^{12}$.
    """
    x, t, reduction, w = _prepare(input, target, reduction, sample_weight)
    _check_unit_interval(x.data, "bce input (probabilities)")
    _check_unit_interval(t.data if isinstance(t, Tensor) else t, "bce target")
    eps = float(np.finfo(x.dtype).eps)
    p = x.clip(eps, 1.0 - eps)
    loss = -(t * p.log() + (1.0 - t) * (1.0 - p).log())
    return _reduce(loss, reduction, w)


def _bce_logits_forward(x, t):
    return np.logaddexp(x.dtype.type(0), x) - x * t


def _bce_logits_vjp(i, g, out, x, t):
    if i == 0:
        return g * (ops.sigmoid(x) - t)
    return -(g * x)


BCE_WITH_LOGITS = Op("bce_with_logits", _bce_logits_forward, _bce_logits_vjp)


def bce_with_logits(input, target, reduction: str = "mean", sample_weight=None) -> Tensor:
    r"""Binary cross-entropy of logits $z$ (the sigmoid is included, stably).

    $$
    \ell_i = -\left[y_i \log\sigma(z_i) + (1-y_i)\log(1-\sigma(z_i))\right]
    = \log(1 + e^{z_i}) - y_i z_i, \qquad
    \frac{\partial \ell_i}{\partial z_i} = \sigma(z_i) - y_i
    $$

    evaluated as ``logaddexp(0, z) - y z`` (the log-sigmoid form), exact and finite for
    logits of any size, e.g. $\pm 10^4$. Targets must lie in [0, 1], as for
    `bce()` (a ``ValueError`` otherwise).
    """
    x, t, reduction, w = _prepare(input, target, reduction, sample_weight)
    if not _CHECKS.skip_values:
        _check_unit_interval(t.data if isinstance(t, Tensor) else t, "bce_with_logits target")
    return _reduce(apply(BCE_WITH_LOGITS, x, t), reduction, w)


# --------------------------------------------------------------------------- multiclass
def _xp(a):
    """The array module of ``a`` (an array or a Tensor)."""
    if isinstance(a, Tensor):
        a = a.data
    return np if type(a) is np.ndarray else _backend.array_module(a)


_ROWS: dict = {}


def _rows(z):
    """The row numbers ``0 .. n-1`` of ``z``, on its device. A device's are kept (a training
    loop asks for the same batch size at every step): one kernel launch fewer per use."""
    n = z.shape[0]
    if type(z) is np.ndarray:
        return np.arange(n)
    key = (n, _backend.device_of(z))
    found = _ROWS.get(key)
    if found is None:
        if len(_ROWS) >= 64:
            _ROWS.clear()
        found = _ROWS[key] = _xp(z).arange(n)
    return found


def _ce_forward(z, y, w, smoothing, reduction, cache):
    n, c = z.shape
    fuse = type(z) is not np.ndarray and not smoothing  # the kernels: on a device
    m = z.max(axis=1, keepdims=True)
    e = np.empty_like(z)
    target_logit = None
    if not (fuse and run_fused(_CE_EXP, z, z=z, m=m, e=e)):
        np.subtract(z, m, out=e)
        target_logit = e[_rows(z), y]
        if smoothing:
            target_logit = (1.0 - smoothing) * target_logit + smoothing * e.mean(axis=1)
        np.exp(e, out=e)
    s = e.sum(axis=1, keepdims=True)
    cache["e"], cache["s"] = e, s
    loss = np.empty_like(s[:, 0]) if fuse else None
    if not (fuse and z.flags.c_contiguous and run_fused(
        _CE_ROWS, z, s=s[:, 0], m=m[:, 0], z=z, label=y, c=c, loss=loss
    )):
        if target_logit is None:
            target_logit = z[_rows(z), y] - m[:, 0]
        loss = np.log(s[:, 0]) - target_logit
    if w is not None:
        loss = w * loss
    if reduction == "none":
        return loss
    if w is None and reduction == "mean":
        total = loss.mean() if fuse else loss.sum() / n  # the same; on a device, one launch
    else:
        total = loss.sum() / w.sum() if reduction == "mean" else loss.sum()
    if isinstance(total, (np.ndarray, np.generic)):
        return np.asarray(total, dtype=z.dtype)
    return total.astype(z.dtype, copy=False)


_CE_EXP = ElementwiseKernel("cross_entropy_exp", ("z", "m"), ("e",), "e = exp(z - m);")
_CE_ROWS = ElementwiseKernel(
    "cross_entropy_rows", ("s", "m"), ("loss",), "loss = log(s) - (z[i * c + label] - m);",
    integers=("label", "c"), raws=("z",),
)


def _ce_coefficient(g, w, reduction, n):
    """The factor by which each row's ``softmax - target`` is scaled: ``dL/dloss_i``."""
    if reduction == "none":
        g = g.reshape(-1, 1)
        return g if w is None else g * w.reshape(-1, 1)
    if reduction == "mean":
        return g / n if w is None else g * (w / w.sum()).reshape(-1, 1)
    return g if w is None else g * w.reshape(-1, 1)


def _ce_vjp(i, g, out, z, y, w, smoothing, reduction, cache):
    n, c = z.shape
    xp = _xp(z)
    rows = _rows(z)
    if isinstance(g, Tensor) or "e" not in cache:  # differentiable path (create_graph)
        q = xp.full((n, c), smoothing / c, dtype=z.dtype)
        q[rows, y] += 1.0 - smoothing
        return (ops.softmax(z, axis=1) - q) * _ce_coefficient(g, w, reduction, n)
    e, s = cache["e"], cache["s"]
    if w is None and reduction != "none" and type(z) is not np.ndarray:
        grad = np.empty_like(e)
        if run_fused(
            _CE_BACKWARD, z, e=e, s=s, off=smoothing / c, on=1.0 - smoothing, g=g,
            scale=n if reduction == "mean" else 1, label=y.reshape(-1, 1), c=c, grad=grad,
        ):
            return grad
    grad = e / s
    if smoothing:
        grad -= smoothing / c
    grad[rows, y] -= 1.0 - smoothing
    grad *= _ce_coefficient(g, w, reduction, n)
    return grad


_CE_BACKWARD = ElementwiseKernel(
    "cross_entropy_backward",
    ("e", "s", "off", "on", "g", "scale"),
    ("grad",),
    "grad = (e / s - off - (i % c == label) * on) * (g / scale);",
    integers=("label", "c"),
)


CROSS_ENTROPY = Op("cross_entropy", _ce_forward, _ce_vjp)


def _check_smoothing(label_smoothing) -> float:
    ls = float(label_smoothing)
    if not 0.0 <= ls <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1]; got {label_smoothing!r}")
    return ls


def _check_logits(x: Tensor, what: str) -> None:
    if x.ndim < 2:
        raise ValueError(
            f"{what} expects input of shape (batch, classes) or (batch, classes, d1, ...); "
            f"got {x.shape}"
        )


def _classes_last(x: Tensor, axis: int, what: str):
    """``x`` as rows of class scores ``(M, C)`` with the class axis ``axis`` moved last (a
    free reshape when it already is), and the shape of the rest (the labels' shape)."""
    _check_logits(x, what)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not (
        -x.ndim <= axis < x.ndim
    ):
        raise ValueError(f"{what}: axis must be a class axis of the input {x.shape}; got {axis!r}")
    axis = int(axis) % x.ndim
    if axis == 0:
        raise ValueError(f"{what}: axis 0 is the batch axis; the classes are on axis 1 or -1")
    rest = x.shape[:axis] + x.shape[axis + 1:]
    if axis != x.ndim - 1:
        order = tuple(i for i in range(x.ndim) if i != axis) + (axis,)
        x = x.transpose(order)
    return (x if x.ndim == 2 else x.reshape(-1, x.shape[-1])), rest


def _row_labels(target, rest: tuple, x: Tensor, what: str, ignore_index: int):
    """Integer labels of shape ``rest`` as a flat array, and a flag of whether some label is
    ``ignore_index`` (those rows get label 0 and must be given weight 0)."""
    is_tensor = isinstance(target, Tensor)
    arr = target.data if is_tensor else target
    if not _backend.is_device_array(arr):
        arr = np.asarray(arr)
    if arr.shape != rest:
        raise ValueError(
            f"{what} expects integer class labels of shape {rest} or class probabilities of "
            f"the input's shape; got a target of shape {arr.shape}"
        )
    n_classes = x.shape[-1]
    flat = arr.reshape(-1)
    ignored = None
    outside = not 0 <= ignore_index < n_classes
    if _CHECKS.skip_values and flat.dtype.kind in "iu":
        # checked before: labels are classes (an ignore_index outside them cannot occur)
        labels = flat.astype(np.intp, copy=False)
    elif outside:  # one range check, as without ignore_index; only if it fails, look closer
        try:
            labels = check_labels(flat, n_classes, what)
        except ValueError:
            if flat.dtype.kind not in "iuf":
                raise
            hits = flat == ignore_index
            if not bool(hits.any()):
                raise
            labels = check_labels(_xp(flat).where(hits, 0, flat), n_classes, what)
            ignored = hits
    else:
        labels = check_labels(flat, n_classes, what)
    if ignored is None and not outside:
        hits = labels == ignore_index
        ignored = hits if bool(hits.any()) else None
    return _on_input_device(labels, x, f"{what}'s target", strict=is_tensor), ignored


def _row_weights(x2, labels, ignored, weight, sample_weight, n: int, what: str):
    """Each row's weight: the class weight of its label, 0 where ignored, times its sample's
    weight (repeated over the sample's positions); None when every weight is 1."""
    rows = None
    if weight is not None:
        cw = _float_array(weight.data if isinstance(weight, Tensor) else weight, "weight")
        if cw.shape != (x2.shape[1],):
            raise ValueError(
                f"{what}: weight must have one weight per class, shape ({x2.shape[1]},); "
                f"got {cw.shape}"
            )
        cw = _on_input_device(cw.astype(x2.dtype, copy=False), x2, "the class weights")
        rows = cw[labels]
    if ignored is not None:
        keep = _on_input_device(~ignored, x2, "the ignored labels").astype(x2.dtype)
        rows = keep if rows is None else rows * keep
    if sample_weight is not None:
        per_sample = x2.shape[0] // max(n, 1)
        sw = _sample_weight(sample_weight, n, x2)
        sw = sw if per_sample == 1 else _xp(sw).repeat(sw, per_sample)
        rows = sw if rows is None else rows * sw
    return rows


def cross_entropy(
    input,
    target,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    sample_weight=None,
    weight=None,
    ignore_index: int = -100,
    axis: int = 1,
) -> Tensor:
    r"""Cross-entropy of logits ``input`` against class labels or probabilities (softmax
    included, computed with log-sum-exp), like PyTorch's ``F.cross_entropy``.

    ``input`` is ``(N, C)`` or ``(N, C, d1, ...)`` (the classes on axis 1, as in PyTorch);
    sequence models' ``(N, T, C)`` logits are taken as they are with ``axis=-1`` (no
    transposition needed). ``target`` holds integer labels of the input's shape without the
    class axis, or probabilities of the input's shape.

    With integer labels $y_i$ and label smoothing $\epsilon$, the target
    distribution is $q_{ic} = (1-\epsilon)[c = y_i] + \epsilon / C$; with a probability
    target it is $q = (1-\epsilon)\,t + \epsilon / C$. Then

    $$
    \ell_i = -\sum_c q_{ic} \log \mathrm{softmax}(z_i)_c
    = \mathrm{LSE}(z_i) - \sum_c q_{ic} z_{ic}, \qquad
    \frac{\partial \ell_i}{\partial z_i} = \mathrm{softmax}(z_i) - q_i
    $$

    Class ``weight`` $w$ (shape ``(C,)``) and ``ignore_index`` (labels equal to it
    count for nothing) follow PyTorch: each position's loss is scaled by
    $r_i = w_{y_i} [y_i \ne \text{ignore}]$, and ``"mean"`` is the weighted mean
    $\sum_i r_i \ell_i / \sum_i r_i$ (so ignored positions leave the denominator too).
    ``sample_weight`` (shape ``(N,)``) multiplies every position of a sample. With
    probability targets the class weights scale each class's term and ``"mean"`` divides by
    the number of positions. ``label_smoothing`` with class weights follows PyTorch too (the
    smoothing term weights each class; the mean divides by $\sum_i w_{y_i}$).

    Integer labels run as one fused op (log-softmax, gather and reduction in one node, with
    backward $r_i(\mathrm{softmax} - q)/\sum r$ for the mean). Whole-number float labels
    are accepted. ``reduction="none"`` returns the input's shape without the class axis.
    """
    x = _as_input(input)
    reduction = _check_reduction(reduction)
    ls = _check_smoothing(label_smoothing)
    x2, rest = _classes_last(x, axis, "cross_entropy")
    n = x.shape[0]
    raw = target.data if isinstance(target, Tensor) else target
    t_shape = raw.shape if _backend.is_device_array(raw) else np.shape(raw)
    if t_shape == x.shape:
        return _soft_cross_entropy(x, x2, target, rest, ls, reduction, sample_weight, weight,
                                   axis)
    y, ignored = _row_labels(target, rest, x2, "cross_entropy", ignore_index)
    w = _row_weights(x2, y, ignored, weight, sample_weight, n, "cross_entropy")
    if reduction == "mean" and w is not None and not _CHECKS.positive_weights and (
        not w.sum() > 0
    ):
        raise ValueError(
            "cross_entropy: the weight of the positions sums to 0 (every label ignored, or "
            "sample_weight/class weights of 0): the weighted mean is undefined"
        )
    if ls and weight is not None:
        base = _row_weights(x2, y, ignored, None, sample_weight, n, "cross_entropy")
        out = _smoothed_weighted(x2, y, w, base, weight, ls, reduction)
    else:
        out = apply(CROSS_ENTROPY, x2, y, w, smoothing=ls, reduction=reduction, cache={})
    return out.reshape(rest) if reduction == "none" and rest != (n,) else out


def _smoothed_weighted(x2, y, w, base, weight, ls, reduction):
    r"""Label smoothing with class weights, PyTorch's way (composed ops):
    $\ell_i = (1-\epsilon)\, w_{y_i} (-\log p_{i y_i}) + \frac{\epsilon}{C}
    \sum_c w_c (-\log p_{ic})$ for each kept position, and ``"mean"`` divides the sum by
    $\sum_i w_{y_i}$ over them."""
    c = x2.shape[1]
    cw = _on_input_device(np.asarray(weight.data if isinstance(weight, Tensor) else weight,
                                     dtype=x2.dtype), x2, "the class weights")
    logp = x2.log_softmax(axis=1)
    picked = -logp[_rows(x2.data), y] * w
    spread = -(logp * cw).sum(axis=1)
    if base is not None:
        spread = spread * base
    loss = picked * (1.0 - ls) + spread * (ls / c)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / w.sum()


def _soft_cross_entropy(x, x2, target, rest, ls, reduction, sample_weight, weight, axis):
    """Cross-entropy against a probability target (the composed form)."""
    q = _float_target(target, x)
    if x.ndim > 2 or x2 is not x:
        q = _classes_last(q if isinstance(q, Tensor) else Tensor(q), axis, "cross_entropy")[0]
    c = x2.shape[1]
    if ls:
        q = q * (1.0 - ls) + ls / c
    terms = q * x2.log_softmax(axis=1)
    if weight is not None:
        cw = _float_array(weight.data if isinstance(weight, Tensor) else weight, "weight")
        if cw.shape != (c,):
            raise ValueError(f"cross_entropy: weight must have shape ({c},); got {cw.shape}")
        terms = terms * _on_input_device(cw.astype(x2.dtype, copy=False), x2, "weight")
    loss = -terms.sum(axis=1).reshape(rest)
    w = None if sample_weight is None else _sample_weight(sample_weight, x.shape[0], x)
    return _reduce(loss, reduction, w)


def nll(input, target, reduction: str = "mean", sample_weight=None, weight=None,
        ignore_index: int = -100, axis: int = 1) -> Tensor:
    r"""Negative log-likelihood of log-probabilities ``input`` (``(N, C)`` or ``(N, C, d1,
    ...)``, e.g. the output of ``LogSoftmax``; ``axis=-1`` for ``(N, T, C)``) at integer
    class labels ``target`` (the input's shape without the class axis).

    $$
    \ell_i = -r_i\, x_{i, y_i}, \qquad \frac{\partial \ell_i}{\partial x_{ic}} =
    -r_i [c = y_i]
    $$

    with $r_i = w_{y_i} [y_i \ne \text{ignore}]$ as in `cross_entropy()`, whose
    weighted mean this follows. ``nll(log_softmax(z), y)`` equals ``cross_entropy(z, y)``.
    """
    x = _as_input(input)
    reduction = _check_reduction(reduction)
    x2, rest = _classes_last(x, axis, "nll")
    n = x.shape[0]
    y, ignored = _row_labels(target, rest, x2, "nll", ignore_index)
    w = _row_weights(x2, y, ignored, weight, sample_weight, n, "nll")
    picked = -x2[_rows(x2.data), y]
    if w is None:
        return _reduce(picked.reshape(rest), reduction, None)
    loss = picked * w
    if reduction == "none":
        return loss.reshape(rest)
    if reduction == "sum":
        return loss.sum()
    total = w.sum()
    if not _CHECKS.positive_weights and not total > 0:
        raise ValueError("nll: the weight of the positions sums to 0: the weighted mean is "
                         "undefined")
    return loss.sum() / total


# --------------------------------------------------------------------------- lookup
LOSSES: dict[str, Callable] = {
    "mse": mse,
    "mae": mae,
    "l1": mae,
    "huber": huber,
    "bce": bce,
    "bce_with_logits": bce_with_logits,
    "cross_entropy": cross_entropy,
    "nll": nll,
}
"""Every loss by name, for ``pn.fit(loss="...")``."""


def get(loss) -> Callable:
    """The loss function for a name in `LOSSES`, or ``loss`` itself if callable.

    The result is called as ``loss(input, target, sample_weight=None)`` and returns a scalar
    Tensor. A callable that takes no ``sample_weight`` is wrapped so that it can still be called
    that way (passing weights to it then raises a ``TypeError``).
    """
    if isinstance(loss, str):
        key = loss.lower().replace("-", "_")
        if key in LOSSES:
            return LOSSES[key]
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}")
    if not callable(loss):
        raise TypeError(f"loss must be a name or a callable; got {type(loss).__name__}")
    if _accepts_sample_weight(loss):
        return loss

    def unweighted(input, target, sample_weight=None):
        if sample_weight is not None:
            raise TypeError(
                f"the loss {getattr(loss, '__name__', loss)!r} takes no sample_weight argument"
            )
        return loss(input, target)

    unweighted.__name__ = getattr(loss, "__name__", "loss")
    unweighted.__doc__ = getattr(loss, "__doc__", None)
    return unweighted


def _accepts_sample_weight(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.name == "sample_weight" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params
    )
