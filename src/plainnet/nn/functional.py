r"""Fused operations of the layers: one graph node where a composition would need several.

``linear(x, W, b)`` computes $x W^\top + b$ in one node whose backward computes only the
gradients that are needed (the engine asks for the gradient of an argument only when it
requires grad), which is what makes a forward/backward pass through a ``Linear`` layer cost
about what the matrix products cost. The vjps are written with operators that arrays and
Tensors share, so the fused op can also be differentiated twice (``create_graph=True``).
"""

from __future__ import annotations

import numpy as np

from .._blas import weight_gradient
from ..autodiff.engine import Op, Tensor, apply
from ..autodiff.ops import _relu_vjp
from ..backend import matmul
from ..kernels import ElementwiseKernel, run_fused


def _linear_forward(x, w, b):
    if x.ndim > 2:  # one matrix product for all leading axes (matmul would loop over them)
        out = matmul(x.reshape(-1, x.shape[-1]), w.T).reshape(x.shape[:-1] + (w.shape[0],))
    else:
        out = matmul(x, w.T)
    if b is not None:
        out += b
    return out


def _linear_vjp(i, g, out, x, w, b):
    if i == 0:  # dL/dx = g W
        if g.ndim > 2:
            return matmul(g.reshape(-1, g.shape[-1]), w).reshape(x.shape)
        return matmul(g, w)
    n_out = w.shape[0]
    g2 = g.reshape(-1, n_out)  # every leading axis is a batch axis
    if i == 1:  # dL/dW = g^T x, summed over the batch (small batches: plainnet._blas)
        return weight_gradient(g2, x.reshape(-1, w.shape[1]))
    return g2.sum(axis=0)  # dL/db = sum of g over the batch


LINEAR = Op("linear", _linear_forward, _linear_vjp)


def linear(input, weight, bias=None):
    r"""The affine map of a layer of neurons, as one differentiable op.

    $$
    y = x W^\top + b, \qquad
    \frac{\partial L}{\partial x} = g W, \quad
    \frac{\partial L}{\partial W} = g^\top x, \quad
    \frac{\partial L}{\partial b} = \textstyle\sum_{\text{batch}} g
    $$

    where ``W`` is ``(out_features, in_features)`` (one row per neuron, as in PyTorch),
    ``input`` $x$ is ``(..., in_features)`` and ``g`` is the gradient of the output.
    """
    return apply(LINEAR, input, weight, bias)


def _linear_relu_forward(x, w, b, cache):
    out = matmul(x, w.T)
    if b is None:
        np.maximum(out, 0, out=out)
    elif not run_fused(_BIAS_RELU, out, b=b, out=out):
        out += b
        np.maximum(out, 0, out=out)
    return out


_BIAS_RELU = ElementwiseKernel(
    "bias_relu", ("b",), ("out",), "T v = out + b;\nout = v <= 0 ? 0 : v;"  # NaN stays NaN
)


def _linear_relu_vjp(i, g, out, x, w, b, cache):
    if cache.get("g") is not g:  # the ReLU's backward, once for the three arguments
        cache["g"], cache["masked"] = g, _relu_vjp(0, g, out, out)
    return _linear_vjp(i, cache["masked"], out, x, w, b)


LINEAR_RELU = Op("linear_relu", _linear_relu_forward, _linear_relu_vjp)


def linear_relu(x, weight, bias=None):
    r"""A layer of neurons with the ReLU activation, as one differentiable op:
    ``relu(linear(x, weight, bias))``, which [`Sequential`][plainnet.nn.Sequential] runs for a
    [`Linear`][plainnet.nn.Linear] followed by a [`ReLU`][plainnet.nn.ReLU].

    $$
    y = \max(x W^\top + b, 0), \qquad
    \frac{\partial L}{\partial (x W^\top + b)} = g \, [y > 0]
    $$

    and from there the gradients of `linear()`. One node instead of two, the bias added
    and the ReLU taken in place (on a GPU in one kernel); the values and gradients are those
    of the two ops.
    """
    return apply(LINEAR_RELU, x, weight, bias, cache={})


