"""Keep the memory a training step frees in the process, so the next step does not fault it in
again.

A training step allocates and frees the same large temporaries every step (a convolution's
columns and their gradient: tens of MiB for a wide layer). glibc's ``malloc`` serves a block
above ``M_MMAP_THRESHOLD`` with fresh pages from the kernel and hands the free top of its heap
back once it exceeds ``M_TRIM_THRESHOLD``; both thresholds start at 128 KiB and move with
the program's frees. Whether a step's temporaries come back as pages already mapped or as
fresh ones (zero-filled by the kernel on the first touch of every 4 KiB) then depends on
the order of frees: measured on the 2-core machine of `benchmarks/bench_cnn.py`, an epoch
of the wide CNN took 2.4-2.9 s through ``pn.fit`` against 1.5 s with the thresholds fixed,
and a hand-written LeNet loop faulted in about 1,500 pages a step and ran at half speed or
worse.

`retain_freed_memory()` fixes them (32 MiB, glibc's largest mmap threshold, and 1 GiB), as
PyTorch's caching allocator keeps its blocks: freed memory stays in the process for the
next step, and the resident memory stays near its peak instead of falling between steps.
Making an optimizer (a training loop is about to run) calls it, so ``pn.fit`` does too;
``PLAINNET_KEEP_FREED_MEMORY=0`` in the environment leaves ``malloc`` as it is. Elsewhere
than glibc on Linux it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 1 << 30

_state = {"set": False}


def retain_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds for this process (once); whether they are set."""
    if _state["set"]:
        return True
    if not sys.platform.startswith("linux") or \
            os.environ.get("PLAINNET_KEEP_FREED_MEMORY", "1") == "0":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):  # musl and others: left alone
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _state["set"] = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _state["set"]
