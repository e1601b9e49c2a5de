r"""``BatchNorm1d``: keep each feature's distribution centred and scaled during training.

The notes normalize a vector to unit length; batch normalization normalizes each *feature* over
a batch to zero mean and unit variance, then lets the network rescale it with learned
$\gamma$ and $\beta$.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_int, check_positive
from .functional import batch_norm_train
from .linear import check_dtype
from .module import Module, Parameter


class BatchNorm1d(Module):
    r"""Batch normalization over a ``(N, C)`` or ``(N, C, L)`` input, with PyTorch's semantics.

    $$
    y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}\,\gamma + \beta
    $$

    * Training mode: $\mu, \sigma^2$ are the batch mean and biased variance per channel
      (over ``N`` and ``L``), and the running statistics move towards them:
      $r \leftarrow (1 - m)\,r + m\,s$, where the running variance takes the *unbiased*
      batch variance $\sigma^2 \cdot n / (n - 1)$. With ``momentum=None`` they are
      cumulative averages instead ($m = 1/\text{num\_batches\_tracked}$).
    * Eval mode: the running mean and variance are used (unless
      ``track_running_stats=False``, which always uses batch statistics).

    Parameters
    ----------
    num_features : int
        ``C``, the number of channels (features).
    eps : float, default 1e-5
    momentum : float or None, default 0.1
    affine : bool, default True
        Learn $\gamma$ (``weight``, starts at 1) and $\beta$ (``bias``, at 0).
    track_running_stats : bool, default True
        Keep the buffers ``running_mean``, ``running_var``, ``num_batches_tracked``.
    dtype : numpy dtype, default float32
    """

    init_passthrough = True

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=np.float32,
    ):
        super().__init__()
        self.num_features = check_int(num_features, "num_features", minimum=1)
        self.eps = check_positive(eps, "eps")
        if momentum is not None:
            if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not (
                0.0 <= momentum <= 1.0
            ):
                raise ValueError(f"momentum must be a number in [0, 1] or None; got {momentum!r}")
            momentum = float(momentum)
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dt = check_dtype(dtype)
        self._dtype = dt
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, dt))
            self.bias = Parameter(np.zeros(self.num_features, dt))
        else:
            self.weight = None
            self.bias = None
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dt))
            self.register_buffer("running_var", np.ones(self.num_features, dt))
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def _check_input(self, x) -> None:
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}) expects input of shape (N, "
                f"{self.num_features}) or (N, {self.num_features}, L); got {x.shape}"
            )

    def forward(self, x):
        self._check_input(x)
        axes = (0,) + tuple(range(2, x.ndim))
        n = x.size // self.num_features
        use_batch = self.training or not self.track_running_stats
        if not use_batch:
            return self._normalize_with_running_stats(x)
        if self.training and n <= 1:
            raise ValueError(
                f"{type(self).__name__} needs more than 1 value per channel in training mode; "
                f"got input of shape {x.shape} (use a larger batch, or model.eval())"
            )
        cache = {}
        out = batch_norm_train(x, self.weight, self.bias, axes=axes, eps=self.eps, cache=cache)
        if self.training and self.track_running_stats:
            self._update_running_stats(cache["mean"].reshape(-1), cache["var"].reshape(-1), n)
        return out

    def _update_running_stats(self, mean: np.ndarray, var: np.ndarray, n: int) -> None:
        self.num_batches_tracked += 1
        m = self.momentum if self.momentum is not None else 1.0 / int(self.num_batches_tracked)
        self.running_mean *= 1.0 - m
        self.running_mean += m * mean
        self.running_var *= 1.0 - m
        self.running_var += (m * n / (n - 1)) * var

    def _normalize_with_running_stats(self, x):
        shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
        if self.weight is None:
            return (x - self.running_mean.reshape(shape)) * inv_std.reshape(shape)
        scale = self.weight * inv_std
        shift = self.bias - self.running_mean * scale
        return x * scale.reshape(shape) + shift.reshape(shape)

    def get_config(self) -> dict:
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
            "dtype": self._dtype.name,
        }

    def extra_repr(self) -> str:
        text = (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )
        if self._dtype != np.float32:
            text += f", dtype={self._dtype.name}"
        return text


class BatchNorm2d(BatchNorm1d):
    r"""Batch normalization of images ``(N, C, H, W)``, PyTorch's ``BatchNorm2d``: each
    channel (feature map) is normalized over the batch and all positions,

    $$
    y = \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}\,\gamma_c + \beta_c,
    $$

    with the running statistics, arguments and state-dict keys of `BatchNorm1d`.
    """

    def _check_input(self, x) -> None:
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm2d({self.num_features}) expects input of shape (N, "
                f"{self.num_features}, H, W); got {x.shape}"
            )
