r"""Pooling layers: summarize each window of a feature map by its largest value or its mean.

Pooling has no parameters. Max pooling keeps the strongest response of a neuron in each
neighbourhood (and sends the gradient back to it alone); average pooling its mean;
``AdaptiveAvgPool2d`` averages down to a fixed output size whatever the input's.
"""

from __future__ import annotations

import numbers

from ..autodiff import conv_ops as _ops
from .functional_conv import adaptive_avg_pool2d, avg_pool2d, ntuple, pool_plan
from .module import Module


def _short(value: tuple):
    """``2`` for ``(2, 2)``, as PyTorch prints pooling arguments."""
    return value[0] if len(set(value)) == 1 else value


class _MaxPoolNd(Module):
    _nd = 2
    init_passthrough = True

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        nd = self._nd
        self.kernel_size = ntuple(kernel_size, nd, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else ntuple(stride, nd, "stride", 1)
        self.padding = ntuple(padding, nd, "padding")
        self.dilation = ntuple(dilation, nd, "dilation", 1)
        if return_indices:
            raise ValueError(f"{type(self).__name__}(return_indices=True) is not supported")
        self.ceil_mode = bool(ceil_mode)
        self._plans = {}

    def forward(self, x):
        return self._pool(x, relu=False)

    def forward_relu(self, x):
        """``self(relu(x))`` as one op (what ``Sequential`` runs for a ``ReLU`` followed by
        this pooling): the same values and gradients."""
        return self._pool(x, relu=True)

    def _pool(self, x, relu: bool):
        plan = self._plans.get(x.shape)
        if plan is None:  # checked and computed once per input shape
            what = f"MaxPool{self._nd}d"
            plan = pool_plan(x.shape, self._nd, self.kernel_size, self.stride, self.padding,
                             self.dilation, self.ceil_mode, what)
            self._plans[x.shape] = plan
        unbatched, geo = plan
        if unbatched:
            x = x.reshape((1,) + x.shape)
        y = _ops.max_pool(x, self.kernel_size, geo, relu=relu)
        return y.reshape(y.shape[1:]) if unbatched else y

    def extra_repr(self) -> str:
        return (f"kernel_size={_short(self.kernel_size)}, stride={_short(self.stride)}, "
                f"padding={_short(self.padding)}, dilation={_short(self.dilation)}, "
                f"ceil_mode={self.ceil_mode}")

    def get_config(self) -> dict:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "dilation": list(self.dilation),
                "ceil_mode": self.ceil_mode}


class MaxPool2d(_MaxPoolNd):
    r"""2-d max pooling, PyTorch's ``MaxPool2d``:
    $y[n, c, i, j] = \max_{p, q} x[n, c, i s_0 + p d_0, j s_1 + q d_1]$.

    ``kernel_size``, ``stride`` (default: the kernel size), ``padding`` (of $-\infty$, at
    most half the kernel), ``dilation``: ints or pairs. ``ceil_mode`` rounds the output size up
    (a last, partial window), as PyTorch. Input ``(N, C, H, W)`` or ``(C, H, W)``.
    """

    _nd = 2


class MaxPool1d(_MaxPoolNd):
    r"""1-d max pooling, PyTorch's ``MaxPool1d``, on ``(N, C, L)`` or ``(C, L)``."""

    _nd = 1


class AvgPool2d(Module):
    r"""2-d average pooling, PyTorch's ``AvgPool2d``: the mean of each window.

    ``count_include_pad`` counts the zero padding in the mean; ``ceil_mode`` as
    `MaxPool2d`.
    """

    init_passthrough = True

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = ntuple(kernel_size, 2, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else ntuple(stride, 2, "stride", 1)
        self.padding = ntuple(padding, 2, "padding")
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        if divisor_override is not None:
            raise ValueError("AvgPool2d(divisor_override=...) is not supported")

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        return (f"kernel_size={_short(self.kernel_size)}, stride={_short(self.stride)}, "
                f"padding={_short(self.padding)}")

    def get_config(self) -> dict:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding), "ceil_mode": self.ceil_mode,
                "count_include_pad": self.count_include_pad}


class AdaptiveAvgPool2d(Module):
    r"""Average pooling to a fixed ``output_size`` (an int, or a pair whose entries may be
    None for "as the input"), PyTorch's ``AdaptiveAvgPool2d``: output cell ``i`` averages
    input rows $\lfloor iH/h \rfloor$ to $\lceil (i+1)H/h \rceil - 1$.
    ``AdaptiveAvgPool2d(1)`` is global average pooling."""

    init_passthrough = True

    def __init__(self, output_size):
        super().__init__()
        if isinstance(output_size, numbers.Integral):
            output_size = (output_size, output_size)
        size = tuple(output_size)
        if len(size) != 2 or not all(
            s is None or (isinstance(s, numbers.Integral) and s >= 1) for s in size
        ):
            raise ValueError(f"output_size must be a positive int or a pair of them (or None); "
                             f"got {output_size!r}")
        self.output_size = tuple(None if s is None else int(s) for s in size)

    def forward(self, x):
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={_short(self.output_size)}"

    def get_config(self) -> dict:
        return {"output_size": list(self.output_size)}
