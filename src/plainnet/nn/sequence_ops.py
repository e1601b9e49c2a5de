r"""Fused ops of the sequence layers: embedding lookup, layer and RMS normalization, GELU and
scaled dot-product attention, each one graph node with a hand-written backward.

Each op is a forward on arrays and a vjp beside it, like
[`plainnet.autodiff.ops`][plainnet.autodiff.ops]. The engine asks each vjp for the gradient of one
argument at a time; what the arguments share (the normalized input, the attention's softmax and its
gradient) is computed once per upstream gradient and kept in the op's ``cache``. When the backward
pass is itself differentiated (``create_graph=True``) the vjps recompute from the Tensors with plain
ops, so second derivatives are exact too.

These functions are exported by [`plainnet.nn.functional`][plainnet.nn.functional].
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend as _backend
from ..autodiff import ops
from ..autodiff.engine import Op, Tensor, apply
from ..backend import matmul

__all__ = [
    "embedding",
    "gelu",
    "layer_norm",
    "packed_attention",
    "rms_norm",
    "scaled_dot_product_attention",
]


def _xp(a):
    a = a.data if isinstance(a, Tensor) else a
    return np if type(a) is np.ndarray else _backend.array_module(a)


def _fresh(cache: dict, g) -> dict:
    """The part of ``cache`` that belongs to the upstream gradient ``g`` (emptied when a new
    ``g`` comes, e.g. on a second backward with ``retain_graph``)."""
    if cache.get("g") is not g:
        cache.clear()
        cache["g"] = g
    return cache


# --------------------------------------------------------------------------- embedding
_ONE_HOT_MAX = 1024  # up to this many rows the backward is a one-hot matrix product


def _embedding_forward(weight, indices, padding_idx):
    if type(weight) is np.ndarray:
        return np.take(weight, indices, axis=0)
    return weight[indices]


def _embedding_grad(g, indices, n_rows: int):
    r"""$G_r = \sum_{i: idx_i = r} g_i$: the rows of ``g`` summed by index."""
    dim = g.shape[-1]
    g2 = g.reshape(-1, dim)
    flat = indices.reshape(-1)
    xp = _xp(g2)
    if n_rows <= _ONE_HOT_MAX:  # (rows, n) one-hot times (n, dim): one GEMM
        one_hot = (xp.arange(n_rows).reshape(-1, 1) == flat.reshape(1, -1)).astype(g2.dtype)
        return matmul(one_hot, g2)
    out = xp.zeros((n_rows, dim), dtype=g2.dtype)
    if xp is not np:
        _backend.add_at(out, flat, g2)
        return out
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    out[ordered[starts]] = np.add.reduceat(g2[order], starts, axis=0)
    return out


def _embedding_vjp(i, g, out, weight, indices, padding_idx):
    if i != 0:
        return None
    if isinstance(g, Tensor):  # differentiable: a scatter of g's rows
        grad = ops.scatter_add(g.reshape(-1, g.shape[-1]), indices.reshape(-1),
                               weight.shape)
    else:
        grad = _embedding_grad(g, indices, weight.shape[0])
    if padding_idx is not None:
        keep = _xp(grad).ones((weight.shape[0], 1), dtype=weight.dtype)
        keep[padding_idx] = 0
        grad = grad * keep
    return grad


EMBEDDING = Op("embedding", _embedding_forward, _embedding_vjp)


def embedding(indices, weight, padding_idx: int | None = None):
    r"""Rows of ``weight`` at integer ``indices``: ``out[..., :] = weight[indices[...], :]``.

    The same as multiplying a one-hot row $e_{idx}$ by ``weight`` (a layer of linear
    neurons whose input is one-hot), so the gradient of row $r$ is the sum of the
    output gradients at every position whose index is $r$ (repeats accumulate); the
    row ``padding_idx``, if given, gets none. ``indices`` is an integer array (or Tensor) on
    ``weight``'s device; values are not checked here ([`Embedding`][plainnet.nn.Embedding] does).
    """
    idx = indices.data if isinstance(indices, Tensor) else indices
    return apply(EMBEDDING, weight, idx, padding_idx)


# --------------------------------------------------------------------------- normalization
def _norm_forward(x, weight, bias, n_axes, eps, rms, cache):
    d = math.prod(x.shape[x.ndim - n_axes:])
    x2 = x.reshape(-1, d)
    if rms:
        centered = x2
    else:  # a row mean as a matrix-vector product: BLAS, several times faster than mean()
        mean = matmul(x2, _xp(x2).ones(d, dtype=x2.dtype)).reshape(-1, 1)
        mean *= 1.0 / d
        centered = x2 - mean
    var = np.einsum("ij,ij->i", centered, centered).reshape(-1, 1)  # no squared temporary
    var *= 1.0 / d
    var += eps
    rstd = 1.0 / np.sqrt(var)
    if rms:
        xhat = centered * rstd
    else:
        centered *= rstd
        xhat = centered
    cache.clear()
    cache.update(xhat=xhat, rstd=rstd)
    if weight is None:
        out = xhat.copy()  # the cached xhat stays the vjp's own
    else:
        out = xhat * weight.reshape(-1)
        if bias is not None:
            out += bias.reshape(-1)
    return out.reshape(x.shape)


def _norm_vjp_tensors(i, g, x, weight, n_axes, eps, rms):
    """The vjp written with Tensor ops (for ``create_graph``)."""
    axes = tuple(range(x.ndim - n_axes, x.ndim))
    centered = x if rms else x - x.mean(axis=axes, keepdims=True)
    rstd = ((centered * centered).mean(axis=axes, keepdims=True) + eps) ** -0.5
    xhat = centered * rstd
    lead = tuple(range(x.ndim - n_axes))
    if i == 1:
        return (g * xhat).sum(axis=lead)
    if i == 2:
        return g.sum(axis=lead)
    gw = g if weight is None else g * weight
    inner = gw - xhat * (gw * xhat).mean(axis=axes, keepdims=True)
    if not rms:
        inner = inner - gw.mean(axis=axes, keepdims=True)
    return rstd * inner


def _norm_vjp(i, g, out, x, weight, bias, n_axes, eps, rms, cache):
    if isinstance(g, Tensor) or "xhat" not in cache:
        return _norm_vjp_tensors(i, g, x, weight, n_axes, eps, rms)
    xhat, rstd = cache["xhat"], cache["rstd"]
    d = xhat.shape[1]
    g2 = g.reshape(-1, d)
    if i == 1:  # sum over rows of g * xhat, without the product as a temporary
        return np.einsum("ij,ij->j", g2, xhat).reshape(weight.shape)
    if i == 2:  # column sums as a vector-matrix product
        return matmul(_xp(g2).ones(g2.shape[0], dtype=g2.dtype), g2).reshape(bias.shape)
    gw = g2 if weight is None else g2 * weight.reshape(-1)
    dot = np.einsum("ij,ij->i", gw, xhat).reshape(-1, 1)
    dot *= 1.0 / d
    gx = xhat * dot
    np.subtract(gw, gx, out=gx)
    if not rms:
        mean = matmul(gw, _xp(gw).ones(d, dtype=gw.dtype)).reshape(-1, 1)
        mean *= 1.0 / d
        gx -= mean
    gx *= rstd
    return gx.reshape(x.shape)


NORM = Op("norm", _norm_forward, _norm_vjp)


def _normalized_axes(x, normalized_shape, *params) -> int:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape or len(shape) > x.ndim:
        raise ValueError(
            f"normalized_shape {shape} must be the last axes of the input; got an input of "
            f"shape {x.shape}"
        )
    for p in params:
        if p is not None and tuple(p.shape) != shape:
            raise ValueError(
                f"weight and bias must have the normalized shape {shape}; got {p.shape}"
            )
    return len(shape)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    r"""Layer normalization over the last ``len(normalized_shape)`` axes, as one op.

    $$
    \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \quad
    y = \gamma \odot \hat x + \beta, \qquad
    \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2+\epsilon}}
    \left(\hat g - \overline{\hat g} - \hat x\,\overline{\hat g \hat x}\right)
    $$

    with $\mu, \sigma^2$ the mean and biased variance of each sample over those axes,
    $\hat g = \gamma \odot g$ and bars means over the same axes;
    $\partial L/\partial\gamma = \sum g \hat x$, $\partial L/\partial\beta =
    \sum g$ (sums over the leading axes). PyTorch's ``F.layer_norm``.
    """
    n_axes = _normalized_axes(x, normalized_shape, weight, bias)
    return apply(NORM, x, weight, bias, n_axes=n_axes, eps=float(eps), rms=False, cache={})


def rms_norm(x, normalized_shape, weight=None, eps: float | None = None):
    r"""Root-mean-square normalization over the last axes, as one op (PyTorch's
    ``F.rms_norm``).

    $$
    y = \gamma \odot \frac{x}{\sqrt{\overline{x^2} + \epsilon}}, \qquad
    \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\overline{x^2}+\epsilon}}
    \left(\hat g - \hat x\,\overline{\hat g \hat x}\right)
    $$

    ``eps=None`` is the machine epsilon of the input's dtype, as in PyTorch.
    """
    n_axes = _normalized_axes(x, normalized_shape, weight)
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    return apply(NORM, x, weight, None, n_axes=n_axes, eps=float(eps), rms=True, cache={})


# --------------------------------------------------------------------------- GELU
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


# Eigen's and XLA's float32 erf: x P(x^2) / Q(x^2) on [-4, 4] (erf is +-1 in float32 beyond),
# within 4e-7 of erf; several times faster in NumPy than scipy's erf, which works in float64
_ERF_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
          -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
          -1.60960333262415e-02)
_ERF_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
          -7.37332916720468e-03, -1.42647390514189e-02)


def _horner(x2, coefficients):
    out = x2 * coefficients[0]
    for c in coefficients[1:-1]:
        out += c
        out *= x2
    out += coefficients[-1]
    return out


def _erf_float32(x):
    """erf of a float32 NumPy array by the rational approximation above."""
    xc = np.clip(x, -4.0, 4.0)
    x2 = xc * xc
    p = _horner(x2, _ERF_P)
    p *= xc
    p /= _horner(x2, _ERF_Q)
    return p


def _gelu_cdf(x, approximate: str):
    if approximate == "tanh":
        u = x * x
        u *= 0.044715
        u += 1.0
        u *= x
        u *= _SQRT_2_OVER_PI
        return np.tanh(u, out=u)  # tanh(c (x + 0.044715 x^3)); the cdf is (1 + it) / 2
    scaled = x * (1.0 / math.sqrt(2.0))
    if type(x) is np.ndarray and x.dtype == np.float32:
        return _erf_float32(scaled)
    from ..functions.activations import _erf

    return _erf(scaled)


def _gelu_forward(x, approximate, cache):
    t = _gelu_cdf(x, approximate)  # tanh(u) or erf(x / sqrt 2)
    cache.clear()
    cache["t"] = t
    out = t + 1.0
    out *= x
    out *= 0.5
    return out


def _gelu_vjp(i, g, out, x, approximate, cache):
    if isinstance(g, Tensor) or "t" not in cache:
        return _gelu_derivative_tensor(g, x, approximate)
    t = cache["t"]
    # two new arrays, every other step in place: large temporaries cost page faults
    d = x * x
    if approximate == "tanh":
        # d/dx [x (1 + t)/2] = (1 + t)/2 + x (1 - t^2) c (1 + 3 a x^2) / 2
        d *= 3 * 0.044715 * _SQRT_2_OVER_PI
        d += _SQRT_2_OVER_PI
        d *= x
        one_minus = t * t
        np.subtract(1.0, one_minus, out=one_minus)
        d *= one_minus
    else:  # Phi(x) + x phi(x), with Phi = (1 + t) / 2
        d *= -0.5
        np.exp(d, out=d)
        d *= x
        d *= 2.0 / math.sqrt(2.0 * math.pi)  # doubled: halved with (1 + t) below
    d += t
    d += 1.0
    d *= 0.5
    d *= g
    return d


def _gelu_derivative_tensor(g, x, approximate):
    """``g gelu'(x)`` written with Tensor ops (for ``create_graph``)."""
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = ops.tanh(u)
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
    else:
        d = 0.5 * (1 + ops.erf(x * (1.0 / math.sqrt(2.0)))) + x * ops.exp(-0.5 * x * x) * (
            1.0 / math.sqrt(2.0 * math.pi)
        )
    return g * d


