"""``plainnet demo``: train a network on a bundled data set, print accuracy, draw the curve."""

from __future__ import annotations

import argparse

EXAMPLE = """example:
  plainnet demo --out demo_curve.png  # digits, 64-64-10 network, learning curve PNG
  plainnet demo --epochs 40 --out curve.png --model digits.safetensors"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="train a network on the bundled digits data and draw its learning curve",
        description=(
            "Train a multi-layer network (64-64-10, ReLU, Adam, early stopping) on "
            "scikit-learn's bundled 8x8 handwritten digits, print its held-out accuracy, save "
            "the model and its learning curve."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="demo_curve.png", help="PNG file for the learning curve")
    p.add_argument("--model", default="demo_model.safetensors", help="where to save the model")
    p.add_argument("--epochs", type=int, default=60, help="most epochs to train (default 60)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def run(args) -> int:
    import numpy as np

    import plainnet as pn

    data = pn.datasets.digits()
    X, y = data
    X = X / 16.0  # pixel intensities 0..16 -> [0, 1]
    X_train, X_test, y_train, y_test = pn.datasets.split(
        X, y, test_size=0.25, random_state=args.seed
    )
    pn.seed(args.seed)
    model = pn.nn.Sequential(pn.nn.Linear(64, 64), pn.nn.ReLU(), pn.nn.Linear(64, 10))
    print(f"digits: {len(X_train)} training and {len(X_test)} held-out images of 8x8 pixels")
    print(model)
    history = pn.fit(
        model, X_train, y_train,
        loss="cross_entropy",
        optimizer=pn.optim.Adam(model.parameters(), lr=3e-3),
        epochs=args.epochs,
        batch_size=32,
        validation_split=0.1,
        callbacks=[pn.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-4, patience=8)],
        seed=args.seed,
        verbose=0 if args.quiet else 1,
    )
    test_acc = float(np.mean(model.predict(X_test).argmax(axis=1) == y_test))
    train_acc = float(np.mean(model.predict(X_train).argmax(axis=1) == y_train))
    print(f"epochs trained: {len(history)} (stopped by: {history.stop_reason})")
    print(f"training accuracy: {train_acc:.3f}")
    print(f"held-out accuracy: {test_acc:.3f}")
    pn.save(model, args.model)
    print(f"model saved to {args.model}")
    fig = pn.plot.history(history)
    fig.savefig(args.out, dpi=100)
    print(f"learning curve saved to {args.out}")
    return 0
