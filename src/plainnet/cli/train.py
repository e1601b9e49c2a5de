"""``plainnet train``: fit a multi-layer network to a CSV file and save it with what it learned.

The features are standardized, $z = (x - \\mu) / s$ with the training file's column
means and standard deviations; a regression target is standardized the same way and the
predictions are mapped back. The model file keeps, in its metadata, the feature column
names, the task, the original class labels, the standardization statistics and the training
history, so ``predict``, ``evaluate``, ``info`` and ``plot history`` need nothing else.
"""

from __future__ import annotations

import argparse
import math
import warnings

from ..callbacks import Callback
from ._common import add_csv_options

MAX_PARAMETERS = 2**31
"""``--hidden`` sizes giving more parameters than this are refused before anything is built."""

DIVERGED_RATIO = 2.0
"""A run whose final training loss is this many times its first is reported as diverged."""

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
            "Train a multi-layer network on a CSV file. Every column but the target (and "
            "those given to --ignore, and a pandas index column) is a feature: numbers and "
            "booleans are standardized (missing ones replaced by the column's median), text "
            "categories one-hot encoded (missing ones replaced by the most frequent). The "
            "network, the feature names, the class labels (text labels are fine), this "
            "preprocessing and the learning curves are saved in one safetensors file. Ctrl-C "
            "saves the best model so far."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA.csv", help="training data (a header row unless "
                   "--no-header)")
    p.add_argument("--target", required=True, metavar="COL",
                   help="the column to predict: its name, or its position (0 first, -1 last)")
    p.add_argument("--ignore", metavar="COL,COL",
                   help="columns that are not features (an id, a date, ...); '' names a "
                        "column with an empty name, '\"a,b\"' one with a comma")
    p.add_argument("--keep-index", action="store_true",
                   help="keep a first column that looks like a pandas index (unnamed, or "
                        "0..n-1) as a feature (default: leave it out, with a warning)")
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
    p.add_argument("--no-save-on-interrupt", action="store_true",
                   help="on Ctrl-C, save nothing (default: save the best model so far)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_csv_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import plainnet as pn

    from . import _common as c

    settings = _check_settings(args)
    _check_out_name(args.out)
    c.check_output_path(args.out, "--out", inputs=(args.data,))
    args.plot = c.plot_path(args.plot)
    c.check_output_path(args.plot, "--plot", inputs=(args.data, args.out))
    table = c.read_data(args)
    t = table.index(args.target, "the target")
    target = table.names[t]
    ignore = c.parse_names(args.ignore) if args.ignore is not None else []
    ignore_idx = table.require(ignore, "asked for by --ignore")
    columns = c.feature_columns(table, t, ignore_idx, keep_index=args.keep_index)
    if not columns:
        raise c.CLIError(f"{table.source} has no feature columns besides the target and "
                         "--ignore")
    features = [table.names[j] for j in columns]
    cells = table.texts(t, "the target")
    pre, Z = c.fit_preprocessing(table, columns)
    task, reason = (args.task, "--task") if args.task != "auto" else c.guess_task(cells)
    meta = {"created_by": c.TRAINED_BY, "task": task, "target": target, "features": features,
            "preprocessing": pre.to_dict()}
    y, y_raw, n_out, loss, metrics, what = _target(table, t, cells, task, meta)

    _parameter_count(Z.shape[1], settings["hidden"], n_out, args.hidden)
    pn.seed(args.seed)
    model = _network(Z.shape[1], settings["hidden"], args.activation, n_out)
    optimizer = pn.optim.get_optimizer(args.optimizer, model.parameters(),
                                       lr=args.learning_rate)
    n_params = sum(p.data.size for p in model.parameters())
    inputs = f"{len(features)} features ({_preview(features)})"
    if Z.shape[1] != len(features):
        inputs += f" -> {Z.shape[1]} inputs after one-hot encoding"
    print(f"data: {args.data}: {len(table)} rows, {inputs}, target {target!r}")
    print(f"task: {task} ({reason}): {what}")
    layers = " -> ".join(str(n) for n in [Z.shape[1], *settings["hidden"], n_out])
    print(f"network: {layers} ({args.activation}), {n_params:,} parameters, "
          f"{args.optimizer} lr={args.learning_rate:g}")

    monitor = "val_loss" if args.validation_split > 0 else "loss"
    best = BestSoFar(monitor)
    callbacks = [best]
    stopper = None
    if args.patience is not None:
        stopper = pn.callbacks.EarlyStopping(monitor=monitor, patience=args.patience)
        callbacks.append(stopper)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="training diverged")
            history = pn.fit(
                model, Z, y, loss=loss, optimizer=optimizer, epochs=args.epochs,
                batch_size=args.batch_size, validation_split=args.validation_split,
                metrics=metrics, callbacks=callbacks, seed=args.seed,
                verbose=0 if args.quiet else 1,
            )
    except KeyboardInterrupt:
        return _interrupted(args, model, meta, settings, ignore, table, best)
    _check_diverged(history.history.get("loss", []), history.stop_reason, args)
    print(f"trained {len(history)} epochs (stopped by: {history.stop_reason})")
    print("final epoch: " + "  ".join(
        f"{k} {v[-1]:.4g}" for k, v in history.history.items() if k not in ("lr", "epoch_time")
    ))
    if stopper is not None and stopper.best_weights is not None:
        meta["best_epoch"] = int(stopper.best_epoch)
        print(f"kept the weights of epoch {stopper.best_epoch} (best {monitor} "
              f"{stopper.best:.4g})")
    _report(model, Z, y, y_raw, task, meta, table, args)
    _finish_metadata(meta, history.history, history.stop_reason, settings, args, ignore, table)
    _save(model, args.out, meta)
    print(f"model saved to {args.out}")
    if args.plot:
        c.save_figure(pn.plot.history(history, best_epoch=meta.get("best_epoch")), args.plot)
        print(f"learning curves saved to {args.plot}")
    return 0


