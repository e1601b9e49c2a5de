"""``Upsample``: enlarge feature maps by repeating each value (nearest neighbour)."""

from __future__ import annotations

import numbers

from .functional_conv import interpolate
from .module import Module


class Upsample(Module):
    r"""Nearest-neighbour upsampling, PyTorch's ``Upsample(size, scale_factor,
    mode="nearest")``: output position ``i`` copies input position
    $\lfloor i / \text{scale} \rfloor$ along each spatial axis. Give ``size`` or
    ``scale_factor`` (a number or one per spatial axis)."""

    init_passthrough = True

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest"):
        super().__init__()
        if mode != "nearest":
            raise ValueError(f"Upsample supports mode='nearest' only; got {mode!r}")
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample needs exactly one of size and scale_factor")
        self.size = size if size is None or isinstance(size, numbers.Integral) else tuple(size)
        if scale_factor is not None and not isinstance(scale_factor, numbers.Real):
            scale_factor = tuple(float(s) for s in scale_factor)
        elif scale_factor is not None:
            scale_factor = float(scale_factor)
        self.scale_factor = scale_factor
        self.mode = mode

    def forward(self, x):
        return interpolate(x, self.size, self.scale_factor, self.mode)

    def get_config(self) -> dict:
        def listed(v):
            return list(v) if isinstance(v, tuple) else v

        return {"size": listed(self.size), "scale_factor": listed(self.scale_factor),
                "mode": self.mode}
