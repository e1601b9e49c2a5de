"""One global random generator, so that ``pn.seed(n)`` makes whole runs reproducible."""

from __future__ import annotations

import numpy as np

__all__ = ["get_rng", "seed"]

_rng = np.random.default_rng()


def seed(n: int | None) -> None:
    """Seed plainnet's global generator (weight init, shuffling, dropout, data splits).

    The same seed gives the same initial weights, batches and learning curve.
    """
    global _rng
    _rng = np.random.default_rng(n)


def get_rng(rng=None) -> np.random.Generator:
    """``rng`` as a Generator: a Generator is used as is, an int seeds a new one, and None
    gives the global generator that `seed()` controls."""
    if rng is None:
        return _rng
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
