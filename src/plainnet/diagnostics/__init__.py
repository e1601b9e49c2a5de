"""Instruments for understanding why a network trains badly.

* :func:`watch` records per-layer statistics while a model trains: activation mean and std,
  saturated tanh/sigmoid units, dead ReLUs, the gradient reaching each layer, and the
  update-to-data ratio of every parameter (:mod:`plainnet.diagnostics.stats` defines them).
* :func:`report` turns them into sentences with the layer's name and a suggestion.
* :class:`Diagnostics` does the recording inside :func:`plainnet.fit`
  (also ``pn.callbacks.Diagnostics``).
* :func:`check_backward` compares a hand-written backward pass with the engine's gradients.

Pictures: :func:`plainnet.plot.activation_histograms`, :func:`plainnet.plot.gradient_histograms`
and :func:`plainnet.plot.update_ratios`.
"""

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
