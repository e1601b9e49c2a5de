"""``plainnet demo``: train on a bundled data set, print accuracy, draw the learning curve."""

from __future__ import annotations

import argparse

EXAMPLE = "example:\n  plainnet demo --out demo_curve.png"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="train a sigmoid neuron on the breast-cancer data and draw its learning curve",
        description=(
            "Train a sigmoid neuron on scikit-learn's bundled breast-cancer data (standardized), "
            "print its training and held-out accuracy, and save its learning curve as a PNG."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="demo_curve.png", help="PNG file for the learning curve")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(run=run)


def run(args) -> int:
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    from ..functions import Neuron

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=y
    )
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    neuron = Neuron(X.shape[1], activation="sigmoid", seed=args.seed)
    neuron.fit(X_train, y_train, learning_rate=0.5, threshold=1e-7, max_iter=5000)
    train_acc = float(np.mean(neuron.predict(X_train) == y_train))
    test_acc = float(np.mean(neuron.predict(X_test) == y_test))
    print(f"sigmoid neuron on breast cancer ({X.shape[0]} samples, {X.shape[1]} features)")
    print(f"iterations: {neuron.n_iter_}  final loss: {neuron.loss_history[-1]:.4f}")
    print(f"training accuracy: {train_acc:.3f}")
    print(f"held-out accuracy: {test_acc:.3f}")
    _draw_curve(neuron.loss_history, args.out)
    print(f"learning curve saved to {args.out}")
    return 0


def _draw_curve(losses, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(losses) + 1), losses)
    ax.set_xlabel("iteration")
    ax.set_ylabel("log-loss")
    ax.set_title("sigmoid neuron learning curve")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
