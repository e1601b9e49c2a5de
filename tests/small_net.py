"""The small network and data set that the device tests train (``test_backend.py`` on the fake
device, ``test_gpu.py`` on a GPU): three noisy classes in six features; and the losses they
compare with the CPU's."""

from __future__ import annotations

import numpy as np

import plainnet as pn
from plainnet import backend


def mlp(seed=0, dtype=np.float32, dropout=0.0, batchnorm=False, hidden=8):
    """``Linear(6, hidden) [-> BatchNorm1d] -> ReLU [-> Dropout] -> Linear(hidden, 3)``,
    seeded. The first Linear has no bias before a BatchNorm, which subtracts the batch mean:
    that bias's gradient would be zero in exact arithmetic, so rounding alone would move it
    (and Adam scales any gradient, however small, up to a step of the learning rate)."""
    pn.seed(seed)
    layers = [pn.nn.Linear(6, hidden, bias=not batchnorm, dtype=dtype)]
    if batchnorm:
        layers.append(pn.nn.BatchNorm1d(hidden, dtype=dtype))
    layers.append(pn.nn.ReLU())
    if dropout:
        layers.append(pn.nn.Dropout(dropout))
    layers.append(pn.nn.Linear(hidden, 3, dtype=dtype))
    return pn.nn.Sequential(*layers)


def blobs(n=120, seed=0):
    """``n`` samples of 6 standard-normal features and labels 0, 1, 2 that depend on them."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6)).astype(np.float32)
    y = (X[:, 0] + 2 * X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X, y


def host_state(model):
    """The model's state dict as host NumPy arrays."""
    return {k: backend.to_numpy(v) for k, v in model.state_dict().items()}


#: ``(loss name, target for n rows)`` for every loss of the library: the device tests compare
#: each loss and its gradient with the CPU's.
LOSS_CASES = [
    ("mse", lambda n: np.linspace(-1, 1, n * 3).reshape(n, 3)),
    ("mae", lambda n: np.linspace(-1, 1, n * 3).reshape(n, 3)),
    ("huber", lambda n: np.linspace(-3, 3, n * 3).reshape(n, 3)),
    ("bce_with_logits", lambda n: (np.arange(n * 3).reshape(n, 3) % 2).astype(float)),
    ("cross_entropy", lambda n: np.arange(n) % 3),
    ("nll", lambda n: np.arange(n) % 3),
]
