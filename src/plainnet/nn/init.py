r"""Weight initialization: start each layer where gradients neither vanish nor explode.

A layer's output variance grows with its fan-in (the number of inputs each neuron integrates).
Scaling the initial weights by the fan keeps the variance of the signal (and of the gradient)
about constant from layer to layer:

* **Glorot / Xavier** (for sigmoid, tanh, softmax and linear outputs) balances the forward and
  backward passes: $\mathrm{Var}(w) = \mathrm{gain}^2 \cdot 2 / (\mathrm{fan\_in} +
  \mathrm{fan\_out})$.
* **He / Kaiming** (for ReLU and its relatives, which zero half their inputs) doubles it:
  $\mathrm{Var}(w) = \mathrm{gain}^2 / \mathrm{fan}$ with $\mathrm{gain} = \sqrt 2$.

Every function here works in place on a [`Parameter`][plainnet.nn.Parameter] (or Tensor or NumPy
array), returns it, and follows PyTorch's ``torch.nn.init`` formulas and argument names. Random
draws come from [`plainnet.random.get_rng()`][plainnet.random.get_rng], so ``pn.seed(n)`` makes them
reproducible; pass ``rng=`` (a Generator or an int) for an independent stream. Draws are made on the
host and copied to the parameter's device, so a seed gives the same weights on every device. """

from __future__ import annotations

import contextlib
import math
import numbers
import threading

import numpy as np

from .. import backend as _backend
from .._validation import check_positive
from ..autodiff import Tensor
from ..random import get_rng

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "skip_init",
    "skipping",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)


_LINEAR_GAIN = {"linear", "identity", "conv1d", "conv2d", "conv3d", "sigmoid"}

_SKIP = threading.local()


@contextlib.contextmanager
def skip_init():
    """Context in which the initializers here leave their tensor as it is (no draws, no writes).

    For building a model whose weights are about to be overwritten (`plainnet.load()`):
    layers get their shapes without paying for (or touching the memory of) random weights,
    and parameters keep the arrays they were given without copying them.
    """
    previous = getattr(_SKIP, "on", False)
    _SKIP.on = True
    try:
        yield
    finally:
        _SKIP.on = previous


def skipping() -> bool:
    """Whether this thread is inside `skip_init()`."""
    return getattr(_SKIP, "on", False)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The recommended gain for a nonlinearity (PyTorch's table).

    ============  ========================================
    linear        $1$
    sigmoid       $1$
    tanh          $5/3$
    relu          $\sqrt 2$
    leaky_relu    $\sqrt{2 / (1 + a^2)}$, ``a = param`` (default 0.01)
    selu          $3/4$
    ============  ========================================
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    known = sorted(_LINEAR_GAIN | {"tanh", "relu", "leaky_relu", "selu"})
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}; choose one of {known}")


def _array(tensor) -> np.ndarray:
    arr = tensor.data if isinstance(tensor, Tensor) else tensor
    if (
        not (isinstance(arr, np.ndarray) or _backend.is_device_array(arr))
        or arr.dtype.kind != "f"
    ):
        raise TypeError(
            "initializers fill a floating-point Parameter, Tensor or NumPy array in place; "
            f"got {type(tensor).__name__}"
        )
    return arr


def _fill(tensor, values):
    arr = _array(tensor)
    if skipping():
        return tensor
    if isinstance(values, np.ndarray) and type(arr) is not np.ndarray:
        values = _backend.to_device(values.astype(arr.dtype), _backend.device_of(arr))
    arr[...] = values
    return tensor


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shaped ``(out, in, *kernel)`` as in PyTorch."""
    arr = _array(tensor)
    if arr.ndim < 2:
        raise ValueError(
            "fan in and fan out need a weight with at least 2 dimensions (out, in); "
            f"got shape {arr.shape}"
        )
    receptive = int(np.prod(arr.shape[2:])) if arr.ndim > 2 else 1
    return arr.shape[1] * receptive, arr.shape[0] * receptive


def _fan(tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out'; got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a: float = 0.0, b: float = 1.0, rng=None):
    r"""Fill with draws from $\mathcal U(a, b)$."""
    if not b >= a:
        raise ValueError(f"uniform_ needs a <= b; got a={a!r}, b={b!r}")
    if skipping():
        return tensor
    return _fill(tensor, get_rng(rng).uniform(a, b, size=_array(tensor).shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, rng=None):
    r"""Fill with draws from $\mathcal N(\mathrm{mean}, \mathrm{std}^2)$."""
    check_positive(std, "std", allow_zero=True)
    if skipping():
        return tensor
    return _fill(tensor, get_rng(rng).normal(mean, std, size=_array(tensor).shape))


def constant_(tensor, val: float):
    """Fill with the value ``val``."""
    return _fill(tensor, val)


def zeros_(tensor):
    """Fill with zeros (the usual start for biases)."""
    return _fill(tensor, 0.0)


def ones_(tensor):
    """Fill with ones (the usual start for a batch norm's scale)."""
    return _fill(tensor, 1.0)


def xavier_uniform_(tensor, gain: float = 1.0, rng=None):
    r"""Glorot/Xavier uniform: $\mathcal U(-b, b)$ with

    $$
    b = \mathrm{gain} \sqrt{\frac{6}{\mathrm{fan\_in} + \mathrm{fan\_out}}}
    $$

    so that $\mathrm{std}(w) = \mathrm{gain}\sqrt{2/(\mathrm{fan\_in}+\mathrm{fan\_out})}$.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng=rng)


def xavier_normal_(tensor, gain: float = 1.0, rng=None):
    r"""Glorot/Xavier normal: $\mathcal N(0, \sigma^2)$ with
    $\sigma = \mathrm{gain}\sqrt{2/(\mathrm{fan\_in}+\mathrm{fan\_out})}$."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, rng=rng)


def kaiming_uniform_(
    tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng=None
):
    r"""He/Kaiming uniform: $\mathcal U(-b, b)$ with

    $$
    b = \mathrm{gain}\sqrt{\frac{3}{\mathrm{fan}}}, \qquad
    \mathrm{gain} = \text{calculate\_gain}(\mathrm{nonlinearity}, a)
    $$

    (``fan`` is fan-in or fan-out by ``mode``), so $\mathrm{std}(w) =
    \mathrm{gain}/\sqrt{\mathrm{fan}}$. With the defaults ``a=0``, ``leaky_relu``, the gain is
    $\sqrt 2$, the ReLU value.
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, rng=rng)


def kaiming_normal_(
    tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng=None
):
    r"""He/Kaiming normal: $\mathcal N(0, \sigma^2)$, $\sigma =
    \mathrm{gain}/\sqrt{\mathrm{fan}}$ (gain as in `kaiming_uniform_()`)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, rng=rng)