def _batch_norm_forward(x, weight, bias, axes, eps, cache):
    mean = x.mean(axis=axes, keepdims=True)
    xhat = x - mean
    var = np.mean(xhat * xhat, axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat *= inv_std
    cache.update(mean=mean, var=var, inv_std=inv_std, xhat=xhat)
    if weight is None:
        return xhat.copy()
    shape = mean.shape
    return xhat * weight.reshape(shape) + bias.reshape(shape)


def _batch_norm_vjp(i, g, out, x, weight, bias, axes, eps, cache):
    if "xhat" in cache and not isinstance(g, Tensor):
        xhat, inv_std = cache["xhat"], cache["inv_std"]
    else:  # differentiating the backward pass (create_graph): recompute on Tensors
        xc = x - x.mean(axis=axes, keepdims=True)
        inv_std = ((xc * xc).mean(axis=axes, keepdims=True) + eps) ** -0.5
        xhat = xc * inv_std
    if i == 1:
        return (g * xhat).sum(axis=axes)
    if i == 2:
        return g.sum(axis=axes)
    gx = g if weight is None else g * weight.reshape(inv_std.shape)
    return inv_std * (
        gx - gx.mean(axis=axes, keepdims=True)
        - xhat * (gx * xhat).mean(axis=axes, keepdims=True)
    )


BATCH_NORM = Op("batch_norm", _batch_norm_forward, _batch_norm_vjp)


def batch_norm_train(x, weight=None, bias=None, axes=(0,), eps: float = 1e-5, cache=None):
    r"""Batch normalization with the batch's own statistics, as one differentiable op.

    $$
    \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y = \gamma \hat x
    + \beta
    $$

    with $\mu$, $\sigma^2$ the mean and (biased) variance over ``axes``, and
    $\gamma$ = ``weight``, $\beta$ = ``bias`` per channel (axis 1). Its vjp is

    $$
    \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2+\epsilon}}
    \left(\hat g - \overline{\hat g} - \hat x\, \overline{\hat g \hat x}\right),
    \quad \hat g = \gamma g,
    $$

    (bars are means over ``axes``), $\partial L/\partial\gamma = \sum g \hat x$,
    $\partial L/\partial\beta = \sum g$. If ``cache`` (a dict) is given, the batch
    ``mean`` and biased ``var`` are left in it, for running statistics.
    """
    return apply(BATCH_NORM, x, weight, bias, axes=tuple(axes), eps=float(eps),
                 cache={} if cache is None else cache)


# torch.nn.functional's activations, softmax, dropout, losses, one_hot, normalize and pad
# (PyTorch's pad tuple, last axis first; pn.pad takes NumPy's pad_width).
from .functional_api import (  # noqa: E402
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    celu,
    cross_entropy,
    dropout,
    elu,
    hardsigmoid,
    hardswish,
    hardtanh,
    huber_loss,
    l1_loss,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    mse_loss,
    nll_loss,
    normalize,
    one_hot,
    pad,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    smooth_l1_loss,
    softmax,
    softplus,
    softsign,
    tanh,
)

# Image layers' functional forms (convolution, pooling, upsampling, normalization).
from .functional_conv import adaptive_avg_pool2d as adaptive_avg_pool2d  # noqa: E402
from .functional_conv import avg_pool2d as avg_pool2d  # noqa: E402
from .functional_conv import batch_norm as batch_norm  # noqa: E402
from .functional_conv import conv1d as conv1d  # noqa: E402
from .functional_conv import conv2d as conv2d  # noqa: E402
from .functional_conv import conv_transpose2d as conv_transpose2d  # noqa: E402
from .functional_conv import dropout2d as dropout2d  # noqa: E402
from .functional_conv import group_norm as group_norm  # noqa: E402
from .functional_conv import interpolate as interpolate  # noqa: E402
from .functional_conv import max_pool1d as max_pool1d  # noqa: E402
from .functional_conv import max_pool2d as max_pool2d  # noqa: E402

# Sequence layers' fused ops (embedding, normalization, GELU, attention) and sampling.
from .generation import sample as sample  # noqa: E402
from .sequence_ops import embedding as embedding  # noqa: E402
from .sequence_ops import gelu as gelu  # noqa: E402
from .sequence_ops import layer_norm as layer_norm  # noqa: E402
from .sequence_ops import packed_attention as packed_attention  # noqa: E402
from .sequence_ops import rms_norm as rms_norm  # noqa: E402
from .sequence_ops import scaled_dot_product_attention as scaled_dot_product_attention  # noqa: E402,E501

# The public functions (add each new one here; the rest above are the layers' internals).
__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "conv1d",
    "conv2d",
    "conv_transpose2d",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "elu",
    "embedding",
    "gelu",
    "group_norm",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "huber_loss",
    "interpolate",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "linear_relu",
    "log_softmax",
    "logsigmoid",
    "max_pool1d",
    "max_pool2d",
    "mish",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "packed_attention",
    "pad",
    "relu",
    "relu6",
    "rms_norm",
    "sample",
    "scaled_dot_product_attention",
    "selu",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "softsign",
    "tanh",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
