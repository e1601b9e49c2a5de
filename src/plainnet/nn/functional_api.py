r"""``torch.nn.functional``'s names and arguments over plainnet's own functions.

Each function here is a thin wrapper: the activations are
[`plainnet.functions`][plainnet.functions]' (their derivatives are the autodiff ops'), the losses
are [`plainnet.losses`][plainnet.losses]'. What the wrappers add is PyTorch's spelling: ``input``
first, ``dim=`` for the axis, ``reduction=``, ``weight=``, ``ignore_index=``, ``inplace=``, and the
loss names (``mse_loss``, ``nll_loss``,
...). ``import plainnet.nn.functional as F`` then reads like PyTorch code:

>>> import plainnet as pn
>>> import plainnet.nn.functional as F
>>> logits = pn.tensor([[2.0, 0.5, -1.0]], requires_grad=True)
>>> loss = F.cross_entropy(logits, [0])
>>> round(float(loss), 4)
0.2413

Inputs that are not Tensors (arrays, lists, numbers) are taken as constant float Tensors;
the result is always a Tensor.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import backend as _backend
from .. import losses as _losses
from .._validation import as_float_array
from ..autodiff import ops as _ops
from ..autodiff.engine import Tensor
from ..functions import activations as _act
from .dropout import Dropout as _Dropout

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "cross_entropy",
    "dropout",
    "elu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "huber_loss",
    "l1_loss",
    "leaky_relu",
    "log_softmax",
    "logsigmoid",
    "mish",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "softsign",
    "tanh",
]


# --------------------------------------------------------------------------- helpers
def _tensor(input, fname: str) -> Tensor:
    """``input`` as a Tensor: a Tensor as it is, anything else as a constant float Tensor
    (float32 stays float32; integers and booleans become float64)."""
    if isinstance(input, Tensor):
        return input
    try:
        return Tensor(as_float_array(input, "input", allow_device=True))
    except TypeError as err:
        raise TypeError(f"{fname}: {err} (or a Tensor)") from None


def _axis(dim, ndim: int, fname: str) -> int:
    """``dim`` checked against an input of ``ndim`` axes (negative counts from the end)."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{fname}: dim must be an int; got {type(dim).__name__}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ValueError(f"{fname}: dim {dim} is out of range for an input with {ndim} "
                         f"dimension(s)")
    return int(dim)


def _finish(input, out: Tensor, inplace: bool, fname: str) -> Tensor:
    """``out``, or ``out`` written into ``input`` when ``inplace`` (PyTorch's ``inplace=True``)."""
    if not inplace:
        return out
    if not isinstance(input, Tensor):
        raise TypeError(f"{fname}: inplace=True needs a Tensor input; got "
                        f"{type(input).__name__}")
    return input.copy_(out)


def _activation(act, input, inplace: bool, fname: str) -> Tensor:
    return _finish(input, act(_tensor(input, fname)), inplace, fname)


def _no_legacy(fname: str, size_average, reduce) -> None:
    if size_average is not None or reduce is not None:
        raise ValueError(f"{fname}: size_average and reduce are deprecated in PyTorch and not "
                         "supported; use reduction='mean', 'sum' or 'none'")


def _check_reduction(reduction, fname: str) -> str:
    if reduction not in _losses.REDUCTIONS:
        raise ValueError(f"{fname}: reduction must be one of {_losses.REDUCTIONS}; got "
                         f"{reduction!r}")
    return reduction


def _real(value, name: str, fname: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fname}: {name} must be a number; got {type(value).__name__}")
    return float(value)


# --------------------------------------------------------------------------- activations
def relu(input, inplace: bool = False) -> Tensor:
    r"""$\max(x, 0)$, elementwise (``torch.nn.functional.relu``)."""
    return _activation(_act.relu, input, inplace, "relu")


def relu6(input, inplace: bool = False) -> Tensor:
    r"""$\min(\max(x, 0), 6)$, elementwise (``torch.nn.functional.relu6``)."""
    return _activation(_act.relu6, input, inplace, "relu6")


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    r"""$x$ for $x > 0$, else $a x$ with ``a = negative_slope``."""
    act = _act.LeakyReLU(_real(negative_slope, "negative_slope", "leaky_relu"))
    return _activation(act, input, inplace, "leaky_relu")


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    r"""$x$ for $x > 0$, else $\alpha (e^x - 1)$."""
    return _activation(_act.ELU(_real(alpha, "alpha", "elu")), input, inplace, "elu")