GELU = Op("gelu", _gelu_forward, _gelu_vjp)


def gelu(x, approximate: str = "none"):
    r"""The Gaussian error linear unit as one op (PyTorch's ``F.gelu``).

    $$
    \mathrm{gelu}(x) = x\,\Phi(x), \qquad \mathrm{gelu}'(x) = \Phi(x) + x\,\varphi(x)
    $$

    ``approximate="tanh"``: $\Phi(x) \approx \tfrac12(1 + \tanh(\sqrt{2/\pi}(x +
    0.044715 x^3)))$, which NumPy evaluates faster still. For float32 arrays on the CPU,
    $\mathrm{erf}$ is the rational approximation of Eigen and XLA (within
    $4 \cdot 10^{-7}$, a few float32 units); float64 and GPU arrays use the exact one.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh'; got {approximate!r}")
    if not isinstance(x, Tensor):
        x = Tensor(x)
    return apply(GELU, x, approximate=approximate, cache={})


# --------------------------------------------------------------------------- attention
_CAUSAL: dict = {}


def _causal_bias(n_q: int, n_k: int, like):
    """``0`` on and below the diagonal, ``-inf`` above (PyTorch's ``is_causal``: query ``i``
    sees keys ``j <= i``), in ``like``'s dtype and device; kept for reuse."""
    key = (n_q, n_k, like.dtype.str, _backend.device_of(like))
    found = _CAUSAL.get(key)
    if found is None:
        if len(_CAUSAL) > 32:
            _CAUSAL.clear()
        bias = np.triu(np.full((n_q, n_k), -np.inf, dtype=like.dtype), k=1)
        if type(like) is not np.ndarray:
            bias = _backend.to_device(bias, _backend.device_of(like))
        found = _CAUSAL[key] = bias
    return found


