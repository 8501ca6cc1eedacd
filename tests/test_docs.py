"""The code in the documentation runs, and prints what the documentation says it prints.

Every block fenced as ```python in docs/*.md and README.md is run on its own, in a
fresh namespace, in a fresh temporary folder, with SEQTHINK_SESSIONS_DIR pointing
into that folder. When a ```text block follows a python block with nothing but
blank lines between them, it is the block's output and must match what it printed.
Blocks that must not run are fenced as ```pycon or ```text.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})(?P<info>[^\n`]*)$")


@attrs.frozen
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int  # 1-based line of the opening fence
    end: int  # 1-based line of the closing fence
    language: str
    code: str
    output: str | None = None  # the text block right after it, if any

    @property
    def name(self) -> str:
        where = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{where.as_posix()}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, in order, dedented."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, ticks = opening["indent"], opening["ticks"]
        language = opening["info"].strip().split(" ")[0]
        end = i + 1
        while end < len(lines) and lines[end].strip() != ticks:
            end += 1
        if end == len(lines):
            raise AssertionError(f"{path}:{i + 1}: code fence is never closed")
        body = "\n".join(line.removeprefix(indent) for line in lines[i + 1 : end])
        blocks.append(Block(path, i + 1, end + 1, language, textwrap.dedent(body) + "\n"))
        i = end + 1
    return blocks


def python_blocks(path: Path) -> list[Block]:
    """The python blocks of a file, each with the text block that directly follows it."""
    text = path.read_text(encoding="utf-8").splitlines()
    blocks = fenced_blocks(path)
    found = []
    for index, block in enumerate(blocks):
        if block.language != "python":
            continue
        output = None
        if index + 1 < len(blocks) and blocks[index + 1].language == "text":
            after = blocks[index + 1]
            if all(not line.strip() for line in text[block.end : after.line - 1]):
                output = after.code
        found.append(attrs.evolve(block, output=output))
    return found


def documented_files() -> list[Path]:
    """docs/*.md, and README.md when it exists."""
    files = sorted(DOCS.glob("*.md"))
    readme = ROOT / "README.md"
    if readme.exists():
        files.append(readme)
    return files


def all_python_blocks() -> Iterator[Block]:
    for path in documented_files():
        yield from python_blocks(path)


BLOCKS = list(all_python_blocks())


def run_block(block: Block) -> str:
    """Execute a block in a fresh namespace; return what it printed."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block.code, block.name, "exec"), namespace)
    return printed.getvalue()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder and sessions folder for one block."""
    work = tmp_path / "work"
    work.mkdir()
    sessions = tmp_path / "sessions"
    monkeypatch.chdir(work)
    monkeypatch.setenv("SEQTHINK_SESSIONS_DIR", str(sessions))
    return sessions


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_python_block_runs(block: Block, isolated: Path) -> None:
    """The block runs on its own without error, and prints its documented output when one follows it."""
    printed = run_block(block)
    if block.output is not None:
        assert block.output == printed


def test_every_page_is_in_the_nav() -> None:
    """Each docs page is listed in mkdocs.yml, so none is built but unreachable."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r":\s*(\S+\.md)\s*$", config, flags=re.MULTILINE))
    assert {p.name for p in DOCS.glob("*.md")} == listed


def test_the_pages_that_teach_have_running_code() -> None:
    """The guide pages carry executed examples; an extractor that finds nothing would pass vacuously."""
    per_page = {path.name: len(python_blocks(path)) for path in DOCS.glob("*.md")}
    for page in (
        "index.md",
        "quickstart.md",
        "concepts.md",
        "stores.md",
        "async.md",
        "format.md",
        "errors.md",
    ):
        assert per_page.get(page, 0) >= 1, page
    assert sum(1 for b in BLOCKS if b.output is not None) >= 10


def test_a_failing_block_fails(tmp_path: Path) -> None:
    """The runner reports a block that raises: a broken example cannot pass unnoticed."""
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n```python\nraise RuntimeError('broken')\n```\n", encoding="utf-8")
    (block,) = python_blocks(page)
    with pytest.raises(RuntimeError, match="broken"):
        run_block(block)


def test_output_blocks_are_paired_only_when_adjacent(tmp_path: Path) -> None:
    """A text block counts as output only when nothing but blank lines separates it from the code."""
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nprint(1)\n```\n\n```text\n1\n```\n\n"
        "```python\nprint(2)\n```\n\nProse in between.\n\n```text\nnot output\n```\n\n"
        "  ```python\n  print(3)\n  ```\n",
        encoding="utf-8",
    )
    blocks = python_blocks(page)
    assert [("print(1)\n", "1\n"), ("print(2)\n", None), ("print(3)\n", None)] == [
        (b.code, b.output) for b in blocks
    ]
    assert ["1\n", "2\n", "3\n"] == [run_block(b) for b in blocks]
