"""GPU training throughput: plainnet on CUDA (CuPy) vs PyTorch CUDA eager, fp32, side by side.

The jobs (issue 8): MLPs with ReLU, cross-entropy and Adam (lr 1e-3) in float32, on
MNIST-shaped synthetic data (784 features in [0, 1), 10 classes) resident on the GPU:

* 784-128-64-10 at batch 1024 and at batch 8192 (launch overhead dominates),
* 784-4096-4096-10 at batch 8192 (the matrix products dominate).

plainnet runs three ways: ``pn.fit(..., device="cuda")`` (the user's path: shuffling, loss and
divergence checks, logs; the data handed to it already on the GPU), the same with
``cuda_graph=True`` (the step's forward, loss and backward pass launched as one CUDA graph) and
a bare loop (forward,
``backward``, ``step`` on batches already on the GPU), which is what the PyTorch loop does;
it checks its labels once and runs inside ``pn.losses.targets_checked()``, as docs/gpu.md
advises for one's own loop (no check of each batch's labels, which would make the host
wait for the GPU at every step).
Each runs whole epochs, warmed up first (CuPy compiles its kernels on first use), timed
between device synchronizations; the medians of
``--repeats`` runs give samples/s, TFLOP/s (6 * sum(m n) per sample, the three matmuls forward
and backward) and the ratios to PyTorch. Neither library uses TF32.

    python benchmarks/bench_gpu.py [--repeats 5] [--configs small-1024,small-8192,wide-8192]
    python benchmarks/bench_gpu.py --profile small-1024 [--runner loop|fit|graph]

``--profile`` runs one of plainnet's runners (the bare loop by default) under cProfile instead
and prints the functions that take the host's time (on a small network the host, launching
kernels, is the limit).

Without CuPy or a GPU it prints why and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

CONFIGS = {
    # name: (layer sizes, batch, epochs per timed run); an epoch is STEPS_PER_EPOCH batches
    "small-1024": ((784, 128, 64, 10), 1024, 12),
    "small-8192": ((784, 128, 64, 10), 8192, 4),
    "wide-8192": ((784, 4096, 4096, 10), 8192, 2),
}
STEPS_PER_EPOCH = 16
TARGETS = {"small-1024": 1.0, "wide-8192": 0.9}
"""The issue's targets: plainnet / PyTorch throughput on these configurations."""
REFERENCE_H100 = {"small-1024": 0.78e6, "small-8192": 6.6e6, "wide-8192": 0.41e6}
"""PyTorch 2.11 eager fp32 samples/s on an H100, as measured for the issue."""


def flops_per_sample(sizes) -> float:
    return float(6 * sum(m * n for m, n in zip(sizes[:-1], sizes[1:], strict=True)))


