r"""Convolution layers: one neuron (or a few) applied at every position of a signal or image.

A ``Conv2d`` neuron integrates a small patch, ``C_in x kH x kW`` inputs, with its weights and
bias, exactly the notes' $w \cdot x + b$; the layer slides each of its ``out_channels``
neurons over the image, so the output is one *feature map* per neuron. The weights are
``(out_channels, in_channels/groups, *kernel_size)`` and the state-dict keys ``weight`` and
``bias``, as in PyTorch, so weights load into each other.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_int
from ..autodiff import conv_ops as _ops
from . import init as _init
from .functional_conv import _PAD_MODES, conv_padding, ntuple, pad_nd
from .linear import check_dtype
from .module import Module, Parameter


class _ConvNd(Module):
    """What ``Conv1d``/``Conv2d``/``ConvTranspose2d`` share: arguments, parameters, init."""

    _nd = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", dtype=np.float32):
        super().__init__()
        nd = self._nd
        name = type(self).__name__
        self.in_channels = check_int(in_channels, "in_channels", minimum=1)
        self.out_channels = check_int(out_channels, "out_channels", minimum=1)
        self.groups = check_int(groups, "groups", minimum=1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        self.kernel_size = ntuple(kernel_size, nd, "kernel_size", 1)
        self.stride = ntuple(stride, nd, "stride", 1)
        self.dilation = ntuple(dilation, nd, "dilation", 1)
        self.padding = padding if isinstance(padding, str) else ntuple(padding, nd, "padding")
        self._pairs = conv_padding(self.padding, self.kernel_size, self.dilation, self.stride,
                                   name)
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"padding_mode must be one of {_PAD_MODES}; got {padding_mode!r}")
        self.padding_mode = padding_mode
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False; got {bias!r}")
        dt = check_dtype(dtype)
        if self._transposed:
            shape = (self.in_channels, self.out_channels // groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dt))
        self.bias = Parameter(np.empty(self.out_channels, dt)) if bias else None
        pads = () if padding_mode == "zeros" else self._pairs
        geo_pads = ((0, 0),) * nd if pads else self._pairs
        self._geo = _ops.Geometry(self.stride, geo_pads, self.dilation, self.groups)
        self._fits = set()  # input shapes already checked against the kernel
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""PyTorch's default: $w \sim \mathcal U(\pm 1/\sqrt{\text{fan\_in}})$ (Kaiming
        uniform with $a = \sqrt 5$), and the bias the same bound, where fan-in is
        ``weight.shape[1] * prod(kernel_size)``."""
        _init.kaiming_uniform_(self.weight, a=math.sqrt(5.0))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1.0 / math.sqrt(fan_in)
            _init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x) -> tuple:
        """``x`` with a batch axis, and whether it had none; a ``ValueError`` naming the
        expected shape for anything else."""
        nd = self._nd
        layout = ("C, L",) if nd == 1 else ("C, H, W",)
        shape = x.shape
        if len(shape) == nd + 1:
            x, unbatched = x.reshape((1,) + shape), True
        elif len(shape) == nd + 2:
            unbatched = False
        else:
            raise ValueError(f"{self!r:.60} expects a {nd + 2}-D input (N, {layout[0]}) or a "
                             f"{nd + 1}-D one ({layout[0]}); got shape {shape}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects {self.in_channels} input channels "
                             f"(N, {self.in_channels}, ...); got input of shape {shape}")
        return x, unbatched

    def get_config(self) -> dict:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "dilation": list(self.dilation),
            "groups": self.groups,
            "bias": self.bias is not None,
            "padding_mode": self.padding_mode,
            "dtype": self.weight.dtype.name,
        }

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self._nd:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode!r}"
        return text


