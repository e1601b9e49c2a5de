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


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_pn_fit_fixes_the_malloc_thresholds_once():
    code = (
        "import numpy as np, plainnet as pn\n"
        "from plainnet import _malloc\n"
        "print(_malloc._state['set'])\n"
        "m = pn.nn.Sequential(pn.nn.Linear(2, 2))\n"
        "pn.fit(m, np.zeros((8, 2), np.float32), np.zeros(8, int), epochs=1, verbose=0)\n"
        "print(_malloc._state['set'], _malloc.retain_freed_memory())\n"
    )
    assert _run(code).split() == ["False", "True", "True"]


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_making_an_optimizer_fixes_the_malloc_thresholds():
    """A hand-written loop (no pn.fit) gets them too: its optimizer sets them."""
    code = (
        "import plainnet as pn\n"
        "from plainnet import _malloc\n"
        "m = pn.nn.Linear(2, 2)\n"
        "print(_malloc._state['set'])\n"
        "pn.optim.SGD(m.parameters(), lr=0.1)\n"
        "print(_malloc._state['set'])\n"
    )
    assert _run(code).split() == ["False", "True"]
    assert _run(code, PLAINNET_KEEP_FREED_MEMORY="0").split() == ["False", "False"]


def test_the_environment_leaves_malloc_alone():
    code = "from plainnet._malloc import retain_freed_memory; print(retain_freed_memory())"
    assert _run(code, PLAINNET_KEEP_FREED_MEMORY="0") == "False"
