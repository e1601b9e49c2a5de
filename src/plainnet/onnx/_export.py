"""``pn.onnx.export``: one traced forward pass, written as an ONNX model.

The model runs once (in eval mode) on the example input; the ops the autodiff engine records
become ONNX nodes (`plainnet.onnx._convert`), the parameters become initializers under
their ``state_dict`` names, and the batch axis is made dynamic by tracing a second time with
one more row (anything that would not generalize to another batch size is refused). An op
with no ONNX mapping is refused by name, never skipped.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._version import __version__
from ..nn import Module
from ._convert import CONVERTERS, convert
from ._graph import Graph
from ._trace import ExportError, compare, trace
from .runtime import PARAMETERS_KEY

DEFAULT_OPSET = 17
"""The ONNX opset written by default (onnxruntime 1.14 and later run it)."""
MIN_OPSET = 13


def export(
    model: Module,
    path: str | os.PathLike,
    example_input,
    *,
    opset: int = DEFAULT_OPSET,
    input_names: Sequence[str] = ("input",),
    output_names: Sequence[str] | None = None,
    dynamic_batch: bool = True,
    metadata: dict | None = None,
) -> Path:
    """Write ``model`` as an ONNX file that computes ``model.predict``.

    Parameters
    ----------
    model : Module
        A plainnet model (one on a GPU is traced from a host copy). It is traced in eval
        mode (dropout off, batch norm with its running statistics) and left in the mode it
        was in.
    path : str or PathLike
        The ``.onnx`` file to write (atomically; an existing regular file is replaced).
    example_input : array_like
        An input of the shape the model takes, batch first (e.g. ``X[:2]``); its values only
        have to be valid inputs (token ids for an embedding).
    opset : int, default 17
        The ONNX opset (13 or later).
    input_names, output_names : sequence of str
        The names of the graph's input and outputs (default ``"input"``, and ``"output"`` or
        ``"output_0"``, ``"output_1"``, ... for a model that returns several Tensors).
    dynamic_batch : bool, default True
        Make the first axis of the input and outputs a free ``"batch"`` dimension.
    metadata : dict, optional
        Extras written to the file's ``metadata_props`` as JSON text (feature names, class
        labels), read back with ``onnx.load(path).metadata_props``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ExportError
        (a ``ValueError``) naming the op or module that has no ONNX mapping, or a step that
        would be frozen into the file (a value computed from the input outside the graph).
    ImportError
        When the ``onnx`` package is missing (``pip install plainnet[onnx]``).
    """
    onnx = _require_onnx()
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict; got {type(metadata).__name__}")
    if not isinstance(model, Module):
        raise TypeError(f"export expects a plainnet Module; got {type(model).__name__}")
    if model.device != "cpu":  # traced from a host copy; the model stays where it is
        model = copy.deepcopy(model).to("cpu")
    opset = _check_opset(opset, onnx)
    names = list(input_names)
    if len(names) != 1 or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"input_names must be one non-empty name; got {input_names!r}")
    raw = np.asarray(example_input)
    x = model._as_input(raw)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"example_input must hold at least one sample, batch first; got shape "
                         f"{x.shape}")
    first = trace(model, x)
    if dynamic_batch:
        compare(first, trace(model, np.concatenate([x, x[:1]])))
    graph, graph_parameters = _build_graph(first, x, raw, names[0], output_names, dynamic_batch,
                                           opset)
    proto = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
        producer_name="plainnet", producer_version=__version__,
    )
    proto.ir_version = onnx.helper.find_min_ir_version_for(list(proto.opset_import))
    for key, value in {PARAMETERS_KEY: graph_parameters, **(metadata or {})}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = str(key), json.dumps(value, default=_json_value)
    onnx.checker.check_model(proto)
    from ..io.files import atomic_write_bytes

    return atomic_write_bytes(path, proto.SerializeToString())


def _build_graph(tr, x, raw, input_name, output_names, dynamic_batch, opset):
    from onnx import helper

    g = Graph(opset, x.dtype)
    g.bind(tr.input, input_name)
    g._used.add(input_name)
    g.input_name, g.batch_size = input_name, len(x)
    g.param_names = tr.param_names
    integer_ids = raw.dtype.kind in "iu" and _only_embeddings_read(tr)
    if integer_ids:  # token ids stay integers in the file
        g.bind(tr.input, g.add("Cast", [input_name], "input_float",
                                to=helper.np_dtype_to_tensor_dtype(x.dtype)))
    for node in tr.nodes:
        for arg in node.args:
            _name_leaf(g, tr, arg)
        g.bind(node.out, convert(g, node))
    outs = _output_names(output_names, len(tr.outputs))
    outputs = []
    for i, (name, t) in enumerate(zip(outs, tr.outputs, strict=True)):
        _name_leaf(g, tr, t)
        g.nodes.append(helper.make_node("Identity", [g.name(t)], [name], name=g.fresh("output")))
        shape = list(t.shape)
        for axis in tr.batch_axes[i] if dynamic_batch else ():
            shape[axis] = "batch" if shape[axis] == len(x) else f"batch_x{shape[axis] // len(x)}"
        outputs.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(t.data.dtype), shape))
    in_shape = list(x.shape)
    if dynamic_batch:
        in_shape[0] = "batch"
    in_dtype = np.int64 if integer_ids else x.dtype
    inputs = [helper.make_tensor_value_info(
        input_name, helper.np_dtype_to_tensor_dtype(np.dtype(in_dtype)), in_shape)]
    return (helper.make_graph(g.nodes, "plainnet", inputs, outputs, g.initializers),
            g.written_parameters)


def _name_leaf(g: Graph, tr, value) -> None:
    """Give a parameter or buffer its ``state_dict`` name the first time it is used."""
    key = id(value)
    if key in g.names:
        return
    if key in tr.param_names:
        g.parameter(value)
        return
    name = tr.buffer_names.get(key)
    if name is not None:
        g.bind(value, g.const(np.asarray(value), name, np.asarray(value).dtype))


def _only_embeddings_read(tr) -> bool:
    """Whether the input is read only as token ids (by embeddings), never as numbers."""
    direct = [n for n in tr.nodes if any(a is tr.input for a in n.args)]
    as_ids = [n for n in tr.nodes if any(k.startswith("input") for k in n.varying)]
    return bool(as_ids or direct) and all(n.op == "module:Embedding" for n in direct)


def _output_names(output_names, n: int) -> list[str]:
    if output_names is None:
        return ["output"] if n == 1 else [f"output_{i}" for i in range(n)]
    names = list(output_names)
    if len(names) != n or not all(isinstance(s, str) and s for s in names):
        raise ValueError(f"the model has {n} output(s); got output_names {output_names!r}")
    if len(set(names)) != n:
        raise ValueError(f"output_names must differ; got {output_names!r}")
    return names


def _json_value(value):
    if hasattr(value, "tolist"):  # NumPy arrays and scalars
        return value.tolist()
    raise TypeError(f"metadata values must be JSON-able; got {type(value).__name__}")


def _check_opset(opset, onnx) -> int:
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not (
        MIN_OPSET <= opset <= newest
    ):
        raise ValueError(f"opset must be an int from {MIN_OPSET} to {newest}; got {opset!r}")
    return int(opset)


def _require_onnx():
    try:
        import onnx
    except ImportError as err:
        raise ImportError(
            "exporting to ONNX needs the onnx package: pip install 'plainnet[onnx]'"
        ) from err
    return onnx


def supported_ops() -> list[str]:
    """The plainnet ops (and ``module:`` nodes) the exporter maps to ONNX."""
    return sorted(CONVERTERS)


__all__ = ["DEFAULT_OPSET", "ExportError", "export", "supported_ops"]
