"""Training keeps freed memory in the process (glibc's malloc thresholds): pn.fit and making an
optimizer set them; the environment can say not to."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None


def _run(code: str, **env) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=120, check=True)
    return result.stdout.strip()


def _set_before_and_after(statement: str, **env) -> list[str]:
    """Whether the thresholds are set before and after running ``statement`` in a fresh
    process."""
    code = ("import numpy as np, plainnet as pn\n"
            "from plainnet import _malloc\n"
            "print(_malloc._state['set'])\n"
            f"{statement}\n"
            "print(_malloc._state['set'])\n")
    return _run(code, **env).split()


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_pn_fit_fixes_the_malloc_thresholds_once():
    fit = ("pn.fit(pn.nn.Sequential(pn.nn.Linear(2, 2)), np.zeros((8, 2), np.float32), "
           "np.zeros(8, int), epochs=1, verbose=0)\n"
           "assert _malloc.retain_freed_memory()")  # set once: asking again says so
    assert _set_before_and_after(fit) == ["False", "True"]


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_making_an_optimizer_fixes_the_malloc_thresholds():
    """A hand-written loop (no pn.fit) gets them too: its optimizer sets them."""
    make = "pn.optim.SGD(pn.nn.Linear(2, 2).parameters(), lr=0.1)"
    assert _set_before_and_after(make) == ["False", "True"]
    assert _set_before_and_after(make, PLAINNET_KEEP_FREED_MEMORY="0") == ["False", "False"]


def test_the_environment_leaves_malloc_alone():
    code = "from plainnet._malloc import retain_freed_memory; print(retain_freed_memory())"
    assert _run(code, PLAINNET_KEEP_FREED_MEMORY="0") == "False"
