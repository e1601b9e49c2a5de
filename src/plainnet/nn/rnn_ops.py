r"""The recurrent layers' ops: one layer in one direction over a whole sequence, as one graph
node whose backward is backpropagation through time written by hand.

Each op takes the sequence ``x`` time-major, ``(T, B, I)``, the initial state, and PyTorch's
weights (``w_ih`` of shape ``(G H, I)``, ``w_hh`` of shape ``(G H, H)``, biases ``(G H,)``, with
``G`` the number of gates in PyTorch's order). The input's contribution to every gate of every
step is one matrix product before the loop, $A = x W_{ih}^\top + b_{ih}$; each step then
adds $h W_{hh}^\top + b_{hh}$. The backward pass runs the steps in reverse, collects the
gradient of every step's pre-activations ``dA`` (and ``dA_h`` where it differs, in the GRU), and
finishes with one matrix product per weight:

$$
\frac{\partial L}{\partial W_{ih}} = dA^\top x, \quad
\frac{\partial L}{\partial W_{hh}} = dA_h^\top h_{prev}, \quad
\frac{\partial L}{\partial x} = dA\, W_{ih}.
$$

Cells (PyTorch's equations; $\sigma$ the sigmoid):

* RNN: $h' = \tanh(A_t + h W_{hh}^\top + b_{hh})$ (or ReLU).
* LSTM, gates ``i, f, g, o``: $c' = f c + i g$, $h' = o \tanh c'$.
* GRU, gates ``r, z, n``: $n = \tanh(A^n_t + r (h W_{hn}^\top + b_{hn}))$,
  $h' = (1 - z) n + z h$.

The output holds every step's ``h`` in the input's time order (for ``reverse=True`` the steps
run from the last to the first, so the final state is ``out[0]``); the LSTM's output has one more
row, the final cell state. The gradients are computed once for all arguments (the engine asks
for them one at a time) and kept in the op's ``cache``.
"""

from __future__ import annotations

import numpy as np

from .._blas import one_thread
from ..autodiff.engine import Op, Tensor, apply
from ..backend import matmul

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
"""How many gates (blocks of rows of the weights) each cell has."""


def _sigmoid(a):
    """$\\sigma(a) = (1 + \\tanh(a/2))/2$: stable for every float, one transcendental."""
    out = np.tanh(a * 0.5)
    out += 1.0
    out *= 0.5
    return out


def _steps(T: int, reverse: bool):
    return range(T - 1, -1, -1) if reverse else range(T)


def _input_part(x, w_ih, b_ih):
    T, B, _ = x.shape
    a = matmul(x.reshape(T * B, -1), w_ih.T)
    if b_ih is not None:
        a += b_ih
    return a.reshape(T, B, -1)


def _hidden_part(h, w_hh, b_hh):
    a = matmul(h, w_hh.T)
    if b_hh is not None:
        a += b_hh
    return a


# --------------------------------------------------------------------------- forward
def _rnn_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode, reverse, cache):
    T, B, _ = x.shape
    H = w_hh.shape[1]
    A = _input_part(x, w_ih, b_ih)
    rows = T + 1 if mode == "LSTM" else T
    out = np.empty_like(A, shape=(rows, B, H))
    h, c = h0, c0
    saved = {"h_prev": np.empty_like(out, shape=(T, B, H))}
    if mode == "LSTM":
        saved.update(gates=np.empty_like(A), c=np.empty_like(out, shape=(T, B, H)),
                     c_prev=np.empty_like(out, shape=(T, B, H)))
    elif mode == "GRU":
        saved.update(gates=np.empty_like(A), hn=np.empty_like(out, shape=(T, B, H)))
    with one_thread():  # one small product a step: see plainnet._blas
        for t in _steps(T, reverse):
            saved["h_prev"][t] = h
            a = A[t] + _hidden_part(h, w_hh, b_hh) if mode != "GRU" else None
            if mode == "RNN_TANH":
                h = np.tanh(a)
            elif mode == "RNN_RELU":
                h = np.maximum(a, 0)
            elif mode == "LSTM":
                h, c = _lstm_step(a, c, t, H, saved)
            else:
                h = _gru_step(A[t], h, w_hh, b_hh, t, H, saved)
            out[t] = h
    if mode == "LSTM":
        out[T] = c
    cache.clear()
    cache.update(saved)
    return out


def _lstm_step(a, c, t, H, saved):
    gates = saved["gates"][t]
    gates[:, : 2 * H] = _sigmoid(a[:, : 2 * H])
    gates[:, 2 * H : 3 * H] = np.tanh(a[:, 2 * H : 3 * H])
    gates[:, 3 * H :] = _sigmoid(a[:, 3 * H :])
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    saved["c_prev"][t] = c
    c = f * c + i * g
    saved["c"][t] = c
    return o * np.tanh(c), c


