"""Run every benchmark against its reference libraries and print the tables.

    python benchmarks/run.py            # everything (several minutes, on a quiet machine)
    python benchmarks/run.py --quick    # fewer rounds and epochs, to check that it runs

Each library's job runs alone in its own fresh Python process, the libraries alternated
A B A B for several rounds (``benchmarks/fair.py``): medians and the ratio of medians are
reported. Peers that are not installed are skipped with a note: ``pip install -e ".[bench]"``
installs them (torch 2.13.0 CPU, scikit-learn, mlxtend).
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import fair  # noqa: E402

X0 = [-1.2, 1.0]


def rosenbrock(x):
    """The Rosenbrock function of a length-2 vector (Tensor or torch tensor)."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def grad_job(library: str, calls: int = 20000) -> dict:
    """Seconds for ``calls`` gradients of 2-D Rosenbrock: ``pn.grad`` or ``torch.autograd``."""
    if library == "plainnet":
        import numpy as np

        import plainnet as pn

        grad_f, x0 = pn.grad(rosenbrock), np.array(X0)

        def step():
            return grad_f(x0)
    else:
        import torch

        torch.set_num_threads(1)

        def step():
            x = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
            rosenbrock(x).backward()
            return x.grad

    got = [float(v) for v in step()]
    want = [-2 * (1 - X0[0]) - 400 * X0[0] * (X0[1] - X0[0] ** 2),
            200 * (X0[1] - X0[0] ** 2)]
    if max(abs(a - b) for a, b in zip(got, want, strict=True)) > 1e-9:
        raise AssertionError(f"{library}: gradient {got} != {want}")
    for _ in range(calls // 10):  # warm-up
        step()
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return {"seconds": time.perf_counter() - start, "items": calls}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and epochs")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else 7
    have_torch = importlib.util.find_spec("torch") is not None

    print("== pn.grad of 2-D Rosenbrock vs torch.autograd (calls/s) ==\n")
    jobs = {"plainnet pn.grad": ("run:grad_job", {"library": "plainnet"})}
    if have_torch:
        jobs["torch.autograd"] = ("run:grad_job", {"library": "torch"})
    result = fair.compare(jobs, rounds=rounds)
    print(fair.markdown(result, baseline="torch.autograd" if have_torch else None,
                        unit="calls/s"))

    print("\n== MLP training 784-128-64-10 (Adam, float32) vs PyTorch and scikit-learn ==")
    import bench_training

    try:
        bench_training.main(["--rounds", str(rounds), "--epochs", "2" if args.quick else "5"])
    except ImportError as err:
        print(f"skipped: {err}")

    print("\n== scikit-learn estimators vs sklearn.neural_network ==")
    import bench_estimators

    bench_estimators.main(["--seeds", "1" if args.quick else "3"])
    print("\n== kernel launches and host waits of a training step (what limits a GPU) ==")
    import count_launches

    count_launches.main([])


if __name__ == "__main__":
    main()
