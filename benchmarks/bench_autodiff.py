"""Time ``pn.grad`` of the 2-D Rosenbrock function per call, beside ``torch.autograd``.

.. math:: f(x, y) = (1 - x)^2 + 100\\,(y - x^2)^2

Both run in this process, in interleaved repeats (so machine noise hits both alike); each
repeat times a batch of calls, and the medians over repeats are compared. torch is optional:
without it only plainnet is timed. Run ``python benchmarks/bench_autodiff.py``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import plainnet as pn

X0 = [-1.2, 1.0]


def rosenbrock(x):
    """The Rosenbrock function of a length-2 vector (Tensor or torch tensor)."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _plainnet_step():
    grad_f = pn.grad(rosenbrock)
    x0 = np.array(X0)

    def step():
        return grad_f(x0)

    return step


def _torch_step():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    x0 = list(X0)

    def step():
        x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        rosenbrock(x).backward()
        return x.grad

    return step


def _expected_gradient(x):
    x, y = x
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def _per_call(step, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls


def run(repeats: int = 15, calls: int = 2000) -> list[dict]:
    """Time both implementations; return one dict per implementation.

    Each dict has ``name``, ``benchmark``, ``per_call_s`` (median over ``repeats``),
    ``repeats``, ``calls`` and, for plainnet, ``speedup_vs_torch`` (torch time / plainnet time,
    when torch is installed).
    """
    steps = {"plainnet": _plainnet_step()}
    torch_step = _torch_step()
    if torch_step is not None:
        steps["torch"] = torch_step
    want = _expected_gradient(X0)
    for name, step in steps.items():  # correctness first, and warm-up
        got = np.asarray(step(), dtype=float)
        if not np.allclose(got, want):
            raise AssertionError(f"{name} gradient {got} != {want}")
        _per_call(step, calls // 10 or 1)
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            times[name].append(_per_call(step, calls))
    results = []
    for name in steps:
        results.append({
            "name": name,
            "benchmark": "grad of 2-D Rosenbrock",
            "per_call_s": statistics.median(times[name]),
            "repeats": repeats,
            "calls": calls,
        })
    if "torch" in times:
        results[0]["speedup_vs_torch"] = results[1]["per_call_s"] / results[0]["per_call_s"]
    return results


def main() -> None:
    results = run()
    for r in results:
        print(f"{r['name']:>9}: {r['per_call_s'] * 1e6:8.1f} us per call "
              f"(median of {r['repeats']} x {r['calls']} calls)")
    speedup = results[0].get("speedup_vs_torch")
    if speedup is None:
        print("torch is not installed: no comparison")
    else:
        print(f"ratio torch / plainnet: {speedup:.2f}x (plainnet is {speedup:.2f}x faster)")


if __name__ == "__main__":
    main()
