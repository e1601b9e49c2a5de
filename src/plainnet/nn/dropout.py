"""``Dropout``: silence random neurons while training, so no neuron can rely on another."""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend as _backend
from ..random import get_rng
from .module import Module


class Dropout(Module):
    r"""Inverted dropout: in training mode each element is zeroed with probability ``p`` and
    the survivors are scaled by $1/(1-p)$, so the expected output equals the input:

    $$
    y = x \odot m / (1 - p), \qquad m_i \sim \mathrm{Bernoulli}(1 - p)
    $$

    In eval mode (``model.eval()``, and always in ``predict``) it is the identity. The masks come
    from ``rng`` (a Generator or seed) or, by default, from
    [`plainnet.random.get_rng()`][plainnet.random.get_rng], so ``pn.seed(n)`` makes them
    reproducible. The masks are drawn on the host and copied to the input's device, so a seed gives
    the same masks (and the same training) on every device. """

    init_passthrough = True

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability p must be a number in [0, 1]; got {p!r}")
        self.p = float(p)
        self.rng = None if rng is None else get_rng(rng)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        dtype = x.dtype
        if self.p == 1.0:
            return x * np.zeros_like(x.data, dtype=dtype)
        draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
        keep = get_rng(self.rng).random(self._mask_shape(x.shape), dtype=draw_dtype) >= self.p
        mask = np.multiply(keep, 1.0 / (1.0 - self.p), dtype=dtype)
        if type(x.data) is not np.ndarray:
            mask = _backend.match_device(mask, x.data, "Dropout")
        return x * mask

    def _mask_shape(self, shape: tuple) -> tuple:
        return shape

    def get_config(self) -> dict:
        return {"p": self.p}


class Dropout2d(Dropout):
    r"""Channel dropout, PyTorch's ``Dropout2d``: in training each whole feature map (channel
    ``c`` of sample ``n`` in ``(N, C, H, W)``) is zeroed with probability ``p`` and the rest
    scaled by $1/(1-p)$. Neighbouring pixels of a map are strongly correlated, so
    dropping single pixels would hardly regularize; dropping maps does."""

    def _mask_shape(self, shape: tuple) -> tuple:
        if len(shape) < 3:
            raise ValueError(f"Dropout2d expects (N, C, H, W) or (C, H, W); got shape {shape}")
        return shape[:2] + (1,) * (len(shape) - 2)
