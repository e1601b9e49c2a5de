"""The Python examples of docs/estimators.md run and their assertions hold."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

DOC = Path(__file__).resolve().parents[1] / "docs" / "estimators.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples():
    assert len(BLOCKS) >= 8
    assert all("import plainnet as pn" in block for block in BLOCKS)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(index):
    if "dask.distributed" in BLOCKS[index]:
        pytest.importorskip("dask.distributed")
    # a block that trains briefly says so and silences the ConvergenceWarnings it expects:
    # the reader who runs it sees no warning the page does not mention
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        exec(compile(BLOCKS[index], f"{DOC.name}[block {index}]", "exec"), {})
