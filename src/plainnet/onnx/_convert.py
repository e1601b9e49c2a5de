"""Each plainnet op as ONNX nodes: ``CONVERTERS[op name](graph, node) -> output name``.

A converter reads its node's arguments (``g.name(arg)`` gives the ONNX name of a traced
Tensor or writes a constant) and keyword arguments, and returns the name of the node's
result. Shapes come from the trace (``node.out.shape``, ``arg.shape``); arguments that change
with the batch size are in ``node.varying`` and become dynamic here (a reshape's batch axis)
or are refused. An op without an entry is refused by name (`convert`).
"""

from __future__ import annotations

import math

import numpy as np

from ..autodiff import Tensor
from ._graph import Graph
from ._trace import ExportError, Node

CONVERTERS: dict = {}


def converter(*names):
    def register(fn):
        for name in names:
            CONVERTERS[name] = fn
        return fn

    return register


def convert(g: Graph, node: Node) -> str:
    """The ONNX name of ``node``'s result, after writing its nodes to ``g``."""
    fn = CONVERTERS.get(node.op)
    if fn is None and node.module is not None and callable(getattr(node.module, "onnx_nodes",
                                                                   None)):
        return node.module.onnx_nodes(g, g.name(node.args[0]))
    if fn is None:
        raise ExportError(
            f"operation '{node.op}' has no ONNX mapping, so the model cannot be exported "
            f"(supported: {', '.join(sorted(CONVERTERS))})"
        )
    if any(key.startswith("input") for key in node.varying) and not getattr(
        fn, "input_ids", False
    ):
        raise ExportError(
            f"operation '{node.op}' uses a value computed from the input outside the autodiff "
            "graph, which an ONNX file would freeze; write that step with plainnet ops"
        )
    if any(key.startswith("zeros") for key in node.varying) and not getattr(
        fn, "batch_zeros", False
    ):
        raise ExportError(
            f"operation '{node.op}' takes zeros shaped by the batch size as a constant, which "
            "an ONNX file would freeze; write that step with plainnet ops on Tensors"
        )
    changing = sorted(k for k in node.varying if not k.startswith(("zeros", "input")))
    if changing and not getattr(fn, "batch_args", False):
        raise ExportError(
            f"operation '{node.op}' takes arguments that change with the batch size "
            f"({', '.join(changing)}), which ONNX cannot express here; export with "
            "dynamic_batch=False"
        )
    out_dtype = node.out.data.dtype
    g.dtype = out_dtype if out_dtype.kind == "f" else g.model_dtype  # constants' dtype
    try:
        return fn(g, node)
    finally:
        g.dtype = g.model_dtype


def _shape(x) -> tuple:
    return tuple(x.shape) if isinstance(x, Tensor) else np.shape(x)


def _ndim(x) -> int:
    return len(_shape(x))


# -- elementwise ---------------------------------------------------------------------------
_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow",
           "maximum": "Max", "minimum": "Min", "scale": "Mul"}
_UNARY = {"neg": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs",
          "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu", "softplus": "Softplus",
          "erf": "Erf", "sin": "Sin", "cos": "Cos", "tan": "Tan", "reciprocal": "Reciprocal",
          "sign": "Sign", "floor": "Floor", "ceil": "Ceil", "softsign": "Softsign",
          "selu": "Selu", "to_device": "Identity"}


@converter(*_BINARY)
def _binary(g: Graph, node: Node) -> str:
    a, b = node.args
    if node.op == "pow" and not isinstance(b, Tensor) and np.ndim(b) == 0:
        if float(b) == 2.0:
            x = g.name(a)
            return g.add("Mul", [x, x])
        if float(b) == 0.5:
            return g.add("Sqrt", [g.name(a)])
    return g.add(_BINARY[node.op], [_as_out_dtype(g, node, a), _as_out_dtype(g, node, b)])


def _as_out_dtype(g: Graph, node: Node, value) -> str:
    """The name of ``value``, cast to the node's dtype if it is a Tensor of another (plainnet
    promotes float32 with float64; ONNX operands must agree)."""
    name = g.name(value)
    if isinstance(value, Tensor) and value.data.dtype != node.out.data.dtype:
        return g.add("Cast", [name], to=_onnx_type(node.out.data.dtype))
    return name


