r"""``MultiheadAttention``: several attention heads side by side (PyTorch's layout).

Each head projects the inputs to its own queries, keys and values and computes
[`scaled_dot_product_attention()`][plainnet.nn.functional.scaled_dot_product_attention]; the heads'
outputs are put side by side and mixed by one more linear map:

$$
\mathrm{head}_h = \mathrm{softmax}\!\Big(\frac{(X W_Q^h)(X W_K^h)^\top}{\sqrt d}
\Big) X W_V^h, \qquad Y = [\mathrm{head}_1, \dots, \mathrm{head}_H]\, W_O^\top + b_O
$$

The query, key and value weights of all heads are one ``in_proj_weight`` ``(3E, E)`` (rows
``0..E`` the queries, then keys, then values; head ``h`` uses rows ``h d .. (h+1) d`` of each
block) and the output map is ``out_proj``, so state dicts load into ``torch.nn.
MultiheadAttention`` and back.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend as _backend
from .._validation import check_int
from ..autodiff import Tensor, ops
from . import init as _init
from .functional import linear
from .linear import Linear, check_dtype
from .module import Module, Parameter
from .sequence_ops import _causal_bias, packed_attention, scaled_dot_product_attention


def _mask_array(mask, name: str):
    if mask is None:
        return None
    arr = mask.data if isinstance(mask, Tensor) else mask
    if not _backend.is_device_array(arr):
        arr = np.asarray(arr)
    if arr.dtype != bool and arr.dtype.kind != "f":
        raise TypeError(f"{name} must be boolean or floating-point; got dtype {arr.dtype}")
    return arr


def _as_bias(mask, dtype):
    """A PyTorch MultiheadAttention mask (boolean: True = NOT allowed) as an additive bias."""
    if mask.dtype == bool:
        xp = np if type(mask) is np.ndarray else _backend.array_module(mask)
        return xp.where(mask, dtype.type(-np.inf), dtype.type(0))
    return mask.astype(dtype, copy=False)


class MultiheadAttention(Module):
    r"""Multi-head attention (PyTorch's ``nn.MultiheadAttention``).

    Parameters
    ----------
    embed_dim : int
        Features of the queries (and of the output).
    num_heads : int
        Heads; ``embed_dim`` must be divisible by it (each head has ``embed_dim //
        num_heads`` features).
    dropout : float, default 0.0
        Dropout on the attention weights, in training mode.
    bias : bool, default True
        Biases for the input and output projections.
    batch_first : bool, default False
        Inputs and outputs are ``(N, L, E)`` instead of PyTorch's default ``(L, N, E)``.
    dtype : numpy dtype, default float32

    Notes
    -----
    Parameters of the module: ``in_proj_weight`` ``(3E, E)`` (Xavier uniform),
    ``in_proj_bias`` ``(3E,)`` (zeros), ``out_proj.weight``, ``out_proj.bias`` (zeros).
    ``kdim``/``vdim`` other than ``embed_dim``, ``add_bias_kv`` and ``add_zero_attn`` are not
    supported.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``. Masks follow
    PyTorch's MultiheadAttention: a boolean ``attn_mask`` ``(L, S)`` or ``(N * H, L, S)`` and
    ``key_padding_mask`` ``(N, S)`` are True where attending is *not* allowed; float masks
    are added to the scores. ``is_causal=True`` applies the causal mask (no ``attn_mask``
    needed). ``weights`` is ``None`` unless ``need_weights``; then it is ``(N, L, S)``
    averaged over the heads (or ``(N, H, L, S)``) and differentiable, computed with separate
    ops (pass ``need_weights=False`` for the fused, faster path).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, dtype=np.float32):
        super().__init__()
        self.embed_dim = check_int(embed_dim, "embed_dim", minimum=1)
        self.num_heads = check_int(num_heads, "num_heads", minimum=1)
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"embed_dim must be divisible by num_heads; got {embed_dim} and {num_heads}"
            )
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) or vdim not in (
            None, embed_dim
        ):
            raise ValueError(
                "MultiheadAttention supports kdim = vdim = embed_dim without add_bias_kv or "
                "add_zero_attn"
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        dt = check_dtype(dtype)
        e = self.embed_dim
        self.in_proj_weight = Parameter(np.empty((3 * e, e), dt))
        self.in_proj_bias = Parameter(np.zeros(3 * e, dt)) if bias else None
        self.out_proj = Linear(e, e, bias=bias, dtype=dt, init="pytorch")
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        _init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            _init.zeros_(self.in_proj_bias)
            _init.zeros_(self.out_proj.bias)

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads

    def __call__(self, query, key=None, value=None, **kwargs):
        q = self._tensor(query)  # all three as Tensors, keeping self-attention recognizable
        k = q if key is None or key is query else self._tensor(key)
        v = k if value is None or value is key else (q if value is query else self._tensor(value))
        return super().__call__(q, k, v, **kwargs)

    def forward(self, query, key=None, value=None, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        key = query if key is None else key
        value = key if value is None else value
        q, k, v = (self._batch_first(self._tensor(t), name)
                   for t, name in ((query, "query"), (key, "key"), (value, "value")))
        unbatched = q.ndim == 2
        if unbatched:
            q, k, v = (t.reshape((1,) + t.shape) for t in (q, k, v))
        n, length, _ = q.shape
        if k.shape[:-1] != v.shape[:-1] or k.shape[0] != n:
            raise ValueError(
                "key and value need the same batch and length, and the query's batch; got "
                f"query {q.shape}, key {k.shape}, value {v.shape} (batch first)"
            )
        bias = self._bias(attn_mask, key_padding_mask, n, length, k.shape[1], unbatched)
        causal = bool(is_causal) and attn_mask is None  # with a mask, is_causal is a hint
        if causal and bias is not None:
            bias = bias + _causal_bias(length, k.shape[1], bias)
            causal = False
        p = self.dropout if self.training else 0.0
        if query is key and key is value and not need_weights:
            qkv = linear(q, self.in_proj_weight, self.in_proj_bias)
            heads = packed_attention(qkv, self.num_heads, attn_mask=bias, is_causal=causal,
                                     dropout_p=p)
            weights = None
        else:
            heads, weights = self._attention(q, k, v, bias, causal, p, need_weights)
        out = self.out_proj(heads)
        if weights is not None and average_attn_weights:
            weights = weights.mean(axis=1)
        if unbatched:
            out = out.reshape(out.shape[1:])
            weights = None if weights is None else weights.reshape(weights.shape[1:])
        elif not self.batch_first:
            out = out.swapaxes(0, 1)
        return out, weights

    def _tensor(self, x) -> Tensor:
        if isinstance(x, Tensor):
            return x
        return Tensor(self._as_input(x))

    def _batch_first(self, t: Tensor, name: str) -> Tensor:
        if t.ndim not in (2, 3) or t.shape[-1] != self.embed_dim:
            raise ValueError(
                f"MultiheadAttention({self.embed_dim}, {self.num_heads}) expects {name} of "
                f"shape (L, N, {self.embed_dim}) ((N, L, E) with batch_first) or (L, "
                f"{self.embed_dim}); got {t.shape}"
            )
        return t.swapaxes(0, 1) if t.ndim == 3 and not self.batch_first else t

    def _bias(self, attn_mask, key_padding_mask, n, length, source, unbatched):
        """The masks as one additive bias broadcasting to ``(N, H, L, S)``, or None."""
        dtype = self.in_proj_weight.dtype
        bias = None
        am = _mask_array(attn_mask, "attn_mask")
        if am is not None:
            if am.shape == (length, source):
                bias = _as_bias(am, dtype)
            elif am.ndim == 3 and am.shape == (n * self.num_heads, length, source):
                bias = _as_bias(am, dtype).reshape(n, self.num_heads, length, source)
            else:
                raise ValueError(
                    f"attn_mask must be ({length}, {source}) or ({n * self.num_heads}, "
                    f"{length}, {source}); got {am.shape}"
                )
        kpm = _mask_array(key_padding_mask, "key_padding_mask")
        if kpm is not None:
            expected = (source,) if unbatched else (n, source)
            if kpm.shape != expected:
                raise ValueError(f"key_padding_mask must be {expected}; got {kpm.shape}")
            padding = _as_bias(kpm, dtype).reshape(n, 1, 1, source)
            bias = padding if bias is None else bias + padding
        if bias is not None:
            bias = _backend.match_device(bias, self.in_proj_weight.data, "the attention mask")
        return bias

    def _project(self, x, j):
        e = self.embed_dim
        w = self.in_proj_weight[j * e:(j + 1) * e]
        b = None if self.in_proj_bias is None else self.in_proj_bias[j * e:(j + 1) * e]
        t = linear(x, w, b)
        n, length, _ = t.shape
        return t.reshape(n, length, self.num_heads, self.head_dim).transpose((0, 2, 1, 3))

    def _attention(self, q, k, v, bias, is_causal, p, need_weights):
        """Attention with separate ops for the projections; the weights are returned when
        ``need_weights`` (then the softmax is its own differentiable op too)."""
        qh, kh, vh = self._project(q, 0), self._project(k, 1), self._project(v, 2)
        n, _, length, _ = qh.shape
        if need_weights:
            scores = ops.matmul(qh, kh.swapaxes(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
            if is_causal:
                scores = scores + _causal_bias(length, kh.shape[2], qh.data)
            if bias is not None:
                scores = scores + bias
            weights = scores.softmax(axis=-1)
            dropped = weights
            if p > 0:
                from .dropout import Dropout

                dropped = Dropout(p)(weights)
            heads = ops.matmul(dropped, vh)
        else:
            heads = scaled_dot_product_attention(qh, kh, vh, attn_mask=bias, dropout_p=p,
                                                 is_causal=is_causal)
            weights = None
        heads = heads.transpose((0, 2, 1, 3)).reshape(n, length, self.embed_dim)
        return heads, weights

    def get_config(self) -> dict:
        return {
            "embed_dim": self.embed_dim,
            "num_heads": self.num_heads,
            "dropout": self.dropout,
            "bias": self.in_proj_bias is not None,
            "batch_first": self.batch_first,
            "dtype": self.in_proj_weight.dtype.name,
        }

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
