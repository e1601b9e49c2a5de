r"""Activation layers: each wraps one of the foundation's activation functions as a Module.

``pn.nn.ReLU()`` applies `plainnet.relu` elementwise; its gradient comes from the
activation's rule in the autodiff engine. Every activation module also says which weight
initialization suits the layer before it (``init_rule``): Glorot for the saturating ones
(sigmoid, tanh, softmax, hardtanh, hardsigmoid, softsign, logsigmoid), He for the ReLU family
(ReLU, LeakyReLU, ELU, GELU, Softplus, SiLU, Mish, CELU, ReLU6, Hardswish), LeCun for SELU.
"""

from __future__ import annotations

from ..functions import activations as _act
from .module import Module


class _ActivationModule(Module):
    """A Module applying ``self.function``, an [`plainnet.Activation`][plainnet.Activation],
    elementwise."""

    activation_class: type = _act.Identity
    init_rule: tuple | None = None  # Glorot

    def __init__(self, **params):
        super().__init__()
        self.function = self.activation_class(**params)

    def forward(self, x):
        return self.function(x)

    def get_config(self) -> dict:
        return self.function.params()


_KAIMING = ("kaiming", 0.0)


class Sigmoid(_ActivationModule):
    r"""$\sigma(x) = 1/(1 + e^{-x})$, elementwise (`plainnet.sigmoid`)."""

    activation_class = _act.Sigmoid


class Tanh(_ActivationModule):
    r"""$\tanh(x)$, elementwise (`plainnet.tanh`)."""

    activation_class = _act.Tanh


class ReLU(_ActivationModule):
    r"""$\max(x, 0)$, elementwise (`plainnet.relu`)."""

    activation_class = _act.ReLU
    init_rule = _KAIMING


class LeakyReLU(_ActivationModule):
    r"""$x$ for $x > 0$, else ``negative_slope`` $\cdot x$."""

    activation_class = _act.LeakyReLU

    def __init__(self, negative_slope: float = 0.01):
        super().__init__(negative_slope=negative_slope)

    @property
    def init_rule(self) -> tuple:
        return ("kaiming", self.function.negative_slope)


class ELU(_ActivationModule):
    r"""$x$ for $x > 0$, else $\alpha(e^x - 1)$."""

    activation_class = _act.ELU
    init_rule = _KAIMING

    def __init__(self, alpha: float = 1.0):
        super().__init__(alpha=alpha)


class Softplus(_ActivationModule):
    r"""$\log(1 + e^x)$, a smooth ReLU."""

    activation_class = _act.Softplus
    init_rule = _KAIMING


class GELU(_ActivationModule):
    r"""$x\,\Phi(x)$ (``approximate="tanh"`` for the tanh approximation)."""

    activation_class = _act.GELU
    init_rule = _KAIMING

    def __init__(self, approximate: str = "none"):
        super().__init__(approximate=approximate)


class SiLU(_ActivationModule):
    r"""$x\,\sigma(x)$ (swish), elementwise (`plainnet.silu`)."""

    activation_class = _act.SiLU
    init_rule = _KAIMING


class Mish(_ActivationModule):
    r"""$x \tanh(\mathrm{softplus}(x))$, elementwise (`plainnet.mish`)."""

    activation_class = _act.Mish
    init_rule = _KAIMING


class SELU(_ActivationModule):
    r"""$\lambda x$ for $x > 0$, else $\lambda\alpha(e^x - 1)$, with the
    self-normalizing constants. The layer before it gets LeCun's initialization (gain 1)."""

    activation_class = _act.SELU
    init_rule = ("kaiming", 1.0)  # leaky_relu's gain sqrt(2 / (1 + a^2)) = 1: LeCun


class CELU(_ActivationModule):
    r"""$x$ for $x > 0$, else $\alpha(e^{x/\alpha} - 1)$."""

    activation_class = _act.CELU
    init_rule = _KAIMING

    def __init__(self, alpha: float = 1.0):
        super().__init__(alpha=alpha)


class Hardtanh(_ActivationModule):
    r"""$\min(\max(x, \text{min\_val}), \text{max\_val})$ (default ``[-1, 1]``)."""

    activation_class = _act.Hardtanh

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0):
        super().__init__(min_val=min_val, max_val=max_val)


class ReLU6(_ActivationModule):
    r"""$\min(\max(x, 0), 6)$, elementwise (`plainnet.relu6`)."""

    activation_class = _act.ReLU6
    init_rule = _KAIMING


class Hardswish(_ActivationModule):
    r"""$x \min(\max(x + 3, 0), 6) / 6$, elementwise (`plainnet.hardswish`)."""

    activation_class = _act.Hardswish
    init_rule = _KAIMING


class Hardsigmoid(_ActivationModule):
    r"""$\min(\max(x + 3, 0), 6) / 6$, elementwise (`plainnet.hardsigmoid`)."""

    activation_class = _act.Hardsigmoid


class Softsign(_ActivationModule):
    r"""$x / (1 + |x|)$, elementwise (`plainnet.softsign`)."""

    activation_class = _act.Softsign


class LogSigmoid(_ActivationModule):
    r"""$\log\sigma(x) = -\mathrm{softplus}(-x)$, elementwise
    (`plainnet.logsigmoid`)."""

    activation_class = _act.LogSigmoid


class Step(_ActivationModule):
    r"""The Heaviside step $[x \ge 0]$; its gradient is 0 (it cannot be trained through)."""

    activation_class = _act.Step


class Identity(_ActivationModule):
    """Returns its input unchanged (a placeholder layer, or a linear output)."""

    activation_class = _act.Identity
    init_passthrough = True


class Softmax(Module):
    r"""Probabilities along ``axis``: $e^{x_i - m} / \sum_k e^{x_k - m}$, $m=\max x$.

    For training a classifier, feed logits to ``cross_entropy`` instead (it includes the
    softmax, fused and stable); use this layer when the model itself must output probabilities.
    """

    init_rule = None

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = _check_axis(axis)

    def forward(self, x):
        return x.softmax(axis=self.axis)

    def get_config(self) -> dict:
        return {"axis": self.axis}


class LogSoftmax(Softmax):
    r"""Log-probabilities along ``axis``: $x_i - \log\sum_k e^{x_k}$ (pair with ``nll``)."""

    def forward(self, x):
        return x.log_softmax(axis=self.axis)


def _check_axis(axis) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"axis must be an int; got {axis!r}")
    return axis


ACTIVATION_MODULES = {
    cls.activation_class.name: cls
    for cls in (
        Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Softplus, GELU, Step, Identity, SiLU, Mish, SELU,
        CELU, Hardtanh, ReLU6, Hardswish, Hardsigmoid, Softsign, LogSigmoid,
    )
}
ACTIVATION_MODULES["linear"] = Identity
"""The activation module for each activation name of `plainnet.ACTIVATIONS`."""
