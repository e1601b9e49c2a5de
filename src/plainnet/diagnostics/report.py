"""``report(watch)``: the recorded statistics turned into plain sentences, by documented rules.

Each rule compares the mean over the last ``window`` recorded steps with a threshold:

=========================  =============================================  ========================
finding                    rule                                           suggestion
=========================  =============================================  ========================
saturated tanh / sigmoid   more than `SATURATED` of the outputs     smaller initial weights
                           saturated                                      (gain / sqrt(fan_in)),
                                                                          or normalization before
dead ReLUs                 more than `DEAD` of the units never      lower learning rate, He
                           positive over a batch                          init, LeakyReLU
update too large           update-to-data ratio above `UPDATE_HIGH`  lower learning rate
update too small           update-to-data ratio below `UPDATE_LOW`   higher learning rate
vanishing gradients        a layer's output gradient std below            init scale, normalization,
                           `GRADIENT_SPREAD` times the largest       residual connections
=========================  =============================================  ========================

Update ratios are judged on weight matrices (parameters with two or more axes), as biases start
at zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SATURATED = 0.20
"""Fraction of saturated tanh/sigmoid outputs above which a layer is reported."""

DEAD = 0.10
"""Fraction of dead ReLU units above which a layer is reported."""

UPDATE_HIGH = 1e-2
"""Update-to-data ratio above which the learning rate is called too large."""

UPDATE_LOW = 1e-5
"""Update-to-data ratio below which the learning rate is called too small."""

GRADIENT_SPREAD = 1e-2
"""A layer whose output-gradient std is below this fraction of the largest is reported."""


@dataclass(frozen=True)
class Finding:
    """One sentence of a report: the layer (or parameter) it is about, what, and what to try."""

    name: str
    problem: str
    value: float
    message: str

    def __str__(self) -> str:
        return self.message


def _recent(values, window: int) -> float:
    finite = [v for v in values[-window:] if not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(finite)) if finite else float("nan")


def _layer_findings(watch, window: int) -> list[Finding]:
    found = []
    for name, rec in watch.layers.items():
        label = f"layer '{name}' ({rec.module_type})"
        if rec.kind in ("tanh", "sigmoid") and rec.saturated:
            frac = _recent(rec.saturated, window)
            if frac > SATURATED:
                found.append(Finding(name, "saturated", frac, (
                    f"{label}: {frac:.0%} of its outputs are saturated, so little gradient "
                    "passes through them; start the weights of the layer before it smaller "
                    "(e.g. gain/sqrt(fan_in)) or normalize its input (BatchNorm/LayerNorm)."
                )))
        if rec.kind == "relu" and rec.dead:
            frac = _recent(rec.dead, window)
            if frac > DEAD:
                found.append(Finding(name, "dead", frac, (
                    f"{label}: {frac:.0%} of its units are dead (never positive over a batch) "
                    "and no longer learn; lower the learning rate, use He (Kaiming) "
                    "initialization, or try LeakyReLU."
                )))
    return found


def _gradient_findings(watch, window: int) -> list[Finding]:
    spreads = {
        name: _recent(rec.grad_std, window)
        for name, rec in watch.layers.items()
        if rec.grad_std
    }
    spreads = {k: v for k, v in spreads.items() if math.isfinite(v)}
    if len(spreads) < 2:
        return []
    largest = max(spreads.values())
    found = []
    for name, value in spreads.items():
        if largest > 0 and value < GRADIENT_SPREAD * largest:
            rec = watch.layers[name]
            found.append(Finding(name, "vanishing gradient", value / largest, (
                f"layer '{name}' ({rec.module_type}): the gradient reaching its output is "
                f"{value / largest:.1e} times the largest in the network (vanishing "
                "gradients); check the initialization scale, add normalization layers, or "
                "use residual connections."
            )))
    return found


def _update_findings(watch, window: int) -> list[Finding]:
    found = []
    shapes = {name: p.shape for name, p in watch.model.named_parameters()}
    for name, rec in watch.parameters.items():
        if len(shapes.get(name, ())) < 2 or not rec.update_ratio:
            continue
        ratio = _recent(rec.update_ratio, window)
        if not math.isfinite(ratio):
            continue
        if ratio > UPDATE_HIGH:
            found.append(Finding(name, "update too large", ratio, (
                f"parameter '{name}': each step changes it by {ratio:.1e} of its size "
                f"(healthy: about 1e-3); lower the learning rate."
            )))
        elif ratio < UPDATE_LOW:
            found.append(Finding(name, "update too small", ratio, (
                f"parameter '{name}': each step changes it by only {ratio:.1e} of its size "
                f"(healthy: about 1e-3); raise the learning rate."
            )))
    return found


def report(watch, window: int = 5, print_report: bool = False) -> list[Finding]:
    """Plain-sentence findings about a [`Watch`][plainnet.diagnostics.Watch], worst first.

    Parameters
    ----------
    watch : Watch or Diagnostics
        What recorded the statistics (a `plainnet.callbacks.Diagnostics` callback
        passes its watch).
    window : int, default 5
        How many of the last recorded steps each rule averages.
    print_report : bool, default False
        Also print the sentences (or that nothing was found).

    Returns
    -------
    list of Finding
        Empty when no rule fired. ``str(finding)`` is the sentence.
    """
    watch = getattr(watch, "watch", watch)
    if not hasattr(watch, "layers") or not hasattr(watch, "parameters"):
        raise TypeError(f"report expects a Watch; got {type(watch).__name__}")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive int; got {window!r}")
    findings = (
        _layer_findings(watch, window)
        + _gradient_findings(watch, window)
        + _update_findings(watch, window)
    )
    if print_report:
        for f in findings:
            print(f)
        if not findings:
            print("No problems found: activations, gradients and updates look healthy.")
    return findings