@converter(*_UNARY)
def _unary(g: Graph, node: Node) -> str:
    return g.add(_UNARY[node.op], [g.name(node.args[0])])


@converter("square")
def _square(g, node):
    x = g.name(node.args[0])
    return g.add("Mul", [x, x])


@converter("rsqrt")
def _rsqrt(g, node):
    return g.add("Reciprocal", [g.add("Sqrt", [g.name(node.args[0])])])


@converter("log1p")
def _log1p(g, node):
    return g.add("Log", [g.add("Add", [g.name(node.args[0]), g.scalar(1.0)])])


@converter("expm1")
def _expm1(g, node):
    return g.add("Sub", [g.add("Exp", [g.name(node.args[0])]), g.scalar(1.0)])


@converter("log2", "log10")
def _log_base(g, node):
    base = 2.0 if node.op == "log2" else 10.0
    return g.add("Div", [g.add("Log", [g.name(node.args[0])]), g.scalar(math.log(base))])


@converter("round")
def _round(g, node):
    decimals = node.kw.get("decimals", 0)
    x = g.name(node.args[0])
    if not decimals:
        return g.add("Round", [x])
    f = g.scalar(10.0 ** decimals)
    return g.add("Div", [g.add("Round", [g.add("Mul", [x, f])]), f])


@converter("elu", "celu")
def _elu(g, node):
    op = "Elu" if node.op == "elu" else "Celu"
    return g.add(op, [g.name(node.args[0])], alpha=float(node.kw.get("alpha", 1.0)))


@converter("hardtanh")
def _hardtanh(g, node):
    lo, hi = node.kw.get("min_val", -1.0), node.kw.get("max_val", 1.0)
    return g.add("Clip", [g.name(node.args[0]), g.scalar(lo), g.scalar(hi)])


@converter("hardswish")
def _hardswish(g, node):
    return g.add("HardSwish", [g.name(node.args[0])])


@converter("hardsigmoid")
def _hardsigmoid(g, node):
    return g.add("HardSigmoid", [g.name(node.args[0])], alpha=1.0 / 6.0, beta=0.5)


@converter("silu")
def _silu(g, node):
    x = g.name(node.args[0])
    return g.add("Mul", [x, g.add("Sigmoid", [x])])


@converter("mish")
def _mish(g, node):
    x = g.name(node.args[0])
    return g.add("Mul", [x, g.add("Tanh", [g.add("Softplus", [x])])])


@converter("logsigmoid")
def _logsigmoid(g, node):
    x = g.name(node.args[0])
    return g.add("Neg", [g.add("Softplus", [g.add("Neg", [x])])])


@converter("gelu")
def _gelu(g, node):
    x = g.name(node.args[0])
    approximate = node.kw.get("approximate", "none")
    if g.opset >= 20:
        return g.add("Gelu", [x], approximate=approximate)
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.add("Mul", [g.add("Mul", [x, x]), x])
        inner = g.add("Add", [x, g.add("Mul", [cube, g.scalar(0.044715)])])
        t = g.add("Tanh", [g.add("Mul", [inner, g.scalar(math.sqrt(2.0 / math.pi))])])
    else:  # 0.5 x (1 + erf(x / sqrt 2))
        t = g.add("Erf", [g.add("Mul", [x, g.scalar(1.0 / math.sqrt(2.0))])])
    half_x = g.add("Mul", [x, g.scalar(0.5)])
    return g.add("Mul", [half_x, g.add("Add", [t, g.scalar(1.0)])])


@converter("step", "module:Step")
def _step(g, node):
    from ..functions.activations import step

    x = g.name(node.args[0])
    at_zero = float(step.forward(np.zeros(1))[0])
    chosen = "Greater" if at_zero == 0.0 else "GreaterOrEqual"
    return g.add("Cast", [g.add(chosen, [x, g.scalar(0.0)])], to=_onnx_type(node.out.dtype))


@converter("clip")
def _clip(g, node):
    a, lo, hi = node.args
    x = g.name(a)
    if lo is not None:
        x = g.add("Max", [x, g.name(lo)])
    if hi is not None:
        x = g.add("Min", [x, g.name(hi)])
    return x