class Conv2d(_ConvNd):
    r"""A 2-d convolution layer, PyTorch's ``Conv2d``:

    $$
    y[n, o, i, j] = b_o + \sum_{c, p, q} w[o, c, p, q]\;
    x_{\text{pad}}[n, c, i s_0 + p d_0, j s_1 + q d_1]
    $$

    Input ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``; the output has
    $\lfloor (H + 2p - d(k-1) - 1)/s \rfloor + 1$ rows (likewise columns).

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and feature maps (neurons) of the output.
    kernel_size : int or (int, int)
        The patch each neuron sees.
    stride : int or (int, int), default 1
        How far the neuron moves between positions.
    padding : int, (int, int), "valid" or "same", default 0
        Border added on each side (``"same"``: output as large as the input, stride 1).
    dilation : int or (int, int), default 1
        Spacing between the kernel's taps.
    groups : int, default 1
        Split channels into independent groups (``groups=in_channels``: depthwise).
    bias : bool, default True
    padding_mode : {"zeros", "reflect", "replicate", "circular"}, default "zeros"
    dtype : numpy dtype, default float32
    """

    _nd = 2

    def forward(self, x):
        x, unbatched = self._check_input(x)
        return self._convolve(x, unbatched)

    def _convolve(self, x, unbatched):
        if self.padding_mode != "zeros":
            x = pad_nd(x, self._pairs, self.padding_mode)
        if x.shape not in self._fits and any(
            n + lo + hi < d * (k - 1) + 1 for n, (lo, hi), k, d in zip(
                x.shape[2:], self._geo.padding, self.kernel_size, self.dilation, strict=True)
        ):
            raise ValueError(f"{type(self).__name__}: the input's spatial size {x.shape[2:]} "
                             f"(with padding {self.padding}) is smaller than the kernel "
                             f"{self.kernel_size} (dilation {self.dilation})")
        self._fits.add(x.shape)
        y = _ops.conv(x, self.weight, self.bias, self._geo)
        return y.reshape(y.shape[1:]) if unbatched else y


class Conv1d(Conv2d):
    r"""A 1-d convolution layer, PyTorch's ``Conv1d``:
    $y[n, o, l] = b_o + \sum_{c, k} w[o, c, k]\, x_{\text{pad}}[n, c, l s + k d]$.
    Arguments as `Conv2d`, with ints for the one spatial axis; input ``(N, C_in, L)`` or
    ``(C_in, L)``."""

    _nd = 1


class ConvTranspose2d(_ConvNd):
    r"""A 2-d transposed convolution, PyTorch's ``ConvTranspose2d``: each input value spreads
    the kernel over the output (the gradient of a ``Conv2d`` in its input), upsampling by the
    stride. The weight is ``(in_channels, out_channels/groups, kH, kW)``; the output has
    $(H - 1)s - 2p + d(k-1) + \text{output\_padding} + 1$ rows (likewise columns).
    Only ``padding_mode="zeros"``, as in PyTorch.
    """

    _nd = 2
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=np.float32):
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d takes an int or pair as padding; got {padding!r}")
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d supports padding_mode='zeros' only; got "
                             f"{padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype)
        self.output_padding = ntuple(output_padding, 2, "output_padding")
        if any(e >= max(s, d) for e, s, d in zip(self.output_padding, self.stride,
                                                  self.dilation, strict=True)):
            raise ValueError(f"output_padding {self.output_padding} must be smaller than stride "
                             f"{self.stride} or dilation {self.dilation}")

    def forward(self, x):
        x, unbatched = self._check_input(x)
        spatial = tuple(
            (n - 1) * s - 2 * p + d * (k - 1) + e + 1
            for n, s, p, d, k, e in zip(x.shape[2:], self.stride, self.padding, self.dilation,
                                        self.kernel_size, self.output_padding, strict=True)
        )
        if any(n < 1 for n in spatial):
            raise ValueError(f"ConvTranspose2d: input of shape {x.shape} gives the output size "
                             f"{spatial}, which is not positive (padding {self.padding})")
        y = _ops.conv_transpose(x, self.weight, self.bias, spatial, self._geo)
        return y.reshape(y.shape[1:]) if unbatched else y

    def get_config(self) -> dict:
        config = super().get_config()
        config["output_padding"] = list(self.output_padding)
        return config

