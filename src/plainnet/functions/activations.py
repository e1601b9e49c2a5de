r"""Activation functions: the smooth (and one jumpy) curves a neuron passes its integration through.

Each activation is a callable object with ``.derivative(x)``. Called on a NumPy array (or list,
or scalar) it returns a NumPy array of the same floating dtype (float32 stays float32; integers
become float64). Called on a device array (e.g. CuPy) it computes on that device with its array
module and returns an array there. Called on a [`plainnet.Tensor`][plainnet.Tensor] it records the
operation so that gradients flow through it.

Every formula here is evaluated in a form that cannot overflow: ``sigmoid(-1000)`` is 0 and
``sigmoid(1000)`` is 1, with no RuntimeWarning.
"""

from __future__ import annotations

import numpy as np

from .. import backend as _backend
from .._validation import as_float_array


def _is_tensor(x) -> bool:
    return getattr(x, "_plainnet_tensor", False)


class Activation:
    """Base class of an elementwise activation ``y = f(x)`` with derivative ``f'(x)``.

    Subclasses implement `forward()` and `derivative()` on float arrays; the
    public ``__call__`` validates input and dispatches Tensors to the autodiff engine.
    """

    name: str = "activation"

    def __call__(self, x):
        if _is_tensor(x):
            return x.activation(self)
        x = as_float_array(x, "x", allow_device=True)
        out = self.forward(x)
        return np.asarray(out) if type(x) is np.ndarray else out

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def derivative(self, x) -> np.ndarray:
        """The derivative ``f'(x)``, elementwise, as an array of ``x``'s dtype."""
        x = as_float_array(x, "x", allow_device=True)
        out = self._derivative(x, None)
        return np.asarray(out) if type(x) is np.ndarray else out

    def _derivative(self, x: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        """``f'(x)``; ``y = f(x)`` is passed when already known, so it can be reused."""
        raise NotImplementedError  # pragma: no cover - abstract

    def params(self) -> dict:
        """The constructor arguments, so the activation can be rebuilt by name."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.params() == other.params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.params().items()))))


class Step(Activation):
    r"""The Heaviside step, the jumpy activation the notes contrast smooth ones with.

    $$
    \mathrm{step}(x) = 1 \text{ if } x \ge 0 \text{ else } 0
    $$

    Its derivative is 0 everywhere (and undefined at 0, where we also return 0), so gradient
    descent cannot train through it; a step neuron learns with the perceptron rule instead.
    """

    name = "step"

    def forward(self, x):
        return (x >= 0).astype(x.dtype)

    def _derivative(self, x, y):
        return np.zeros_like(x)


class Sigmoid(Activation):
    r"""The logistic sigmoid, squashing any real number into (0, 1).

    $$
    \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \sigma'(x) = \sigma(x)\,(1 - \sigma(x))
    $$

    Evaluated as $1/(1+e^{-|x|})$ or $e^{-|x|}/(1+e^{-|x|})$ by sign, so the
    exponential never overflows.

    Examples
    --------
    >>> import plainnet as pn
    >>> float(pn.sigmoid(0.0))
    0.5
    """

    name = "sigmoid"

    def forward(self, x):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def _derivative(self, x, y):
        s = self.forward(x) if y is None else y
        return s * (1 - s)


class Tanh(Activation):
    r"""The hyperbolic tangent, a sigmoid rescaled to (-1, 1).

    $$
    \tanh(x) = 2\sigma(2x) - 1, \qquad \tanh'(x) = 1 - \tanh^2(x)
    $$
    """

    name = "tanh"

    def forward(self, x):
        return np.tanh(x)

    def _derivative(self, x, y):
        t = np.tanh(x) if y is None else y
        return 1 - t * t


class ReLU(Activation):
    r"""The rectified linear unit.

    $$
    \mathrm{relu}(x) = \max(x, 0), \qquad \mathrm{relu}'(x) = [x > 0]
    $$

    At the kink ``x = 0`` the derivative is taken to be 0 (as in PyTorch).
    """

    name = "relu"

    def forward(self, x):
        return np.maximum(x, 0)

    def _derivative(self, x, y):
        return (x > 0).astype(x.dtype)


class LeakyReLU(Activation):
    r"""ReLU with a small slope for negative inputs.

    $$
    f(x) = x \text{ if } x > 0 \text{ else } a x, \qquad f'(x) = 1 \text{ if } x > 0
    \text{ else } a
    $$

    ``a`` is ``negative_slope`` (default 0.01); at ``x = 0`` the derivative is ``a``.
    """

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = float(negative_slope)

    def params(self):
        return {"negative_slope": self.negative_slope}

    def forward(self, x):
        return np.where(x > 0, x, x * self.negative_slope).astype(x.dtype, copy=False)

    def _derivative(self, x, y):
        return np.where(x > 0, 1.0, self.negative_slope).astype(x.dtype)


class ELU(Activation):
    r"""The exponential linear unit.

    $$
    f(x) = x \text{ if } x > 0 \text{ else } \alpha (e^x - 1), \qquad
    f'(x) = 1 \text{ if } x > 0 \text{ else } \alpha e^x
    $$

    At ``x = 0`` the derivative is $\alpha$ (1 by default, where both sides agree).
    """

    name = "elu"

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def params(self):
        return {"alpha": self.alpha}

    def forward(self, x):
        return _elu_kernel(x, self.alpha)

    def _derivative(self, x, y):
        return np.where(x > 0, 1, self.alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)


class Softplus(Activation):
    r"""A smooth ReLU.

    $$
    \mathrm{softplus}(x) = \log(1 + e^x), \qquad \mathrm{softplus}'(x) = \sigma(x)
    $$

    Evaluated as ``logaddexp(0, x)``, exact for large ``|x|``.
    """

    name = "softplus"

    def forward(self, x):
        return np.logaddexp(x.dtype.type(0), x)  # a scalar zero: any device takes it

    def _derivative(self, x, y):
        return sigmoid.forward(x)


def _erf(x: np.ndarray) -> np.ndarray:
    if type(x) is not np.ndarray and _backend.is_device_array(x):
        return _backend.erf(x)
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover - scipy is an optional speed-up here
        import math

        erf = np.frompyfunc(math.erf, 1, 1)
    return np.asarray(erf(x), dtype=x.dtype)


class GELU(Activation):
    r"""The Gaussian error linear unit.

    $$
    \mathrm{gelu}(x) = x\,\Phi(x), \qquad \mathrm{gelu}'(x) = \Phi(x) + x\,\varphi(x)
    $$

    where $\Phi$ and $\varphi$ are the standard normal CDF and density
    (``approximate="none"``, PyTorch's default). ``approximate="tanh"`` uses
    $\Phi(x) \approx \tfrac12(1 + \tanh(\sqrt{2/\pi}(x + 0.044715 x^3)))$.
    """

    name = "gelu"
    _C = np.sqrt(2 / np.pi)

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh'; got {approximate!r}")
        self.approximate = approximate

    def params(self):
        return {"approximate": self.approximate}

    def forward(self, x):
        with np.errstate(over="ignore", invalid="ignore"):
            # max(x, -40): Phi(x) is exactly 0 below -40, and -inf * 0 would be NaN
            return np.maximum(x, -40) * self._cdf(x)

    def _cdf(self, x):
        if self.approximate == "tanh":
            x = np.clip(x, -20, 20)  # tanh is exactly +-1 beyond; avoids x**3 overflow
            return 0.5 * (1 + np.tanh(self._C * (x + 0.044715 * x**3)))
        return 0.5 * (1 + _erf(x / np.sqrt(2).astype(x.dtype)))

    def _derivative(self, x, y):
        with np.errstate(over="ignore", invalid="ignore"):
            return self._gelu_derivative(x)

    def _gelu_derivative(self, x):
        if self.approximate == "tanh":
            x = np.clip(x, -20, 20)  # the derivative is exactly 0 or 1 beyond
            u = self._C * (x + 0.044715 * x**3)
            t = np.tanh(u)
            du = self._C * (1 + 3 * 0.044715 * x**2)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
        c = np.clip(x, -40, 40)  # phi is exactly 0 beyond: no inf * 0 at +-inf
        pdf = np.exp(-0.5 * c * c) / np.sqrt(2 * np.pi).astype(x.dtype)
        return self._cdf(x) + c * pdf


class Identity(Activation):
    r"""The identity, for a linear neuron: $f(x) = x$, $f'(x) = 1$."""

    name = "identity"

    def forward(self, x):
        return x

    def _derivative(self, x, y):
        return np.ones_like(x)


# --------------------------------------------------------------------------- more activations
# Each kernel below is a plain function of an array (any device), shared by the Activation's
# ``forward``/``derivative`` and by the autodiff op of the same name (plainnet.autodiff.ops).


def _half_max(x):
    """Half the largest finite value of ``x``'s dtype: a bound beyond which an input can be
    clipped without changing a saturated result (and ``1 + |x|`` cannot overflow)."""
    return float(np.finfo(x.dtype).max) / 2


_FLAT = 1e4  # beyond +-1e4, sigmoid and tanh(softplus) are exactly 0 or 1 in every float dtype


def _silu(x):
    # max(x, -1e4) * sigmoid(x): equal to x * sigmoid(x) wherever that is not -inf * 0 = NaN
    return (np.maximum(x, -_FLAT) * sigmoid.forward(x)).astype(x.dtype, copy=False)


def _silu_derivative(x):
    s = sigmoid.forward(x)
    return (s * (1 + np.clip(x, -_FLAT, _FLAT) * (1 - s))).astype(x.dtype, copy=False)


def _mish(x):
    t = np.tanh(np.logaddexp(x.dtype.type(0), x))
    return (np.maximum(x, -_FLAT) * t).astype(x.dtype, copy=False)


def _mish_derivative(x):
    t = np.tanh(np.logaddexp(x.dtype.type(0), x))
    d = t + np.clip(x, -_FLAT, _FLAT) * sigmoid.forward(x) * (1 - t * t)
    return d.astype(x.dtype, copy=False)


def _elu_kernel(x, alpha: float):
    """``alpha * expm1(x)`` for ``x <= 0``, else ``x``: exact near 0 (``expm1``)."""
    neg = alpha * np.expm1(np.minimum(x, 0))
    return np.where(x > 0, x, neg).astype(x.dtype, copy=False)


def _celu(x, alpha: float):
    with np.errstate(over="ignore"):  # x / alpha may overflow to -inf: expm1(-inf) = -1
        neg = alpha * np.expm1(np.minimum(x, 0) / alpha)
    return np.where(x > 0, x, neg).astype(x.dtype, copy=False)


def _celu_derivative(x, alpha: float):
    with np.errstate(over="ignore"):
        neg = np.exp(np.minimum(x, 0) / alpha)
    return np.where(x > 0, 1, neg).astype(x.dtype, copy=False)


def _hardtanh(x, min_val: float, max_val: float):
    return np.clip(x, min_val, max_val).astype(x.dtype, copy=False)


def _hardtanh_derivative(x, min_val: float, max_val: float):
    return ((x > min_val) & (x < max_val)).astype(x.dtype)


def _hardswish(x):
    # max(x, -3): no -inf * 0 below -3; the gate divided first: no 6 x overflow above 3
    return (np.maximum(x, -3) * ((np.clip(x, -3, 3) + 3) / 6)).astype(x.dtype, copy=False)


def _hardswish_derivative(x):
    middle = x / 3 + 0.5
    return np.where(x <= -3, 0, np.where(x < 3, middle, 1)).astype(x.dtype, copy=False)


def _hardsigmoid(x):
    return ((np.clip(x, -3, 3) + 3) / 6).astype(x.dtype, copy=False)


def _hardsigmoid_derivative(x):
    return (((x > -3) & (x < 3)) / 6).astype(x.dtype)


def _softsign(x):
    bound = _half_max(x)  # softsign is exactly +-1 (rounded) beyond; and inf / inf is NaN
    c = np.clip(x, -bound, bound)
    return (c / (1 + np.abs(c))).astype(x.dtype, copy=False)


def _softsign_derivative(x):
    r = 1 / (1 + np.abs(x))  # squared after dividing: (1 + |x|)^2 could overflow
    return (r * r).astype(x.dtype, copy=False)


def _logsigmoid(x):
    return -np.logaddexp(x.dtype.type(0), -x)


class SiLU(Activation):
    r"""The sigmoid-weighted linear unit (swish).

    $$
    \mathrm{silu}(x) = x\,\sigma(x), \qquad
    \mathrm{silu}'(x) = \sigma(x)\,\big(1 + x\,(1 - \sigma(x))\big)
    $$

    ``silu(-inf)`` is 0, its limit (not ``-inf * 0``).
    """

    name = "silu"

    def forward(self, x):
        return _silu(x)

    def _derivative(self, x, y):
        return _silu_derivative(x)


class Mish(Activation):
    r"""Mish, a self-gated smooth ReLU.

    $$
    \mathrm{mish}(x) = x \tanh(\mathrm{softplus}(x)), \qquad
    \mathrm{mish}'(x) = \tanh(s) + x\,\sigma(x)\,(1 - \tanh^2 s)
    $$

    where $s = \mathrm{softplus}(x)$.
    """

    name = "mish"

    def forward(self, x):
        return _mish(x)

    def _derivative(self, x, y):
        return _mish_derivative(x)


class SELU(Activation):
    r"""The scaled exponential linear unit (self-normalizing networks).

    $$
    \mathrm{selu}(x) = \lambda x \text{ if } x > 0 \text{ else }
    \lambda\alpha(e^x - 1), \qquad
    \mathrm{selu}'(x) = \lambda \text{ if } x > 0 \text{ else } \lambda\alpha e^x
    $$

    with PyTorch's constants $\alpha \approx 1.6733$, $\lambda \approx 1.0507$.
    At ``x = 0`` the derivative is $\lambda\alpha$ (as in PyTorch).
    """

    name = "selu"
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946

    def forward(self, x):
        with np.errstate(over="ignore"):  # lambda x above the dtype's maximum is inf
            return (self.scale * _elu_kernel(x, self.alpha)).astype(x.dtype, copy=False)

    def _derivative(self, x, y):
        d = np.where(x > 0, self.scale, self.scale * self.alpha * np.exp(np.minimum(x, 0)))
        return d.astype(x.dtype, copy=False)


class CELU(Activation):
    r"""The continuously differentiable exponential linear unit.

    $$
    \mathrm{celu}(x) = x \text{ if } x > 0 \text{ else } \alpha(e^{x/\alpha} - 1),
    \qquad \mathrm{celu}'(x) = 1 \text{ if } x > 0 \text{ else } e^{x/\alpha}
    $$

    ``alpha`` (default 1) must be nonzero.
    """

    name = "celu"

    def __init__(self, alpha: float = 1.0):
        alpha = float(alpha)
        if alpha == 0 or not np.isfinite(alpha):
            raise ValueError(f"celu's alpha must be a finite nonzero number; got {alpha!r}")
        self.alpha = alpha

    def params(self):
        return {"alpha": self.alpha}

    def forward(self, x):
        return _celu(x, self.alpha)

    def _derivative(self, x, y):
        return _celu_derivative(x, self.alpha)


class Hardtanh(Activation):
    r"""Clip to ``[min_val, max_val]`` (default ``[-1, 1]``).

    $$
    f(x) = \min(\max(x, a), b), \qquad f'(x) = [a < x < b]
    $$

    The derivative is 0 at the corners ``a`` and ``b`` (as in PyTorch).
    """

    name = "hardtanh"

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0):
        min_val, max_val = float(min_val), float(max_val)
        if not min_val < max_val:
            raise ValueError(
                f"hardtanh needs min_val < max_val; got min_val={min_val}, max_val={max_val}"
            )
        self.min_val, self.max_val = min_val, max_val

    def params(self):
        return {"min_val": self.min_val, "max_val": self.max_val}

    def forward(self, x):
        return _hardtanh(x, self.min_val, self.max_val)

    def _derivative(self, x, y):
        return _hardtanh_derivative(x, self.min_val, self.max_val)


class ReLU6(Hardtanh):
    r"""ReLU capped at 6: $\min(\max(x, 0), 6)$; derivative $[0 < x < 6]$."""

    name = "relu6"

    def __init__(self):
        super().__init__(0.0, 6.0)

    def params(self):
        return {}


class Hardswish(Activation):
    r"""A piecewise-quadratic SiLU (MobileNetV3).

    $$
    f(x) = x\,\frac{\min(\max(x + 3, 0), 6)}{6}, \qquad
    f'(x) = 0 \ (x \le -3), \quad \tfrac{x}{3} + \tfrac12 \ (-3 < x < 3),
    \quad 1 \ (x \ge 3)
    $$

    the derivative at the corners being PyTorch's (0 at -3, 1 at 3).
    """

    name = "hardswish"

    def forward(self, x):
        return _hardswish(x)

    def _derivative(self, x, y):
        return _hardswish_derivative(x)


class Hardsigmoid(Activation):
    r"""A piecewise-linear sigmoid.

    $$
    f(x) = \frac{\min(\max(x + 3, 0), 6)}{6}, \qquad f'(x) = \tfrac16 [-3 < x < 3]
    $$
    """

    name = "hardsigmoid"

    def forward(self, x):
        return _hardsigmoid(x)

    def _derivative(self, x, y):
        return _hardsigmoid_derivative(x)


class Softsign(Activation):
    r"""A slowly saturating sigmoid shape in (-1, 1).

    $$
    f(x) = \frac{x}{1 + |x|}, \qquad f'(x) = \frac{1}{(1 + |x|)^2}
    $$

    ``softsign(+-inf)`` is ``+-1``.
    """

    name = "softsign"

    def forward(self, x):
        return _softsign(x)

    def _derivative(self, x, y):
        return _softsign_derivative(x)


class LogSigmoid(Activation):
    r"""The logarithm of the sigmoid, computed without forming it.

    $$
    f(x) = \log\sigma(x) = -\mathrm{softplus}(-x), \qquad f'(x) = \sigma(-x)
    $$

    Exact for large ``|x|``: ``logsigmoid(-1000)`` is -1000.
    """

    name = "logsigmoid"

    def forward(self, x):
        return _logsigmoid(x)

    def _derivative(self, x, y):
        return sigmoid.forward(-x)


step = Step()
sigmoid = Sigmoid()
tanh = Tanh()
relu = ReLU()
leaky_relu = LeakyReLU()
elu = ELU()
softplus = Softplus()
gelu = GELU()
identity = Identity()
silu = SiLU()
mish = Mish()
selu = SELU()
celu = CELU()
hardtanh = Hardtanh()
relu6 = ReLU6()
hardswish = Hardswish()
hardsigmoid = Hardsigmoid()
softsign = Softsign()
logsigmoid = LogSigmoid()

ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls
    for cls in (
        Step, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Softplus, GELU, Identity, SiLU, Mish, SELU,
        CELU, Hardtanh, ReLU6, Hardswish, Hardsigmoid, Softsign, LogSigmoid,
    )
}
ACTIVATIONS["linear"] = Identity