def _target(table, t: int, cells: list, task: str, meta: dict):
    """``(y, y_raw, n_out, loss, metrics, description)`` for the task; fills ``meta``."""
    import numpy as np

    from . import _common as c

    target = table.names[t]
    if task == "classify":
        labels, y = c.encode_labels(cells)
        if len(labels) < 2:
            raise c.CLIError(
                f"target column {target!r} holds a single label {labels[0]!r}; classifying "
                "needs at least 2"
            )
        meta["labels"] = labels
        what = f"{len(labels)} labels: {_preview([c.format_label(v) for v in labels])}"
        return y, None, len(labels), "cross_entropy", ("accuracy",), what
    from ..datasets.preprocessing import _mean_scale

    y_raw = table.numbers([t], "the target")[:, 0]
    mean, scale = _mean_scale(y_raw[:, None])
    meta["target_mean"], meta["target_scale"] = float(mean[0]), float(scale[0])
    with np.errstate(over="ignore"):
        y = (y_raw - mean[0]) / scale[0]
    if not np.isfinite(y).all():
        raise c.CLIError(f"{table.source}: the target {target!r} holds values too far apart to "
                         "standardize; rescale it")
    return y, y_raw, 1, "mse", (), "a number per row; loss = MSE of the standardized target"


def _report(model, Z, y, y_raw, task: str, meta: dict, table, args) -> None:
    import numpy as np

    from . import _common as c

    outputs = c.predict_outputs(model, Z, quiet=args.quiet)
    if task == "classify":
        accuracy = float(np.mean(outputs.argmax(axis=1) == y))
        print(f"accuracy on {args.data} (all {len(table)} rows): {accuracy:.4f}")
    else:
        pred = outputs[:, 0] * meta["target_scale"] + meta["target_mean"]
        print(f"on {args.data} (all {len(table)} rows): "
              + c.format_regression(c.regression_metrics(y_raw, pred)))


def _finish_metadata(meta, logs: dict, stop_reason: str, settings, args, ignore, table):
    meta["history"] = {k: [float(v) if math.isfinite(v) else None for v in values]
                       for k, values in logs.items() if k != "epoch_time"}  # JSON: no NaN
    meta["stop_reason"] = stop_reason
    meta["training"] = {**settings, "activation": args.activation, "optimizer": args.optimizer,
                        "ignored": ignore, "data": str(args.data), "rows": len(table)}


