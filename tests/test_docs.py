"""The docs: the site builds without a warning, and every Python snippet in them runs.

Each ```python block of the README and of every page under docs/ is executed on its own: a
fresh namespace, a temporary working directory, matplotlib's Agg backend. A block preceded by
the line ``<!-- skip-test -->`` is skipped, and so is a block that imports torch where torch
is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _load_script(name: str):
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


make_doc_images = _load_script("make_doc_images")

PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
BLOCKS = [block for page in PAGES for block in make_doc_images.code_blocks(page)]
TORCH_IMPORT = re.compile(r"^\s*(import torch|from torch\b|import safetensors\.torch|"
                          r"from safetensors\.torch\b|from safetensors import torch)", re.M)
HAS_TORCH = importlib.util.find_spec("torch") is not None


def _block_id(block) -> str:
    return f"{block.path.relative_to(ROOT).as_posix()}:{block.line}"


@pytest.fixture
def in_tmp_dir(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.mark.parametrize("block", BLOCKS, ids=_block_id)
def test_snippet_runs(block, in_tmp_dir):
    if block.skip:
        pytest.skip("marked <!-- skip-test -->")
    if TORCH_IMPORT.search(block.code) and not HAS_TORCH:
        pytest.skip("needs torch")
    make_doc_images.run_block(block)


def test_blocks_are_found():
    by_page = {page.name: 0 for page in PAGES}
    for block in BLOCKS:
        by_page[block.path.name] += 1
    assert by_page["README.md"] >= 1
    assert by_page["tutorial.md"] >= 10
    assert by_page["index.md"] >= 1


def test_code_blocks_parser(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "text\n```python\nx = 1\n```\n\n<!-- skip-test -->\n\n```python\nraise SystemExit\n```\n"
        "- item\n\n    ```python\n    y = 2\n    ```\n```bash\nls\n```\n",
        encoding="utf-8",
    )
    blocks = make_doc_images.code_blocks(page)
    assert [(b.line, b.code, b.skip) for b in blocks] == [
        (2, "x = 1\n", False), (8, "raise SystemExit\n", True), (13, "y = 2\n", False),
    ]
    page.write_text("```python\nx = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="never closed"):
        make_doc_images.code_blocks(page)


def test_every_picture_is_drawn_by_the_tutorial_and_shown():
    tutorial = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    saved = set(re.findall(r"savefig\(\"([\w.-]+\.png)\"", tutorial))
    shown = set(re.findall(r"\]\(images/([\w.-]+\.png)\)", tutorial))
    assert saved and saved == shown
    committed = {p.name for p in (DOCS / "images").glob("*.png")}
    referenced = set()
    for page in PAGES:
        referenced |= set(re.findall(r"images/([\w.-]+\.png)", page.read_text(encoding="utf-8")))
    assert referenced <= committed, f"pictures missing from docs/images: {referenced - committed}"
    assert committed <= referenced, f"pictures no page shows: {committed - referenced}"
    for name in committed:
        data = (DOCS / "images" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and 2_000 < len(data) < 150_000, name


def test_tutorial_walks_the_notes():
    tutorial = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    for call in ("pn.step", "pn.sigmoid", "pn.integrate", "pn.augment", "pn.fold_bias",
                 "pn.magnitude", "pn.normalize", "pn.optimize.least_squares",
                 "pn.optimize.stationary_points", "pn.grad", "pn.optimize.gradient_descent",
                 "pn.plot.descent_path", "pn.Neuron", "pn.nn.Sequential", "pn.fit",
                 "pn.plot.history", "pn.plot.decision_boundary", "pn.diagnostics.watch",
                 "pn.diagnostics.report", "pn.check_backward"):
        assert call in tutorial, call
    headings = re.findall(r"^## (\d+)\. ", tutorial, re.M)
    assert [int(h) for h in headings] == list(range(1, len(headings) + 1))  # in order
    assert len(headings) >= 9  # the notes' eight ideas, then the course goes on


def test_index_shows_the_readme_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    commands = re.search(r"```bash\n(.*?)```", readme, re.S).group(1).strip().splitlines()
    assert len(commands) == 2
    for command in commands:
        assert command in index


def test_mkdocs_build_is_strict_and_clean(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    site = tmp_path / "site"
    env = {**os.environ, "MPLBACKEND": "Agg", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "WARNING" not in log, log
    assert (site / "tutorial" / "index.html").is_file()
    api = (site / "api" / "nn" / "index.html").read_text(encoding="utf-8")
    assert "Linear" in api and "in_features" in api  # rendered from the docstrings
    for page in DOCS.glob("*.md"):
        name = "" if page.stem == "index" else page.stem
        assert (site / name / "index.html").is_file(), f"{page.name} was not built"
