"""``plainnet evaluate``: how well a trained model does on a labelled CSV file.

A classifier gets its accuracy $\\frac1n \\sum_i [\\hat y_i = y_i]$ and a confusion
matrix (rows: true labels, columns: predicted labels); a regressor gets
$\\mathrm{MSE}$, $\\mathrm{RMSE}$, $\\mathrm{MAE}$ and $R^2$.
"""

from __future__ import annotations

import argparse

from ._common import add_csv_options

EXAMPLE = """examples:
  plainnet evaluate iris.safetensors iris_test.csv --target species
  plainnet evaluate houses.safetensors houses_test.csv   # target column as in training"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a trained model on a labelled CSV file",
        description=(
            "Load a model saved by 'plainnet train', predict each row of a CSV file and "
            "compare with its target column: accuracy and a confusion matrix for a "
            "classifier, MSE, RMSE, MAE and R^2 for a regressor."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file saved by 'plainnet train'")
    p.add_argument("data", metavar="DATA.csv", help="labelled rows with a header row")
    p.add_argument("--target", metavar="COL",
                   help="the column with the true values (default: the training target's name)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_csv_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import numpy as np

    from . import _common as c

    model, meta = c.load_trained(args.model, "evaluate")
    target = (args.target or meta.get("target") or "").strip()
    if not target:
        raise c.CLIError("give --target COL: the model file does not name its target column")
    table = c.read_data(args)
    target = table.names[table.index(target, "the target")]
    outputs = c.predict_outputs(model, c.apply_preprocessing(table, meta), quiet=args.quiet)
    c.check_finite_outputs(outputs, args.model)
    print(f"model: {args.model} ({meta['task']})")
    print(f"data: {args.data}: {len(table)} rows, target {target!r}")
    if meta["task"] == "regress":
        y = table.numbers([target], "the target")[:, 0]
        pred = outputs[:, 0] * meta["target_scale"] + meta["target_mean"]
        metrics = c.regression_metrics(y, pred)
        for key, label in (("mse", "MSE"), ("rmse", "RMSE"), ("mae", "MAE"), ("r2", "R^2")):
            print(f"{label:<5} {metrics[key]:.6g}")
        return 0

    labels = meta["labels"]
    true = c.cell_keys(table.texts(target, "the target"), labels)
    predicted = [c.label_key(labels[i]) for i in outputs.argmax(axis=1)]
    correct = sum(t == p for t, p in zip(true, predicted, strict=True))
    print(f"accuracy {correct / len(table):.4f} ({correct} of {len(table)} rows)")
    known = {c.label_key(v): c.format_label(v) for v in labels}
    unseen = sorted({k for k in true if k not in known}, key=str)
    if unseen:
        names = ", ".join(repr(_key_text(k)) for k in unseen[:5])
        more = f" and {len(unseen) - 5} more" if len(unseen) > 5 else ""
        print(f"note: labels the model never saw (always counted wrong): {names}{more}")
    row_keys = list(known) + unseen
    names = [known.get(k, _key_text(k)) for k in row_keys]
    counts = np.zeros((len(row_keys), len(labels)), dtype=np.int64)
    row_of = {k: i for i, k in enumerate(row_keys)}
    col_of = {c.label_key(v): j for j, v in enumerate(labels)}
    for t, p in zip(true, predicted, strict=True):
        counts[row_of[t], col_of[p]] += 1
    print("confusion matrix (rows: true label, columns: predicted label)")
    print(confusion_text(counts, names, [known[c.label_key(v)] for v in labels]))
    return 0


def confusion_text(counts, row_names: list[str], col_names: list[str]) -> str:
    """The count table as aligned text with a header row of predicted labels."""
    first = max(len(n) for n in row_names)
    widths = [max(len(n), len(str(counts[:, j].max()))) for j, n in enumerate(col_names)]
    lines = [" " * first + "  " + "  ".join(n.rjust(w) for n, w in zip(col_names, widths,
                                                                        strict=True))]
    for name, row in zip(row_names, counts, strict=True):
        cells = "  ".join(str(v).rjust(w) for v, w in zip(row, widths, strict=True))
        lines.append(f"{name.ljust(first)}  {cells}")
    return "\n".join(lines)


def _key_text(key: tuple) -> str:
    kind, value = key
    if kind == "n":
        return str(int(value)) if float(value).is_integer() else repr(value)
    return value