def get_activation(activation, **params) -> Activation:
    """Return the `Activation` named ``activation`` (or ``activation`` itself).

    Raises ``ValueError`` listing the known names for an unknown one.
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        key = activation.lower().replace("-", "_")
        if key in ACTIVATIONS:
            return ACTIVATIONS[key](**params)
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}"
        )
    raise TypeError(
        f"activation must be a name or an Activation; got {type(activation).__name__}"
    )


def _logsumexp(x: np.ndarray, axis=-1, keepdims: bool = False) -> np.ndarray:
    """The array kernel of `logsumexp()` (also the forward of its autodiff op)."""
    top = np.max(x, axis=axis, keepdims=True)
    finite = np.isfinite(top)
    m = np.where(finite, top, 0)
    with np.errstate(invalid="ignore", divide="ignore"):  # rows whose maximum is +-inf/NaN
        below = np.sum(np.where(x < m, np.exp(x - m), 0), axis=axis, keepdims=True)
        ties = np.sum(x == m, axis=axis, keepdims=True) - 1
        out = np.where(finite, m + np.log1p(below + ties), top).astype(x.dtype, copy=False)
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(x: np.ndarray, axis=-1) -> np.ndarray:
    """The array kernel of `softmax()`."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis=-1) -> np.ndarray:
    r"""The array kernel of `log_softmax()`: $(x - m) - \log\sum_k e^{x_k - m}$.

    Subtracting the maximum $m$ first keeps the log-sum term: ``x - LSE(x)`` would
    lose it at large ``x`` (``LSE([1e17, 1e17])`` rounds to ``1e17``)."""
    top = np.max(x, axis=axis, keepdims=True)
    finite = np.isfinite(top)
    m = np.where(finite, top, 0)
    with np.errstate(invalid="ignore", divide="ignore"):  # rows whose maximum is +-inf/NaN
        shifted = x - m
        below = np.sum(np.where(x < m, np.exp(shifted), 0), axis=axis, keepdims=True)
        ties = np.sum(x == m, axis=axis, keepdims=True) - 1
        out = np.where(finite, shifted - np.log1p(below + ties), x - top)
    return out.astype(x.dtype, copy=False)


