"""``plainnet export``: a model file as ONNX, for onnxruntime and the other ONNX runtimes.

The model is traced with :func:`plainnet.onnx.export`. The input shape comes from
``--input-shape`` or, when the first layer says it (a ``Linear``'s ``in_features``), from the
model; a model starting with an ``Embedding`` takes int64 token ids of the given length. A
file written by ``est.save`` exports the estimator (``est.to_onnx``: probabilities for a
classifier).
"""

from __future__ import annotations

import argparse

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
