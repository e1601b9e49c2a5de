r"""Sampling tokens from a language model: `sample()` and `generate()`.

A language model gives, for each position, logits $z$ over the vocabulary; the next
token is drawn from $\mathrm{softmax}(z / T)$ (temperature $T$), optionally
among the ``top_k`` most likely tokens only. ``generate`` appends tokens one at a time, each
time feeding the model the last ``block_size`` tokens.
"""

from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..autodiff import Tensor, no_grad
from ..random import get_rng

__all__ = ["generate", "sample"]


def _check_top_k(top_k, vocab: int):
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer or None; got {top_k!r}")
    return min(int(top_k), vocab)


def sample(logits, temperature: float = 1.0, top_k: int | None = None, generator=None):
    r"""Draw one token per row of ``logits`` (shape ``(..., V)``): integer indices of shape
    ``(...)``.

    Token $j$ is drawn with probability $\mathrm{softmax}(z / T)_j$, restricted to the ``top_k``
    largest logits when given (ties with the k-th are kept). ``temperature=0`` takes the most likely
    token (greedy). ``generator`` is a NumPy Generator or seed (default:
    [`plainnet.random.get_rng()`][plainnet.random.get_rng], so [`plainnet.seed()`][plainnet.seed]
    makes samples repeatable). On a GPU the logits stay there; only the uniform draws are copied
    over. """
    z = logits.data if isinstance(logits, Tensor) else logits
    if not _backend.is_device_array(z):
        z = np.asarray(z)
    if z.ndim < 1 or z.shape[-1] < 1 or z.dtype.kind != "f":
        raise ValueError(
            f"sample expects floating-point logits of shape (..., vocab); got {z.dtype} "
            f"{z.shape}"
        )
    temperature = float(temperature)
    if not (np.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0; got {temperature!r}")
    k = _check_top_k(top_k, z.shape[-1])
    if temperature == 0:
        return z.argmax(axis=-1)
    xp = np if type(z) is np.ndarray else _backend.array_module(z)
    z = z.astype(np.float64) / temperature
    if k is not None and k < z.shape[-1]:
        v = z.shape[-1]
        kth = xp.sort(z, axis=-1)[..., v - k:v - k + 1]
        z = xp.where(z < kth, -np.inf, z)
    z = z - z.max(axis=-1, keepdims=True)
    p = xp.exp(z)
    cdf = xp.cumsum(p, axis=-1)
    u = get_rng(generator).random(z.shape[:-1] + (1,))
    if xp is not np:
        u = _backend.match_device(u, z, "sample's draws")
    u = u * cdf[..., -1:]
    idx = (cdf <= u).sum(axis=-1)
    return xp.minimum(idx, z.shape[-1] - 1)


def generate(model, context, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, seed=None, block_size: int | None = None):
    r"""Extend ``context`` (token ids, ``(T,)`` or ``(B, T)``) by ``max_new_tokens`` tokens
    drawn from ``model``.

    ``model(idx)`` maps ``(B, t)`` token ids to logits ``(B, t, V)``; the last position's
    logits give the next token through `sample()` (``temperature``, ``top_k``, and
    ``seed``: a seed or Generator). The model sees at most the last ``block_size`` tokens
    (default: ``model.block_size`` if it has one, else everything). Runs in evaluation mode
    without recording a graph, and puts the model's mode back. Returns the ids as a NumPy
    array shaped like ``context``, ``max_new_tokens`` longer.
    """
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) \
            or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an integer >= 0; got {max_new_tokens!r}")
    ids = np.asarray(context.data if isinstance(context, Tensor) else context)
    if ids.dtype.kind not in "iu" or ids.ndim not in (1, 2) or ids.shape[-1] < 1:
        raise ValueError(
            f"context must be integer token ids of shape (T,) or (B, T) with T >= 1; got "
            f"{ids.dtype} {ids.shape}"
        )
    single = ids.ndim == 1
    ids = ids.reshape(1, -1) if single else ids
    block = block_size if block_size is not None else getattr(model, "block_size", None)
    rng = get_rng(seed)
    device = getattr(model, "device", "cpu")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        with no_grad():
            for _ in range(int(max_new_tokens)):
                window = ids if block is None else ids[:, -int(block):]
                if device != "cpu":
                    window = _backend.to_device(window, device)
                logits = model(window)
                last = logits.data[:, -1, :] if isinstance(logits, Tensor) else logits[:, -1]
                nxt = _backend.to_numpy(sample(last, temperature, top_k, rng))
                ids = np.concatenate([ids, nxt.reshape(-1, 1).astype(ids.dtype)], axis=1)
    finally:
        if hasattr(model, "train"):
            model.train(was_training)
    return ids[0] if single else ids
