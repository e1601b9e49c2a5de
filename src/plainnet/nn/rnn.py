r"""Recurrent layers: ``RNN``, ``LSTM`` and ``GRU``, with PyTorch's arguments, gate order, weight
layouts and parameter names (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``,
``..._reverse`` for the backward direction), so state dicts load both ways.

A recurrent layer is the notes' neuron applied again at every step of a sequence, integrating the
step's input *and* its own previous output: $h_t = \tanh(x_t W_{ih}^\top + b_{ih} +
h_{t-1} W_{hh}^\top + b_{hh})$. The LSTM and GRU add gates (sigmoid neurons whose outputs in
(0, 1) scale what is kept, forgotten and written), which let gradients survive long sequences.

Each layer and direction runs as one op with backpropagation through time written by hand
([`plainnet.nn.rnn_ops`][plainnet.nn.rnn_ops]); ``fused=False`` builds the same computation from
elementary ops instead, step by step, which is slower but can be differentiated twice. Tests check
they agree. """

from __future__ import annotations

import math
import numbers

import numpy as np

from .._validation import check_int
from ..autodiff import Tensor
from ..autodiff.ops import concatenate, matmul, relu, sigmoid, stack, tanh
from . import init as _init
from .dropout import Dropout
from .linear import check_dtype
from .module import Module, Parameter
from .rnn_ops import GATES, recurrent


