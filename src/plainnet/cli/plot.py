"""``plainnet plot``: pictures as PNG files.

* ``plot activations``: each activation function next to its derivative
  ([`plainnet.plot.activations()`][plainnet.plot.activations]);
* ``plot history``: the learning curves of a model saved by ``plainnet train`` (its history
  is in the file's metadata) or of a JSON file of per-epoch lists such as ``{"loss": [...],
  "val_loss": [...]}`` ([`plainnet.plot.history()`][plainnet.plot.history]), with the epoch whose
  weights were kept marked in every panel;
* ``plot confusion-matrix MODEL DATA.csv``: a classifier's confusion matrix on a CSV file
  ([`plainnet.plot.confusion_matrix()`][plainnet.plot.confusion_matrix]);
* ``plot boundary MODEL DATA.csv``: the decision regions of a classifier with two numeric
  features, in the CSV file's units
  ([`plainnet.plot.decision_boundary()`][plainnet.plot.decision_boundary]);
* ``plot network MODEL``: the network diagram ([`plainnet.plot.network()`][plainnet.plot.network]).

The image format follows the file's suffix (``.png`` is added when there is none); the name
and format are checked before anything is computed, and the file is written atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLE = """examples:
  plainnet plot activations --out activations.png
  plainnet plot activations --names sigmoid,tanh,relu
  plainnet plot history iris.safetensors --out curve.png
  plainnet plot history history.json --metrics loss
  plainnet plot confusion-matrix iris.safetensors iris.csv --out confusion.png
  plainnet plot boundary blobs.safetensors blobs.csv --out boundary.png
  plainnet plot network iris.safetensors --out network.png"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "plot",
        help="draw activations, learning curves, a confusion matrix, decision regions or "
             "the network of a model to an image file",
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
    _add_model_pictures(what)