def selu(input, inplace: bool = False) -> Tensor:
    r"""$\lambda\,\mathrm{elu}_\alpha(x)$ with the self-normalizing constants
    $\lambda \approx 1.0507$, $\alpha \approx 1.6733$."""
    return _activation(_act.selu, input, inplace, "selu")


def celu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    r"""$\max(0, x) + \min(0, \alpha (e^{x/\alpha} - 1))$."""
    return _activation(_act.CELU(_real(alpha, "alpha", "celu")), input, inplace, "celu")


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    r"""$x$ clipped to ``[min_val, max_val]``."""
    act = _act.Hardtanh(_real(min_val, "min_val", "hardtanh"),
                        _real(max_val, "max_val", "hardtanh"))
    return _activation(act, input, inplace, "hardtanh")


def hardswish(input, inplace: bool = False) -> Tensor:
    r"""$x\,\mathrm{relu6}(x + 3) / 6$."""
    return _activation(_act.hardswish, input, inplace, "hardswish")


def hardsigmoid(input, inplace: bool = False) -> Tensor:
    r"""$\mathrm{relu6}(x + 3) / 6$."""
    return _activation(_act.hardsigmoid, input, inplace, "hardsigmoid")


def silu(input, inplace: bool = False) -> Tensor:
    r"""$x\,\sigma(x)$ (also called swish)."""
    return _activation(_act.silu, input, inplace, "silu")


def mish(input, inplace: bool = False) -> Tensor:
    r"""$x \tanh(\mathrm{softplus}(x))$."""
    return _activation(_act.mish, input, inplace, "mish")


def sigmoid(input) -> Tensor:
    r"""$\sigma(x) = 1 / (1 + e^{-x})$."""
    return _act.sigmoid(_tensor(input, "sigmoid"))


def tanh(input) -> Tensor:
    r"""$\tanh(x)$."""
    return _act.tanh(_tensor(input, "tanh"))


def softsign(input) -> Tensor:
    r"""$x / (1 + |x|)$."""
    return _act.softsign(_tensor(input, "softsign"))


def logsigmoid(input) -> Tensor:
    r"""$\log \sigma(x) = -\mathrm{softplus}(-x)$, without overflow."""
    return _act.logsigmoid(_tensor(input, "logsigmoid"))


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    r"""$\frac{1}{\beta} \log(1 + e^{\beta x})$, and $x$ itself where
    $\beta x >$ ``threshold`` (PyTorch's linear tail)."""
    beta = _real(beta, "beta", "softplus")
    threshold = _real(threshold, "threshold", "softplus")
    if beta <= 0:
        raise ValueError(f"softplus: beta must be > 0; got {beta}")
    x = _tensor(input, "softplus")
    if beta == 1.0:
        smooth = _act.softplus(x)
    else:
        smooth = _act.softplus(x * beta) / beta
    return _ops.where(x.data * beta > threshold, x, smooth)


def _softmax_dim(input: Tensor, dim, fname: str) -> int:
    if dim is None:  # PyTorch's legacy implicit choice, with its warning
        warnings.warn(f"Implicit dimension choice for {fname} has been deprecated. Change the "
                      "call to include dim=X as an argument.", UserWarning, stacklevel=3)
        return 0 if input.ndim in (0, 1, 3) else 1
    return _axis(dim, input.ndim, fname)


def _cast(x: Tensor, dtype) -> Tensor:
    return x if dtype is None else _ops.astype(x, np.dtype(dtype))


def softmax(input, dim: int | None = None, dtype=None) -> Tensor:
    r"""$e^{x_i} / \sum_k e^{x_k}$ along ``dim`` (shifted by the maximum: no overflow).
    ``dtype``: cast the input to it first."""
    x = _cast(_tensor(input, "softmax"), dtype)
    return _act.softmax(x, axis=_softmax_dim(x, dim, "softmax"))


