"""Pictures with matplotlib (imported only when a function draws). Each returns a Figure."""

from .activation_curves import activations
from .attention import attention
from .boundary import decision_boundary
from .confusion import confusion_counts, confusion_matrix
from .descent import descent_path
from .diagnostics import activation_histograms, gradient_histograms, update_ratios
from .features import feature_maps, filters
from .history import history
from .lr_find import lr_find
from .network import network

__all__ = [
    "activation_histograms",
    "gradient_histograms",
    "update_ratios",
    "activations",
    "attention",
    "confusion_counts",
    "confusion_matrix",
    "decision_boundary",
    "descent_path",
    "feature_maps",
    "filters",
    "history",
    "lr_find",
    "network",
]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
