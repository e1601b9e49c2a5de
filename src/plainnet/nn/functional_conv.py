r"""Functional forms of the image layers: convolution, pooling, upsampling, normalization.

PyTorch's names and arguments (``conv2d(input, weight, bias, stride, padding, dilation, groups)``,
...). Each takes a Tensor or an array and returns a Tensor; the work is done by the ops of
[`plainnet.autodiff.conv_ops`][plainnet.autodiff.conv_ops]. An input without a batch axis (``(C, H,
W)`` for the 2-d forms) is accepted as in PyTorch and the result has no batch axis either. Bad
shapes raise a ``ValueError`` naming what was expected and what came. """

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend as _backend
from ..autodiff import Tensor
from ..autodiff import conv_ops as _ops
from ..autodiff.conv_ops import Geometry
from ..random import get_rng

_PAD_MODES = ("zeros", "reflect", "replicate", "circular")


def ntuple(value, n: int, name: str, minimum: int = 0) -> tuple:
    """``value`` (an int or a sequence of ``n`` ints, each ``>= minimum``) as an ``n``-tuple."""
    items = (value,) * n if isinstance(value, numbers.Integral) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if (
        items is None or len(items) != n
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items)
    ):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints; got {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return tuple(int(v) for v in items)


def _as_tensor(x, like=None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    data = x if _backend.is_device_array(x) else np.asarray(x)
    if data.dtype.kind != "f":
        data = data.astype(np.float32)
    if like is not None and data.dtype != like.dtype:
        data = data.astype(like.dtype)
    return Tensor(data)


def _batched(x, nd: int, what: str, layout: str):
    """``x`` with a batch axis, and whether one was added (an unbatched input)."""
    if x.ndim == nd + 2:
        return x, False
    if x.ndim == nd + 1:
        return x.reshape((1,) + x.shape), True
    raise ValueError(
        f"{what} expects a {nd + 2}-D input (N, {layout}) or a {nd + 1}-D one ({layout}); "
        f"got shape {x.shape}"
    )


def _unbatch(y, unbatched: bool):
    return y.reshape(y.shape[1:]) if unbatched else y


def conv_padding(padding, kernel, dilation, stride, what: str) -> tuple:
    """``padding`` (int, tuple, ``"valid"`` or ``"same"``) as ``(before, after)`` pairs."""
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding != "same":
            raise ValueError(f"{what}: padding must be 'valid', 'same', an int or a tuple; "
                             f"got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{what}: padding='same' needs stride 1; got stride {stride}")
        total = tuple(d * (k - 1) for k, d in zip(kernel, dilation, strict=True))
        return tuple((t // 2, t - t // 2) for t in total)
    return tuple((p, p) for p in ntuple(padding, nd, "padding"))


def _check_fits(x, kernel, geo: Geometry, what: str) -> None:
    spatial = x.shape[2:]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, geo.padding, strict=True))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, geo.dilation, strict=True))
    if any(p < s for p, s in zip(padded, span, strict=True)):
        raise ValueError(
            f"{what}: the input's spatial size {tuple(spatial)} (padded: {padded}) is smaller "
            f"than the kernel {tuple(kernel)} (dilated: {span}); input shape {x.shape}"
        )


def pad_nd(x, padding, mode: str):
    """Pad the spatial axes of ``x`` (N, C, *spatial) by ``padding`` (pairs per axis) in
    ``mode`` ``"reflect"``, ``"replicate"`` or ``"circular"``, differentiably (a take of
    source positions per axis)."""
    xp = _backend.array_module(x)
    for axis, (lo, hi) in enumerate(padding, start=2):
        if lo or hi:
            size = x.shape[axis]
            if mode == "reflect" and max(lo, hi) >= size:
                raise ValueError(f"reflect padding ({lo}, {hi}) must be smaller than the "
                                 f"axis it pads ({size}); input shape {x.shape}")
            x = _ops.take(x, _ops.pad_indices(xp, size, lo, hi, mode), axis)
    return x


