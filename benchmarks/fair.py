"""The shared benchmark harness: each library's job alone in its own fresh Python process.

Two libraries measured in one process fight over the same cores (NumPy's OpenBLAS threads
against PyTorch's OpenMP threads) and each pays for the other's heap and caches: neither
number is what a user sees. Here every measurement is one fresh interpreter
(``sys.executable``) that imports only the job's library, runs the job once, prints one JSON
line and exits; the jobs are alternated ``A B A B ...`` for ``rounds`` rounds, and the
medians and their ratios are reported with each child's peak resident memory.

A *job* is a function ``job(**args) -> dict`` in a module, named ``"module:function"``
(a module on ``sys.path``, this folder included) or ``"path/to/file.py:function"``. It does
its own set-up and warm-up, times only the work it measures, and returns at least
``{"seconds": <time of the measured work>}``; ``"items"`` (samples, steps...) turns seconds
into a rate, and any other numbers (an accuracy, a loss) are kept and reported as medians::

    # bench_mine.py
    def job(batch_size: int) -> dict:
        ...                       # imports, data, model, one untimed warm-up
        start = time.perf_counter()
        ...                       # the measured work
        return {"seconds": time.perf_counter() - start, "items": n_samples}

    import fair
    result = fair.compare({"plainnet": ("bench_mine:job", {"batch_size": 32}),
                           "pytorch": ("bench_mine:torch_job", {"batch_size": 32})}, rounds=5)
    print(fair.markdown(result, baseline="pytorch"))
    result.ratio("plainnet", "pytorch")   # > 1: plainnet faster (median rate / median rate)

The child is ``python benchmarks/fair.py --child TARGET JSON_ARGS``: a job can be run alone
the same way to profile it. The machine should be quiet: :func:`compare` warns when the load
average is above half the core count.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import pathlib
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

HERE = pathlib.Path(__file__).resolve().parent
#: What the child prints in front of its JSON line (a job's own prints are left alone).
MARKER = "FAIR-RESULT "


class JobError(RuntimeError):
    """A child process failed: its exit status and the end of what it printed."""


@dataclass
class Runs:
    """Every measurement of one job: one dict per round (the job's result plus
    ``peak_rss_mib``, the child's peak resident memory)."""

    name: str
    target: str
    args: dict
    results: list[dict] = field(default_factory=list)

    def values(self, key: str) -> list[float]:
        return [float(r[key]) for r in self.results if key in r]

    def median(self, key: str = "seconds") -> float:
        """Median of ``key`` over the rounds (``nan`` if no round reported it)."""
        values = self.values(key)
        return statistics.median(values) if values else math.nan

    def rate(self) -> float:
        """Median items per second (each round's ``items / seconds``), or ``nan``."""
        rates = [r["items"] / r["seconds"] for r in self.results
                 if "items" in r and r["seconds"] > 0]
        return statistics.median(rates) if rates else math.nan


@dataclass
class Comparison:
    """What :func:`compare` measured: one :class:`Runs` per job, in the order given."""

    runs: dict[str, Runs]
    load_average: float

    def __getitem__(self, name: str) -> Runs:
        return self.runs[name]

    def ratio(self, name: str, baseline: str) -> float:
        """How many times faster ``name`` ran than ``baseline``: the ratio of the median
        rates where the jobs report items, else of the median seconds (baseline / name)."""
        a, b = self.runs[name], self.runs[baseline]
        if not math.isnan(a.rate()) and not math.isnan(b.rate()):
            return a.rate() / b.rate()
        return b.median("seconds") / a.median("seconds")


def _load(target: str):
    """The function named by ``"module:function"`` or ``"file.py:function"``."""
    module_name, sep, func = target.rpartition(":")
    if not sep or not module_name or not func:
        raise ValueError(f"a job is named 'module:function' or 'file.py:function'; got {target!r}")
    if module_name.endswith(".py"):
        path = pathlib.Path(module_name).resolve()
        sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
    else:
        sys.path.insert(0, str(HERE))
        module = importlib.import_module(module_name)
    return getattr(module, func)


def run_child(target: str, args: Mapping) -> None:
    """In the child: run the job, print its result (and the peak RSS) as one JSON line."""
    import resource

    result = dict(_load(target)(**args))
    if "seconds" not in result:
        raise ValueError(f"job {target} must return a dict with 'seconds'; got {sorted(result)}")
    # Linux reports ru_maxrss in KiB, macOS in bytes
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    print(MARKER + json.dumps(result), flush=True)


def run_once(target: str, args: Mapping, *, timeout: float = 600.0,
             env: Mapping | None = None) -> dict:
    """Run one job in a fresh process and return its result dict."""
    command = [sys.executable, str(HERE / "fair.py"), "--child", target, json.dumps(dict(args))]
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYTHONHASHSEED", "0")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=child_env, cwd=os.getcwd())
    except subprocess.TimeoutExpired as err:
        raise JobError(f"job {target} {dict(args)} ran past {timeout:.0f} s") from err
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        tail = (done.stdout + done.stderr)[-2000:]
        raise JobError(f"job {target} {dict(args)} exited with {done.returncode}:\n{tail}")
    return json.loads(lines[-1][len(MARKER):])


def quiet_check(threshold: float | None = None) -> float:
    """The 1-minute load average; warns when it is above ``threshold`` (half the cores by
    default): other work on the machine then takes the cores the jobs are measured on."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return math.nan
    limit = (os.cpu_count() or 1) / 2 if threshold is None else threshold
    if load > limit:
        warnings.warn(f"the machine is busy (load average {load:.1f} on {os.cpu_count()} "
                      "cores): the timings below are noisy; rerun on a quiet machine",
                      RuntimeWarning, stacklevel=3)
    return load


def compare(jobs: Mapping[str, tuple[str, Mapping]], rounds: int = 5, *,
            timeout: float = 600.0, env: Mapping | None = None,
            progress: bool = False) -> Comparison:
    """Run each job of ``jobs`` (``{name: (target, args)}``) alone in a fresh process,
    alternated for ``rounds`` rounds (at least 5 for numbers to report), the order rotated
    each round (``A B C``, ``B C A``, ``C A B``, ...) so that no job always runs right after
    the same other one.

    Returns a :class:`Comparison`: medians per job, :meth:`Comparison.ratio` between two.
    A job that fails raises :class:`JobError` with the end of its output.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1; got {rounds}")
    load = quiet_check()
    runs = {name: Runs(name, target, dict(args)) for name, (target, args) in jobs.items()}
    names = list(runs)
    for k in range(rounds):
        for name in names[k % len(names):] + names[: k % len(names)]:
            r = runs[name]
            result = run_once(r.target, r.args, timeout=timeout, env=env)
            r.results.append(result)
            if progress:
                print(f"  round {k + 1}/{rounds} {name}: {result['seconds']:.3f} s",
                      file=sys.stderr, flush=True)
    return Comparison(runs, load)


def _number(x: float, digits: int = 0) -> str:
    return "-" if math.isnan(x) else f"{x:,.{digits}f}"


def markdown(result: Comparison, baseline: str | None = None, *, unit: str = "items/s",
             extra: tuple[str, ...] = ()) -> str:
    """A markdown table of ``result``: per job the median rate (``unit``; or the median
    seconds where jobs report no items), the ratio to ``baseline``, each ``extra`` key's
    median, and the median peak RSS."""
    rated = all(not math.isnan(r.rate()) for r in result.runs.values())
    head = [unit if rated else "median s"]
    if baseline is not None:
        head.append(f"vs {baseline}")
    head += [*extra, "peak RSS MiB", "rounds"]
    lines = ["| job | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    for name, r in result.runs.items():
        cells = [_number(r.rate()) if rated else _number(r.median(), 4)]
        if baseline is not None:
            cells.append(f"{result.ratio(name, baseline):.2f}x")
        cells += [_number(r.median(key), 3) for key in extra]
        cells += [_number(r.median("peak_rss_mib")), str(len(r.results))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("TARGET", "JSON_ARGS"),
                        help="run one job in this process and print its result line")
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child[0], json.loads(args.child[1]))
    else:
        parser.print_help()


def timed(work, *args, **kwargs) -> float:
    """Seconds ``work(*args, **kwargs)`` takes (a helper for jobs)."""
    start = time.perf_counter()
    work(*args, **kwargs)
    return time.perf_counter() - start


if __name__ == "__main__":
    _main()