def _additive(mask, like):
    """An attention mask as an additive bias in ``like``'s dtype: a boolean mask (True =
    take part) becomes 0 / -inf; a float mask is added as it is."""
    if mask.dtype == bool:
        xp = _xp(like)
        return xp.where(mask, like.dtype.type(0), like.dtype.type(-np.inf))
    return mask if mask.dtype == like.dtype else mask.astype(like.dtype)


def _attention_weights(q, k, bias, causal, scale):
    """``softmax(q k^T scale + bias)`` over the keys, stable; a row with every key masked
    gives weights of 0 (not NaN)."""
    s = matmul(q, k.swapaxes(-1, -2))
    s *= scale
    if causal:
        s += _causal_bias(s.shape[-2], s.shape[-1], s)
    if bias is not None:
        if np.broadcast_shapes(s.shape, bias.shape) == s.shape:
            s += bias
        else:  # the mask has more batch axes than query and key
            s = s + bias
    m = s.max(axis=-1, keepdims=True)
    if bias is not None:  # a fully masked row has max -inf: keep it from making NaN
        m = _xp(m).where(m == -np.inf, m.dtype.type(0), m)
    s -= m
    np.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    if bias is not None:
        total = _xp(total).where(total == 0, total.dtype.type(1), total)
    s /= total
    return s