def _gru_step(a_in, h, w_hh, b_hh, t, H, saved):
    a_h = _hidden_part(h, w_hh, b_hh)
    gates = saved["gates"][t]
    gates[:, : 2 * H] = _sigmoid(a_in[:, : 2 * H] + a_h[:, : 2 * H])
    r, z = gates[:, :H], gates[:, H : 2 * H]
    hn = a_h[:, 2 * H :]
    saved["hn"][t] = hn
    gates[:, 2 * H :] = np.tanh(a_in[:, 2 * H :] + r * hn)
    n = gates[:, 2 * H :]
    return n + z * (h - n)


# --------------------------------------------------------------------------- backward
def _rnn_backward(g, out, x, h0, w_ih, w_hh, mode, reverse, saved):
    """Every gradient of the op: ``(dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh)``."""
    T, B, _ = x.shape
    H = w_hh.shape[1]
    dA = np.empty_like(g, shape=(T, B, GATES[mode] * H))
    dA_h = np.empty_like(dA) if mode == "GRU" else dA
    dh = np.zeros_like(h0)
    dc = g[T].copy() if mode == "LSTM" else None
    with one_thread():
        for t in _steps(T, not reverse):
            dh = dh + g[t]
            if mode == "RNN_TANH":
                dA[t] = dh * (1 - out[t] * out[t])
            elif mode == "RNN_RELU":
                dA[t] = dh * (out[t] > 0)
            elif mode == "LSTM":
                dc = _lstm_step_back(dA[t], dh, dc, saved, t, H)
            else:
                dh_direct = _gru_step_back(dA[t], dA_h[t], dh, saved, t, H)
            dh = matmul(dA_h[t], w_hh)
            if mode == "GRU":
                dh += dh_direct
    flat = dA.reshape(T * B, -1)
    flat_h = dA_h.reshape(T * B, -1)
    dx = matmul(flat, w_ih).reshape(x.shape)
    dw_ih = matmul(flat.T, x.reshape(T * B, -1))
    dw_hh = matmul(flat_h.T, saved["h_prev"].reshape(T * B, H))
    return dx, dh, dc, dw_ih, dw_hh, flat.sum(axis=0), flat_h.sum(axis=0)


def _lstm_step_back(dA, dh, dc, saved, t, H):
    gates = saved["gates"][t]
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    tc = np.tanh(saved["c"][t])
    dc = dc + dh * o * (1 - tc * tc)
    dA[:, :H] = dc * g * i * (1 - i)
    dA[:, H : 2 * H] = dc * saved["c_prev"][t] * f * (1 - f)
    dA[:, 2 * H : 3 * H] = dc * i * (1 - g * g)
    dA[:, 3 * H :] = dh * tc * o * (1 - o)
    return dc * f


def _gru_step_back(dA, dA_h, dh, saved, t, H):
    gates = saved["gates"][t]
    r, z, n = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    h_prev = saved["h_prev"][t]
    dn_pre = dh * (1 - z) * (1 - n * n)
    dA[:, :H] = dn_pre * saved["hn"][t] * r * (1 - r)
    dA[:, H : 2 * H] = dh * (h_prev - n) * z * (1 - z)
    dA[:, 2 * H :] = dn_pre
    dA_h[:, : 2 * H] = dA[:, : 2 * H]
    dA_h[:, 2 * H :] = dn_pre * r
    return dh * z


def _recurrent_vjp(i, g, out, x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode, reverse, cache):
    if isinstance(g, Tensor):
        raise NotImplementedError(
            "second derivatives through the fused recurrent op are not supported; build the "
            "layer with fused=False to differentiate its backward pass"
        )
    if cache.get("g") is not g:
        cache["grads"] = _rnn_backward(g, out, x, h0, w_ih, w_hh, mode, reverse, cache)
        cache["g"] = g
    return cache["grads"][i]


RECURRENT = Op("recurrent", _rnn_forward, _recurrent_vjp)


def recurrent(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode: str, reverse: bool = False):
    """One recurrent layer in one direction over the whole sequence ``x`` ``(T, B, I)``, as one
    op (see the module docstring). Returns ``(T, B, H)`` (``(T + 1, B, H)`` for the LSTM, the
    last row the final cell state)."""
    if mode not in GATES:
        raise ValueError(f"mode must be one of {sorted(GATES)}; got {mode!r}")
    return apply(RECURRENT, x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode=mode,
                 reverse=bool(reverse), cache={})
