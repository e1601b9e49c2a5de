r"""``LayerNorm`` and ``RMSNorm``: normalize each sample over its last axes.

Unlike batch normalization, the statistics are each sample's own (the mean and variance of one
token's features), so the layer works the same in training and evaluation and for any batch size.
Both run as one fused op
([`plainnet.nn.functional.layer_norm()`][plainnet.nn.functional.layer_norm],
[`rms_norm()`][plainnet.nn.functional.rms_norm]). """

from __future__ import annotations

import numbers

import numpy as np

from .linear import check_dtype
from .module import Module, Parameter
from .sequence_ops import layer_norm, rms_norm


def _shape(normalized_shape) -> tuple[int, ...]:
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        shape = (int(normalized_shape),)
    else:
        try:
            shape = tuple(int(n) for n in normalized_shape)
            if isinstance(normalized_shape, str):
                raise TypeError
        except (TypeError, ValueError):
            raise TypeError(
                f"normalized_shape must be an int or a tuple of ints; got {normalized_shape!r}"
            ) from None
    if not shape or any(n < 1 for n in shape):
        raise ValueError(f"normalized_shape must be positive sizes; got {normalized_shape!r}")
    return shape


def _check_eps(eps) -> float:
    eps = float(eps)
    if not (np.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0; got {eps!r}")
    return eps


class LayerNorm(Module):
    r"""Layer normalization (PyTorch's ``nn.LayerNorm``):

    $$
    y = \frac{x - \mathrm E[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \odot \gamma
    + \beta
    $$

    with the mean and (biased) variance over the last ``len(normalized_shape)`` axes.

    Parameters
    ----------
    normalized_shape : int or tuple of ints
        The trailing shape normalized over (e.g. the embedding size).
    eps : float, default 1e-5
    elementwise_affine : bool, default True
        Learn $\gamma$ (``weight``, starts at 1) and $\beta$ (``bias``, starts
        at 0), each of shape ``normalized_shape``.
    bias : bool, default True
        Learn $\beta$ (with ``elementwise_affine``).
    dtype : numpy dtype, default float32
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=np.float32):
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = _check_eps(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dt = check_dtype(dtype)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dt))
            self.bias = Parameter(np.zeros(self.normalized_shape, dt)) if bias else None
        else:
            self.weight = self.bias = None
        self._dtype = dt

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def get_config(self) -> dict:
        return {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
            "bias": self.bias is not None or not self.elementwise_affine,
            "dtype": self._dtype.name,
        }

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class RMSNorm(Module):
    r"""Root-mean-square normalization (PyTorch's ``nn.RMSNorm``):

    $$
    y = \frac{x}{\sqrt{\overline{x^2} + \epsilon}} \odot \gamma
    $$

    with the mean of squares over the last ``len(normalized_shape)`` axes; no centering and
    no bias.

    Parameters
    ----------
    normalized_shape : int or tuple of ints
    eps : float, optional
        Default: the machine epsilon of the input's dtype, as in PyTorch.
    elementwise_affine : bool, default True
        Learn $\gamma$ (``weight``, starts at 1).
    dtype : numpy dtype, default float32
    """

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, dtype=np.float32):
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        self.eps = None if eps is None else _check_eps(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dt = check_dtype(dtype)
        self.weight = Parameter(np.ones(self.normalized_shape, dt)) if elementwise_affine \
            else None
        self._dtype = dt

    def forward(self, x):
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def get_config(self) -> dict:
        return {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
            "dtype": self._dtype.name,
        }

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
