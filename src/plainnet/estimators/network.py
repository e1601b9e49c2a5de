"""Building the network an estimator trains: Linear layers, activations, dropout, seeded init.

An estimator's network is a [`plainnet.nn.Sequential`][plainnet.nn.Sequential] of
``Linear -> activation [-> Dropout]`` per hidden layer and a final ``Linear`` whose outputs are
the raw scores (logits for a classifier, predictions for a regressor). Every weight is drawn from
the estimator's own generator, so ``random_state`` alone fixes the starting point.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np

from ..nn import ACTIVATION_MODULES, Dropout, Linear, Module, Sequential, init

ACTIVATION_ALIASES = {"logistic": "sigmoid"}
"""scikit-learn's activation names that plainnet spells differently."""


def activation_names() -> list[str]:
    """The activation names a hidden layer accepts."""
    return sorted(set(ACTIVATION_MODULES) | set(ACTIVATION_ALIASES))


GLOROT_FACTOR = {"sigmoid": 2.0}
"""The factor $c$ of the initial bound $\\sqrt{c / (\\mathrm{fan\\_in} +
\\mathrm{fan\\_out})}$ by the activation after the layer (scikit-learn's: 2 for the
logistic function, else 6)."""


def build_network(
    n_inputs: int,
    hidden: Sequence[int],
    activations: Sequence[str],
    dropouts: Sequence[float],
    n_outputs: int,
    dtype,
    rng: np.random.Generator,
) -> Sequential:
    r"""``Linear(n_inputs, h1) -> act -> [Dropout] -> ... -> Linear(h_last, n_outputs)``.

    Every weight and bias starts as scikit-learn's MLPs start them (Glorot and Bengio's
    uniform initialization, biases included):
    $\mathcal U(\pm\sqrt{c / (\mathrm{fan\_in} + \mathrm{fan\_out})})$ with
    $c = 2$ for a layer followed by a sigmoid and $c = 6$ otherwise; the output
    layer takes the last hidden layer's $c$. All draws come from ``rng``.
    """
    layers: list[Module] = []
    width = n_inputs
    factor = 6.0
    for size, name, p in zip(hidden, activations, dropouts, strict=True):
        name = ACTIVATION_ALIASES.get(name, name)
        factor = GLOROT_FACTOR.get(name, 6.0)
        linear = Linear(width, size, dtype=dtype, init="zeros")
        _draw(linear, factor, rng)
        layers += [linear, ACTIVATION_MODULES[name]()]
        if p > 0:
            layers.append(Dropout(p))
        width = size
    out = Linear(width, n_outputs, dtype=dtype, init="zeros")
    _draw(out, factor, rng)
    layers.append(out)
    return Sequential(*layers)


def _draw(linear: Linear, factor: float, rng: np.random.Generator) -> None:
    bound = float(np.sqrt(factor / (linear.in_features + linear.out_features)))
    init.uniform_(linear.weight, -bound, bound, rng=rng)
    init.uniform_(linear.bias, -bound, bound, rng=rng)


def weight_matrices(model: Module) -> list:
    """The ``weight`` Parameters of every Linear layer (the ones the L2 penalty shrinks)."""
    return [m.weight for m in model.modules() if isinstance(m, Linear)]


@contextlib.contextmanager
def seeded_dropout(model: Module, rng: np.random.Generator) -> Iterator[None]:
    """Within the block, every Dropout layer of ``model`` draws its masks from ``rng`` (so fits
    are reproducible under ``random_state`` and independent across threads)."""
    layers = [m for m in model.modules() if isinstance(m, Dropout)]
    before = [m.rng for m in layers]
    for m in layers:
        m.rng = rng
    try:
        yield
    finally:
        for m, old in zip(layers, before, strict=True):
            m.rng = old