def log_softmax(input, dim: int | None = None, dtype=None) -> Tensor:
    r"""$x_i - \log \sum_k e^{x_k}$ along ``dim``, computed directly."""
    x = _cast(_tensor(input, "log_softmax"), dtype)
    return _act.log_softmax(x, axis=_softmax_dim(x, dim, "log_softmax"))


# --------------------------------------------------------------------------- dropout
def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""Inverted dropout (as [`plainnet.nn.Dropout`][plainnet.nn.Dropout]): with ``training`` each
    element is zeroed with probability ``p`` and the rest scaled by $1/(1-p)$; without it the input
    is returned unchanged. The mask comes from
    [`plainnet.random.get_rng()`][plainnet.random.get_rng]."""
    layer = _Dropout(p)  # checks p
    layer.training = bool(training)
    x = _tensor(input, "dropout")
    return _finish(input, layer.forward(x), inplace and training, "dropout")


# --------------------------------------------------------------------------- vectors
def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    r"""``input`` divided by its ``p``-norm along ``dim`` (``torch.nn.functional.normalize``):

    $$
    y = \frac{x}{\max(\lVert x \rVert_p, \epsilon)}
    $$

    The seed's [`plainnet.normalize()`][plainnet.normalize] makes one vector a unit vector and
    refuses a zero vector; this one works on a batch and leaves a zero vector at zero."""
    p = _real(p, "p", "normalize")
    eps = _real(eps, "eps", "normalize")
    if p <= 0:
        raise ValueError(f"normalize: p must be > 0; got {p}")
    x = _tensor(input, "normalize")
    dim = _axis(dim, x.ndim, "normalize")
    if p in (1.0, 2.0, math.inf):
        length = _ops.norm(x, p=int(p) if p != math.inf else p, axis=dim, keepdims=True)
    else:
        length = (_ops.abs(x) ** p).sum(axis=dim, keepdims=True) ** (1.0 / p)
    return x / _ops.maximum(length, eps)


def pad(input, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    r"""``input`` padded with PyTorch's ``pad`` tuple: ``(left, right)`` for the last axis,
    then ``(top, bottom)`` for the one before, and so on; ``mode`` is ``"constant"`` (with
    ``value``), ``"reflect"``, ``"replicate"`` or ``"circular"``. The gradient of a padded entry
    goes back to the entry it copies ([`plainnet.pad()`][plainnet.pad] takes NumPy's ``pad_width``).
    """
    return _ops.torch_pad(_tensor(input, "pad"), pad, mode=mode, value=value)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    r"""Integer class labels as rows of zeros with a 1 at the label (int64, no gradient):
    shape ``tensor.shape + (num_classes,)``; ``num_classes=-1`` takes the largest label + 1.
    """
    data = tensor.data if isinstance(tensor, Tensor) else tensor
    labels = data if _backend.is_device_array(data) else np.asarray(data)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects integer class labels; got dtype {labels.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"one_hot: num_classes must be an int; got {type(num_classes).__name__}")
    if labels.size and int(labels.min()) < 0:
        raise ValueError(f"one_hot: class labels must be >= 0; got {int(labels.min())}")
    top = int(labels.max()) + 1 if labels.size else 0
    if num_classes == -1:
        if not labels.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty input")
        num_classes = top
    elif num_classes < top:
        raise ValueError(f"one_hot: a class label ({top - 1}) is >= num_classes "
                         f"({num_classes})")
    classes = _backend.array_module(labels).arange(int(num_classes))
    out = (labels[..., None] == classes).astype(np.int64)
    return Tensor(out)


# --------------------------------------------------------------------------- losses
def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
             weight=None) -> Tensor:
    r"""Mean squared error $(x - y)^2$, reduced by ``reduction``; ``weight`` scales each
    element (broadcast to the input) before the reduction."""
    _no_legacy("mse_loss", size_average, reduce)
    return _weighted(_losses.mse, input, target, reduction, weight, "mse_loss")


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    r"""Mean absolute error $|x - y|$, reduced by ``reduction``."""
    _no_legacy("l1_loss", size_average, reduce)
    return _losses.mae(input, target, reduction=reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    r"""Huber loss: $\tfrac12 (x-y)^2$ where $|x-y| \le \delta$, else
    $\delta(|x-y| - \tfrac12\delta)$."""
    return _losses.huber(input, target, delta=delta, reduction=reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    r"""Smooth L1: $\tfrac12 (x-y)^2/\beta$ where $|x-y| < \beta$, else
    $|x-y| - \tfrac12\beta$; the Huber loss divided by $\beta$ (L1 at
    $\beta = 0$)."""
    _no_legacy("smooth_l1_loss", size_average, reduce)
    beta = _real(beta, "beta", "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0; got {beta}")
    if beta == 0:
        return _losses.mae(input, target, reduction=reduction)
    return _losses.huber(input, target, delta=beta, reduction=reduction) / beta


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    r"""$-[y \log p + (1-y)\log(1-p)]$ of probabilities ``input``; ``weight`` scales each
    element (broadcast to the input) before the reduction."""
    _no_legacy("binary_cross_entropy", size_average, reduce)
    return _weighted(_losses.bce, input, target, reduction, weight, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    r"""Binary cross-entropy of logits $x$ (the sigmoid included, without overflow):

    $$
    \ell = -w\,[p\, y \log \sigma(x) + (1-y) \log(1 - \sigma(x))]
    $$

    with ``weight`` $w$ per element and ``pos_weight`` $p$ per class (last axis)."""
    _no_legacy("binary_cross_entropy_with_logits", size_average, reduce)
    fname = "binary_cross_entropy_with_logits"
    if pos_weight is None:
        return _weighted(_losses.bce_with_logits, input, target, reduction, weight, fname)
    reduction = _check_reduction(reduction, fname)
    x = _tensor(input, fname)
    y = _tensor(target, fname).data
    if np.shape(y) != x.shape:
        raise ValueError(f"{fname}: target must have the input's shape {x.shape}; got "
                         f"{np.shape(y)}")
    pw = _tensor(pos_weight, fname).data
    # -[p y log s(x) + (1-y) log(1-s(x))] = (1-y) x - (1 + (p-1) y) log s(x)
    loss = (1.0 - y) * x - (1.0 + (pw - 1.0) * y) * _act.logsigmoid(x)
    return _reduced(loss, reduction, weight, fname)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    r"""Cross-entropy of logits ``input`` (classes on axis 1) against integer labels or class
    probabilities, softmax included: $\ell_i = \log\sum_c e^{z_{ic}} - z_{i y_i}$.
    ``weight`` weighs the classes, labels equal to ``ignore_index`` count for nothing
    (see [`plainnet.losses.cross_entropy()`][plainnet.losses.cross_entropy])."""
    _no_legacy("cross_entropy", size_average, reduce)
    return _losses.cross_entropy(input, target, label_smoothing=label_smoothing,
                                 reduction=reduction, weight=weight, ignore_index=ignore_index)


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood $-x_{i y_i}$ of log-probabilities ``input`` (classes on
    axis 1) at integer labels; ``nll_loss(log_softmax(z, 1), y) == cross_entropy(z, y)``."""
    _no_legacy("nll_loss", size_average, reduce)
    return _losses.nll(input, target, reduction=reduction, weight=weight,
                       ignore_index=ignore_index)


def _weighted(loss, input, target, reduction: str, weight, fname: str) -> Tensor:
    if weight is None:
        return loss(input, target, reduction=reduction)
    reduction = _check_reduction(reduction, fname)
    return _reduced(loss(input, target, reduction="none"), reduction, weight, fname)


def _reduced(loss: Tensor, reduction: str, weight, fname: str) -> Tensor:
    """Elementwise ``loss`` times ``weight`` (broadcast), then PyTorch's plain reduction."""
    if weight is not None:
        w = _tensor(weight, fname).data
        try:
            np.broadcast_shapes(np.shape(w), loss.shape)
        except ValueError:
            raise ValueError(f"{fname}: weight of shape {np.shape(w)} does not broadcast to "
                             f"the input's shape {loss.shape}") from None
        loss = loss * w
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()
