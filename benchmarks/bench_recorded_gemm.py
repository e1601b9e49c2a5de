"""The matrix products of a recorded training step (cuBLAS called by plainnet, ``plainnet._cublas``)
against CuPy's own ``a @ b``, side by side on one GPU, fp32.

The shapes are those of ``bench_gpu.py``'s networks: each layer's forward ``x W^T``, and its
backward ``g W`` and ``g^T x``. Three columns of milliseconds per product (medians over
``--repeats`` timings of ``--inner`` products each, by CUDA events): CuPy's ``@``; plainnet's
call outside a graph; and the same calls recorded once as a CUDA graph and launched. Then the
speed of the two relative to CuPy's (above 1: faster).

    python benchmarks/bench_recorded_gemm.py [--repeats 7] [--inner 10]

Without CuPy or a GPU it prints why and exits 0.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np

LAYERS = {"small": (784, 128, 64, 10), "wide": (784, 4096, 4096, 10)}
BATCHES = {"small": (1024, 8192), "wide": (8192,)}


def products(sizes, batch):
    """``(name, a shape, b shape, which is transposed)`` of each layer's three products."""
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        yield f"x W^T {batch}x{n_in}.{n_in}x{n_out}", (batch, n_in), (n_out, n_in), "b"
        yield f"g W   {batch}x{n_out}.{n_out}x{n_in}", (batch, n_out), (n_out, n_in), None
        yield f"g^T x {n_out}x{batch}.{batch}x{n_in}", (batch, n_out), (batch, n_in), "a"


def operands(cupy, a_shape, b_shape, transpose):
    rng = cupy.random.default_rng(0)
    a = rng.standard_normal(a_shape, dtype=np.float32)
    b = rng.standard_normal(b_shape, dtype=np.float32)
    return (a.T if transpose == "a" else a), (b.T if transpose == "b" else b)


def timed(cupy, run, repeats, inner):
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    run()
    times = []
    for _ in range(repeats):
        start.record()
        for _ in range(inner):
            run()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) / inner)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--inner", type=int, default=10)
    args = parser.parse_args(argv)
    import plainnet as pn

    if not pn.backend.is_available("cuda"):
        print("skipped: no GPU for plainnet here")
        return 0
    import cupy

    from plainnet import _cublas

    workspace = cupy.empty(_cublas.WORKSPACE_BYTES, np.uint8)
    print(f"{'product':<36} {'cupy ms':>9} {'ours ms':>9} {'graph ms':>9} "
          f"{'ours speed':>10} {'graph speed':>11}")
    for net, sizes in LAYERS.items():
        for batch in BATCHES[net]:
            for name, a_shape, b_shape, transpose in products(sizes, batch):
                a, b = operands(cupy, a_shape, b_shape, transpose)
                t_cupy = timed(cupy, lambda a=a, b=b: a @ b, args.repeats, args.inner)
                t_ours = timed(cupy, lambda a=a, b=b: _cublas.matmul(cupy, a, b, workspace),
                               args.repeats, args.inner)
                with pn.backend.graph_stream("cuda"):
                    graph, _ = pn.backend.capture(
                        "cuda", lambda a=a, b=b: [pn.backend.matmul(a, b)
                                                  for _ in range(args.inner)])
                    t_graph = timed(cupy, graph.launch, args.repeats, 1) / args.inner
                print(f"{net + ' ' + name:<36} {t_cupy:>9.4f} {t_ours:>9.4f} {t_graph:>9.4f} "
                      f"{t_cupy / t_ours:>9.2f}x {t_cupy / t_graph:>10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
