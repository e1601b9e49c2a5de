"""Reading a 60,000 x 785 integer CSV file (MNIST's shape, 133 MB): plainnet against pandas.

Issue 20's bar: ``pn.datasets.load_csv`` within 1.5x of ``pandas.read_csv`` in time and in
peak memory. The file is written once into a temporary folder (no network); each reader then
runs alone in its own fresh process (``benchmarks/fair.py``), alternated A B A B for
``--rounds`` rounds, and the medians and their ratios are reported. ``np.loadtxt`` is shown
for reference.

    python benchmarks/bench_csv.py [--rounds 5] [--rows 60000] [--columns 785]

(The lead runs it on a quiet machine; ``--rounds 1 --rows 2000`` checks that it works.)
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import fair  # noqa: E402


def write_file(path: str, rows: int, columns: int, seed: int = 0) -> None:
    """A header ``label,p0,...`` and ``rows`` rows of integers 0..255 (label 0..9)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    header = ",".join(["label"] + [f"p{j}" for j in range(columns - 1)])
    with open(path, "w") as f:
        f.write(header + "\n")
        for start in range(0, rows, 5000):
            block = rng.integers(0, 256, size=(min(5000, rows - start), columns))
            block[:, 0] %= 10
            np.savetxt(f, block, fmt="%d", delimiter=",")


def plainnet_job(path: str) -> dict:
    import pandas  # noqa: F401  (imported lazily by load_csv; timed as in pandas_job: not)

    import plainnet as pn

    start = time.perf_counter()
    X, y, _ = pn.datasets.load_csv(path, "label")
    return {"seconds": time.perf_counter() - start, "rows": len(X)}


def pandas_job(path: str) -> dict:
    import pandas as pd

    start = time.perf_counter()
    frame = pd.read_csv(path)
    return {"seconds": time.perf_counter() - start, "rows": len(frame)}


def loadtxt_job(path: str) -> dict:
    import numpy as np

    start = time.perf_counter()
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return {"seconds": time.perf_counter() - start, "rows": len(data)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--columns", type=int, default=785)
    parser.add_argument("--no-loadtxt", action="store_true", help="skip np.loadtxt (slow)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = str(pathlib.Path(folder) / "table.csv")
        write_file(path, args.rows, args.columns)
        size = pathlib.Path(path).stat().st_size / 2**20
        print(f"{args.rows} x {args.columns} integer CSV, {size:.0f} MiB")
        here = str(pathlib.Path(__file__).resolve())
        jobs = {"plainnet.load_csv": (f"{here}:plainnet_job", {"path": path}),
                "pandas.read_csv": (f"{here}:pandas_job", {"path": path})}
        if not args.no_loadtxt:
            jobs["np.loadtxt"] = (f"{here}:loadtxt_job", {"path": path})
        result = fair.compare(jobs, rounds=args.rounds)
    print(fair.markdown(result, baseline="pandas.read_csv"))
    ours, theirs = result["plainnet.load_csv"], result["pandas.read_csv"]
    time_ratio = ours.median() / theirs.median()
    memory_ratio = ours.median("peak_rss_mib") / theirs.median("peak_rss_mib")
    print(f"plainnet / pandas: time {time_ratio:.2f}x, peak memory {memory_ratio:.2f}x "
          "(issue 20's bar: both at most 1.5x)")


if __name__ == "__main__":
    main()
