"""Synthetic two-dimensional problems, seeded: XOR, moons, circles, spirals, blobs.

Each function returns ``(X, y)``: ``X`` float64 of shape ``(n_samples, n_features)`` and ``y`` int64
class labels ``0 .. k-1``. ``random_state`` is an int, a ``numpy.random.Generator`` or None
(plainnet's global generator, see [`plainnet.seed()`][plainnet.seed]). ``noise`` is the standard
deviation of Gaussian noise added to every coordinate. """

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_int, check_positive
from ..random import get_rng

_XOR_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def xor(
    n_samples: int = 200, noise: float = 0.0, random_state=None, shuffle: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: points around the corners of the unit square.

    Sample ``i`` sits at corner ``(a, b) = `` ``[(0,0), (0,1), (1,0), (1,1)][i % 4]`` plus
    ``N(0, noise²)`` noise, with label ``y = a XOR b``. No straight line separates the
    classes, so one neuron cannot learn it and two layers can. ``xor(4, shuffle=False)`` is
    the truth table.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = get_rng(random_state)
    corners = _XOR_CORNERS[np.arange(n_samples) % 4]
    y = (corners[:, 0] != corners[:, 1]).astype(np.int64)
    return _finish(corners, y, noise, shuffle, rng)


def moons(
    n_samples: int = 100, noise: float = 0.0, random_state=None, shuffle: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's ``make_moons`` layout).

    Class 0: ``(cos t, sin t)``, class 1: ``(1 - cos t, 1/2 - sin t)`` for ``t`` evenly
    spaced in ``[0, π]``; class 0 gets ``n_samples // 2`` points.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=2)
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = get_rng(random_state)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    X = np.concatenate([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        np.column_stack([1.0 - np.cos(t_in), 1.0 - np.sin(t_in) - 0.5]),
    ])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    return _finish(X, y, noise, shuffle, rng)


def circles(
    n_samples: int = 100,
    noise: float = 0.0,
    factor: float = 0.8,
    random_state=None,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """A circle of radius ``factor`` (class 1) inside the unit circle (class 0).

    Angles are evenly spaced in ``[0, 2π)``; class 0 gets ``n_samples // 2`` points
    (scikit-learn's ``make_circles`` layout).
    """
    n_samples = check_int(n_samples, "n_samples", minimum=2)
    noise = check_positive(noise, "noise", allow_zero=True)
    factor = check_positive(factor, "factor")
    if factor >= 1:
        raise ValueError(f"factor must be in (0, 1) (inner radius / outer radius); got {factor}")
    rng = get_rng(random_state)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0.0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0.0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        factor * np.column_stack([np.cos(t_in), np.sin(t_in)]),
    ])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    return _finish(X, y, noise, shuffle, rng)


def spirals(
    n_samples: int = 300,
    n_classes: int = 2,
    noise: float = 0.0,
    turns: float = 1.0,
    random_state=None,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved arms of an Archimedean spiral.

    Arm ``k`` is ``r (cos θ, sin θ)`` with ``r`` evenly spaced in ``[0, 1]`` and
    ``θ = 2π (turns · r + k / n_classes)``; arms differ by a rotation of ``2π / n_classes``.
    The first ``n_samples % n_classes`` arms get one extra point.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_classes = check_int(n_classes, "n_classes", minimum=1)
    if n_samples < n_classes:
        raise ValueError(f"n_samples ({n_samples}) must be >= n_classes ({n_classes})")
    noise = check_positive(noise, "noise", allow_zero=True)
    turns = check_positive(turns, "turns")
    rng = get_rng(random_state)
    sizes = _balanced_sizes(n_samples, n_classes)
    parts, labels = [], []
    for k, size in enumerate(sizes):
        r = np.linspace(0.0, 1.0, size)
        theta = 2 * np.pi * (turns * r + k / n_classes)
        parts.append(r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)]))
        labels.append(np.full(size, k, np.int64))
    return _finish(np.concatenate(parts), np.concatenate(labels), noise, shuffle, rng)


def blobs(
    n_samples: int = 100,
    centers=3,
    n_features: int = 2,
    cluster_std=1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
    random_state=None,
    shuffle: bool = True,
    return_centers: bool = False,
):
    """Isotropic Gaussian clusters: class ``k`` is ``N(centers[k], cluster_std[k]² I)``.

    ``centers`` is a number of clusters (centers drawn uniformly in ``center_box``) or an
    array ``(k, n_features)``; ``cluster_std`` is one number or one per cluster. Class ``k``
    gets ``n_samples // k`` points, the first ``n_samples % k`` classes one more. Returns
    ``(X, y)``, or ``(X, y, centers)`` with ``return_centers=True``.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    rng = get_rng(random_state)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = check_int(centers, "centers", minimum=1)
        n_features = check_int(n_features, "n_features", minimum=1)
        low, high = (float(v) for v in center_box)
        if not low < high:
            raise ValueError(f"center_box must be (low, high) with low < high; got {center_box}")
        centers = rng.uniform(low, high, size=(k, n_features))
    else:
        centers = np.array(centers, dtype=np.float64)
        if centers.ndim != 2 or len(centers) == 0:
            raise ValueError(
                f"centers must be a count or an array (n_centers, n_features); got shape "
                f"{centers.shape}"
            )
    k = len(centers)
    try:
        stds = np.asarray(cluster_std, dtype=np.float64)
    except (TypeError, ValueError):
        stds = None
    if stds is not None and stds.ndim == 0:
        stds = np.full(k, float(stds))
    if stds is None or stds.shape != (k,):
        raise ValueError(f"cluster_std must be a number or {k} numbers; got {cluster_std!r}")
    if not np.all(np.isfinite(stds) & (stds >= 0)):
        raise ValueError(f"cluster_std must be finite and >= 0; got {cluster_std!r}")
    sizes = _balanced_sizes(n_samples, k)
    X = np.concatenate([
        c + s * rng.standard_normal((size, centers.shape[1]))
        for c, s, size in zip(centers, stds, sizes, strict=True)
    ])
    y = np.repeat(np.arange(k, dtype=np.int64), sizes)
    X, y = _finish(X, y, 0.0, shuffle, rng)
    return (X, y, centers) if return_centers else (X, y)


def _balanced_sizes(n: int, k: int) -> np.ndarray:
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    return sizes


def _finish(X, y, noise, shuffle, rng) -> tuple[np.ndarray, np.ndarray]:
    X = np.array(X, dtype=np.float64)
    if noise > 0:
        X += rng.normal(scale=noise, size=X.shape)
    if shuffle:
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
    return X, y