def _sdpa_forward(q, k, v, bias, causal, scale, keep, cache):
    p = _attention_weights(q, k, bias, causal, scale)
    cache.clear()
    cache["p"] = p
    return matmul(p if keep is None else p * keep, v)


def _sdpa_grads(g, q, k, v, keep, scale, p):
    """``(dq, dk, dv)`` from the weights ``p`` (arrays; the products' results are updated in
    place, not copied)."""
    dropped = p if keep is None else p * keep
    dv = matmul(dropped.swapaxes(-1, -2), g)
    ds = matmul(g, v.swapaxes(-1, -2))  # dA, then dS = A (dA - sum(dA A)) in place
    if keep is not None:
        ds *= keep
    row = np.einsum("...ij,...ij->...i", ds, p)[..., None]
    ds -= row
    ds *= p
    dq = matmul(ds, k)
    dq *= scale
    dk = matmul(ds.swapaxes(-1, -2), q)
    dk *= scale
    return dq, dk, dv


def _sdpa_vjp(i, g, out, q, k, v, bias, causal, scale, keep, cache):
    if i > 2:
        return None
    if isinstance(g, Tensor) or "p" not in cache:
        s = ops.matmul(q, ops.swapaxes(k, -1, -2)) * scale
        if causal:
            s = s + _causal_bias(s.shape[-2], s.shape[-1], s.data)
        if bias is not None:
            s = s + bias
        p = ops.softmax(s, axis=-1)
        return _sdpa_tensor_grads(g, q, k, v, keep, scale, p)[i]
    part = _fresh(cache.setdefault("grads", {}), g)
    if "all" not in part:
        part["all"] = _sdpa_grads(g, q, k, v, keep, scale, cache["p"])
    return part["all"][i]


def _sdpa_tensor_grads(g, q, k, v, keep, scale, p):
    """`_sdpa_grads()` with differentiable ops (for ``create_graph``)."""
    dropped = p if keep is None else p * keep
    dv = ops.matmul(ops.swapaxes(dropped, -1, -2), g)
    dp = ops.matmul(g, ops.swapaxes(v, -1, -2))
    if keep is not None:
        dp = dp * keep
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    dq = ops.matmul(ds, k) * scale
    dk = ops.matmul(ops.swapaxes(ds, -1, -2), q) * scale
    return dq, dk, dv


