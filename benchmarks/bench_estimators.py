"""Held-out scores of plainnet's MLPs against scikit-learn's, on scikit-learn's bundled data.

A score benchmark: for each data set (iris, wine, breast cancer, digits: accuracy; diabetes:
R^2 of the standardized target) and each setting (Adam, Adam with early stopping, SGD with
Nesterov momentum, L-BFGS), both libraries fit the same MLP (``hidden_layer_sizes=(32,)``,
everything else at scikit-learn's defaults) on the same standardized split, for every seed:
seed ``s`` makes the train/test split (``random_state=s``, stratified for classification) and
is each estimator's ``random_state``. The table gives each library's mean +- standard deviation
over the seeds, and the paired difference (plainnet - scikit-learn) with twice its standard
error; a difference within that band is noise (the two run the same algorithm, so only the
random draws differ).

Each library runs alone in its own fresh process for each data set, the order alternating from
one data set to the next; the median fit time per setting is reported too (one BLAS thread).

    python benchmarks/bench_estimators.py [--seeds 10] [--datasets iris wine ...]
                                          [--settings adam adam+es sgd lbfgs]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

DATASETS = ("iris", "wine", "breast_cancer", "digits", "diabetes")
SETTINGS = {
    "adam": {},
    "adam+es": {"early_stopping": True},
    "sgd": {"solver": "sgd"},
    "lbfgs": {"solver": "lbfgs"},
}
COMMON = {"hidden_layer_sizes": (32,)}


def load(name: str, seed: int):
    """The standardized train/test split of data set ``name`` for ``seed``."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    regression = name == "diabetes"
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=None if regression else y)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    if regression:
        mean, std = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mean) / std, (y_te - mean) / std
    return X_tr, X_te, y_tr, y_te, regression


def worker(lib: str, name: str, seeds: int, settings: list[str]) -> dict:
    """Fit every setting and seed on data set ``name`` with one library (in this process)."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    if lib == "plainnet":
        import plainnet.estimators as module
    else:
        import sklearn.neural_network as module
    out = {s: {"scores": [], "times": []} for s in settings}
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(seeds):
            X_tr, X_te, y_tr, y_te, regression = load(name, seed)
            cls = module.MLPRegressor if regression else module.MLPClassifier
            for setting in settings:
                est = cls(random_state=seed, **COMMON, **SETTINGS[setting])
                start = time.perf_counter()
                est.fit(X_tr, y_tr)
                out[setting]["times"].append(time.perf_counter() - start)
                out[setting]["scores"].append(float(est.score(X_te, y_te)))
    return out


def run_worker(lib: str, name: str, seeds: int, settings: list[str]) -> dict:
    """:func:`worker` in a fresh Python process."""
    cmd = [sys.executable, __file__, "--worker", lib, "--datasets", name, "--seeds",
           str(seeds), "--settings", *settings]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{lib} on {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: dict, seeds: int) -> str:
    """The markdown table of :func:`main`."""
    diffs, below = [], 0
    lines = [
        "| data set (metric) | setting | plainnet | scikit-learn | difference (+-2 SE) | "
        "fit s pn / sk |",
        "|---|---|---|---|---|---|",
    ]
    for name, per_lib in results.items():
        metric = "R^2" if name == "diabetes" else "accuracy"
        for setting in per_lib["plainnet"]:
            ours = np.array(per_lib["plainnet"][setting]["scores"])
            theirs = np.array(per_lib["sklearn"][setting]["scores"])
            diff = ours - theirs
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
            diffs.append(diff.mean())
            below += bool(diff.mean() < -2 * se)
            t_ours = statistics.median(per_lib["plainnet"][setting]["times"])
            t_theirs = statistics.median(per_lib["sklearn"][setting]["times"])
            lines.append(
                f"| {name} ({metric}) | {setting} | {ours.mean():.3f} +- {ours.std():.3f} | "
                f"{theirs.mean():.3f} +- {theirs.std():.3f} | {diff.mean():+.3f} +- "
                f"{2 * se:.3f} | {t_ours:.2f} / {t_theirs:.2f} |"
            )
    summary = (f"\n\nMean difference over the {len(diffs)} rows: {np.mean(diffs):+.4f}; rows "
               f"where plainnet is below scikit-learn by more than 2 SE: {below}.\n")
    return "\n".join(lines) + summary + f"{seeds} seeds; hidden_layer_sizes=(32,), other " \
        "parameters at scikit-learn's defaults; one BLAS thread."


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--worker", choices=("plainnet", "sklearn"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1; got {args.seeds}")
    if args.worker:
        print(json.dumps(worker(args.worker, args.datasets[0], args.seeds, args.settings)))
        return
    results = {}
    for k, name in enumerate(args.datasets):
        order = ("plainnet", "sklearn") if k % 2 == 0 else ("sklearn", "plainnet")
        results[name] = {lib: run_worker(lib, name, args.seeds, args.settings)
                         for lib in order}
        print(f"{name}: done", file=sys.stderr)
    print(table(results, args.seeds))


if __name__ == "__main__":
    main()