def _conv_nd(nd, x, weight, bias, stride, padding, dilation, groups, what, padding_mode="zeros"):
    x = _as_tensor(x, weight)
    layout = "C, " + ", ".join(("L",) if nd == 1 else ("H", "W"))
    x, unbatched = _batched(x, nd, what, layout)
    if weight.ndim != nd + 2:
        raise ValueError(f"{what} expects a {nd + 2}-D weight (out_channels, in_channels/groups,"
                         f" *kernel); got shape {weight.shape}")
    groups = int(groups)
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, nd, "stride", 1)
    dilation = ntuple(dilation, nd, "dilation", 1)
    pads = conv_padding(padding, kernel, dilation, stride, what)
    if weight.shape[0] % groups:
        raise ValueError(f"{what}: out_channels {weight.shape[0]} is not divisible by groups "
                         f"{groups}")
    if x.shape[1] != weight.shape[1] * groups:
        raise ValueError(
            f"{what}: a weight of shape {weight.shape} with groups={groups} expects "
            f"{weight.shape[1] * groups} input channels; got input of shape {x.shape} with "
            f"{x.shape[1]}"
        )
    if padding_mode != "zeros":
        x = pad_nd(x, pads, padding_mode)
        pads = ((0, 0),) * nd
    geo = Geometry(stride, pads, dilation, groups)
    _check_fits(x, kernel, geo, what)
    return _unbatch(_ops.conv(x, weight, bias, geo), unbatched)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""1-d convolution: $y[n, o, l] = b_o + \sum_{c,k} w[o, c, k]\,x[n, c, l s + k d]$.

    ``input`` ``(N, C_in, L)`` or ``(C_in, L)``, ``weight`` ``(C_out, C_in/groups, K)``.
    ``padding`` is an int, ``"valid"`` (none) or ``"same"`` (output as long as the input).
    """
    return _conv_nd(1, input, weight, bias, stride, padding, dilation, groups, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    r"""2-d convolution (PyTorch's cross-correlation), one neuron applied at every position:

    $$
    y[n, o, i, j] = b_o + \sum_{c, p, q} w[o, c, p, q]\;
    x_{\text{pad}}[n, c, i s_0 + p d_0, j s_1 + q d_1]
    $$

    ``input`` ``(N, C_in, H, W)`` or ``(C_in, H, W)``; ``weight`` ``(C_out, C_in/groups, kH,
    kW)``; ``bias`` ``(C_out,)`` or None. ``stride``, ``padding``, ``dilation`` are ints or
    pairs; ``padding`` may be ``"valid"`` or ``"same"`` (stride 1). ``groups`` splits the
    channels (``groups == C_in``: depthwise). The output has
    $\lfloor (H + 2p - d(k-1) - 1)/s \rfloor + 1$ rows (likewise columns).
    """
    return _conv_nd(2, input, weight, bias, stride, padding, dilation, groups, "conv2d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    r"""2-d transposed convolution (the gradient of `conv2d()` in its input).

    ``weight`` is ``(C_in, C_out/groups, kH, kW)``. The output has
    $(H - 1)s - 2p + d(k - 1) + \text{output\_padding} + 1$ rows (likewise columns).
    """
    what = "conv_transpose2d"
    x = _as_tensor(input, weight)
    x, unbatched = _batched(x, 2, what, "C, H, W")
    if weight.ndim != 4:
        raise ValueError(f"{what} expects a 4-D weight (in_channels, out_channels/groups, kH, "
                         f"kW); got shape {weight.shape}")
    groups = int(groups)
    if x.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise ValueError(f"{what}: a weight of shape {weight.shape} with groups={groups} "
                         f"expects {weight.shape[0]} input channels; got input of shape "
                         f"{x.shape}")
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, 2, "stride", 1)
    dilation = ntuple(dilation, 2, "dilation", 1)
    pad = ntuple(padding, 2, "padding")
    extra = ntuple(output_padding, 2, "output_padding")
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation, strict=True)):
        raise ValueError(f"{what}: output_padding {extra} must be smaller than stride {stride} "
                         f"or dilation {dilation}")
    spatial = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + e + 1
        for n, s, p, d, k, e in zip(x.shape[2:], stride, pad, dilation, kernel, extra,
                                    strict=True)
    )
    if any(n < 1 for n in spatial):
        raise ValueError(f"{what}: the output size {spatial} for input {x.shape} is not "
                         "positive (padding too large)")
    geo = Geometry(stride, tuple((p, p) for p in pad), dilation, groups)
    return _unbatch(_ops.conv_transpose(x, weight, bias, spatial, geo), unbatched)


def pool_geometry(spatial, kernel, stride, padding, dilation, ceil_mode, what) -> Geometry:
    """The geometry of a pooling window; with ``ceil_mode`` the last, partial window counts if
    it starts inside the input or its left padding (PyTorch's rule)."""
    nd = len(kernel)
    pad = ntuple(padding, nd, "padding")
    if any(2 * p > k for p, k in zip(pad, kernel, strict=True)):
        raise ValueError(f"{what}: padding {pad} must be at most half the kernel size {kernel}")
    pairs = []
    for n, k, s, p, d in zip(spatial, kernel, stride, pad, dilation, strict=True):
        span = d * (k - 1) + 1
        if n + 2 * p < span:
            raise ValueError(f"{what}: the input's spatial size {tuple(spatial)} (padded by "
                             f"{pad}) is smaller than the kernel {tuple(kernel)}")
        out = (n + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (out - 1) * s >= n + p:
            out -= 1
        pairs.append((p, max(p, (out - 1) * s + span - n - p)))
    return Geometry(tuple(stride), tuple(pairs), tuple(dilation))


def pool_plan(shape, nd, kernel, stride, padding, dilation, ceil_mode, what) -> tuple:
    """``(unbatched, geometry)`` of a pooling window on inputs of ``shape`` (checked): what a
    pooling layer computes once per input shape."""
    layout = "C, " + ", ".join(("L",) if nd == 1 else ("H", "W"))
    if len(shape) not in (nd + 1, nd + 2):
        raise ValueError(f"{what} expects a {nd + 2}-D input (N, {layout}) or a {nd + 1}-D "
                         f"one ({layout}); got shape {tuple(shape)}")
    spatial = tuple(shape[-nd:])
    geo = pool_geometry(spatial, kernel, stride, padding, dilation, ceil_mode, what)
    return len(shape) == nd + 1, geo


def _pool_nd(nd, x, kernel_size, stride, padding, dilation, ceil_mode, what):
    x = _as_tensor(x)
    kernel = ntuple(kernel_size, nd, "kernel_size", 1)
    stride = kernel if stride is None or stride == () else ntuple(stride, nd, "stride", 1)
    dilation = ntuple(dilation, nd, "dilation", 1)
    unbatched, geo = pool_plan(x.shape, nd, kernel, stride, padding, dilation, ceil_mode, what)
    if unbatched:
        x = x.reshape((1,) + x.shape)
    return x, unbatched, kernel, geo


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    r"""1-d max pooling: $y[n, c, l] = \max_k x[n, c, l s + k d]$ (stride defaults to
    the kernel size)."""
    x, unbatched, kernel, geo = _pool_nd(1, input, kernel_size, stride, padding, dilation,
                                         ceil_mode, "max_pool1d")
    return _unbatch(_ops.max_pool(x, kernel, geo), unbatched)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    r"""2-d max pooling: the largest value of each window,
    $y[n, c, i, j] = \max_{p, q} x[n, c, i s_0 + p d_0, j s_1 + q d_1]$ (padding is
    $-\infty$, stride defaults to the kernel size). The gradient goes to each window's
    maximum."""
    x, unbatched, kernel, geo = _pool_nd(2, input, kernel_size, stride, padding, dilation,
                                         ceil_mode, "max_pool2d")
    return _unbatch(_ops.max_pool(x, kernel, geo), unbatched)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    r"""2-d average pooling: the mean of each window (zero padding counted when
    ``count_include_pad``), stride defaulting to the kernel size."""
    x, unbatched, kernel, geo = _pool_nd(2, input, kernel_size, stride, padding, 1,
                                         ceil_mode, "avg_pool2d")
    return _unbatch(_ops.avg_pool(x, kernel, geo, count_include_pad), unbatched)


def _adaptive_matrix(xp, size: int, out: int, dtype):
    """``(out, size)``: row ``i`` averages positions ``floor(i size/out)`` up to
    ``ceil((i+1) size/out)`` (PyTorch's adaptive windows)."""
    i = xp.arange(out)[:, None]
    j = xp.arange(size)[None, :]
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    inside = (j >= start) & (j < end)
    return inside.astype(dtype) / (end - start).astype(dtype)


def adaptive_avg_pool2d(input, output_size):
    r"""Average pooling to a fixed output size: output cell ``i`` averages the input rows
    $\lfloor iH/h \rfloor$ to $\lceil (i+1)H/h \rceil - 1$ (likewise columns),
    as PyTorch. Computed as $A_h\, x\, A_w^\top$ with averaging matrices (``output_size``
    1 is the mean over the image)."""
    x = _as_tensor(input)
    x, unbatched = _batched(x, 2, "adaptive_avg_pool2d", "C, H, W")
    size = (output_size, output_size) if isinstance(output_size, numbers.Integral) else tuple(
        output_size)
    if len(size) != 2:
        raise TypeError(f"output_size must be an int or a pair; got {output_size!r}")
    size = tuple(x.shape[2 + a] if s is None else s for a, s in enumerate(size))
    size = ntuple(size, 2, "output_size", 1)
    if size == (1, 1):
        y = x.mean(axis=(2, 3), keepdims=True)
    else:
        xp = _backend.array_module(x.data)
        ah = _adaptive_matrix(xp, x.shape[2], size[0], x.dtype)
        aw = _adaptive_matrix(xp, x.shape[3], size[1], x.dtype)
        y = (Tensor(ah) @ x) @ Tensor(aw.T)
    return _unbatch(y, unbatched)


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest"):
    r"""Resize the spatial axes by repeating the nearest value (``mode="nearest"``, the only
    mode): output position ``i`` reads input position $\lfloor i \cdot
    \text{in}/\text{out} \rfloor$ (or $\lfloor i / \text{scale} \rfloor$). Give ``size``
    or ``scale_factor``. The input is ``(N, C, *spatial)`` with 1 to 3 spatial axes."""
    if mode != "nearest":
        raise ValueError(f"interpolate supports mode='nearest' only; got {mode!r}")
    x = _as_tensor(input)
    nd = x.ndim - 2
    if nd < 1:
        raise ValueError(f"interpolate expects (N, C, *spatial); got shape {x.shape}")
    if (size is None) == (scale_factor is None):
        raise ValueError("give exactly one of size and scale_factor")
    if size is not None:
        out = ntuple(size, nd, "size", 1)
        scales = (None,) * nd
    else:
        scales = (scale_factor,) * nd if isinstance(scale_factor, numbers.Real) else tuple(
            scale_factor)
        if len(scales) != nd or not all(isinstance(s, numbers.Real) and s > 0 for s in scales):
            raise ValueError(f"scale_factor must be a positive number or {nd} of them; got "
                             f"{scale_factor!r}")
        out = tuple(int(math.floor(n * s)) for n, s in zip(x.shape[2:], scales, strict=True))
    xp = _backend.array_module(x.data)
    for axis, (n, o, s) in enumerate(zip(x.shape[2:], out, scales, strict=True), start=2):
        if o != n or s not in (None, 1):
            x = _ops.take(x, _ops.nearest_indices(xp, n, o, s), axis)
    return x


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    r"""Batch normalization over every axis but the channels (axis 1):
    $y = (x - \mu)/\sqrt{\sigma^2 + \epsilon}\,\gamma + \beta$. In training the batch's
    statistics are used and ``running_mean``/``running_var`` (arrays, if given) move towards
    them by ``momentum`` (the unbiased variance, as PyTorch); otherwise the running ones."""
    from .functional import batch_norm_train

    x = _as_tensor(input, weight)
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects (N, C, ...); got shape {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        n = x.size // x.shape[1]
        if n <= 1:
            raise ValueError(f"batch_norm needs more than 1 value per channel in training; got "
                             f"input of shape {x.shape}")
        cache = {}
        y = batch_norm_train(x, weight, bias, axes=axes, eps=eps, cache=cache)
        if running_mean is not None:
            running_mean *= 1.0 - momentum
            running_mean += momentum * cache["mean"].reshape(-1)
        if running_var is not None:
            running_var *= 1.0 - momentum
            running_var += (momentum * n / (n - 1)) * cache["var"].reshape(-1)
        return y
    inv_std = 1.0 / np.sqrt(running_var + eps)
    y = (x - running_mean.reshape(shape)) * inv_std.reshape(shape)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    r"""Group normalization: the channels split into ``num_groups`` groups, and each sample's
    group is normalized over its channels and positions,
    $y = (x - \mu_{n,g})/\sqrt{\sigma^2_{n,g} + \epsilon}\,\gamma_c + \beta_c$
    (independent of the batch size)."""
    from .functional import batch_norm_train

    x = _as_tensor(input, weight)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"group_norm expects (N, C, ...) with C divisible by num_groups="
                         f"{num_groups}; got shape {x.shape}")
    n = x.shape[0]
    grouped = x.reshape((1, n * num_groups, -1))  # each (sample, group) a channel of one batch
    y = batch_norm_train(grouped, None, None, axes=(0, 2), eps=eps).reshape(x.shape)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def dropout2d(input, p: float = 0.5, training: bool = True, rng=None):
    r"""Channel dropout: each channel of each sample (a whole feature map) is zeroed with
    probability ``p`` and the rest scaled by $1/(1-p)$, in training only."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must be a number in [0, 1]; got {p!r}")
    x = _as_tensor(input)
    if not training or p == 0.0:
        return x
    if x.ndim < 2:
        raise ValueError(f"dropout2d expects (N, C, ...); got shape {x.shape}")
    shape = x.shape[:2] + (1,) * (x.ndim - 2)
    draw = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    keep = get_rng(rng).random(shape, dtype=draw) >= p
    mask = np.multiply(keep, 0.0 if p == 1.0 else 1.0 / (1.0 - p), dtype=x.dtype)
    if type(x.data) is not np.ndarray:
        mask = _backend.match_device(mask, x.data, "dropout2d")
    return x * mask
