r"""``Linear``: a layer of neurons, each integrating all inputs with its own weights and bias.

Neuron ``j`` computes the notes' integration $y_j = x \cdot w_j + b_j$; a layer stacks
the weight vectors as the rows of ``W``, shaped ``(out_features, in_features)`` as in PyTorch
(so state dicts carry over), and computes $y = x W^\top + b$ for a whole batch at once.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..autodiff import Tensor
from . import init as _init
from .functional import linear, linear_relu
from .module import Module, Parameter

INITS = {
    "auto": "auto",
    "xavier_uniform": "xavier_uniform",
    "glorot_uniform": "xavier_uniform",
    "xavier_normal": "xavier_normal",
    "glorot_normal": "xavier_normal",
    "kaiming_uniform": "kaiming_uniform",
    "he_uniform": "kaiming_uniform",
    "kaiming_normal": "kaiming_normal",
    "he_normal": "kaiming_normal",
    "pytorch": "pytorch",
    "zeros": "zeros",
}
"""Names accepted by ``Linear(init=...)`` (aliases map to the canonical name)."""

_FLOAT_DTYPES = ("float16", "float32", "float64")


def check_dtype(dtype) -> np.dtype:
    """``dtype`` as a floating NumPy dtype, or a ``TypeError`` naming what came."""
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype must be one of {_FLOAT_DTYPES}; got {dtype!r}") from err
    if dt.name not in _FLOAT_DTYPES:
        raise TypeError(f"dtype must be one of {_FLOAT_DTYPES}; got {dt.name}")
    return dt


class Linear(Module):
    r"""A fully connected layer: $y = x W^\top + b$.

    Parameters
    ----------
    in_features, out_features : int
        Inputs each neuron integrates, and the number of neurons.
    bias : bool, default True
        Give each neuron a bias $b_j$.
    dtype : numpy dtype, default float32
        The dtype of the parameters (float64 for gradient checks).
    init : str, default "auto"
        How the weights start. ``"auto"``: Glorot/Xavier uniform, and He/Kaiming uniform when
        a [`Sequential`][plainnet.nn.Sequential] puts a ReLU-family activation after the layer (see
        [`plainnet.nn.init`][plainnet.nn.init]); the bias starts at 0. ``"xavier_uniform"``,
        ``"xavier_normal"`` (aliases ``"glorot_*"``), ``"kaiming_uniform"``,
        ``"kaiming_normal"`` (aliases ``"he_*"``, gain $\sqrt 2$) choose explicitly
        with a zero bias; ``"pytorch"`` is PyTorch's default
        ($\mathcal U(\pm 1/\sqrt{\mathrm{fan\_in}})$ for weights and bias); ``"zeros"``
        starts every parameter at 0.

    Attributes
    ----------
    weight : Parameter, shape (out_features, in_features)
        Row ``j`` is neuron ``j``'s weight vector.
    bias : Parameter of shape (out_features,), or None
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype=np.float32,
        init: str = "auto",
    ):
        super().__init__()
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False; got {bias!r}")
        if not isinstance(init, str) or init.lower() not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {sorted(INITS)}")
        self.init = init.lower()
        dt = check_dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dt))
        self.bias = Parameter(np.zeros(self.out_features, dt)) if bias else None
        self._auto_fingerprint = None
        self._auto_rule = None
        self.reset_parameters()

    def reset_parameters(self, activation_rule: tuple | None = None) -> None:
        """Draw fresh weights by ``self.init``.

        ``activation_rule`` is the ``init_rule`` of the activation that follows the layer
        (used by ``init="auto"``): ``None`` for Glorot, or ``("kaiming", negative_slope)``.
        """
        method = INITS[self.init]
        w, b = self.weight, self.bias
        if method == "auto":
            if activation_rule is not None and activation_rule[0] == "kaiming":
                _init.kaiming_uniform_(w, a=activation_rule[1], nonlinearity="leaky_relu")
            else:
                _init.xavier_uniform_(w)
            self._auto_rule = activation_rule
            # no fingerprint of weights not drawn (skip_init): a loaded layer keeps its weights
            self._auto_fingerprint = None if _init.skipping() else hash(w.data.tobytes())
        elif method == "xavier_uniform":
            _init.xavier_uniform_(w)
        elif method == "xavier_normal":
            _init.xavier_normal_(w)
        elif method == "kaiming_uniform":
            _init.kaiming_uniform_(w, nonlinearity="relu")
        elif method == "kaiming_normal":
            _init.kaiming_normal_(w, nonlinearity="relu")
        elif method == "pytorch":
            _init.kaiming_uniform_(w, a=np.sqrt(5.0))
            if b is not None:
                bound = 1.0 / np.sqrt(self.in_features)
                _init.uniform_(b, -bound, bound)
                return
        else:
            _init.zeros_(w)
        if b is not None:
            _init.zeros_(b)

    def _initialize_for(self, activation_rule: tuple | None) -> None:
        """Re-initialize an ``init="auto"`` layer for the activation that follows it, but only
        while its weights are still the ones it drew itself (never after training or loading).
        """
        if self.init != "auto" or activation_rule == self._auto_rule:
            return
        fingerprint = self._auto_fingerprint
        if fingerprint is None or fingerprint != hash(self.weight.data.tobytes()):
            return
        self.reset_parameters(activation_rule)
        self._auto_fingerprint = None  # chosen for good: later containers leave it alone

    def forward(self, x):
        self._check_features(x)
        return linear(x, self.weight, self.bias)

    def forward_relu(self, x):
        """``relu(self(x))`` as one op
        ([`plainnet.nn.functional.linear_relu()`][plainnet.nn.functional.linear_relu]): what
        [`Sequential`][plainnet.nn.Sequential] runs for this layer and a ReLU after it."""
        if not isinstance(x, Tensor):
            x = Tensor(self._as_input(x))
        self._check_features(x)
        return linear_relu(x, self.weight, self.bias)

    def _check_features(self, x) -> None:
        if x.shape[-1:] != (self.in_features,):
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expects inputs whose last "
                f"axis has {self.in_features} features; got shape {x.shape}"
            )

    def get_config(self) -> dict:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "dtype": self.weight.dtype.name,
            "init": self.init,
        }

    def extra_repr(self) -> str:
        text = (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
        if self.weight.dtype != np.float32:
            text += f", dtype={self.weight.dtype.name}"
        if self.init != "auto":
            text += f", init={self.init!r}"
        return text
