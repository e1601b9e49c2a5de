"""Building an ONNX graph: named values, initializers and nodes (with the ``onnx`` package)."""

from __future__ import annotations

import numpy as np

from ..autodiff import Tensor
from ._trace import ExportError


class Graph:
    """The ONNX nodes and initializers written so far, and the name of every traced value.

    ``dtype`` is the float dtype of the model: float constants are written in it.
    """

    def __init__(self, opset: int, dtype: np.dtype):
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.opset = opset
        self.model_dtype = self.dtype = np.dtype(dtype)  # dtype: of the node being written
        self.nodes: list = []
        self.initializers: list = []
        self.names: dict[int, str] = {}
        self._keep: list = []  # objects whose id() is a key of names
        self._used: set[str] = set()
        self._constants: dict = {}  # (id, dtype) of a constant -> its initializer
        self.param_names: dict = {}  # id(parameter) -> state_dict name
        self.written_parameters: list[str] = []  # initializers that are the model's parameters
        self.input_name: str | None = None  # the graph's input, for its batch size
        self.batch_size = 0  # the traced batch size
        self._batch: str | None = None

    # -- names -----------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        base = "".join(c if c.isalnum() or c in "._" else "_" for c in hint) or "v"
        name, k = base, 1
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name

    def bind(self, obj, name: str) -> None:
        self.names[id(obj)] = name
        self._keep.append(obj)

    def name(self, value) -> str:
        """The ONNX name of a traced Tensor, or a new initializer for a constant."""
        known = self.names.get(id(value))
        if known is not None:
            return known
        key = (id(value), self.dtype.str)  # a constant, in the dtype of the node using it
        known = self._constants.get(key)
        if known is None:
            data = np.asarray(value.data if isinstance(value, Tensor) else value)
            if data.dtype.kind in "biu":  # a number next to a float tensor: the model's dtype
                data = data.astype(self.dtype)
            known = self._constants[key] = self.const(data)
            self._keep.append(value)
        return known

    def parameter(self, p) -> str:
        """The initializer of a module's parameter (named as in its ``state_dict``)."""
        known = self.names.get(id(p))
        if known is None:
            known = self.const(np.asarray(p.data), self.param_names.get(id(p), "weight"),
                               np.asarray(p.data).dtype)
            self.bind(p, known)
            self.written_parameters.append(known)
        return known

    # -- values ----------------------------------------------------------------------
    def const(self, value, hint: str = "const", dtype=None) -> str:
        """A new initializer holding ``value`` (floats in the model's dtype)."""
        arr = np.asarray(value)
        if dtype is not None:
            arr = arr.astype(dtype)
        elif arr.dtype.kind == "f":
            arr = arr.astype(self.dtype)
        elif arr.dtype.kind in "iu" and arr.dtype != np.int64:
            arr = arr.astype(np.int64)
        elif arr.dtype.kind not in "bif":
            raise ExportError(f"cannot write a constant of dtype {arr.dtype} to ONNX")
        name = self.fresh(hint)
        self.initializers.append(self._numpy_helper.from_array(np.array(arr, order="C"), name))
        return name

    def ints(self, values) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), "shape", np.int64)

    def scalar(self, value) -> str:
        return self.const(np.asarray(value, dtype=self.dtype), "c")

    def add(self, op_type: str, inputs: list, hint: str | None = None, outputs: int = 1,
            **attrs) -> str | list[str]:
        """Append a node; returns its output name (a list when ``outputs > 1``)."""
        names = [self.fresh(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(self._helper.make_node(
            op_type, [i if i is not None else "" for i in inputs], names,
            name=self.fresh(f"node_{op_type}"), **attrs))
        return names[0] if outputs == 1 else names

    # -- opset-dependent forms -----------------------------------------------------------
    def reduce(self, op_type: str, x: str, axes, keepdims: bool, hint=None) -> str:
        """``ReduceSum``/``ReduceMean``/... over ``axes`` (None: all), in this opset's form."""
        input_axes = op_type == "ReduceSum" and self.opset >= 13 or self.opset >= 18
        if axes is None:
            return self.add(op_type, [x], hint, keepdims=int(keepdims))
        axes = [int(a) for a in np.atleast_1d(axes)]
        if not axes:  # reduce over no axis: the values as they are (ONNX would reduce all)
            return self.add("Identity", [x], hint)
        if input_axes:
            return self.add(op_type, [x, self.ints(axes)], hint, keepdims=int(keepdims))
        return self.add(op_type, [x], hint, axes=axes, keepdims=int(keepdims))

    def batch(self) -> str:
        """A 1-D int64 tensor holding the input's batch size (read at run time)."""
        if self._batch is None:
            shape = self.add("Shape", [self.input_name], "input_shape")
            self._batch = self.add("Slice", [shape, self.ints([0]), self.ints([1])], "batch")
        return self._batch

    def dynamic_shape(self, shape, other, what: str) -> str:
        """A shape tensor: ``shape`` as traced, with each axis that is ``other``'s with one
        more row written as ``batch * k`` (refused when it is not a multiple of the batch)."""
        pieces, fixed = [], []
        for p, q in zip(shape, other, strict=True):
            k = q - p
            if p == q:
                fixed.append(p)
                continue
            if k <= 0 or p != self.batch_size * k:
                raise ExportError(f"{what}: its size {p} changes with the batch size but is not "
                                  "a multiple of it")
            if fixed:
                pieces.append(self.ints(fixed))
                fixed = []
            pieces.append(self.batch() if k == 1 else self.add("Mul", [self.batch(),
                                                                       self.ints([k])]))
        if fixed:
            pieces.append(self.ints(fixed))
        return pieces[0] if len(pieces) == 1 else self.add("Concat", pieces, "shape", axis=0)

    def squeeze(self, x: str, axes) -> str:
        return self.add("Squeeze", [x, self.ints(axes)])

    def unsqueeze(self, x: str, axes) -> str:
        return self.add("Unsqueeze", [x, self.ints(axes)])