def make_data(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = batch * STEPS_PER_EPOCH
    X = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    return X, y


def median_time(run, sync, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --------------------------------------------------------------------------- plainnet
class PlainnetFit:
    name = "plainnet fit"

    def __init__(self, sizes, X, y, batch):
        import plainnet as pn

        self.pn, self.batch = pn, batch
        pn.seed(0)
        self.model = _pn_mlp(pn, sizes).to("cuda")
        self.opt = pn.optim.Adam(self.model.parameters(), lr=1e-3)
        # on the GPU already, as for the PyTorch loop: a run of a few epochs would otherwise
        # time the upload of the whole data set at every call
        self.X = pn.backend.to_device(X, "cuda")
        self.y = pn.backend.to_device(y, "cuda")

    def train(self, epochs):
        self.pn.fit(self.model, self.X, self.y, loss="cross_entropy", optimizer=self.opt,
                    epochs=epochs, batch_size=self.batch, metrics=(), verbose=0,
                    device="cuda")


class PlainnetGraph(PlainnetFit):
    """``pn.fit(..., cuda_graph=True)``: each full batch's forward, loss and backward pass
    are one launch of a CUDA graph, recorded after two steps without one (again at each
    call, as a user's call would)."""

    name = "plainnet graph"

    def train(self, epochs):
        self.pn.fit(self.model, self.X, self.y, loss="cross_entropy", optimizer=self.opt,
                    epochs=epochs, batch_size=self.batch, metrics=(), verbose=0,
                    device="cuda", cuda_graph=True)


class PlainnetLoop(PlainnetFit):
    """The same model, optimizer and data, trained by a bare loop instead of ``pn.fit``."""

    name = "plainnet loop"

    def __init__(self, sizes, X, y, batch):
        super().__init__(sizes, X, y, batch)
        self.y = self.pn.losses.check_labels(self.y, sizes[-1])

    def train(self, epochs):
        pn, model, opt, bs = self.pn, self.model, self.opt, self.batch
        with pn.losses.targets_checked():  # checked once above: no read of them per step
            for _ in range(epochs):
                for i in range(0, len(self.X), bs):
                    out = model(pn.Tensor(self.X[i : i + bs]))
                    loss = pn.losses.cross_entropy(out, self.y[i : i + bs])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()


def _pn_mlp(pn, sizes):
    layers = []
    for k, (m, n) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(pn.nn.Linear(m, n))
        if k < len(sizes) - 2:
            layers.append(pn.nn.ReLU())
    return pn.nn.Sequential(*layers)


def plainnet_sync():
    import cupy

    cupy.cuda.Device().synchronize()


# --------------------------------------------------------------------------- PyTorch
class TorchLoop:
    name = "torch eager"

    def __init__(self, sizes, X, y, batch):
        import torch

        self.torch, self.batch = torch, batch
        torch.manual_seed(0)
        layers = []
        for k, (m, n) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(torch.nn.Linear(m, n))
            if k < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers).cuda()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.X = torch.from_numpy(X).cuda()
        self.y = torch.from_numpy(y).cuda()

    def train(self, epochs):
        torch, model, opt, bs = self.torch, self.model, self.opt, self.batch
        for _ in range(epochs):
            for i in range(0, len(self.X), bs):
                out = model(self.X[i : i + bs])
                loss = torch.nn.functional.cross_entropy(out, self.y[i : i + bs])
                opt.zero_grad()
                loss.backward()
                opt.step()


def torch_available() -> str | None:
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed (pip install torch): no PyTorch column"
    if not torch.cuda.is_available():
        return "PyTorch sees no CUDA device: no PyTorch column"
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 as plainnet computes it
    torch.backends.cudnn.allow_tf32 = False
    return None


def torch_sync():
    import torch

    torch.cuda.synchronize()


# --------------------------------------------------------------------------- main
def describe_machine() -> str:
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    parts = [f"GPU {name}", f"CuPy {cupy.__version__}",
             f"CUPY_TF32={os.environ.get('CUPY_TF32', '0')}"]
    try:
        import torch

        parts.append(f"PyTorch {torch.__version__}")
    except ImportError:
        pass
    return ", ".join(parts)


def run(config_names, repeats: int) -> list[dict]:
    no_torch = torch_available()
    if no_torch:
        print(no_torch)
    rows = []
    for name in config_names:
        sizes, batch, epochs = CONFIGS[name]
        X, y = make_data(batch)
        samples = epochs * len(X)
        runners = [(PlainnetFit, plainnet_sync), (PlainnetGraph, plainnet_sync),
                   (PlainnetLoop, plainnet_sync)]
        if not no_torch:
            runners.append((TorchLoop, torch_sync))
        row = {"config": name, "sizes": "-".join(map(str, sizes)), "batch": batch}
        for cls, sync in runners:
            runner = cls(sizes, X, y, batch)
            runner.train(1)  # warm-up: kernel compilation, memory pools, cuBLAS handles
            seconds = median_time(lambda r=runner, e=epochs: r.train(e), sync, repeats)
            row[cls.name] = samples / seconds
            del runner
        rows.append(row)
        print(f"  {name}: done", file=sys.stderr)
    return rows


def report(rows) -> None:
    ours = ["plainnet fit", "plainnet graph", "plainnet loop"]
    names = [*ours, "torch eager"]
    print(f"\n{'config':<12} {'layers':<18} {'batch':>6} "
          + " ".join(f"{n:>14}" for n in names)
          + "".join(f" {n.split()[1] + '/torch':>12}" for n in ours)
          + f" {'target':>7} {'TFLOP/s best':>13}")
    for row in rows:
        t = row.get("torch eager")
        ratios = [row[n] / t if t else float("nan") for n in ours]
        target = TARGETS.get(row["config"])
        best = max(row[n] for n in ours)
        flops = best * flops_per_sample(CONFIGS[row["config"]][0]) / 1e12
        print(f"{row['config']:<12} {row['sizes']:<18} {row['batch']:>6} "
              + " ".join(f"{row.get(n, float('nan')):>14,.0f}" for n in names)
              + "".join(f" {r:>11.2f}x" for r in ratios) + " "
              + (f"{target:>6.1f}x" if target else f"{'-':>7}")
              + f" {flops:>13.2f}")
    print("\nsamples/s (medians). Reference, PyTorch 2.11 eager fp32 on an H100: "
          + ", ".join(f"{k} {v / 1e6:.2f}M" for k, v in REFERENCE_H100.items()))


RUNNERS = {"loop": PlainnetLoop, "fit": PlainnetFit, "graph": PlainnetGraph}


def profile(name: str, runner_name: str = "loop", top: int = 30) -> None:
    """cProfile of one of plainnet's runners (``RUNNERS``) on config ``name``, after a
    warm-up: the ``top`` functions by their own time, and the host time per step."""
    import cProfile
    import pstats

    sizes, batch, epochs = CONFIGS[name]
    X, y = make_data(batch)
    runner = RUNNERS[runner_name](sizes, X, y, batch)
    runner.train(1)
    plainnet_sync()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    runner.train(epochs)
    plainnet_sync()
    profiler.disable()
    steps = epochs * STEPS_PER_EPOCH
    print(f"{name}, {runner.name}: {(time.perf_counter() - start) / steps * 1e6:,.0f} us a "
          f"step under the profiler ({steps} steps)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--profile", metavar="CONFIG",
                        help="profile plainnet on this config instead of benchmarking")
    parser.add_argument("--runner", choices=sorted(RUNNERS), default="loop",
                        help="what --profile runs: the bare loop, pn.fit, or pn.fit with a "
                             "CUDA graph (default: loop)")
    args = parser.parse_args(argv)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    if args.profile is not None:
        names = [args.profile]
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown configs {unknown}; choose from {sorted(CONFIGS)}")

    import plainnet as pn

    if not pn.backend.is_available("cuda"):
        try:
            pn.backend.canonical_device("cuda")
        except pn.backend.DeviceUnavailableError as err:
            print(f"skipped: no GPU for plainnet here. {err}")
        return 0
    print(describe_machine())
    if args.profile is not None:
        profile(args.profile, args.runner)
        return 0
    rows = run(names, args.repeats)
    report(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": describe_machine(), "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
