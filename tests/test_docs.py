"""The docs: the site builds without a warning, and every Python snippet in them runs and
prints what its comments say.

Each ```python block of the README and of every page under docs/ is executed on its own: a
fresh namespace, a temporary working directory, matplotlib's Agg backend. A block preceded by
the line ``<!-- skip-test -->`` is skipped, and so is a block that imports torch where torch
is not installed.

Printed values are checked like doctests. A top-level statement whose last line ends with a
comment ``# -> EXPECTED`` must print ``EXPECTED`` (an expression statement, e.g. a bare call,
has its value's repr printed, as at the prompt). Long or several-line output may go on comment
lines of their own right below the statement, one ``# ->`` line per printed line::

    print(neuron.predict(X))      # -> [0 0 0 1]
    pn.integrate([1, 2], [0.5, -1], b=0.25)   # -> -1.25
    for finding in report:
        print(finding)
    # -> layer '1' (Tanh): 64% of its outputs are saturated, ...
    # -> layer '3' (Tanh): ...

Each block runs statement by statement (``ast``) and each top-level statement's output is
captured on its own, then compared with doctest's rules and the flags ``ELLIPSIS`` (``...``
stands for any text) and ``NORMALIZE_WHITESPACE`` (any run of spaces and newlines matches any
other), so a long array may be written on one line and its middle elided. Everything after
``# ->`` is the expected output: put explanations in the comment line above. A comment that
does not start with ``->`` is never checked. A block must also run without scikit-learn's
``ConvergenceWarning``: examples that train briefly raise ``max_iter`` or silence it, and say so.
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import importlib.util
import io
import os
import re
import subprocess
import sys
import tokenize
import warnings
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


MARKER = "# ->"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def expected_outputs(code: str) -> dict[int, str]:
    """``{line: expected}`` for every comment ``# -> expected`` of ``code`` (1-based lines);
    the lines of markers that stand alone below a line are joined to that line's."""
    found, alone = {}, set()
    lines = code.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT and tok.string.startswith(MARKER):
            line = tok.start[0]
            found[line] = tok.string[len(MARKER):].strip()
            if lines[line - 1].lstrip().startswith(MARKER):
                alone.add(line)
    for line in sorted(alone):
        above = line - 1
        while above in alone:
            above -= 1
        if above >= 1 and lines[above - 1].strip():  # join to the statement above
            found[above] = "\n".join(filter(None, [found.get(above), found.pop(line)]))
    return found


def run_checked(block) -> dict:
    """Run ``block`` statement by statement; compare each marked statement's printed output
    with its ``# ->`` comment, and refuse ConvergenceWarnings. Returns the namespace."""
    path = Path(block.path)
    where = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    tree = ast.parse(block.code)
    expected = expected_outputs(block.code)
    ends = {stmt.end_lineno for stmt in tree.body}
    stray = [block.line + n for n in sorted(expected) if n not in ends]
    assert not stray, (f"{where}:{stray}: '{MARKER}' must end a top-level statement's last "
                       "line, or stand on the lines right below it")
    namespace, failures = {"__name__": "__main__"}, []
    checker = doctest.OutputChecker()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for stmt in tree.body:
            want = expected.get(stmt.end_lineno)
            if want is not None and isinstance(stmt, ast.Expr):  # shown as at the prompt
                code = compile(ast.Interactive([stmt]), f"{where}:{block.line}", "single")
            else:
                code = compile(ast.Module([stmt], []), f"{where}:{block.line}", "exec")
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(code, namespace)
            got = printed.getvalue()
            if want is not None and not checker.check_output(want + "\n", got, FLAGS):
                failures.append(f"{where}:{block.line + stmt.end_lineno}: the comment says "
                                f"{want!r}, the code printed {got.strip()!r}")
    convergence = [str(w.message) for w in caught
                   if w.category.__name__ == "ConvergenceWarning"]
    assert not convergence, f"{where}:{block.line}: ConvergenceWarning: {convergence[0]}"
    assert not failures, "\n".join(failures)
    return namespace


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
    run_checked(block)


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


def _checked(tmp_path, code: str):
    page = tmp_path / "page.md"
    page.write_text(f"```python\n{code}```\n", encoding="utf-8")
    (block,) = make_doc_images.code_blocks(page)
    return run_checked(block)


