"""``plainnet export``: a model file as ONNX, for onnxruntime and the other ONNX runtimes.

A model from ``plainnet train`` is exported with what ``plainnet predict`` does around it: the
input is the raw numeric feature columns (in the order the file's ``plainnet.features``
lists; NaN filled with the training median, then standardized), the output the class
probabilities (``plainnet.labels``) or the prediction in the target's units. ``--raw`` exports
the network alone.

Otherwise the model is traced with `plainnet.onnx.export()`. The input shape comes from
``--input-shape`` or, when the first layer says it (a ``Linear``'s ``in_features``), from the
model; a model starting with an ``Embedding`` takes int64 token ids of the given length. A
file written by ``est.save`` exports the estimator (``est.to_onnx``: probabilities for a
classifier).
"""

from __future__ import annotations

import argparse
import functools

EXAMPLE = """examples:
  plainnet export iris.safetensors iris.onnx
  plainnet export cnn.safetensors cnn.onnx --input-shape 1,28,28 --opset 18
  python -c "import onnxruntime as ort; print(ort.InferenceSession('iris.onnx').get_inputs())"
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a model file as ONNX (for onnxruntime)",
        description=(
            "Write a plainnet model file as an ONNX model with a dynamic batch axis, input "
            "'input' and output 'output' (an estimator file: 'probabilities' or "
            "'predictions'). Needs the onnx package: pip install 'plainnet[onnx]'."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a plainnet model file (.safetensors)")
    p.add_argument("out", metavar="OUT", help="the ONNX file to write (.onnx)")
    p.add_argument("--input-shape", metavar="D1,D2,...", default=None,
                   help="the shape of one sample (without the batch axis), e.g. 1,28,28; "
                        "default: read from the model's first layer")
    p.add_argument("--opset", type=int, default=None, help="the ONNX opset (default 17)")
    p.add_argument("--raw", action="store_true",
                   help="for a model from 'plainnet train': the network alone, without the "
                        "stored preprocessing and output scaling")
    p.add_argument("--trust-classes", metavar="MODULE", action="append", default=None,
                   help="allow importing the model's custom classes from MODULE (repeatable)")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    import plainnet as pn

    from ..onnx import DEFAULT_OPSET
    from .main import CLIError

    model_path, out = Path(args.model), Path(args.out)
    if out.exists() and model_path.exists() and out.resolve() == model_path.resolve():
        raise CLIError(f"OUT {str(out)!r} is the model file itself; choose another path")
    opset = args.opset or DEFAULT_OPSET
    try:
        model, meta = pn.io.load_with_metadata(model_path,
                                               trust_classes=args.trust_classes or False)
    except pn.io.ModelFileError as err:
        if "unknown module class" not in str(err):
            raise
        raise CLIError(f"{err}. On the command line: --trust-classes MODULE (the module that "
                       "defines the class, importable from here)") from None
    if "plainnet.estimator" in meta:
        from .. import estimators

        est = estimators.NetworkEstimator.load(model_path)
        est.to_onnx(out, opset=opset)
        print(f"{type(est).__name__} exported to {out}")
        return 0
    if meta.get("created_by") == "plainnet train" and not args.raw:
        return _export_trained(model, meta, out, opset)
    shape = _input_shape(args.input_shape, model)
    example, integer = _example(model, shape)
    pn.onnx.export(model, out, example, opset=opset)
    kind = "token ids (int64)" if integer else str(model.dtype)
    print(f"{type(model).__name__} exported to {out} (input (batch, "
          f"{', '.join(map(str, shape))}) of {kind})")
    return 0


def _input_shape(text: str | None, model) -> tuple[int, ...]:
    from .main import CLIError

    if text is not None:
        try:
            shape = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
        except ValueError:
            raise CLIError(f"--input-shape must be sizes like 1,28,28; got {text!r}") from None
        if not shape or min(shape) < 1:
            raise CLIError(f"--input-shape must be positive sizes; got {text!r}")
        return shape
    first = _first_layer(model)
    if first is not None and hasattr(first, "in_features"):
        return (int(first.in_features),)
    name = type(first).__name__ if first is not None else type(model).__name__
    raise CLIError(f"cannot tell the input shape of a model starting with {name}; give "
                   "--input-shape (one sample, without the batch axis)")


def _first_layer(model):
    for m in model.modules():
        if m._parameters:
            return m
    return None


def _example(model, shape):
    import numpy as np

    first = _first_layer(model)
    if first is not None and type(first).__name__ == "Embedding":
        return np.zeros((1, *shape), dtype=np.int64), True
    return np.zeros((1, *shape), dtype=model.dtype), False


# -- models from `plainnet train`: the stored preprocessing goes into the graph ---------------
def _export_trained(model, meta: dict, out, opset: int) -> int:
    import numpy as np

    import plainnet as pn

    from .main import CLIError

    prep = meta.get("preprocessing") or {}
    text = (prep.get("text") or {}).get("columns") or []
    if text:
        raise CLIError(f"the model one-hot encodes text columns {text[:5]}, which an ONNX "
                       "input of numbers cannot carry; --raw exports the network alone (its "
                       "input: the encoded, standardized features)")
    numeric = prep.get("numeric") or {}
    pipeline = _pipeline_class()(model, numeric, meta)
    example = np.zeros((1, len(numeric.get("columns") or meta.get("features") or [])),
                       dtype=model.dtype)
    task = meta.get("task")
    extras = {"plainnet.features": numeric.get("columns", meta.get("features")),
              "plainnet.task": task}
    if task == "classify":
        extras["plainnet.labels"] = meta.get("labels")
    name = "probabilities" if task == "classify" else "predictions"
    pn.onnx.export(pipeline, out, example, opset=opset, output_names=[name], metadata=extras)
    print(f"{type(model).__name__} exported to {out} with its preprocessing: input "
          f"(batch, {example.shape[1]}) raw feature columns, output {name!r}")
    return 0


@functools.cache
def _pipeline_class():
    import numpy as np

    from ..autodiff import Tensor, ops
    from ..nn import Module

    class _Standardize(Module):
        """NaN -> the training median, then ``(x - mean) / scale``: the CLI's numeric
        preprocessing, written into ONNX by `onnx_nodes()`."""

        def __init__(self, median, mean, scale, dtype):
            super().__init__()
            self.median, self.mean, self.scale = (np.asarray(v, dtype=dtype)
                                                  for v in (median, mean, scale))

        def forward(self, x):
            filled = np.where(np.isnan(x.data), self.median, x.data)
            return Tensor(((filled - self.mean) / self.scale).astype(x.data.dtype))

        def onnx_nodes(self, g, x: str) -> str:
            filled = g.add("Where", [g.add("IsNaN", [x]), g.const(self.median, "median"), x])
            centered = g.add("Sub", [filled, g.const(self.mean, "mean")])
            return g.add("Div", [centered, g.const(self.scale, "scale")])

    class _Trained(Module):
        def __init__(self, net, numeric: dict, meta: dict):
            super().__init__()
            dtype = net.dtype
            self.pre = _Standardize(numeric["median"], numeric["mean"], numeric["scale"], dtype)
            self.net = net
            self.task = meta.get("task")
            self.target = (meta.get("target_mean", 0.0), meta.get("target_scale", 1.0))

        def forward(self, x):
            z = self.net(self.pre(x))
            if self.task == "classify":
                return ops.softmax(z, axis=-1)
            mean, scale = self.target
            return z[:, 0] * float(scale) + float(mean) if z.shape[1] == 1 else z

    return _Trained
