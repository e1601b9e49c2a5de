"""``plainnet info``: what is in a model file, without running it.

Shows the architecture, the number of trainable parameters, their dtype, the plainnet version
that wrote the file, and what ``plainnet train`` recorded: task, target, feature names, class
labels, training settings and the last epoch's losses. Works on any plainnet model file;
the training fields are shown when present. Terminal control characters in the file's text
(escape sequences that could clear or retitle the terminal) are printed escaped, as ``\\x1b``.
"""

from __future__ import annotations

import argparse

EXAMPLE = """examples:
  plainnet info iris.safetensors
  plainnet info iris.safetensors --json    # the file's metadata as JSON"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "info",
        help="describe a model file: architecture, parameters, features, labels",
        description=(
            "Describe a plainnet model file: its architecture, parameter count and dtype, the "
            "plainnet version that wrote it, and the task, feature names, labels and training "
            "history stored by 'plainnet train'."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a plainnet model file (.safetensors)")
    p.add_argument("--json", action="store_true",
                   help="print the file's metadata as JSON instead of a table")
    p.set_defaults(run=run)


def run(args) -> int:
    import json
    from pathlib import Path

    import plainnet as pn

    from ..datasets.csv import check_regular_file
    from ._common import format_label, printable

    check_regular_file(Path(args.model), "model file")
    header = pn.io.read_metadata(args.model)
    model, meta = pn.io.load_with_metadata(args.model)
    n_params = sum(p.data.size for p in model.parameters())
    if args.json:
        print(json.dumps({
            "plainnet_version": header["plainnet_version"],
            "format_version": header["format_version"],
            "parameters": n_params,
            "dtype": str(model.dtype),
            "architecture": header["architecture"],
            "tensors": header["tensors"],
            "metadata": meta,
        }, indent=2))  # JSON escapes control characters itself
        return 0

    rows = [
        ("file", str(args.model)),
        ("written by", f"plainnet {header['plainnet_version']} (file format "
                       f"{header['format_version']}); this is plainnet {pn.__version__}"),
        ("parameters", f"{n_params:,}"),
        ("dtype", str(model.dtype)),
    ]
    if "task" in meta:
        rows.append(("task", str(meta["task"])))
    if "target" in meta:
        rows.append(("target", str(meta["target"])))
    if isinstance(meta.get("features"), list):
        rows.append(("features", f"{len(meta['features'])}: "
                                 + ", ".join(map(str, meta["features"]))))
    else:
        rows.append(("features", "not recorded (not saved by 'plainnet train')"))
    pre = meta.get("preprocessing")
    if isinstance(pre, dict):
        rows.append(("preprocessing", _describe_preprocessing(pre)))
    if isinstance(meta.get("labels"), list):
        rows.append(("labels", f"{len(meta['labels'])}: "
                               + ", ".join(format_label(v) for v in meta["labels"])))
    training = meta.get("training")
    if isinstance(training, dict):
        rows.append(("trained on", f"{training.get('data')} ({training.get('rows')} rows)"))
        rows.append(("settings", ", ".join(
            f"{k}={training[k]}" for k in ("hidden", "activation", "optimizer", "learning_rate",
                                           "batch_size", "epochs", "validation_split", "seed")
            if k in training)))
    history = meta.get("history")
    if isinstance(history, dict) and history.get("loss"):
        stop = meta.get("stop_reason", "?")
        rows.append(("epochs", f"{len(history['loss'])} (stopped by: {stop})"))
        rows.append(("final epoch", "  ".join(
            f"{k} {v[-1]:.4g}" for k, v in history.items()
            if k != "lr" and isinstance(v, list) and v and isinstance(v[-1], (int, float)))))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(printable(f"{key.ljust(width)}  {value}"))
    print("architecture:")
    print(printable(str(model)))
    return 0


def _describe_preprocessing(pre: dict) -> str:
    """One line: how many numeric and text columns, and what is done to each."""
    try:
        numeric = len(pre["numeric"]["columns"])
        categories = [len(c) for c in pre["text"]["categories"]]
    except (KeyError, TypeError):
        return "malformed"
    parts = [f"{numeric} numeric (missing -> median, standardized)"]
    if categories:
        parts.append(f"{len(categories)} text (missing -> most frequent, one-hot: "
                     f"{sum(categories)} inputs)")
    return ", ".join(parts)