def logsumexp(x, axis=-1, keepdims: bool = False):
    r"""``log(sum(exp(x)))`` along ``axis``, shifted by the maximum so it cannot overflow.

    $$
    \mathrm{LSE}(x) = m + \log\Big(1 + \sum_{k \ne k^*} e^{x_k - m}\Big),
    \quad m = x_{k^*} = \max_k x_k
    $$

    The maximum's own term is exactly 1, so it is taken out and the rest goes through
    ``log1p``: accurate to rounding even when the other terms are tiny.
    """
    if _is_tensor(x):
        return x.logsumexp(axis=axis, keepdims=keepdims)
    return _logsumexp(as_float_array(x, "x", allow_device=True), axis=axis, keepdims=keepdims)


def softmax(x, axis: int = -1):
    r"""Turn scores into probabilities that sum to 1 along ``axis``.

    $$
    \mathrm{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_k e^{x_k - m}}, \quad m = \max_k x_k
    $$

    Shifting by the maximum makes ``softmax([1e4, 0])`` exactly ``[1, 0]``.
    """
    if _is_tensor(x):
        return x.softmax(axis=axis)
    return _softmax(as_float_array(x, "x", allow_device=True), axis=axis)


def log_softmax(x, axis: int = -1):
    r"""The logarithm of `softmax()`, computed directly: $x_i - \mathrm{LSE}(x)$."""
    if _is_tensor(x):
        return x.log_softmax(axis=axis)
    return _log_softmax(as_float_array(x, "x", allow_device=True), axis=axis)
