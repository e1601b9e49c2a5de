"""``plainnet predict``: a trained model's label or value for each row of a CSV file.

The feature columns are picked by the names stored at training time, so any CSV file holding
them works, in any column order, with extra columns (the target, an id) ignored. A classifier
writes the original labels (text labels stay text); with ``--proba`` also the probability of
each label, :math:`p_j = \\operatorname{softmax}(s)_j` of the network's scores ``s``.
"""

from __future__ import annotations

import argparse

EXAMPLE = """examples:
  plainnet predict iris.safetensors iris.csv                  # CSV on standard output
  plainnet predict iris.safetensors new.csv --out preds.csv --proba
  plainnet predict houses.safetensors houses.csv --keep id    # id column next to each value"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="predict labels or values for the rows of a CSV file",
        description=(
            "Load a model saved by 'plainnet train', take its feature columns by name from a "
            "CSV file (other columns, such as the target, are ignored), and write one "
            "prediction per row as CSV: the original label for a classifier, the value for a "
            "regressor."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model file saved by 'plainnet train'")
    p.add_argument("data", metavar="DATA.csv", help="rows to predict, with a header row")
    p.add_argument("--out", metavar="PREDS.csv", help="write here (default: standard output)")
    p.add_argument("--proba", action="store_true",
                   help="also write each label's probability (classifiers)")
    p.add_argument("--keep", metavar="COL,COL",
                   help="copy these columns of DATA.csv into the output, first")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(run=run)


def run(args) -> int:
    from . import _common as c

    c.check_output_path(args.out, "--out")
    model, meta = c.load_trained(args.model, "predict")
    table = c.read_table(args.data)
    keep = [k.strip() for k in args.keep.split(",") if k.strip()] if args.keep else []
    keep_idx = table.require(keep, "asked for by --keep") if keep else []
    X = table.numbers(meta["features"], "features the model needs")
    outputs = c.predict_outputs(model, c.standardize(X, meta), quiet=args.quiet)
    name = meta.get("target") or "prediction"
    header, columns = [name], []
    if meta["task"] == "classify":
        labels = meta["labels"]
        columns.append([c.format_label(labels[i]) for i in outputs.argmax(axis=1)])
        if args.proba:
            proba = c.softmax(outputs)
            for j, label in enumerate(labels):
                header.append(f"p({c.format_label(label)})")
                columns.append([f"{p:.6g}" for p in proba[:, j]])
    else:
        if args.proba:
            raise c.CLIError("--proba is for classifiers; this model is a regressor")
        values = outputs[:, 0] * meta["target_scale"] + meta["target_mean"]
        columns.append([f"{v:.9g}" for v in values])
    kept = [table.names[j] for j in keep_idx]
    if header[0] in kept:
        header[0] = f"predicted_{header[0]}"
    header = kept + header
    rows = ([row[j] for j in keep_idx] + [col[i] for col in columns]
            for i, row in enumerate(table.rows))
    c.write_csv(args.out, header, rows)
    if args.out is not None and not args.quiet:
        print(f"{len(table)} predictions written to {args.out}")
    return 0