@converter("where")
def _where(g, node):
    cond, a, b = node.args
    c = g.const(np.asarray(cond.data if isinstance(cond, Tensor) else cond, dtype=bool),
                "condition", np.bool_)
    return g.add("Where", [c, g.name(a), g.name(b)])


@converter("astype")
def _astype(g, node):
    dtype = np.dtype(_positional(node, "dtype", 1))
    return g.add("Cast", [g.name(node.args[0])], to=_onnx_type(dtype))


def _onnx_type(dtype) -> int:
    from onnx import helper

    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# -- products ----------------------------------------------------------------------------
@converter("matmul")
def _matmul(g, node):
    a, b = node.args
    return g.add("MatMul", [_as_out_dtype(g, node, a), _as_out_dtype(g, node, b)])


def _linear(g: Graph, node: Node) -> str:
    x, w, b = node.args[:3]
    xn, wn = _as_out_dtype(g, node, x), _as_out_dtype(g, node, w)
    bn = _as_out_dtype(g, node, b) if b is not None else None
    if _ndim(x) == 2:
        return g.add("Gemm", [xn, wn] + ([bn] if bn is not None else []), transB=1)
    y = g.add("MatMul", [xn, g.add("Transpose", [wn], perm=[1, 0])])
    return y if bn is None else g.add("Add", [y, bn])


@converter("linear")
def _linear_node(g, node):
    return _linear(g, node)


@converter("linear_relu")
def _linear_relu(g, node):
    return g.add("Relu", [_linear(g, node)])


@converter("einsum")
def _einsum(g, node):
    equation = node.kw.get("spec", node.kw.get("equation"))
    if not isinstance(equation, str):
        raise ExportError("operation 'einsum': its equation is not known to the exporter")
    return g.add("Einsum", [g.name(a) for a in node.args], equation=equation)


# -- reductions and normalizations ---------------------------------------------------------
_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
           "logsumexp": "ReduceLogSumExp"}


@converter(*_REDUCE)
def _reduce(g, node):
    default = -1 if node.op == "logsumexp" else None
    axis = node.kw.get("axis", default)
    return g.reduce(_REDUCE[node.op], g.name(node.args[0]), axis,
                    bool(node.kw.get("keepdims", False)))


@converter("softmax", "log_softmax")
def _softmax(g, node):
    op = "Softmax" if node.op == "softmax" else "LogSoftmax"
    return g.add(op, [g.name(node.args[0])], axis=int(node.kw.get("axis", -1)))


@converter("std", "var")
def _std(g, node):
    a = node.args[0]
    x = g.name(a)
    axis, keepdims = node.kw.get("axis"), bool(node.kw.get("keepdims", False))
    ddof = node.kw.get("ddof", 0)
    axes = range(_ndim(a)) if axis is None else np.atleast_1d(axis)
    n = math.prod(_shape(a)[int(k)] for k in axes)
    centered = g.add("Sub", [x, g.reduce("ReduceMean", x, axis, True)])
    total = g.reduce("ReduceSum", g.add("Mul", [centered, centered]), axis, keepdims)
    var = g.add("Div", [total, g.scalar(max(n - ddof, 0))])
    return g.add("Sqrt", [var]) if node.op == "std" else var


@converter("batch_norm")
def _batch_norm(g, node):
    x, w, b = node.args[:3]
    axes, eps = list(node.kw["axes"]), float(node.kw["eps"])
    xn = g.name(x)
    mean = g.reduce("ReduceMean", xn, axes, True)
    centered = g.add("Sub", [xn, mean])
    var = g.reduce("ReduceMean", g.add("Mul", [centered, centered]), axes, True)
    y = g.add("Div", [centered, g.add("Sqrt", [g.add("Add", [var, g.scalar(eps)])])])
    keep = [1 if i in axes else n for i, n in enumerate(_shape(x))]
    if w is not None:
        y = g.add("Mul", [y, g.add("Reshape", [g.name(w), g.ints(keep)])])
    if b is not None:
        y = g.add("Add", [y, g.add("Reshape", [g.name(b), g.ints(keep)])])
    return y


