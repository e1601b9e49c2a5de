"""Run every benchmark side by side with its reference libraries and print the tables.

    python benchmarks/run.py            # everything (a few minutes)
    python benchmarks/run.py --quick    # fewer repeats

Peers that are not installed are skipped with a note: ``pip install -e ".[bench]"`` installs
them (torch 2.13.0 CPU, scikit-learn, mlxtend). Absolute times on a shared machine mean
little; the ratios, measured in one process with interleaved repeats, are what to read.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # before NumPy loads: see bench_training

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import bench_autodiff  # noqa: E402
import bench_estimators  # noqa: E402
import bench_training  # noqa: E402
import count_launches  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    print("== pn.grad of 2-D Rosenbrock vs torch.autograd ==")
    bench_autodiff.main()
    print("\n== MLP training 784-128-64-10 (Adam, float32) vs PyTorch and scikit-learn ==")
    try:
        bench_training.main(["--repeats", "3" if args.quick else "7"])
    except ImportError as err:
        print(f"skipped: {err} (pip install mlxtend)")
    print("\n== scikit-learn estimators vs sklearn.neural_network ==")
    bench_estimators.main(["--seeds", "1" if args.quick else "3"])
    print("\n== kernel launches and host waits of a training step (what limits a GPU) ==")
    count_launches.main([])


if __name__ == "__main__":
    main()
