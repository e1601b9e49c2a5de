"""``pn.onnx.load``: an ONNX file written by [`plainnet.onnx.export`][plainnet.onnx.export], as
a plainnet Module.

The file's nodes are run in order with plainnet's operations, so the loaded model predicts
what the exported one did and is differentiable: its parameters (the initializers the
exporter wrote from the model's ``state_dict``, under the same names) train with any
plainnet optimizer, and ``load_state_dict`` takes the original model's weights. Only the
ONNX operators the exporter writes are known; any other is refused by name.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..autodiff import Tensor, ops
from ..autodiff import conv_ops as conv
from ..nn import Module, Parameter
from ._trace import ExportError

PARAMETERS_KEY = "plainnet.parameters"
"""The metadata entry (JSON list) naming the initializers that are the model's parameters."""


def load(path: str | os.PathLike) -> OnnxModule:
    """The ONNX model at ``path`` (from [`plainnet.onnx.export`][plainnet.onnx.export]) as a
    plainnet Module.

    Raises [`ExportError`][plainnet.onnx.ExportError] (a ``ValueError``) naming an ONNX
    operator it cannot run.
    """
    import onnx

    from ..io.files import read_bytes

    proto = onnx.load_from_string(read_bytes(path, "ONNX file"))
    return OnnxModule(proto)


class OnnxModule(Module):
    """An ONNX graph run node by node with plainnet ops; parameters under their file names."""

    def __init__(self, proto):
        super().__init__()
        from onnx import numpy_helper

        graph = proto.graph
        meta = {p.key: p.value for p in proto.metadata_props}
        trainable = set(json.loads(meta.get(PARAMETERS_KEY, "[]")))
        object.__setattr__(self, "_graph", graph)
        object.__setattr__(self, "_constants", {})
        for init in graph.initializer:
            value = numpy_helper.to_array(init)
            if init.name in trainable:
                self._parameters[init.name] = Parameter(value, dtype=value.dtype)
            else:
                self._constants[init.name] = value
        unknown = sorted({n.op_type for n in graph.node} - set(_OPS))
        if unknown:
            raise ExportError(f"ONNX operators {unknown} are not among those plainnet runs")
        object.__setattr__(self, "input_names", [i.name for i in graph.input])
        object.__setattr__(self, "output_names", [o.name for o in graph.output])

    def forward(self, x):
        env: dict = dict(self._constants)
        env.update(self._parameters)
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        env[self.input_names[0]] = x if data.dtype.kind == "f" else data
        for node in self._graph.node:
            args = [env[name] if name else None for name in node.input]
            attrs = _attributes(node)
            result = _OPS[node.op_type](*args, **attrs)
            outs = result if isinstance(result, tuple) else (result,)
            for name, value in zip(node.output, outs, strict=False):
                env[name] = value
        results = [env[name] for name in self.output_names]
        return results[0] if len(results) == 1 else tuple(results)

    def __call__(self, x, *args, **kwargs):
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        if data.dtype.kind in "iu":  # token ids stay integers
            return self.forward(data)
        return super().__call__(x, *args, **kwargs)

    def get_config(self) -> dict:
        raise TypeError("an OnnxModule is saved as the ONNX file it came from; or save its "
                        "weights with pn.save(model.state_dict(), path)")


def _attributes(node) -> dict:
    from onnx import helper

    def text(value):
        if isinstance(value, bytes):
            return value.decode()
        if isinstance(value, list):
            return [text(v) for v in value]
        return value

    return {a.name: text(helper.get_attribute_value(a)) for a in node.attribute}


# -- the operators the exporter writes -------------------------------------------------------
def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _ints(x) -> list[int]:
    return [int(v) for v in np.asarray(_raw(x)).ravel()]


def _unary(fn):
    return lambda x: fn(x)


def _reduce(fn):
    def run(x, axes=None, keepdims=1, **_):
        if axes is not None and not isinstance(axes, (list, tuple)):
            axes = _ints(axes)
        axis = None if axes is None or len(axes) == 0 else tuple(int(a) for a in axes)
        return fn(x, axis=axis, keepdims=bool(keepdims))
    return run


def _reshape(x, shape, **_):
    target = _ints(shape)
    target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return ops.reshape(x, tuple(target)) if isinstance(x, Tensor) else np.reshape(x, target)


def _slice(x, starts, ends, axes=None, steps=None):
    axes = _ints(axes) if axes is not None else list(range(len(_ints(starts))))
    steps = _ints(steps) if steps is not None else [1] * len(axes)
    index = [slice(None)] * len(x.shape)
    for a, s, e, st in zip(axes, _ints(starts), _ints(ends), steps, strict=True):
        big = np.iinfo(np.int64)
        index[a] = slice(s, None if e in (big.max, big.min) else e, st)
    return x[tuple(index)]


