"""``plainnet demo``: train a network on a bundled data set, print accuracy, draw the curve."""

from __future__ import annotations

import argparse

EXAMPLE = """example:
  plainnet demo --dir demo_run    # digits, 64-64-10 network; model and curve in demo_run/
  plainnet demo --epochs 40 --out curve.png --model digits.safetensors   # in the current dir"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="train a network on the bundled digits data and draw its learning curve",
        description=(
            "Train a multi-layer network (64-64-10, ReLU, Adam, early stopping) on "
            "scikit-learn's bundled 8x8 handwritten digits, print its held-out accuracy, save "
            "the model and its learning curve into --dir (default: the current directory), "
            "and say where they are."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dir", default=".", metavar="DIR",
                   help="folder to write into, created if missing (default: current directory)")
    p.add_argument("--out", default="demo_curve.png",
                   help="image file for the learning curve, in --dir (default demo_curve.png)")
    p.add_argument("--model", default="demo_model.safetensors",
                   help="model file, in --dir (default demo_model.safetensors)")
    p.add_argument("--epochs", type=int, default=60, help="most epochs to train (default 60)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    import plainnet as pn

    from . import _common as c
    from .train import _check_out_name, _save

    folder = Path(args.dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise c.CLIError(f"--dir {args.dir!r}: cannot create it ({err.strerror or err})") \
            from None
    model_path = str(folder / args.model)
    curve_path = c.plot_path(str(folder / args.out), "--out")
    _check_out_name(args.model)
    c.check_output_path(model_path, "--model")
    c.check_output_path(curve_path, "--out", inputs=(model_path,))
    data = pn.datasets.digits()
    X, y = data
    X = X / 16.0  # pixel intensities 0..16 -> [0, 1]
    X_train, X_test, y_train, y_test = pn.datasets.split(
        X, y, test_size=0.25, random_state=args.seed
    )
    pn.seed(args.seed)
    model = pn.nn.Sequential(pn.nn.Linear(64, 64), pn.nn.ReLU(), pn.nn.Linear(64, 10))
    stopping = pn.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-4, patience=8)
    print(f"digits: {len(X_train)} training and {len(X_test)} held-out images of 8x8 pixels")
    print(model)
    history = pn.fit(
        model, X_train, y_train,
        loss="cross_entropy",
        optimizer=pn.optim.Adam(model.parameters(), lr=3e-3),
        epochs=args.epochs,
        batch_size=32,
        validation_split=0.1,
        callbacks=[stopping],
        seed=args.seed,
        verbose=0 if args.quiet else 1,
    )
    best_epoch = stopping.best_epoch if stopping.best_weights is not None else None
    test_acc = float(np.mean(model.predict(X_test).argmax(axis=1) == y_test))
    train_acc = float(np.mean(model.predict(X_train).argmax(axis=1) == y_train))
    print(f"epochs trained: {len(history)} (stopped by: {history.stop_reason})")
    print(f"training accuracy: {train_acc:.3f}")
    print(f"held-out accuracy: {test_acc:.3f}")
    _save(model, model_path, {})
    c.save_figure(pn.plot.history(history, best_epoch=best_epoch), curve_path)
    print(f"files written to {folder.resolve()}: model {Path(model_path).name}, learning curve "
          f"{Path(curve_path).name}")
    return 0