class RNNBase(Module):
    """What `RNN`, `LSTM` and `GRU` share (see those).

    Parameters
    ----------
    input_size, hidden_size : int
        Features of each step's input, and of the state.
    num_layers : int, default 1
        Stacked layers; each later layer reads the previous one's output sequence.
    bias : bool, default True
    batch_first : bool, default False
        Inputs and outputs are ``(batch, time, features)`` instead of ``(time, batch, features)``.
    dropout : float, default 0
        Dropout on the output of every layer but the last, while training.
    bidirectional : bool, default False
        Also run each layer from the last step to the first; the outputs of the two directions
        are concatenated (``2 * hidden_size`` features).
    dtype : numpy dtype, default float32
    fused : bool, default True
        One op per layer and direction with a hand-written backward (fast), or the composition
        of elementary ops (differentiable twice).

    Notes
    -----
    Every weight and bias starts at $\\mathcal U(\\pm 1/\\sqrt{\\text{hidden\\_size}})$, as
    in PyTorch. An input without a batch axis, ``(time, features)``, is accepted and answered
    without one, as in PyTorch.
    """

    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype=np.float32, fused: bool = True):
        super().__init__()
        self.input_size = check_int(input_size, "input_size", minimum=1)
        self.hidden_size = check_int(hidden_size, "hidden_size", minimum=1)
        self.num_layers = check_int(num_layers, "num_layers", minimum=1)
        for name, flag in (("bias", bias), ("batch_first", batch_first),
                           ("bidirectional", bidirectional), ("fused", fused)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False; got {flag!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not (
                0.0 <= dropout <= 1.0):
            raise ValueError(f"dropout must be a number in [0, 1]; got {dropout!r}")
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.fused = bool(fused)
        dt = check_dtype(dtype)
        # not a sub-module, so the state dict keeps PyTorch's keys
        object.__setattr__(self, "_between", Dropout(self.dropout))
        gates = GATES[self.mode] * self.hidden_size
        for layer in range(self.num_layers):
            n_in = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            for suffix in self._suffixes(layer):
                setattr(self, "weight_ih" + suffix, Parameter(np.empty((gates, n_in), dt)))
                setattr(self, "weight_hh" + suffix,
                        Parameter(np.empty((gates, self.hidden_size), dt)))
                if self.bias:
                    setattr(self, "bias_ih" + suffix, Parameter(np.empty(gates, dt)))
                    setattr(self, "bias_hh" + suffix, Parameter(np.empty(gates, dt)))
        self.reset_parameters()

    @property
    def _dtype(self) -> np.dtype:
        return self.weight_ih_l0.dtype

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def reset_parameters(self) -> None:
        """Every parameter from $\\mathcal U(\\pm 1/\\sqrt{\\text{hidden\\_size}})$."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            _init.uniform_(p, -bound, bound)

    def _weights(self, suffix: str):
        get = self._parameters.get
        return (get("weight_ih" + suffix), get("weight_hh" + suffix), get("bias_ih" + suffix),
                get("bias_hh" + suffix))

    # -- running -----------------------------------------------------------------------
    def forward(self, input, hx=None):
        x, batched = self._time_major(input)
        h0, c0 = self._initial_state(hx, x, batched)
        finals_h, finals_c = [], []
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(self._suffixes(layer)):
                k = layer * self.num_directions + d
                out, h_n, c_n = self._run(x, h0[k], None if c0 is None else c0[k], suffix,
                                          reverse=d == 1)
                outputs.append(out)
                finals_h.append(h_n)
                finals_c.append(c_n)
            x = outputs[0] if len(outputs) == 1 else concatenate(outputs, axis=-1)
            if layer < self.num_layers - 1 and self.dropout > 0:
                self._between.training = self.training
                x = self._between(x)
        output = x.swapaxes(0, 1) if self.batch_first else x
        h_n = stack(finals_h)
        if not batched:
            output, h_n = output[:, 0] if not self.batch_first else output[0], h_n[:, 0]
        if self.mode != "LSTM":
            return output, h_n
        c_n = stack(finals_c)
        return output, (h_n, c_n if batched else c_n[:, 0])

    def _run(self, x, h0, c0, suffix: str, reverse: bool):
        w_ih, w_hh, b_ih, b_hh = self._weights(suffix)
        if not self.fused:
            return _composite(x, h0, c0, w_ih, w_hh, b_ih, b_hh, self.mode, reverse)
        out = recurrent(x, h0, c0, w_ih, w_hh, b_ih, b_hh, self.mode, reverse)
        T = x.shape[0]
        h_n = out[0] if reverse else out[T - 1]
        if self.mode == "LSTM":
            return out[:T], h_n, out[T]
        return out, h_n, None

    def _time_major(self, input):
        x = input if isinstance(input, Tensor) else Tensor(self._as_input(input))
        if x.ndim not in (2, 3):
            raise ValueError(
                f"{type(self).__name__} expects a sequence of shape (time, batch, features) "
                "(batch first with batch_first=True) or (time, features); got shape "
                f"{x.shape}"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}(input_size={self.input_size}) expects "
                f"{self.input_size} features per step; got shape {x.shape}"
            )
        if x.shape[0 if x.ndim == 2 or not self.batch_first else 1] == 0:
            raise ValueError(f"{type(self).__name__} got an empty sequence (shape {x.shape})")
        if x.dtype != self._dtype:
            x = x.astype(self._dtype)
        if x.ndim == 2:
            return x.reshape((x.shape[0], 1, x.shape[1])), False
        return (x.swapaxes(0, 1) if self.batch_first else x), True

    def _initial_state(self, hx, x, batched: bool):
        shape = (self.num_layers * self.num_directions, x.shape[1], self.hidden_size)
        if self.mode == "LSTM":
            if hx is None:
                return self._zeros(shape, x), self._zeros(shape, x)
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError("LSTM's initial state is a tuple (h_0, c_0)")
            return self._state(hx[0], shape, x, batched, "h_0"), self._state(
                hx[1], shape, x, batched, "c_0")
        if hx is None:
            return self._zeros(shape, x), None
        return self._state(hx, shape, x, batched, "h_0"), None

    def _zeros(self, shape, x):
        return Tensor(np.zeros_like(x.data, shape=shape))

    def _state(self, value, shape, x, batched: bool, name: str):
        t = value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=self._dtype))
        expected = shape if batched else (shape[0], shape[2])
        if t.shape != expected:
            raise ValueError(f"{type(self).__name__} expects {name} of shape {expected}; got "
                             f"{t.shape}")
        if t.dtype != self._dtype:
            t = t.astype(self._dtype)
        return t if batched else t.reshape(shape)

    def get_config(self) -> dict:
        config = {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bias": self.bias,
            "batch_first": self.batch_first,
            "dropout": self.dropout,
            "bidirectional": self.bidirectional,
            "dtype": self._dtype.name,
        }
        if not self.fused:
            config["fused"] = False
        return config


class RNN(RNNBase):
    r"""Elman recurrent layer: $h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1}
    W_{hh}^\top + b_{hh})$ (``nonlinearity="relu"``: ReLU instead of tanh).

    ``forward(input, h_0=None)`` returns ``(output, h_n)``: every step's state of the last
    layer ``(time, batch, D * hidden_size)`` and every layer's final state
    ``(D * num_layers, batch, hidden_size)``, ``D = 2`` if bidirectional. Arguments: see
    `RNNBase`.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, dtype=np.float32,
                 fused: bool = True):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
        object.__setattr__(self, "mode", "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, fused)
        self.nonlinearity = nonlinearity

    def get_config(self) -> dict:
        return {**super().get_config(), "nonlinearity": self.nonlinearity}


class LSTM(RNNBase):
    r"""Long short-term memory, PyTorch's gate order ``i, f, g, o``:

    $$
    i, f, o = \sigma(\cdot), \quad g = \tanh(\cdot), \quad
    c_t = f \odot c_{t-1} + i \odot g, \quad h_t = o \odot \tanh(c_t)
    $$

    each gate's argument being $x_t W_{i\cdot}^\top + b_{i\cdot} + h_{t-1}
    W_{h\cdot}^\top + b_{h\cdot}$. ``forward(input, (h_0, c_0)=None)`` returns
    ``(output, (h_n, c_n))``. Arguments: see `RNNBase`.
    """

    mode = "LSTM"


class GRU(RNNBase):
    r"""Gated recurrent unit, PyTorch's gate order ``r, z, n``:

    $$
    r, z = \sigma(\cdot), \quad
    n = \tanh(x_t W_{in}^\top + b_{in} + r \odot (h_{t-1} W_{hn}^\top + b_{hn})),
    \quad h_t = (1 - z) \odot n + z \odot h_{t-1}
    $$

    ``forward(input, h_0=None)`` returns ``(output, h_n)``. Arguments: see `RNNBase`.
    """

    mode = "GRU"


# --------------------------------------------------------------------------- composite
def _affine(x, w, b):
    out = matmul(x, w.T)
    return out if b is None else out + b


def _composite(x, h, c, w_ih, w_hh, b_ih, b_hh, mode, reverse):
    """The recurrence from elementary ops, step by step: the reference of the fused op."""
    T = x.shape[0]
    H = w_hh.shape[1]
    states = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        a_in = _affine(x[t], w_ih, b_ih)
        a_h = _affine(h, w_hh, b_hh)
        if mode in ("RNN_TANH", "RNN_RELU"):
            h = tanh(a_in + a_h) if mode == "RNN_TANH" else relu(a_in + a_h)
        elif mode == "LSTM":
            a = a_in + a_h
            i, f = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H])
            g, o = tanh(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])
            c = f * c + i * g
            h = o * tanh(c)
        else:
            r = sigmoid(a_in[:, :H] + a_h[:, :H])
            z = sigmoid(a_in[:, H : 2 * H] + a_h[:, H : 2 * H])
            n = tanh(a_in[:, 2 * H :] + r * a_h[:, 2 * H :])
            h = (1 - z) * n + z * h
        states[t] = h
    return stack(states), h, c