def _add_model_pictures(what) -> None:
    from ._common import add_csv_options

    for name, helptext, needs_data in (
        ("confusion-matrix", "a classifier's confusion matrix on a labelled CSV file", True),
        ("boundary", "a classifier's decision regions over its two numeric features", True),
        ("network", "the layers and connections of a model", False),
    ):
        sub = what.add_parser(
            name, help=helptext, description=f"Draw {helptext}.",
            epilog=f"example:\n  plainnet plot {name} model.safetensors"
                   + (" data.csv" if needs_data else "") + f" --out {name}.png",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("model", metavar="MODEL", help="a model file saved by 'plainnet train'"
                         if needs_data else "a plainnet model file")
        if needs_data:
            sub.add_argument("data", metavar="DATA.csv", help="labelled rows")
            sub.add_argument("--target", metavar="COL",
                             help="the column of true labels (default: the training target)")
            add_csv_options(sub)
        sub.add_argument("--out", default=f"{name}.png", help=f"image file (default {name}.png)")
        sub.set_defaults(run=run_model_picture, picture=name)


def run_activations(args) -> int:
    import plainnet as pn

    from ._common import check_output_path, plot_path, save_figure

    args.out = plot_path(args.out, "--out")
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

    from ._common import check_output_path, plot_path, save_figure

    args.out = plot_path(args.out, "--out")
    check_output_path(args.out, "--out", inputs=(args.source,))
    history, best_epoch = read_history(args.source)
    metrics = None
    if args.metrics:
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    save_figure(pn.plot.history(history, metrics=metrics, best_epoch=best_epoch), args.out)
    print(f"learning curves drawn to {args.out}")
    return 0


def read_history(source: str) -> tuple[dict, int | None]:
    """``(history, best_epoch)``: the per-epoch history in a model file's metadata or in a
    JSON file, and the epoch whose weights were kept when the file records it."""
    import json
    from pathlib import Path

    import plainnet as pn

    from ..datasets.csv import check_regular_file
    from .main import CLIError

    path = Path(source)
    check_regular_file(path, "model or history file")
    with open(path, "rb") as f:
        start = f.read(64).lstrip()
    if start.startswith((b"{", b"[")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CLIError(f"{source!r} is not valid JSON: {err}") from None
        except RecursionError:
            raise CLIError(f"{source!r} is JSON nested too deeply to be a history") from None
        best = data.get("best_epoch") if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(data.get("history"), dict):
            data = data["history"]
        if not isinstance(data, dict) or not all(_is_curve(v) for v in data.values()):
            raise CLIError(f"{source!r} must hold a JSON object of per-epoch lists of numbers, "
                           'such as {"loss": [0.9, 0.5], "val_loss": [1.0, 0.6]}')
        return data, best if isinstance(best, int) else None
    meta = pn.io.read_metadata(source)["metadata"]
    history = meta.get("history")
    if not isinstance(history, dict) or not history:
        raise CLIError(f"{source!r} holds no training history; models saved by "
                       "'plainnet train' have one")
    if not all(_is_curve(v) for v in history.values()):
        raise CLIError(f"{source!r}: the history in its metadata is not per-epoch lists of "
                       "numbers")
    best = meta.get("best_epoch")
    return history, best if isinstance(best, int) else None


def _is_curve(values) -> bool:
    """A list of numbers (None for an epoch whose value was not finite)."""
    return isinstance(values, list) and all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values)


def run_model_picture(args) -> int:
    """``plot confusion-matrix``, ``plot boundary`` and ``plot network``."""
    import plainnet as pn

    from . import _common as c

    args.out = c.plot_path(args.out, "--out")
    data = getattr(args, "data", None)
    c.check_output_path(args.out, "--out", inputs=(args.model, data))
    if args.picture == "network":
        from ..datasets.csv import check_regular_file

        check_regular_file(Path(args.model), "model file")
        c.save_figure(pn.plot.network(pn.load(args.model)), args.out)
        print(f"network drawn to {args.out}")
        return 0
    model, meta = c.load_trained(args.model, f"plot {args.picture}")
    if meta["task"] != "classify":
        raise c.CLIError(f"plot {args.picture} is for classifiers; {args.model!r} is a "
                         "regressor")
    table = c.read_data(args)
    target = (args.target or meta.get("target") or "").strip()
    labels = meta["labels"]
    true = [c.label_values([cell])[0] if _numeric_labels(labels) else cell
            for cell in table.texts(target, "the true labels")]
    predictor = _Predictor(model, meta, labels)
    if args.picture == "confusion-matrix":
        Z = c.apply_preprocessing(table, meta)
        fig = pn.plot.confusion_matrix(_Scores(model, labels), Z, true, labels=labels)
    else:
        pre = c.preprocessor(meta)
        if pre.text or len(pre.numeric) != 2:
            raise c.CLIError(f"plot boundary needs a model of exactly 2 numeric features; "
                             f"{args.model!r} has {len(meta['features'])}: "
                             f"{', '.join(meta['features'][:6])}")
        X = table.numbers(pre.numeric, "a feature the model needs")
        fig = pn.plot.decision_boundary(predictor, X, true)
        ax = fig.axes[0]
        ax.set_xlabel(pre.numeric[0])
        ax.set_ylabel(pre.numeric[1])
    c.save_figure(fig, args.out)
    print(f"{args.picture.replace('-', ' ')} drawn to {args.out}")
    return 0


def _numeric_labels(labels: list) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in labels)


class _Scores:
    """The model's class scores, with the labels as ``classes_``."""

    def __init__(self, model, labels: list):
        import numpy as np

        self.model, self.classes_ = model, np.asarray(labels)

    def predict(self, Z):
        return self.model.predict(Z)


class _Predictor(_Scores):
    """Raw numeric feature columns in, class scores out (the stored preprocessing inside)."""

    def __init__(self, model, meta: dict, labels: list):
        from ._common import preprocessor

        super().__init__(model, labels)
        self.pre = preprocessor(meta)

    def predict(self, X):
        return self.model.predict(self.pre.transform(X, [])[0])
