"""Draw the tutorial's pictures into docs/images/ by running the tutorial's own code.

Every ```python block of ``docs/tutorial.md`` runs in a fresh namespace with ``docs/images/``
as the working directory, so each ``fig.savefig("name.png")`` in the tutorial writes the very
picture the page shows next to it. Run it after changing the tutorial or a picture function:

    MPLBACKEND=Agg python scripts/make_doc_images.py

The PNGs are committed; they are drawn at 80 dpi and stored with a 256-colour palette to keep
them small. ``tests/test_docs.py``
reuses :func:`code_blocks` to execute every snippet of the README and the docs.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
IMAGES = ROOT / "docs" / "images"
DPI = 80
SKIP_MARKER = "<!-- skip-test -->"


@dataclass(frozen=True)
class CodeBlock:
    """One fenced ```python block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    skip: bool  # preceded by the <!-- skip-test --> marker


def code_blocks(path: Path) -> list[CodeBlock]:
    """The ```python blocks of a Markdown file, dedented, with the line each starts on."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped in ("```python", "```py"):
            indent = len(lines[i]) - len(lines[i].lstrip())
            start, body = i, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"{path}:{start + 1}: a ```python block is never closed")
            previous = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
            blocks.append(CodeBlock(Path(path), start + 1, "\n".join(body) + "\n",
                                    previous == SKIP_MARKER))
        i += 1
    return blocks


def run_block(block: CodeBlock) -> dict:
    """Execute one block in a fresh namespace (in the current working directory)."""
    namespace = {"__name__": "__main__"}
    exec(compile(block.code, f"{block.path.name}:{block.line}", "exec"), namespace)
    return namespace


def shrink(path: Path) -> None:
    """Re-save a PNG with a 256-colour palette: a third of the size, the same picture."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main() -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["savefig.dpi"] = DPI
    IMAGES.mkdir(parents=True, exist_ok=True)
    before = {p.name: p.stat().st_mtime for p in IMAGES.glob("*.png")}
    cwd = Path.cwd()
    os.chdir(IMAGES)
    try:
        for block in code_blocks(TUTORIAL):
            if block.skip:
                continue
            start = time.perf_counter()
            run_block(block)
            print(f"tutorial.md:{block.line} ran in {time.perf_counter() - start:.1f} s")
    finally:
        os.chdir(cwd)
    drawn = sorted(p.name for p in IMAGES.glob("*.png")
                   if before.get(p.name) != p.stat().st_mtime)
    for name in drawn:
        shrink(IMAGES / name)
    size = sum((IMAGES / name).stat().st_size for name in drawn)
    print(f"drew {len(drawn)} pictures into {IMAGES} ({size / 1024:.0f} KiB): {', '.join(drawn)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