@converter("norm")
def _layer_norm(g, node):
    """plainnet's LayerNorm/RMSNorm op: normalize over the last ``n_axes`` axes."""
    x, w, b = node.args[:3]
    n_axes, eps, rms = int(node.kw["n_axes"]), float(node.kw["eps"]), bool(node.kw["rms"])
    ndim = _ndim(x)
    axes = list(range(ndim - n_axes, ndim))
    xn = g.name(x)
    if not rms and g.opset >= 17:
        scale = g.name(w) if w is not None else g.const(np.ones(_shape(x)[-n_axes:]), "ones")
        inputs = [xn, scale] + ([g.name(b)] if b is not None else [])
        return g.add("LayerNormalization", inputs, axis=-n_axes, epsilon=eps)
    if rms:
        centered = xn
    else:
        centered = g.add("Sub", [xn, g.reduce("ReduceMean", xn, axes, True)])
    var = g.reduce("ReduceMean", g.add("Mul", [centered, centered]), axes, True)
    y = g.add("Div", [centered, g.add("Sqrt", [g.add("Add", [var, g.scalar(eps)])])])
    if w is not None:
        y = g.add("Mul", [y, g.name(w)])
    if b is not None:
        y = g.add("Add", [y, g.name(b)])
    return y


# -- shapes --------------------------------------------------------------------------------
@converter("reshape")
def _reshape(g, node):
    a = node.args[0]
    shape = list(_positional(node, "shape", 1))
    other = _varying(node, "shape", 1)
    if other is None or len(other) != len(shape):
        target = g.ints(shape) if other is None else None
        if target is None:
            raise ExportError(f"operation 'reshape' to {shape}: its rank changes with the "
                              "batch size")
    else:
        target = g.dynamic_shape(shape, other, f"operation 'reshape' to {shape}")
    return g.add("Reshape", [g.name(a), target])


_reshape.batch_args = True


def _varying(node: Node, key: str, index: int):
    """The value of an argument in the trace with one more row, if it changed."""
    return node.varying.get(key, node.varying.get(f"arg{index}"))


def _positional(node: Node, key: str, index: int, default=None):
    if key in node.kw:
        return node.kw[key]
    return node.args[index] if len(node.args) > index else default


@converter("transpose")
def _transpose(g, node):
    a = node.args[0]
    axes = _positional(node, "axes", 1)
    nd = _ndim(a)
    perm = list(range(nd))[::-1] if axes is None else [int(k) % nd for k in axes]
    return g.add("Transpose", [g.name(a)], perm=perm)


@converter("swapaxes")
def _swapaxes(g, node):
    a = node.args[0]
    nd = _ndim(a)
    i, j = (int(_positional(node, k, n)) % nd for k, n in (("axis1", 1), ("axis2", 2)))
    perm = list(range(nd))
    perm[i], perm[j] = perm[j], perm[i]
    return g.add("Transpose", [g.name(a)], perm=perm)


@converter("squeeze")
def _squeeze(g, node):
    a = node.args[0]
    axis = _positional(node, "axis", 1)
    shape = _shape(a)
    if axis is None:
        axes = [i for i, n in enumerate(shape) if n == 1]
    else:
        axes = [int(k) % len(shape) for k in np.atleast_1d(axis)]
    return g.squeeze(g.name(a), axes) if axes else g.add("Identity", [g.name(a)])


@converter("expand_dims")
def _expand_dims(g, node):
    a = node.args[0]
    axis = _positional(node, "axis", 1)
    nd = _ndim(a) + len(np.atleast_1d(axis))
    return g.unsqueeze(g.name(a), sorted(int(k) % nd for k in np.atleast_1d(axis)))


@converter("broadcast_to")
def _broadcast_to(g, node):
    a = node.args[0]
    shape = list(_positional(node, "shape", 1))
    other = _varying(node, "shape", 1)
    if other is not None:  # Expand broadcasts both ways: 1 keeps the input's (batch) size
        shape = [1 if p != q else p for p, q in zip(shape, other, strict=True)]
    return g.add("Expand", [g.name(a), g.ints(shape)])


_broadcast_to.batch_args = True


@converter("concatenate")
def _concatenate(g, node):
    return g.add("Concat", [g.name(a) for a in node.args], axis=int(node.kw.get("axis", 0)))


@converter("stack")
def _stack(g, node):
    axis = int(node.kw.get("axis", 0))
    nd = _ndim(node.args[0]) + 1
    parts = [g.unsqueeze(g.name(a), [axis % nd]) for a in node.args]
    return g.add("Concat", parts, axis=axis)