SDPA = Op("scaled_dot_product_attention", _sdpa_forward, _sdpa_vjp)


def _check_attention_shapes(q, k, v) -> None:
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
        raise ValueError(
            "scaled_dot_product_attention expects query, key and value of the same rank >= 2 "
            f"(..., length, features); got shapes {q.shape}, {k.shape}, {v.shape}"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            "query and key need the same number of features and key and value the same "
            f"length; got query {q.shape}, key {k.shape}, value {v.shape}"
        )


def _as_tensor(x, name: str) -> Tensor:
    if isinstance(x, Tensor):
        t = x
    else:
        t = Tensor(x)
    if t.dtype.kind != "f":
        raise TypeError(f"{name} must be floating-point; got dtype {t.dtype}")
    return t


def _mask_bias(attn_mask, like, weights_shape):
    """``attn_mask`` (None, boolean or float; array or Tensor) as an additive bias on
    ``like``'s device, after checking that it broadcasts to ``weights_shape``."""
    if attn_mask is None:
        return None
    mask = attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask
    if not _backend.is_device_array(mask):
        mask = np.asarray(mask)
    if mask.dtype != bool and mask.dtype.kind != "f":
        raise TypeError(f"attn_mask must be boolean or floating-point; got {mask.dtype}")
    try:
        np.broadcast_shapes(mask.shape, weights_shape)
    except ValueError:
        raise ValueError(
            f"attn_mask of shape {mask.shape} does not broadcast to the attention weights' "
            f"shape {weights_shape}"
        ) from None
    return _additive(_backend.match_device(mask, like, "attn_mask"), like)


def scaled_dot_product_attention(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    rng=None,
):
    r"""Attention as one op: each query's output is a weighted sum of the values, with
    weights a softmax of the query's dot products with the keys.

    $$
    A = \mathrm{softmax}\!\left(s\, Q K^\top + M\right), \qquad O = A V
    $$

    over the last axis (the keys), with $s$ = ``scale`` (default
    $1/\sqrt{d}$, ``d`` = the query's features) and $M$ the mask: a boolean
    ``attn_mask`` (True = the query may attend to the key, as in PyTorch) becomes 0 / -inf, a
    float one is added as it is; ``is_causal`` lets query ``i`` see keys ``j <= i`` only.
    The softmax subtracts each row's maximum first (stable); a row whose keys are all masked
    gets weights 0 (PyTorch's math kernel gives NaN there). The backward pass is

    $$
    dV = A^\top G, \quad dA = G V^\top, \quad
    dS = A \odot (dA - \textstyle\sum_j dA \odot A), \quad
    dQ = s\, dS\, K, \quad dK = s\, dS^\top Q
    $$

    with the weights $A$ kept from the forward pass. Shapes: query ``(..., L, E)``, key ``(..., S,
    E)``, value ``(..., S, Ev)``; the mask broadcasts to ``(..., L, S)``. ``dropout_p`` drops
    weights at random (scaled by $1/(1-p)$), drawn from ``rng`` (default:
    [`plainnet.random.get_rng()`][plainnet.random.get_rng]); it is applied whenever ``dropout_p >
    0``, as in PyTorch, so pass 0 in evaluation. The mask is a constant (not differentiated). """
    q = _as_tensor(query, "query")
    k = _as_tensor(key, "key")
    v = _as_tensor(value, "value")
    _check_attention_shapes(q, k, v)
    if not 0.0 <= float(dropout_p) < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1); got {dropout_p!r}")
    if attn_mask is not None and is_causal:
        raise ValueError("give attn_mask or is_causal=True, not both (as PyTorch)")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    bias = _mask_bias(attn_mask, q.data, q.shape[:-1] + (k.shape[-2],))
    keep = None
    if dropout_p > 0:
        from ..random import get_rng

        n_q, n_k = q.shape[-2], k.shape[-2]
        shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (n_q, n_k)
        draws = get_rng(rng).random(shape, dtype=np.float64) >= dropout_p
        keep = np.multiply(draws, 1.0 / (1.0 - dropout_p), dtype=q.dtype)
        if type(q.data) is not np.ndarray:
            keep = _backend.match_device(keep, q.data, "attention dropout")
    return apply(SDPA, q, k, v, bias, causal=bool(is_causal), scale=scale, keep=keep,
                 cache={})


