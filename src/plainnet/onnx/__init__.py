"""ONNX export: run a plainnet model in onnxruntime and the other ONNX runtimes.

>>> import numpy as np, plainnet as pn
>>> model = pn.nn.Sequential(pn.nn.Linear(4, 8), pn.nn.ReLU(), pn.nn.Linear(8, 3))
>>> path = pn.onnx.export(model, "model.onnx", np.zeros((1, 4)))  # doctest: +SKIP

[`export`][plainnet.onnx.export] traces one forward pass through the autodiff graph (the ops
plainnet records) and writes it with the ``onnx`` package (``pip install 'plainnet[onnx]'``);
[`load`][plainnet.onnx.load] runs such a file as a (trainable) plainnet Module, with
plainnet's ops. Importing `plainnet` never imports ``onnx``.
"""

from ._export import DEFAULT_OPSET, export, supported_ops
from ._trace import ExportError
from .runtime import OnnxModule, load

__all__ = ["DEFAULT_OPSET", "ExportError", "OnnxModule", "export", "load", "supported_ops"]


def __dir__():  # what tab completion and dir() show: the public names
    return sorted(__all__)
