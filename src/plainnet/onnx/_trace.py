"""Tracing a forward pass: the ops plainnet records, in order, with what each one read.

The model runs once on the example input (made to require grad, so every op that depends on
it is recorded by the autodiff engine) and the recorded graph is read back from the outputs:
each `Node` is one `Op` application, its arguments are
the graph's input, parameters (by their ``state_dict`` names), earlier nodes, or constants.

A few modules compute with values read from their input outside the graph (``LeakyReLU``
selects with ``x > 0`` taken as a constant; ``Embedding`` indexes with the token ids): while
tracing, a forward hook records such a module as one node of its own (``"module:Name"``),
which `plainnet.onnx._convert` maps whole. So is any module that writes its own ONNX
nodes: one with a method ``onnx_nodes(graph, input_name) -> output_name``.

Tracing twice, the second time with one more row, tells which constants and arguments depend
on the input: a constant that changes is refused (it would be frozen into the file), and an
argument that changes with the batch size (a reshape's target) is made dynamic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..autodiff import Tensor, enable_grad
from ..autodiff.engine import Op, apply

MODULE_NODES: set[str] = {"LeakyReLU", "Embedding", "Step"}
"""Module classes traced as a single node (their forward reads values outside the graph)."""


class ExportError(ValueError):
    """A model that cannot be written as ONNX (the message names the op or module)."""


@dataclass
class Node:
    """One recorded op: ``out = op(*args, **kw)``; ``args`` hold Tensors or constants."""

    op: str
    out: Tensor
    args: tuple
    kw: dict
    module: object = None
    varying: dict = field(default_factory=dict)  # kw -> its value with one more row


@dataclass
class Trace:
    input: Tensor
    outputs: list
    nodes: list
    param_names: dict  # id(parameter) -> state_dict name
    buffer_names: dict  # id(buffer array) -> state_dict name
    batch_axes: list = field(default_factory=list)  # per output: the axes that follow the batch


def _module_hook(module, inputs, output):
    op = Op(f"module:{type(module).__name__}", lambda a, result, module: result,
            lambda *args, **kw: None)
    return apply(op, inputs[0], result=output.data, module=module)


def trace(model, x: np.ndarray) -> Trace:
    """Run ``model`` in eval mode on ``x`` and return the recorded graph."""
    was_training = model.training
    hooks = [m.register_forward_hook(_module_hook) for m in model.modules()
             if type(m).__name__ in MODULE_NODES or callable(getattr(m, "onnx_nodes", None))]
    model.eval()
    try:
        xt = Tensor(x, requires_grad=True)
        with enable_grad():
            out = model(xt)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    outputs = _flatten(out)
    if not outputs:
        raise ExportError(f"{type(model).__name__}.forward returned no Tensor")
    nodes = _recorded(outputs)
    return Trace(
        input=xt,
        outputs=outputs,
        nodes=nodes,
        param_names={id(p): name for name, p in model.named_parameters()},
        buffer_names={id(b): name for name, b in model.named_buffers()},
    )


def _flatten(out) -> list:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _flatten(item)]
    if out is None:
        return []
    raise ExportError(f"the model returned {type(out).__name__}; ONNX outputs are Tensors")


def _recorded(outputs: list) -> list[Node]:
    seen: dict[int, Tensor] = {}
    stack = [t for t in outputs if t._op is not None]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen[id(t)] = t
        stack.extend(a for a in t._args if isinstance(a, Tensor) and a._op is not None)
    ordered = sorted(seen.values(), key=lambda t: t._seq)
    nodes = []
    for t in ordered:
        kw = dict(t._kw or {})
        module = kw.pop("module", None) if t._op.name.startswith("module:") else None
        kw.pop("result", None)
        kw.pop("cache", None)
        nodes.append(Node(t._op.name, t, tuple(t._args), kw, module))
    return nodes


def compare(a: Trace, b: Trace) -> None:
    """Check that trace ``b`` (one more row) has ``a``'s structure and the same constants;
    note in ``a``'s nodes the arguments that change with the batch size."""
    if [n.op for n in a.nodes] != [n.op for n in b.nodes] or len(a.outputs) != len(b.outputs):
        raise ExportError(
            "the model runs different operations for a different batch size (control flow "
            "on the input's values or size), so one ONNX graph cannot represent it"
        )
    a.batch_axes = [[k for k, (p, q) in enumerate(zip(x.shape, y.shape, strict=False)) if p != q]
                    for x, y in zip(a.outputs, b.outputs, strict=True)]
    for i, (x, y) in enumerate(zip(a.outputs, b.outputs, strict=True)):
        if _is_constant(x, a) and not _same_constant(x, y):
            raise ExportError(
                f"output {i} of the model is computed from the input outside the autodiff "
                "graph (no op recorded it), so an ONNX file would freeze it"
            )
    for na, nb in zip(a.nodes, b.nodes, strict=True):
        for i, (x, y) in enumerate(zip(na.args, nb.args, strict=True)):
            if not isinstance(x, (Tensor, np.ndarray)):  # a shape, an axis, an index...
                if not _equal(x, y):
                    na.varying[f"arg{i}"] = y
            elif _is_constant(x, a) and not _same_constant(x, y):
                if _zeros(x) and _zeros(y):  # an initial state: a converter may drop it
                    na.varying[f"zeros{i}"] = True
                    continue
                if _is_input(x, a) and _is_input(y, b):  # the input's values (token ids)
                    na.varying[f"input{i}"] = True
                    continue
                raise ExportError(
                    f"operation '{na.op}' (argument {i}) uses a value computed from the input "
                    "outside the autodiff graph, which an ONNX file would freeze; write that "
                    "step with plainnet ops on Tensors"
                )
        for key, value in na.kw.items():
            other = nb.kw.get(key)
            if not _equal(value, other):
                na.varying[key] = other


def _is_input(x, tr: Trace) -> bool:
    data = np.asarray(x.data if isinstance(x, Tensor) else x)
    return (data.dtype.kind in "iu" and data.shape == tr.input.shape
            and bool(np.array_equal(data, tr.input.data)))


def _zeros(x) -> bool:
    data = np.asarray(x.data if isinstance(x, Tensor) else x)
    return data.size > 0 and data.dtype.kind == "f" and not data.any()


def _is_constant(x, tr: Trace) -> bool:
    if isinstance(x, Tensor):
        return x._op is None and x is not tr.input and id(x) not in tr.param_names
    return True


def _same_constant(x, y) -> bool:
    if isinstance(x, Tensor):
        x = x.data
    if isinstance(y, Tensor):
        y = y.data
    return _equal(x, y)


def _equal(x, y) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        try:
            return np.shape(x) == np.shape(y) and bool(np.array_equal(x, y, equal_nan=True))
        except TypeError:
            return False
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return len(x) == len(y) and all(_equal(p, q) for p, q in zip(x, y, strict=True))
    if isinstance(x, slice) and isinstance(y, slice):
        return (x.start, x.stop, x.step) == (y.start, y.stop, y.step)
    try:
        return bool(x == y)
    except (TypeError, ValueError):
        return x is y