def _check_diverged(losses: list, stop_reason: str, args) -> None:
    """A ``CLIError`` with advice in CLI flags when the run diverged (nothing is saved)."""
    from .main import CLIError

    finite = [v for v in losses if math.isfinite(v)]
    grew = len(finite) >= 2 and finite[-1] > DIVERGED_RATIO * finite[0]
    if stop_reason != "diverged" and len(finite) == len(losses) and losses and not grew:
        return
    if stop_reason == "diverged" or len(finite) < len(losses):
        what = f"the loss became NaN or infinite at epoch {len(finite) + 1}"
    else:
        what = f"the training loss rose from {finite[0]:.4g} to {finite[-1]:.4g}"
    lower = f"{args.learning_rate / 10:g}"
    raise CLIError(
        f"training diverged: {what}; nothing was saved. Try a lower --learning-rate (now "
        f"{args.learning_rate:g}; e.g. --learning-rate {lower}), --optimizer adam, or a "
        "larger --batch-size"
    )


class BestSoFar(Callback):
    """A callback keeping the weights and history of the best epoch so far, for Ctrl-C.

    ``record`` is ``(logs per finished epoch, (value, epoch, weights) of the best one)``,
    replaced by one assignment per epoch, so an interrupt at any point leaves the two
    consistent.
    """

    def __init__(self, monitor: str):
        self.monitor = monitor
        self.record: tuple[tuple[dict, ...], tuple | None] = ((), None)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        epochs, kept = self.record
        value = float(logs.get(self.monitor, logs.get("loss", math.inf)))
        if kept is None or value < kept[0]:
            kept = (value, epoch, {k: v.copy() for k, v in self.model.state_dict().items()})
        self.record = ((*epochs, dict(logs)), kept)

    def history(self) -> dict[str, list]:
        """The logs of the finished epochs as per-quantity lists."""
        epochs = self.record[0]
        keys = dict.fromkeys(k for logs in epochs for k in logs)
        return {k: [logs.get(k, math.nan) for logs in epochs] for k in keys}


def _interrupted(args, model, meta, settings, ignore, table, best: BestSoFar) -> int:
    import sys

    epochs, kept = best.record
    done = len(epochs)
    if args.no_save_on_interrupt or kept is None:
        why = "--no-save-on-interrupt" if args.no_save_on_interrupt else \
            "no epoch had finished"
        print(f"plainnet train: interrupted after {done} epochs; nothing saved ({why})",
              file=sys.stderr)
        return 130
    value, epoch, state = kept
    model.load_state_dict(state)
    meta["best_epoch"] = int(epoch)
    _finish_metadata(meta, best.history(), "interrupted", settings, args, ignore, table)
    _save(model, args.out, meta)
    print(f"plainnet train: interrupted after {done} epochs; saved the best model so far "
          f"(epoch {epoch}, {best.monitor} {value:.4g}) to {args.out}", file=sys.stderr)
    return 130


def _save(model, out: str, meta: dict) -> None:
    import plainnet as pn

    from .main import CLIError

    with warnings.catch_warnings():
        # said once, before training (_check_out_name); pn.save says it again otherwise
        warnings.filterwarnings("ignore", message=".* but is a safetensors file")
        try:
            pn.save(model, out, metadata=meta)
        except OSError as err:
            raise CLIError(f"cannot save the model to {out!r}: {err.strerror or err}") from None


def _check_out_name(out: str) -> None:
    from pathlib import Path

    suffix = Path(out).suffix
    if suffix.lower() != ".safetensors":
        warnings.warn(f"--out {out!r}: the file is written as safetensors whatever its "
                      f"extension ({suffix or 'none'}); name it .safetensors so other tools "
                      "recognize it", UserWarning, stacklevel=2)



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
    _parameter_count(1, sizes, 1, text)  # before reading the data: the layers alone
    return sizes


def _parameter_count(n_in: int, hidden: list[int], n_out: int, text: str) -> int:
    """$\\sum_l (n_{l-1} + 1) n_l$ of the network, refused above
    `MAX_PARAMETERS` (before any weight is allocated)."""
    from .main import CLIError

    count = sum((a + 1) * b for a, b in zip([n_in, *hidden], [*hidden, n_out], strict=True))
    if count > MAX_PARAMETERS:
        raise CLIError(f"--hidden {text} asks for {'more than ' if n_in == 1 else ''}"
                       f"{count:,} parameters ({count * 4 / 2**30:,.0f} GiB); at most "
                       f"{MAX_PARAMETERS:,} are allowed")
    return count


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
