r"""``GroupNorm``: normalize each sample's groups of channels, whatever the batch size."""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_positive
from .functional_conv import group_norm
from .linear import check_dtype
from .module import Module, Parameter


class GroupNorm(Module):
    r"""Group normalization, PyTorch's ``GroupNorm(num_groups, num_channels, eps, affine)``.

    The ``C`` channels of ``(N, C, *)`` split into ``num_groups`` groups; each sample's group
    is normalized over its channels and positions, then scaled and shifted per channel:

    $$
    y = \frac{x - \mu_{n,g}}{\sqrt{\sigma^2_{n,g} + \epsilon}}\,\gamma_c + \beta_c
    $$

    Unlike batch normalization it uses no batch statistics, so training and evaluation agree
    and a batch of one works.
    """

    init_passthrough = True

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, dtype=np.float32):
        super().__init__()
        self.num_groups = check_int(num_groups, "num_groups", minimum=1)
        self.num_channels = check_int(num_channels, "num_channels", minimum=1)
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.eps = check_positive(eps, "eps")
        self.affine = bool(affine)
        dt = check_dtype(dtype)
        self._dtype = dt
        self.weight = Parameter(np.ones(num_channels, dt)) if affine else None
        self.bias = Parameter(np.zeros(num_channels, dt)) if affine else None

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm({self.num_groups}, {self.num_channels}) expects input "
                             f"of shape (N, {self.num_channels}, ...); got {x.shape}")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def get_config(self) -> dict:
        return {"num_groups": self.num_groups, "num_channels": self.num_channels,
                "eps": self.eps, "affine": self.affine, "dtype": self._dtype.name}
