"""Gradient clipping: rescale all gradients to a maximal total norm, or clamp each value."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .._validation import check_positive
from ..autodiff import Tensor
from .optimizer import params_list


def _grads(params) -> list[np.ndarray]:
    out = []
    for p in params_list(params):
        g = p.grad
        if g is not None:
            out.append(g.data if isinstance(g, Tensor) else g)
    return out


def _norm_order(norm_type) -> float:
    if isinstance(norm_type, str) and norm_type.lower() == "inf":
        return math.inf
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float, np.floating)):
        raise TypeError(f"norm_type must be a positive number or 'inf'; got {norm_type!r}")
    p = float(norm_type)
    if not p > 0:
        raise ValueError(f"norm_type must be a positive number or inf; got {norm_type!r}")
    return p


def _vector_norm(g: np.ndarray, p: float) -> float:
    """The p-norm of all entries of ``g``, computed in float64 and scaled against overflow."""
    a = np.abs(g, dtype=np.float64) if g.dtype != np.float64 else np.abs(g)
    if a.size == 0:
        return 0.0
    top = float(a.max())
    if p == math.inf or top == 0.0 or not math.isfinite(top):
        return top
    a /= top
    if p == 2.0:
        return top * math.sqrt(float(np.dot(a.ravel(), a.ravel())))
    if p == 1.0:
        return top * float(a.sum())
    return top * float(np.sum(a**p)) ** (1.0 / p)


def clip_grad_norm(
    params: Iterable[Tensor] | Tensor,
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    r"""Scale all gradients together so that their joint norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of all gradient entries as one vector,
    $N = \lVert (\lVert g_1 \rVert_p, \dots, \lVert g_k \rVert_p) \rVert_p$. Each
    gradient is multiplied in place by $\min(1, \text{max\_norm} / (N + 10^{-6}))$,
    as ``torch.nn.utils.clip_grad_norm_`` does. Parameters without a gradient are skipped.

    Parameters
    ----------
    params : Tensor or iterable of Tensor
    max_norm : float
        Largest allowed total norm (>= 0).
    norm_type : float or "inf", default 2
    error_if_nonfinite : bool, default False
        Raise ``RuntimeError`` when the total norm is NaN or infinite (otherwise the
        gradients become NaN, as in PyTorch).

    Returns
    -------
    float
        The total norm of the gradients *before* clipping.
    """
    max_norm = check_positive(max_norm, "max_norm", allow_zero=True)
    p = _norm_order(norm_type)
    grads = _grads(params)
    if not grads:
        return 0.0
    norms = [_vector_norm(g, p) for g in grads]
    total = _vector_norm(np.asarray(norms, dtype=np.float64), p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"the total norm of order {norm_type} of the gradients is {total}, so they cannot "
            "be clipped; pass error_if_nonfinite=False to clip anyway"
        )
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:
        with np.errstate(invalid="ignore"):
            for g in grads:
                g *= coef
    return total


clip_grad_norm_ = clip_grad_norm


def clip_grad_value(params: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    r"""Clamp every gradient entry, in place, to $[-\text{clip\_value}, \text{clip\_value}]$.

    Parameters
    ----------
    params : Tensor or iterable of Tensor
    clip_value : float
        The largest allowed absolute value (>= 0).
    """
    c = check_positive(clip_value, "clip_value", allow_zero=True)
    for g in _grads(params):
        np.clip(g, -c, c, out=g)


clip_grad_value_ = clip_grad_value
