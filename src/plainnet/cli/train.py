"""``plainnet train``: fit a multi-layer network to a CSV file and save it with what it learned.

The features are standardized, :math:`z = (x - \\mu) / s` with the training file's column
means and standard deviations; a regression target is standardized the same way and the
predictions are mapped back. The model file keeps, in its metadata, the feature column
names, the task, the original class labels, the standardization statistics and the training
history, so ``predict``, ``evaluate``, ``info`` and ``plot history`` need nothing else.
"""

from __future__ import annotations

import argparse

EXAMPLE = """examples:
  plainnet train iris.csv --target species --out iris.safetensors --plot curve.png
  plainnet train houses.csv --target price --task regress --hidden 32,16 --epochs 200
  plainnet train data.csv --target y --ignore id --optimizer sgd --learning-rate 0.05
  plainnet train data.csv --target y --epochs 500 --patience 20 --quiet"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a network on a CSV file and save it",
        description=(
            "Train a multi-layer network on a CSV file with a header row. Every column but the "
            "target (and those given to --ignore) is a numeric feature. The features are "
            "standardized; the network, the feature names, the class labels (text labels are "
            "fine), the standardization and the learning curves are saved in one safetensors "
            "file."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA.csv", help="training data with a header row")
    p.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    p.add_argument("--ignore", metavar="COL,COL",
                   help="columns that are not features (an id, a date, ...)")
    p.add_argument("--task", choices=("auto", "classify", "regress"), default="auto",
                   help="classify or regress (default auto: text labels or whole numbers with "
                        "few distinct values are classes)")
    p.add_argument("--hidden", default="64,32", metavar="N,N",
                   help="hidden layer sizes, comma-separated; '' for none (default 64,32)")
    p.add_argument("--activation", default="relu", help="hidden activation (default relu)")
    p.add_argument("--epochs", type=int, default=50, help="epochs to train (default 50)")
    p.add_argument("--batch-size", type=int, default=32, help="mini-batch size (default 32)")
    p.add_argument("--learning-rate", type=float, default=1e-3, metavar="RATE",
                   help="step size (default 1e-3)")
    p.add_argument("--optimizer", default="adam",
                   help="sgd, adagrad, rmsprop, adam or adamw (default adam)")
    p.add_argument("--validation-split", type=float, default=0.1, metavar="FRACTION",
                   help="fraction of rows held out to validate (default 0.1; 0 for none)")
    p.add_argument("--patience", type=int, default=None, metavar="N",
                   help="stop after N epochs without a better validation loss and keep the "
                        "best weights (default: train every epoch)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="model.safetensors", metavar="MODEL",
                   help="where to save the model (default model.safetensors)")
    p.add_argument("--plot", metavar="CURVE.png", help="draw the learning curves to this file")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def run(args) -> int:
    import numpy as np

    import plainnet as pn

    from . import _common as c

    settings = _check_settings(args)
    c.check_output_path(args.out, "--out")
    c.check_output_path(args.plot, "--plot")
    table = c.read_table(args.data)
    target = args.target.strip()
    table.index(target, "the target")
    ignore = [name.strip() for name in (args.ignore or "").split(",") if name.strip()]
    table.require(ignore, "asked for by --ignore")
    features = [name for name in table.names if name != target and name not in ignore]
    if not features:
        raise c.CLIError(f"{table.source} has no feature columns besides the target and "
                         "--ignore")
    X = table.numbers(features, "a feature", hint=" (leave a column out with --ignore COL)")
    cells = table.texts(target, "the target")

    task, reason = (args.task, "--task") if args.task != "auto" else c.guess_task(cells)
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    scale = np.where(std > 0, std, 1.0)
    meta = {
        "created_by": c.TRAINED_BY,
        "task": task,
        "target": target,
        "features": features,
        "feature_mean": mean.tolist(),
        "feature_scale": scale.tolist(),
    }
    if task == "classify":
        labels, y = c.encode_labels(cells)
        if len(labels) < 2:
            raise c.CLIError(
                f"target column {target!r} holds a single label {labels[0]!r}; classifying "
                "needs at least 2"
            )
        meta["labels"] = labels
        n_out, loss, metrics = len(labels), "cross_entropy", ("accuracy",)
        what = f"{len(labels)} labels: {_preview([c.format_label(v) for v in labels])}"
    else:
        y_raw = table.numbers([target], "the target")[:, 0]
        meta["target_mean"] = float(y_raw.mean())
        meta["target_scale"] = float(y_raw.std()) if y_raw.std() > 0 else 1.0
        y = (y_raw - meta["target_mean"]) / meta["target_scale"]
        n_out, loss, metrics = 1, "mse", ()
        what = "a number per row; loss = MSE of the standardized target"

    pn.seed(args.seed)
    model = _network(len(features), settings["hidden"], args.activation, n_out)
    optimizer = pn.optim.get_optimizer(args.optimizer, model.parameters(),
                                       lr=args.learning_rate)
    n_params = sum(p.data.size for p in model.parameters())
    print(f"data: {args.data}: {len(table)} rows, {len(features)} features "
          f"({_preview(features)}), target {target!r}")
    print(f"task: {task} ({reason}): {what}")
    layers = " -> ".join(str(n) for n in [len(features), *settings["hidden"], n_out])
    print(f"network: {layers} ({args.activation}), {n_params:,} parameters, "
          f"{args.optimizer} lr={args.learning_rate:g}")

    callbacks = []
    if args.patience is not None:
        monitor = "val_loss" if args.validation_split > 0 else "loss"
        callbacks.append(pn.callbacks.EarlyStopping(monitor=monitor, patience=args.patience))
    Z = (X - mean) / scale
    history = pn.fit(
        model, Z, y,
        loss=loss,
        optimizer=optimizer,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_split=args.validation_split,
        metrics=metrics,
        callbacks=callbacks,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
    )
    if len(history) == 0:
        raise c.CLIError("training diverged in the first epoch; try a lower --learning-rate")
    print(f"trained {len(history)} epochs (stopped by: {history.stop_reason})")
    print("final epoch: " + "  ".join(
        f"{k} {v[-1]:.4g}" for k, v in history.history.items() if k not in ("lr", "epoch_time")
    ))

    outputs = c.predict_outputs(model, Z, quiet=args.quiet)
    if task == "classify":
        accuracy = float(np.mean(outputs.argmax(axis=1) == y))
        print(f"accuracy on {args.data} (all {len(table)} rows): {accuracy:.4f}")
    else:
        pred = outputs[:, 0] * meta["target_scale"] + meta["target_mean"]
        print(f"on {args.data} (all {len(table)} rows): "
              + c.format_regression(c.regression_metrics(y_raw, pred)))

    meta["history"] = {k: [float(v) for v in values]
                       for k, values in history.history.items() if k != "epoch_time"}
    meta["stop_reason"] = history.stop_reason
    meta["training"] = {**settings, "activation": args.activation, "optimizer": args.optimizer,
                        "ignored": ignore, "data": str(args.data), "rows": len(table)}
    pn.save(model, args.out, metadata=meta)
    print(f"model saved to {args.out}")
    if args.plot:
        c.save_figure(pn.plot.history(history), args.plot)
        print(f"learning curves saved to {args.plot}")
    return 0


def _check_settings(args) -> dict:
    from ..nn import ACTIVATION_MODULES
    from ..optim.registry import OPTIMIZERS
    from .main import CLIError

    if args.epochs < 1:
        raise CLIError(f"--epochs must be at least 1; got {args.epochs}")
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be at least 1; got {args.batch_size}")
    if not (args.learning_rate > 0 and args.learning_rate < float("inf")):
        raise CLIError(f"--learning-rate must be a positive number; got {args.learning_rate}")
    if not 0 <= args.validation_split < 1:
        raise CLIError(f"--validation-split must be in [0, 1); got {args.validation_split}")
    if args.patience is not None and args.patience < 0:
        raise CLIError(f"--patience must be 0 or more; got {args.patience}")
    if args.activation.strip().lower() not in ACTIVATION_MODULES:
        raise CLIError(f"unknown --activation {args.activation!r}; choose from "
                       f"{', '.join(sorted(ACTIVATION_MODULES))}")
    args.activation = args.activation.strip().lower()
    if args.optimizer.strip().lower() not in OPTIMIZERS:
        raise CLIError(f"unknown --optimizer {args.optimizer!r}; choose from "
                       f"{', '.join(OPTIMIZERS)}")
    args.optimizer = args.optimizer.strip().lower()
    return {
        "hidden": _hidden_sizes(args.hidden),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "validation_split": args.validation_split,
        "patience": args.patience,
        "seed": args.seed,
    }


def _hidden_sizes(text: str) -> list[int]:
    from .main import CLIError

    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        raise CLIError(
            f"--hidden must be comma-separated layer sizes like 64,32; got {text!r}"
        ) from None
    if any(n < 1 for n in sizes):
        raise CLIError(f"--hidden layer sizes must be at least 1; got {text!r}")
    return sizes


def _network(n_in: int, hidden: list[int], activation: str, n_out: int):
    """``Linear -> activation`` per hidden size, then a ``Linear`` to the outputs."""
    from .. import nn

    layers, width = [], n_in
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ACTIVATION_MODULES[activation]()]
        width = size
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def _preview(names: list[str], most: int = 6) -> str:
    if len(names) <= most:
        return ", ".join(names)
    return ", ".join(names[:most]) + f", ... ({len(names) - most} more)"
