"""``plainnet plot``: pictures as PNG files.

* ``plot activations``: each activation function next to its derivative
  (:func:`plainnet.plot.activations`);
* ``plot history``: the learning curves of a model saved by ``plainnet train`` (its history
  is in the file's metadata) or of a JSON file of per-epoch lists such as
  ``{"loss": [...], "val_loss": [...]}`` (:func:`plainnet.plot.history`).
"""

from __future__ import annotations

import argparse

EXAMPLE = """examples:
  plainnet plot activations --out activations.png
  plainnet plot activations --names sigmoid,tanh,relu
  plainnet plot history iris.safetensors --out curve.png
  plainnet plot history history.json --metrics loss"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "plot",
        help="draw activations or a model's learning curves to a PNG file",
        description="Draw one of plainnet's pictures to an image file (PNG by default).",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = p.add_subparsers(dest="what", metavar="WHAT", required=True)

    act = what.add_parser(
        "activations",
        help="activation functions and their derivatives",
        description="Draw activation functions (left) and their derivatives (right).",
        epilog="example:\n  plainnet plot activations --names step,sigmoid --out act.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    act.add_argument("--names", metavar="A,B",
                     help="comma-separated activation names, or 'all' (default: step, "
                          "sigmoid, tanh, relu, leaky_relu, softplus)")
    act.add_argument("--out", default="activations.png", help="image file "
                     "(default activations.png)")
    act.set_defaults(run=run_activations)

    hist = what.add_parser(
        "history",
        help="learning curves of a trained model or a history JSON file",
        description=(
            "Draw the loss and metric curves (train and validation) stored in a model file by "
            "'plainnet train', or held in a JSON object of per-epoch lists."
        ),
        epilog="examples:\n  plainnet plot history model.safetensors --out curve.png\n"
               "  plainnet plot history history.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    hist.add_argument("source", metavar="MODEL_OR_HISTORY",
                      help="a model file saved by 'plainnet train', or a .json history")
    hist.add_argument("--metrics", metavar="A,B",
                      help="the quantities to draw, e.g. loss,accuracy (default: all)")
    hist.add_argument("--out", default="history.png", help="image file (default history.png)")
    hist.set_defaults(run=run_history)


def run_activations(args) -> int:
    import plainnet as pn

    from ._common import check_output_path, save_figure

    check_output_path(args.out, "--out")
    if args.names is None:
        fig = pn.plot.activations()
    elif args.names.strip() == "all":
        fig = pn.plot.activations("all")
    else:
        names = [n.strip() for n in args.names.split(",") if n.strip()]
        if not names:
            raise ValueError("--names must list at least one activation, e.g. sigmoid,relu")
        fig = pn.plot.activations(names)
    save_figure(fig, args.out)
    print(f"activations drawn to {args.out}")
    return 0


def run_history(args) -> int:
    import plainnet as pn

    from ._common import check_output_path, save_figure

    check_output_path(args.out, "--out")
    history = read_history(args.source)
    metrics = None
    if args.metrics:
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    save_figure(pn.plot.history(history, metrics=metrics), args.out)
    print(f"learning curves drawn to {args.out}")
    return 0


def read_history(source: str) -> dict:
    """The per-epoch history in a model file's metadata or in a JSON file."""
    import json
    from pathlib import Path

    import plainnet as pn

    from .main import CLIError

    path = Path(source)
    if not path.is_file():
        raise CLIError(f"no model or history file at {source!r}")
    with open(path, "rb") as f:
        start = f.read(64).lstrip()
    if start.startswith((b"{", b"[")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CLIError(f"{source!r} is not valid JSON: {err}") from None
        if isinstance(data, dict) and isinstance(data.get("history"), dict):
            data = data["history"]
        if not isinstance(data, dict):
            raise CLIError(f"{source!r} must hold a JSON object of per-epoch lists, such as "
                           '{"loss": [0.9, 0.5], "val_loss": [1.0, 0.6]}')
        return data
    meta = pn.io.read_metadata(source)["metadata"]
    history = meta.get("history")
    if not isinstance(history, dict) or not history:
        raise CLIError(f"{source!r} holds no training history; models saved by "
                       "'plainnet train' have one")
    return history
