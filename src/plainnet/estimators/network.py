"""Building the network an estimator trains: Linear layers, activations, dropout, seeded init.

An estimator's network is a :class:`plainnet.nn.Sequential` of
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

    Weights before a ReLU-family activation (slope :math:`a` below 0) are He/Kaiming uniform,
    :math:`\mathcal U(\pm\sqrt{6 / ((1 + a^2)\,\mathrm{fan\_in})})`; all others (before
    sigmoid or tanh, and the output layer) Glorot/Xavier uniform,
    :math:`\mathcal U(\pm\sqrt{6/(\mathrm{fan\_in} + \mathrm{fan\_out})})`; biases start
    at 0. All draws come from ``rng``.
    """
    layers: list[Module] = []
    width = n_inputs
    for size, name, p in zip(hidden, activations, dropouts, strict=True):
        act = ACTIVATION_MODULES[ACTIVATION_ALIASES.get(name, name)]()
        rule = getattr(act, "init_rule", None)
        kaiming = rule is not None and rule[0] == "kaiming"
        linear = Linear(width, size, dtype=dtype,
                        init="kaiming_uniform" if kaiming else "xavier_uniform")
        _draw(linear, rule if kaiming else None, rng)
        layers += [linear, act]
        if p > 0:
            layers.append(Dropout(p))
        width = size
    out = Linear(width, n_outputs, dtype=dtype, init="xavier_uniform")
    _draw(out, None, rng)
    layers.append(out)
    return Sequential(*layers)


def _draw(linear: Linear, kaiming_rule: tuple | None, rng: np.random.Generator) -> None:
    if kaiming_rule is None:
        init.xavier_uniform_(linear.weight, rng=rng)
    else:
        init.kaiming_uniform_(linear.weight, a=kaiming_rule[1], nonlinearity="leaky_relu",
                              rng=rng)
    init.zeros_(linear.bias)


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
