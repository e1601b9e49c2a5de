"""ONNX export: run a plainnet model in onnxruntime and the other ONNX runtimes.

>>> import numpy as np, plainnet as pn
>>> model = pn.nn.Sequential(pn.nn.Linear(4, 8), pn.nn.ReLU(), pn.nn.Linear(8, 3))
>>> path = pn.onnx.export(model, "model.onnx", np.zeros((1, 4)))  # doctest: +SKIP

:func:`export` traces one forward pass through the autodiff graph (the ops plainnet records)
and writes it with the ``onnx`` package (``pip install 'plainnet[onnx]'``); :func:`load` reads
back the files it writes. Importing :mod:`plainnet` never imports ``onnx``.
"""

from ._trace import ExportError
from .export import DEFAULT_OPSET, export, supported_ops
from .runtime import OnnxModule, load

__all__ = ["DEFAULT_OPSET", "ExportError", "OnnxModule", "export", "load", "supported_ops"]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
