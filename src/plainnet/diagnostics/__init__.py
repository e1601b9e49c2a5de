"""Instruments for understanding why a network trains badly.

* `watch()` records per-layer statistics while a model trains: activation mean and std,
  saturated tanh/sigmoid units, dead ReLUs, the gradient reaching each layer, and the update-to-data
  ratio of every parameter ([`plainnet.diagnostics.stats`][plainnet.diagnostics.stats] defines
  them).
* `report()` turns them into sentences with the layer's name and a suggestion.
* `Diagnostics` does the recording inside `plainnet.fit()`
  (also ``pn.callbacks.Diagnostics``).
* `check_backward()` compares a hand-written backward pass with the engine's gradients.

Pictures: [`plainnet.plot.activation_histograms()`][plainnet.plot.activation_histograms],
[`plainnet.plot.gradient_histograms()`][plainnet.plot.gradient_histograms] and
[`plainnet.plot.update_ratios()`][plainnet.plot.update_ratios]. """

from .backward import BackwardCheck, check_backward
from .callback import Diagnostics
from .report import DEAD, GRADIENT_SPREAD, SATURATED, UPDATE_HIGH, UPDATE_LOW, Finding, report
from .watch import LayerRecord, ParameterRecord, Watch, watch

__all__ = [
    "DEAD",
    "GRADIENT_SPREAD",
    "SATURATED",
    "UPDATE_HIGH",
    "UPDATE_LOW",
    "BackwardCheck",
    "Diagnostics",
    "Finding",
    "LayerRecord",
    "ParameterRecord",
    "Watch",
    "check_backward",
    "report",
    "watch",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