def _gather(x, index, axis=0):
    idx = np.asarray(_raw(index)).astype(np.intp)
    if not isinstance(x, Tensor):
        return np.take(x, idx, axis=axis)
    return x[(slice(None),) * (axis % len(x.shape)) + (idx,)]


def _squeeze(x, axes=None):
    for a in sorted(_ints(axes), reverse=True) if axes is not None else []:
        x = ops.squeeze(x, a)
    return x


def _unsqueeze(x, axes):
    for a in sorted(_ints(axes)):
        x = ops.expand_dims(x, a) if isinstance(x, Tensor) else np.expand_dims(x, a)
    return x


def _expand(x, shape):
    target = np.broadcast_shapes(tuple(x.shape), tuple(_ints(shape)))
    return ops.broadcast_to(x, target)


def _concat(*xs, axis=0):
    if not any(isinstance(x, Tensor) for x in xs):
        return np.concatenate([np.atleast_1d(x) for x in xs], axis=axis)
    return ops.concatenate(list(xs), axis=axis)


def _gemm(a, b, c=None, transA=0, transB=0, alpha=1.0, beta=1.0):  # noqa: N803 - ONNX's names
    y = ops.matmul(ops.transpose(a) if transA else a, ops.transpose(b) if transB else b)
    if alpha != 1.0:
        y = y * alpha
    return y if c is None else y + (c * beta if beta != 1.0 else c)


def _layer_norm(x, scale, bias=None, axis=-1, epsilon=1e-5, **_):
    axes = tuple(range(axis % len(x.shape), len(x.shape)))
    centered = x - ops.mean(x, axis=axes, keepdims=True)
    var = ops.mean(centered * centered, axis=axes, keepdims=True)
    y = centered / ops.sqrt(var + epsilon) * scale
    return y if bias is None else y + bias


def _cast(x, to):
    from onnx import helper

    dtype = helper.tensor_dtype_to_np_dtype(to)
    if isinstance(x, Tensor):
        return ops.astype(x, dtype) if dtype.kind == "f" else x.data.astype(dtype)
    return np.asarray(x).astype(dtype)


def _geometry(x, kernel, strides=None, pads=None, dilations=None, group=1):
    nd = len(kernel)
    pads = pads or [0] * (2 * nd)
    return conv.Geometry(tuple(strides or [1] * nd), tuple(zip(pads[:nd], pads[nd:],
                                                               strict=True)),
                         tuple(dilations or [1] * nd), int(group))


def _conv(x, w, b=None, kernel_shape=None, **attrs):
    return conv.conv(x, w, b, _geometry(x, kernel_shape or w.shape[2:], **attrs))


def _conv_transpose(x, w, b=None, kernel_shape=None, output_padding=None, **attrs):
    kernel = kernel_shape or w.shape[2:]
    geo = _geometry(x, kernel, **attrs)
    extra = output_padding or [0] * len(kernel)
    spatial = [s * (n - 1) + d * (k - 1) + 1 - lo - hi + e for n, k, s, d, (lo, hi), e
               in zip(x.shape[2:], kernel, geo.stride, geo.dilation, geo.padding, extra,
                      strict=True)]
    return conv.conv_transpose(x, w, b, spatial, geo)


def _max_pool(x, kernel_shape, **attrs):
    return conv.max_pool(x, kernel_shape, _geometry(x, kernel_shape, **attrs))


def _avg_pool(x, kernel_shape, count_include_pad=0, **attrs):
    return conv.avg_pool(x, kernel_shape, _geometry(x, kernel_shape, **attrs),
                         count_include_pad=bool(count_include_pad))


_TORCH_GATES = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2], "RNN": [0]}
"""ONNX's gate blocks in PyTorch's order (the inverse of the exporter's reordering)."""


def _recurrent(kind):
    def run(x, W, R, B=None, sequence_lens=None, initial_h=None, initial_c=None, *, hidden_size,
            direction="forward", activations=None, linear_before_reset=0, **_):
        from ..nn.rnn_ops import recurrent

        hidden = int(hidden_size)
        order = np.concatenate([np.arange(hidden) + j * hidden for j in _TORCH_GATES[kind]])
        w_ih, w_hh = W[0][order], R[0][order]
        rows = len(order)
        b_ih = B[0][:rows][order] if B is not None else None
        b_hh = B[0][rows:][order] if B is not None else None
        batch = x.shape[1]
        zeros = np.zeros((batch, hidden), dtype=_raw(x).dtype)
        h0 = initial_h[0] if initial_h is not None else zeros
        c0 = (initial_c[0] if initial_c is not None else zeros) if kind == "LSTM" else None
        mode = kind if kind != "RNN" else ("RNN_RELU" if activations == ["Relu"] else "RNN_TANH")
        out = recurrent(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode, direction == "reverse")
        steps = x.shape[0]
        y = ops.expand_dims(out[:steps], 1)
        last = out[0] if direction == "reverse" else out[steps - 1]
        y_h = ops.expand_dims(last, 0)
        if kind == "LSTM":
            return y, y_h, ops.expand_dims(out[steps], 0)
        return y, y_h
    return run


