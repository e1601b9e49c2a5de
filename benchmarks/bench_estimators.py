"""plainnet's scikit-learn estimators against scikit-learn's own MLPs of the same shape.

Digits (classification, held-out accuracy) and diabetes (regression, held-out R^2), each
estimator fitted with the same hyperparameters and seeds; the table shows the mean held-out
score over the seeds, the largest per-seed difference, and the median fit time of each.

    python benchmarks/bench_estimators.py [--seeds 3] [--threads 1]

``--threads`` caps the BLAS threads of both libraries (the matrices are small, so more threads
mostly add contention).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np


def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def diabetes():
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=1)
    scaler = StandardScaler().fit(X_train)
    mean, std = y_train.mean(), y_train.std()
    return (scaler.transform(X_train), scaler.transform(X_test),
            (y_train - mean) / std, (y_test - mean) / std)


TASKS = {
    "digits (accuracy)": (
        digits, "MLPClassifier", dict(hidden_layer_sizes=(64,), max_iter=200),
    ),
    "diabetes (R^2)": (
        diabetes, "MLPRegressor",
        dict(hidden_layer_sizes=(16,), activation="tanh", alpha=10.0,
             learning_rate_init=0.01, max_iter=300),
    ),
}


def run(seeds: int) -> list[dict]:
    import sklearn.neural_network as sk

    import plainnet.estimators as pe

    rows = []
    for task, (load, cls_name, params) in TASKS.items():
        X_train, X_test, y_train, y_test = load()
        result = {"task": task, "params": params}
        for lib, module in (("plainnet", pe), ("sklearn", sk)):
            scores, times, epochs = [], [], []
            for seed in range(seeds):
                est = getattr(module, cls_name)(random_state=seed, **params)
                start = time.perf_counter()
                est.fit(X_train, y_train)
                times.append(time.perf_counter() - start)
                scores.append(est.score(X_test, y_test))
                epochs.append(est.n_iter_)
            result[lib] = {"scores": scores, "time": statistics.median(times),
                           "epochs": statistics.median(epochs)}
        rows.append(result)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = run(args.seeds)

    print(f"held-out scores, mean of {args.seeds} seeds; median fit time "
          f"({args.threads} BLAS thread{'s' if args.threads > 1 else ''})\n")
    head = (f"{'task':<20} {'plainnet':>9} {'sklearn':>9} {'max |diff|':>10} "
            f"{'plainnet s':>11} {'sklearn s':>10} {'epochs pn/sk':>13}")
    print(head)
    print("-" * len(head))
    for r in rows:
        ours, theirs = np.array(r["plainnet"]["scores"]), np.array(r["sklearn"]["scores"])
        print(f"{r['task']:<20} {ours.mean():>9.4f} {theirs.mean():>9.4f} "
              f"{np.abs(ours - theirs).max():>10.4f} {r['plainnet']['time']:>11.2f} "
              f"{r['sklearn']['time']:>10.2f} "
              f"{r['plainnet']['epochs']:>6.0f}/{r['sklearn']['epochs']:<6.0f}")
    print()
    for r in rows:
        print(f"{r['task']}: {r['params']}")


if __name__ == "__main__":
    main()