@converter("tril", "triu")
def _trilu(g, node):
    k = int(_positional(node, "k", 1, 0))
    return g.add("Trilu", [g.name(node.args[0]), g.const(np.int64(k), "k", np.int64)],
                 upper=int(node.op == "triu"))


@converter("getitem")
def _getitem(g, node):
    a, index = node.args[0], _positional(node, "index", 1)
    if _varying(node, "index", 1) is not None:
        raise ExportError("operation 'getitem': its index changes with the batch size")
    return _basic_index(g, g.name(a), _shape(a), index)


def _basic_index(g: Graph, x: str, shape: tuple, index) -> str:
    """``x[index]`` for ints, slices, None, Ellipsis and one constant integer array."""
    if not isinstance(index, tuple):
        index = (index,)
    n_real = sum(1 for k in index if k is not None and k is not Ellipsis)
    if any(k is Ellipsis for k in index):
        at = next(i for i, k in enumerate(index) if k is Ellipsis)
        index = index[:at] + (slice(None),) * (len(shape) - n_real) + index[at + 1:]
    starts, ends, axes, steps, squeeze, insert, gathers = [], [], [], [], [], [], []
    axis, out_axis = 0, 0
    for k in index:
        if k is None:
            insert.append(out_axis)
            out_axis += 1
            continue
        if isinstance(k, slice):
            if k != slice(None):  # the bounds as written: ONNX clamps them as Python does
                step = 1 if k.step is None else int(k.step)
                big = np.iinfo(np.int64)
                axes.append(axis)
                starts.append(int(k.start) if k.start is not None else (0 if step > 0 else -1))
                ends.append(int(k.stop) if k.stop is not None else
                            (big.max if step > 0 else big.min))
                steps.append(step)
            out_axis += 1
        elif isinstance(k, (int, np.integer)):
            i = int(k)
            axes.append(axis)
            starts.append(i)
            ends.append(i + 1 if i != -1 else np.iinfo(np.int64).max)
            steps.append(1)
            squeeze.append(axis)
        else:
            arr = np.asarray(k.data if isinstance(k, Tensor) else k)
            if arr.dtype.kind not in "iu" or gathers:
                raise ExportError("operation 'getitem': only ints, slices, None and one integer "
                                  "array index can be written to ONNX")
            gathers.append((axis, arr))
            out_axis += arr.ndim
        axis += 1
    if axes:
        x = g.add("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    for gather_axis, arr in gathers:
        x = g.add("Gather", [x, g.const(arr, "index", np.int64)], axis=gather_axis)
    if squeeze:
        x = g.squeeze(x, squeeze)
    if insert:
        x = g.unsqueeze(x, insert)
    return x


@converter("pad")
def _pad(g, node):
    a = node.args[0]
    widths, value = _positional(node, "pad_width", 1), _positional(node, "value", 2, 0)
    pairs = [tuple(int(v) for v in p) for p in widths]
    pads = [p[0] for p in pairs] + [p[1] for p in pairs]
    return g.add("Pad", [g.name(a), g.ints(pads), g.scalar(float(value))], mode="constant")


@converter("cumsum")
def _cumsum(g, node):
    axis = int(_positional(node, "axis", 1)) % _ndim(node.args[0])
    return g.add("CumSum", [g.name(node.args[0]), g.const(np.int64(axis), "axis", np.int64)])


@converter("prod", "norm2")
def _prod(g, node):
    op = "ReduceProd" if node.op == "prod" else "ReduceL2"
    return g.reduce(op, g.name(node.args[0]), node.kw.get("axis"),
                    bool(node.kw.get("keepdims", False)))


@converter("flip")
def _flip(g, node):
    a = node.args[0]
    axis = _positional(node, "axis", 1)
    nd = _ndim(a)
    axes = list(range(nd)) if axis is None else [int(k) % nd for k in np.atleast_1d(axis)]
    big = np.iinfo(np.int64)
    return g.add("Slice", [g.name(a), g.ints([-1] * len(axes)), g.ints([big.min] * len(axes)),
                           g.ints(axes), g.ints([-1] * len(axes))])


@converter("tile")
def _tile(g, node):
    a = node.args[0]
    reps = [int(r) for r in _positional(node, "reps", 1)]
    reps = [1] * (_ndim(a) - len(reps)) + reps
    x = g.name(a)
    if len(reps) > _ndim(a):  # NumPy prepends axes of size 1
        x = g.add("Reshape", [x, g.ints([1] * (len(reps) - _ndim(a)) + list(_shape(a)))])
    return g.add("Tile", [x, g.ints(reps)])


@converter("clone")
def _clone(g, node):
    return g.add("Identity", [g.name(node.args[0])])


# -- module-level nodes --------------------------------------------------------------------
@converter("module:LeakyReLU")
def _leaky_relu(g, node):
    return g.add("LeakyRelu", [g.name(node.args[0])],
                 alpha=float(node.module.get_config()["negative_slope"]))


@converter("module:Embedding")
def _embedding(g, node):
    ids = g.add("Cast", [g.name(node.args[0])], to=_onnx_type(np.int64))
    return g.add("Gather", [g.parameter(node.module.weight), ids], axis=0)


# -- convolution and pooling ---------------------------------------------------------------
def _geometry(geo) -> dict:
    pads = [lo for lo, _ in geo.padding] + [hi for _, hi in geo.padding]
    return {"strides": list(geo.stride), "pads": pads, "dilations": list(geo.dilation)}


@converter("conv_bias")
def _conv(g, node):
    x, w, b = node.args[:3]
    geo = node.kw["geo"]
    inputs = [g.name(x), g.name(w)] + ([g.name(b)] if b is not None else [])
    return g.add("Conv", inputs, kernel_shape=list(_shape(w)[2:]), group=int(geo.groups),
                 **_geometry(geo))


@converter("conv_transpose_bias")
def _conv_transpose(g, node):
    x, w, b = node.args[:3]
    geo, spatial = node.kw["geo"], node.kw["spatial"]
    kernel = _shape(w)[2:]
    natural = [s * (n - 1) + d * (k - 1) + 1 - lo - hi for n, k, s, d, (lo, hi)
               in zip(_shape(x)[2:], kernel, geo.stride, geo.dilation, geo.padding,
                      strict=True)]
    extra = [int(want - got) for want, got in zip(spatial, natural, strict=True)]
    inputs = [g.name(x), g.name(w)] + ([g.name(b)] if b is not None else [])
    return g.add("ConvTranspose", inputs, kernel_shape=list(kernel), group=int(geo.groups),
                 output_padding=extra, **_geometry(geo))


@converter("max_pool")
def _max_pool(g, node):
    geo = node.kw["geo"]
    pooled = g.add("MaxPool", [g.name(node.args[0])], kernel_shape=list(node.kw["kernel"]),
                   **_geometry(geo))
    return g.add("Relu", [pooled]) if node.kw.get("relu") else pooled


@converter("avg_pool")
def _avg_pool(g, node):
    geo, include = node.kw["geo"], bool(node.kw.get("count_include_pad", True))
    if list(geo.dilation) != [1] * len(geo.dilation):
        raise ExportError("operation 'avg_pool' with dilation has no ONNX mapping")
    if include and any(hi > lo for lo, hi in geo.padding):
        raise ExportError("operation 'avg_pool' with ceil_mode windows past the padding and "
                          "count_include_pad=True has no exact ONNX mapping")
    attrs = _geometry(geo)
    attrs.pop("dilations")
    return g.add("AveragePool", [g.name(node.args[0])], kernel_shape=list(node.kw["kernel"]),
                 count_include_pad=int(include), **attrs)


@converter("take")
def _take(g, node):
    x, index = node.args[:2]
    axis = int(_positional(node, "axis", 2))
    return g.add("Gather", [g.name(x), g.const(np.asarray(index), "index", np.int64)],
                 axis=axis)


# -- sequences -----------------------------------------------------------------------------
def _input_ids(g: Graph) -> str:
    """The graph's input as int64 token ids."""
    return g.add("Cast", [g.input_name], "ids", to=_onnx_type(np.int64))


@converter("embedding")
def _embedding_op(g, node):
    weight, indices = node.args[:2]
    if "input1" in node.varying:
        ids = _input_ids(g)
    else:
        ids = g.const(np.asarray(indices), "index", np.int64)
    return g.add("Gather", [g.name(weight), ids], axis=0)


_embedding_op.input_ids = True


def _attention(g: Graph, q: str, k: str, v: str, rank: int, bias, causal: bool, scale: float,
               n_q: int, n_k: int, keep) -> str:
    if keep is not None:
        raise ExportError("attention with dropout (training mode) cannot be exported")
    perm = list(range(rank))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    s = g.add("Mul", [g.add("MatMul", [q, g.add("Transpose", [k], perm=perm)]),
                      g.scalar(scale)], "scores")
    if causal:
        s = g.add("Add", [s, g.const(np.triu(np.full((n_q, n_k), -np.inf), k=1), "causal")])
    if bias is not None:
        s = g.add("Add", [s, g.name(bias)])
    return g.add("MatMul", [g.add("Softmax", [s], "weights", axis=-1), v])


@converter("scaled_dot_product_attention")
def _sdpa(g, node):
    q, k, v, bias = node.args[:4]
    return _attention(g, g.name(q), g.name(k), g.name(v), _ndim(q), bias,
                      bool(node.kw.get("causal")), float(node.kw["scale"]), _shape(q)[-2],
                      _shape(k)[-2], node.kw.get("keep"))


@converter("packed_attention")
def _packed(g, node):
    qkv, heads, bias = node.args[:3]
    n, length, e3 = _shape(qkv)
    d = e3 // (3 * heads)
    parts = g.add("Reshape", [g.name(qkv), g.ints([0, length, 3, heads, d])])
    q, k, v = (g.add("Transpose", [g.add("Gather", [parts, g.const(np.int64(j), "j", np.int64)],
                                         axis=2)], perm=[0, 2, 1, 3]) for j in range(3))
    out = _attention(g, q, k, v, 4, bias, bool(node.kw.get("causal")), float(node.kw["scale"]),
                     length, length, node.kw.get("keep"))
    merged = g.add("Transpose", [out], perm=[0, 2, 1, 3])
    return g.add("Reshape", [merged, g.ints([0, length, e3 // 3])])


_GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}
"""PyTorch's gate blocks in ONNX's order (LSTM i f g o -> i o f c; GRU r z n -> z r h)."""


@converter("recurrent")
def _recurrent(g, node):
    """One layer in one direction: ONNX's LSTM / GRU / RNN op, weights reordered in the graph
    (the initializers keep PyTorch's layout and names)."""
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = node.args[:7]
    mode, reverse = node.kw["mode"], bool(node.kw.get("reverse", False))
    hidden = _shape(w_hh)[1]
    order = np.concatenate([np.arange(hidden) + j * hidden for j in _GATE_ORDER[mode]])
    index = g.const(order, "gates", np.int64)

    def gates(w):
        return g.add("Gather", [g.name(w), index], axis=0)

    W = g.unsqueeze(gates(w_ih), [0])
    R = g.unsqueeze(gates(w_hh), [0])
    n_rows = len(order)
    biases = [gates(b) if b is not None else g.const(np.zeros(n_rows), "zeros")
              for b in (b_ih, b_hh)]
    B = g.unsqueeze(g.add("Concat", biases, axis=0), [0])
    initial_h = None if "zeros1" in node.varying else g.unsqueeze(g.name(h0), [0])
    op, attrs = {"LSTM": ("LSTM", {}), "GRU": ("GRU", {"linear_before_reset": 1}),
                 "RNN_TANH": ("RNN", {"activations": ["Tanh"]}),
                 "RNN_RELU": ("RNN", {"activations": ["Relu"]})}[mode]
    inputs = [g.name(x), W, R, B, None, initial_h]
    if mode == "LSTM":
        initial_c = None if "zeros2" in node.varying else g.unsqueeze(g.name(c0), [0])
        inputs.append(initial_c)
    n_out = 3 if mode == "LSTM" else 2
    outs = g.add(op, inputs, mode.lower(), outputs=n_out, hidden_size=int(hidden),
                 direction="reverse" if reverse else "forward", **attrs)
    y = g.squeeze(outs[0], [1])  # (T, 1, B, H) -> (T, B, H)
    return g.add("Concat", [y, outs[2]], axis=0) if mode == "LSTM" else y


_recurrent.batch_zeros = True
