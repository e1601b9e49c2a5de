r"""The numbers a teacher looks at, computed from one batch: activation, gradient and update
statistics of a layer.

Definitions (``y`` is a layer's output on a batch, the first axis the batch):

* **saturated** (tanh, sigmoid): the fraction of entries in the flat region where the
  derivative nearly vanishes: $|y| > 0.97$ for tanh, $y < 0.03$ or
  $y > 0.97$ for the sigmoid. Gradients pass through those units scaled by less than
  $1 - 0.97^2 \approx 0.06$ (tanh).
* **dead** (ReLU): the fraction of units (every entry of ``y`` but the batch axis) that are
  never positive over the whole batch; their gradient is 0 for every example, so their
  incoming weights stop learning.
* **update-to-data ratio** of a parameter $p$: $\mathrm{std}(p_{new} - p_{old}) /
  \mathrm{std}(p_{old})$, the size of one optimizer step relative to the weights. Around
  $10^{-3}$ is the usual healthy value (Karpathy's rule of thumb).
"""

from __future__ import annotations

import numpy as np

from .. import backend as _backend

TANH_SATURATION = 0.97
"""``|tanh(x)|`` above this counts as saturated."""

SIGMOID_SATURATION = 0.03
"""A sigmoid output within this distance of 0 or 1 counts as saturated."""


def kind_of(module) -> str:
    """How a module's output is judged: ``"tanh"``, ``"sigmoid"``, ``"relu"`` or ``"layer"``."""
    name = type(module).__name__.lower()
    if name in ("tanh", "hardtanh"):
        return "tanh"
    if name in ("sigmoid", "hardsigmoid"):
        return "sigmoid"
    if name in ("relu", "relu6"):
        return "relu"
    return "layer"


def host(array) -> np.ndarray:
    """A host float64 copy of ``array`` (device arrays are copied over)."""
    return np.asarray(_backend.to_numpy(array), dtype=np.float64)


def saturated_fraction(y: np.ndarray, kind: str) -> float:
    """The fraction of saturated entries of ``y`` (0 for kinds that do not saturate)."""
    if y.size == 0:
        return 0.0
    if kind == "tanh":
        return float(np.mean(np.abs(y) > TANH_SATURATION))
    if kind == "sigmoid":
        return float(np.mean((y < SIGMOID_SATURATION) | (y > 1 - SIGMOID_SATURATION)))
    return 0.0


def dead_fraction(y: np.ndarray) -> float:
    """The fraction of units never positive over the batch (axis 0) of ``y``."""
    if y.ndim == 0 or y.size == 0:
        return 0.0
    alive = (y > 0).any(axis=0)
    return float(1.0 - alive.mean())


def activation_stats(y: np.ndarray, kind: str) -> dict:
    """``mean``, ``std``, ``saturated`` and ``dead`` of one batch's output ``y``."""
    return {
        "mean": float(y.mean()) if y.size else 0.0,
        "std": float(y.std()) if y.size else 0.0,
        "saturated": saturated_fraction(y, kind),
        "dead": dead_fraction(y) if kind == "relu" else 0.0,
    }


def update_ratio(old: np.ndarray, new: np.ndarray) -> float:
    """$\\mathrm{std}(new - old) / \\mathrm{std}(old)$ (inf when the weights are constant
    and moved, 0 when nothing moved)."""
    step = float(np.std(new - old))
    scale = float(np.std(old))
    if scale == 0.0:
        return 0.0 if step == 0.0 else float("inf")
    return step / scale


def sample(values: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``size`` entries of ``values`` (flattened), drawn without replacement."""
    flat = values.ravel()
    if flat.size <= size:
        return flat.copy()
    return flat[rng.choice(flat.size, size, replace=False)]