def test_printed_output_is_checked_like_a_doctest(tmp_path, capsys):
    ns = _checked(tmp_path, (
        "import numpy as np\n"
        "print(np.arange(4))          # -> [0 1 2 3]\n"
        "print(np.eye(2))             # -> [[1. 0.] [0. 1.]]\n"
        "for k in range(3):\n"
        "    print(k)                 # -> 0 1 2\n"
        "print('a long line, printed')   # -> a long ... printed\n"
        "2 ** 10                      # -> 1024\n"
        "x = 1                        # a comment that is not a marker\n"
        "print('unchecked')\n"
    ))
    assert ns["x"] == 1 and capsys.readouterr().out == ""
    with pytest.raises(AssertionError, match=r"page.md:3: the comment says '4', the code printed "
                                             r"'5'"):
        _checked(tmp_path, "x = 2\nprint(x + 3)   # -> 4\n")
    with pytest.raises(AssertionError, match="must end a top-level statement"):
        _checked(tmp_path, "for k in range(2):   # -> 0 1\n    print(k)\n")
    with pytest.raises(AssertionError, match="must end a top-level statement"):
        _checked(tmp_path, "x = 1\n\n# -> 1\n")
    _checked(tmp_path, "for k in range(2):\n    print(k, 'of', 2)\n    # -> 0 of 2\n"
                       "# -> 1 of ...\nprint('a' * 3)\n# -> aaa\n")
    with pytest.raises(AssertionError, match="the code printed ''"):
        _checked(tmp_path, "x = 3   # -> 3\n")


def test_convergence_warnings_fail_a_snippet(tmp_path):
    pytest.importorskip("sklearn")
    code = ("import warnings\nfrom sklearn.exceptions import ConvergenceWarning\n"
            "warnings.warn('did not converge', ConvergenceWarning)\n")
    with pytest.raises(AssertionError, match="ConvergenceWarning: did not converge"):
        _checked(tmp_path, code)
    _checked(tmp_path, code.replace("warnings.warn", "warnings.filterwarnings('ignore', "
                                    "category=ConvergenceWarning)\nwarnings.warn"))


README_TABLE = re.compile(r"`(pn\.[^`]+)` → `([^`]+)`")


def test_readme_table_examples_print_what_they_promise():
    import numpy as np

    import plainnet as pn

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pairs = README_TABLE.findall(readme)
    assert len(pairs) >= 5, pairs
    for expr, promised in pairs:
        value = eval(expr, {"pn": pn, "np": np})
        if re.fullmatch(r"-?[\d.]+(e[-+]?\d+)?", promised):  # a number prints as one
            assert str(value) == promised, f"{expr} prints {value}, the README says {promised}"
        else:
            np.testing.assert_allclose(np.asarray(value), np.asarray(eval(promised)),
                                       err_msg=expr)
    assert repr(pn.integrate([1, 2], [0.5, -1], b=0.25)) == "-1.25"  # not array(-1.25)


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
    _check_rendered_site(site)


RAW_MARKUP = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj|math):(?:`|<code>)|\.\. math::")
ASSET = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=\"(https?:)?//", re.I)


def _check_rendered_site(site: Path) -> None:
    """What a reader sees: no Sphinx markup left as text (cross-references are links, maths is
    MathJax's), nothing loaded from another server (the site works offline), and a 404 page
    whose links do not start at the server's root (the site works from a folder)."""
    pages = sorted(site.rglob("*.html"))
    raw = {p.relative_to(site).as_posix(): RAW_MARKUP.findall(p.read_text(encoding="utf-8"))
           for p in pages}
    assert not {k: v for k, v in raw.items() if v}, raw
    remote = {p.relative_to(site).as_posix(): ASSET.findall(p.read_text(encoding="utf-8"))
              for p in pages}
    assert not {k: v for k, v in remote.items() if v}
    api = (site / "api" / "nn" / "index.html").read_text(encoding="utf-8")
    assert 'class="arithmatex"' in api  # formulas handed to the bundled MathJax
    assert re.search(r'<a class="autorefs[^"]*"[^>]*><code>[^<]*</code></a>', api)  # links
    assert (site / "javascripts" / "tex-svg.js").is_file()
    not_found = (site / "404.html").read_text(encoding="utf-8")
    assert not re.search(r'\s(?:href|src)="/(?!/)', not_found)