def _where(cond, a, b):
    return ops.where(np.asarray(_raw(cond), dtype=bool), a, b)


def _compare(fn):
    return lambda a, b: fn(_raw(a), _raw(b))


def _round(x):
    return ops.round(x) if isinstance(x, Tensor) else np.round(x)


_OPS = {
    "Add": ops.add, "Sub": ops.subtract, "Mul": ops.multiply, "Div": ops.divide,
    "Pow": ops.power, "Max": ops.maximum, "Min": ops.minimum, "Neg": ops.negative,
    "Exp": ops.exp, "Log": ops.log, "Sqrt": ops.sqrt, "Abs": ops.abs, "Tanh": ops.tanh,
    "Sigmoid": ops.sigmoid, "Relu": ops.relu, "Softplus": ops.softplus, "Erf": ops.erf,
    "Sin": ops.sin, "Cos": ops.cos, "Tan": ops.tan, "Reciprocal": ops.reciprocal,
    "Sign": ops.sign, "Floor": ops.floor, "Ceil": ops.ceil, "Round": _round,
    "Identity": lambda x: x,
    "Softsign": lambda x: x / (ops.abs(x) + 1.0),
    "Selu": lambda x, **_: ops.apply(ops.SELU, x),
    "Elu": lambda x, alpha=1.0: ops.apply(ops.ELU, x, alpha=alpha),
    "Celu": lambda x, alpha=1.0: ops.apply(ops.CELU, x, alpha=alpha),
    "HardSwish": lambda x: ops.apply(ops.HARDSWISH, x),
    "HardSigmoid": lambda x, alpha=0.2, beta=0.5: ops.clip(x * alpha + beta, 0.0, 1.0),
    "LeakyRelu": lambda x, alpha=0.01: ops.where(_raw(x) > 0, x, x * alpha),
    "Gelu": lambda x, approximate="none": ops.apply(ops.GELU, x, approximate=approximate),
    "IsNaN": lambda x: np.isnan(_raw(x)),
    "Greater": _compare(np.greater), "GreaterOrEqual": _compare(np.greater_equal),
    "Cast": _cast, "Where": _where, "Clip": lambda x, lo=None, hi=None: ops.clip(
        x, None if lo is None else float(_raw(lo)), None if hi is None else float(_raw(hi))),
    "MatMul": ops.matmul, "Gemm": _gemm,
    "Einsum": lambda *xs, equation: ops.einsum(equation, *xs),
    "Transpose": lambda x, perm=None: ops.transpose(x, perm),
    "ReduceSum": _reduce(ops.sum), "ReduceMean": _reduce(ops.mean),
    "ReduceMax": _reduce(ops.max), "ReduceMin": _reduce(ops.min),
    "ReduceLogSumExp": _reduce(ops.logsumexp),
    "Softmax": lambda x, axis=-1: ops.softmax(x, axis=axis),
    "LogSoftmax": lambda x, axis=-1: ops.log_softmax(x, axis=axis),
    "LayerNormalization": _layer_norm,
    "Reshape": _reshape, "Shape": lambda x, **_: np.asarray(x.shape, dtype=np.int64),
    "Slice": _slice, "Gather": _gather, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze,
    "Expand": _expand, "Concat": _concat,
    "Trilu": lambda x, k=None, upper=1: (ops.triu if upper else ops.tril)(
        x, 0 if k is None else int(_raw(k))),
    "Pad": lambda x, pads, value=None, mode="constant": ops.pad(
        x, list(zip(_ints(pads)[: len(x.shape)], _ints(pads)[len(x.shape):], strict=True)),
        constant_values=0.0 if value is None else float(_raw(value))),
    "CumSum": lambda x, axis, **_: ops.cumsum(x, axis=int(_raw(axis))),
    "ReduceProd": _reduce(ops.prod),
    "ReduceL2": _reduce(lambda x, axis, keepdims: ops.sqrt(ops.sum(x * x, axis=axis,
                                                                   keepdims=keepdims))),
    "Tile": lambda x, reps: ops.tile(x, tuple(_ints(reps))),
    "Conv": _conv, "ConvTranspose": _conv_transpose, "MaxPool": _max_pool,
    "AveragePool": _avg_pool,
    "LSTM": _recurrent("LSTM"), "GRU": _recurrent("GRU"), "RNN": _recurrent("RNN"),
}
