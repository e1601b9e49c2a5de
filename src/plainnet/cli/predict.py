"""``plainnet predict``: a trained model's label or value for each row of a CSV file.

The feature columns are picked by the names stored at training time, so any CSV file holding
them works, in any column order, with extra columns (the target, an id) ignored. A classifier
writes the original labels (text labels stay text); with ``--proba`` also the probability of
each label, $p_j = \\operatorname{softmax}(s)_j$ of the network's scores ``s``. The
columns are preprocessed exactly as at training time (the transform is stored in the model
file). ``--out`` is refused when it names the model or the data file (even through a symlink),
and is written atomically: on a full disk the previous file stays as it was.
"""

from __future__ import annotations

import argparse

from ._common import add_csv_options

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
    add_csv_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from . import _common as c

    c.check_output_path(args.out, "--out", inputs=(args.model, args.data))
    model, meta = c.load_trained(args.model, "predict")
    table = c.read_data(args)
    keep = c.parse_names(args.keep) if args.keep is not None else []
    keep_idx = table.require(keep, "asked for by --keep") if keep else []
    outputs = c.predict_outputs(model, c.apply_preprocessing(table, meta), quiet=args.quiet)
    c.check_finite_outputs(outputs, args.model)
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
    kept_cells = [table.texts(j, allow_missing=True) for j in keep_idx]
    rows = ([cells[i] or "" for cells in kept_cells] + [col[i] for col in columns]
            for i in range(len(table)))
    c.write_csv(args.out, header, rows)
    if args.out is not None and not args.quiet:
        print(f"{len(table)} predictions written to {args.out}")
    return 0