# --------------------------------------------------------------------------- packed heads
def _split_heads(qkv, heads: int):
    """Views ``q, k, v`` of shape ``(N, heads, L, d)`` into a packed ``(N, L, 3 E)`` array:
    strided, not copied (each head's rows are a matrix with a leading dimension)."""
    n, length, e3 = qkv.shape
    parts = qkv.reshape(n, length, 3, heads, e3 // (3 * heads))
    return tuple(parts[:, :, j].transpose(0, 2, 1, 3) for j in range(3))


def _packed_forward(qkv, heads, bias, causal, scale, keep, cache):
    q, k, v = _split_heads(qkv, heads)
    p = _attention_weights(q, k, bias, causal, scale)
    cache.clear()
    cache["p"] = p
    out = matmul(p if keep is None else p * keep, v)  # (N, heads, L, d)
    n, length, e3 = qkv.shape
    return out.transpose(0, 2, 1, 3).reshape(n, length, e3 // 3)


def _packed_vjp(i, g, out, qkv, heads, bias, causal, scale, keep, cache):
    if i != 0:
        return None
    n, length, e3 = qkv.shape
    g4 = g.reshape(n, length, heads, e3 // (3 * heads))
    if isinstance(g, Tensor) or "p" not in cache:
        parts = ops.reshape(qkv, (n, length, 3, heads, e3 // (3 * heads)))
        q, k, v = (ops.transpose(parts[:, :, j], (0, 2, 1, 3)) for j in range(3))
        s = ops.matmul(q, ops.swapaxes(k, -1, -2)) * scale
        if causal:
            s = s + _causal_bias(length, length, s.data)
        if bias is not None:
            s = s + bias
        grads = _sdpa_tensor_grads(ops.transpose(g4, (0, 2, 1, 3)), q, k, v, keep, scale,
                                   ops.softmax(s, axis=-1))
        merged = ops.stack([ops.transpose(d, (0, 2, 1, 3)) for d in grads], axis=2)
        return ops.reshape(merged, qkv.shape)
    q, k, v = _split_heads(qkv, heads)
    grads = _sdpa_grads(g4.transpose(0, 2, 1, 3), q, k, v, keep, scale, cache["p"])
    dqkv = _xp(qkv).empty(qkv.shape, dtype=qkv.dtype)
    for view, d in zip(_split_heads(dqkv, heads), grads, strict=True):
        view[...] = d
    return dqkv


PACKED_ATTENTION = Op("packed_attention", _packed_forward, _packed_vjp)


def packed_attention(qkv, num_heads: int, attn_mask=None, is_causal: bool = False,
                     dropout_p: float = 0.0, rng=None):
    r"""Multi-head self-attention on packed projections, as one op.

    ``qkv`` is ``(N, L, 3E)``: the queries, keys and values of every head side by side (the
    output of one `linear()` with ``in_proj_weight``); head ``h`` uses features
    ``h d .. (h+1) d`` of each third, ``d = E / num_heads``. Returns the heads' outputs
    side by side, ``(N, L, E)``, i.e. `scaled_dot_product_attention()` per head with the
    heads split and merged as views, and the gradient written back into one packed array.
    ``attn_mask`` broadcasts to ``(N, num_heads, L, L)`` (boolean: True = attend).
    """
    qkv = _as_tensor(qkv, "qkv")
    if qkv.ndim != 3 or qkv.shape[-1] % (3 * num_heads):
        raise ValueError(
            f"packed_attention expects (N, L, 3 E) with E divisible by num_heads={num_heads}; "
            f"got shape {qkv.shape}"
        )
    n, length, e3 = qkv.shape
    scale = 1.0 / math.sqrt(e3 // (3 * num_heads))
    bias = _mask_bias(attn_mask, qkv.data, (n, num_heads, length, length))
    keep = None
    if dropout_p > 0:
        from ..random import get_rng

        draws = get_rng(rng).random((n, num_heads, length, length)) >= dropout_p
        keep = np.multiply(draws, 1.0 / (1.0 - dropout_p), dtype=qkv.dtype)
        if type(qkv.data) is not np.ndarray:
            keep = _backend.match_device(keep, qkv.data, "attention dropout")
    return apply(PACKED_ATTENTION, qkv, num_heads, bias, causal=bool(is_causal), scale=scale,
                 keep=keep, cache={})
