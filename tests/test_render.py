"""seqthink.render: text, Markdown and Mermaid views of a session, and the JSON export.

Golden files live in tests/fixtures/render/. Run with SEQTHINK_UPDATE_GOLDEN=1 to
rewrite them after a deliberate change, and read the diff before committing it.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_docs import DOCS, fenced_blocks

from seqthink import FileSystemStore, MemoryStore, ThinkingSession, Thought
from seqthink._box import display_width
from seqthink.errors import InvalidArgumentError, InvalidExportError, InvalidSessionIdError, SeqthinkError
from seqthink.render import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    from_json,
    to_json,
    to_markdown,
    to_mermaid,
    to_text,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "render"
ESC = "\x1b"
START_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z

ZWJ = "\u200d"
VS16 = "\ufe0f"
FAMILY = f"\U0001f468{ZWJ}\U0001f469{ZWJ}\U0001f467"
HEART = f"\u2764{VS16}"
FRANCE = "\U0001f1eb\U0001f1f7"


def ticking(start: int = START_NS, step: int = 1_500_000_000) -> Callable[[], int]:
    """A clock that starts at ``start`` and moves ``step`` nanoseconds at each reading."""
    ticks = itertools.count(start, step)
    return lambda: next(ticks)


def demo_session() -> ThinkingSession:
    """Two branches and a revision: the session of the golden files and of docs/rendering.md."""
    session = ThinkingSession("factor-1001", clock=ticking())
    session.think("Find the prime factors of 1001.", total_thoughts=5)
    session.think(
        "1001 is odd, its digit sum is 2 and it does not end in 0 or 5, so 2, 3 and 5 do not divide it."
    )
    session.think("Try 7: 7 * 142 = 994, and 1001 - 994 = 7, so 7 does not divide 1001.")
    session.think(
        "Wrong: a remainder of 7 means one more 7 fits. 7 * 143 = 1001, so 7 divides it.",
        is_revision=True,
        revises_thought=3,
        total_thoughts=6,
        needs_more_thoughts=True,
    )
    session.think(
        "143: the alternating digit sum 1 - 4 + 3 is 0, so 11 divides it: 143 = 11 * 13.",
        thought_number=5,
        branch_from_thought=4,
        branch_id="elevens",
    )
    session.think(
        "Trial division: 143 / 11 = 13 exactly.", thought_number=5, branch_from_thought=4, branch_id="trial"
    )
    session.think(
        "13 is prime, so the split is done.", thought_number=6, branch_from_thought=4, branch_id="trial"
    )
    session.think("1001 = 7 * 11 * 13.", thought_number=6, next_thought_needed=False)
    return session


def wide_session() -> ThinkingSession:
    """Text whose display width differs from its length in every way the box module knows."""
    session = ThinkingSession("wide", clock=ticking(step=1))
    session.think(
        "\u4e2d\u6587\u7684\u60f3\u6cd5\uff1a\u5148\u628a\u95ee\u9898\u62c6\u5f00\u3002"
        "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3068\ud55c\uad6d\uc5b4 mixed with ASCII words "
        "\u5168\u89d2\uff21\uff22\uff23 that wrap.",
        total_thoughts=5,
    )
    session.think(
        f"A family {FAMILY}, a heart {HEART}, a flag {FRANCE} and a thumb \U0001f44d\U0001f3fd. " * 3
    )
    session.think(
        "Cafe\u0301 re\u0301sume\u0301 na\u0308ive, Z\u0335\u0321a\u0337l\u0334g\u0336o\u0338, "
        "\u0915\u093f\u0924\u093e\u092c and \u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd.",
        is_revision=True,
        revises_thought=2,
    )
    session.think(
        f"Plain, then {ESC}[31mred{ESC}[0m and {ESC}[1;32mbold green{ESC}[0m words, a bell\x07, "
        f"a clear {ESC}[2J and a title {ESC}]0;pwned\x07 in the middle.",
        branch_from_thought=2,
        branch_id="\u8bd5\u9a8c\U0001f33f",
    )
    session.think(
        "First line\nsecond line, longer than the box is wide so that it wraps around\n\n"
        "\tafter a blank line and a tab\r\nlast line",
        next_thought_needed=False,
    )
    return session


def check_golden(name: str, actual: str) -> None:
    """``actual`` (plus a final newline) is the content of the golden file ``name``."""
    path = GOLDEN / name
    if os.environ.get("SEQTHINK_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((actual + "\n").encode("utf-8"))
    expected = path.read_bytes().decode("utf-8")
    assert expected == actual + "\n", f"{name} differs; SEQTHINK_UPDATE_GOLDEN=1 rewrites it"


@pytest.fixture(autouse=True)
def no_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start without NO_COLOR, whatever the environment running them says."""
    monkeypatch.delenv("NO_COLOR", raising=False)


def boxes(rendered: str) -> Iterator[list[str]]:
    """The boxes of a text rendering, each as its lines."""
    lines = rendered.split("\n")
    start = None
    for index, line in enumerate(lines):
        if line.startswith("\u250c"):
            start = index
        elif line.startswith("\u2514"):
            assert start is not None
            yield lines[start : index + 1]
            start = None


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


# --- golden files -------------------------------------------------------------------


@pytest.mark.parametrize("width", [60, 80])
def test_golden_text(width: int) -> None:
    check_golden(f"demo.text-{width}.txt", to_text(demo_session(), width=width))


def test_golden_markdown() -> None:
    check_golden("demo.md", to_markdown(demo_session()))


def test_golden_mermaid() -> None:
    check_golden("demo.mmd", to_mermaid(demo_session()))


def test_golden_json() -> None:
    check_golden("demo.json", to_json(demo_session()))


@pytest.mark.parametrize("colour", [False, True], ids=["plain", "colour"])
def test_golden_wide_text(colour: bool) -> None:
    rendered = to_text(wide_session(), width=40, colour=colour)
    check_golden(f"wide.text-40{'-colour' if colour else ''}.txt", rendered)
    found = list(boxes(rendered))
    assert len(found) == 5
    for box in found:
        assert len({display_width(line) for line in box}) == 1, box
        assert display_width(box[0]) <= 40
    assert all(display_width(line) <= 40 for line in rendered.split("\n"))


@pytest.mark.parametrize("width", [20, 21, 33, 60, 80, 120])
@pytest.mark.parametrize("colour", [False, True])
def test_wide_text_fits_every_width(width: int, colour: bool) -> None:
    rendered = to_text(wide_session(), width=width, colour=colour)
    for box in boxes(rendered):
        assert len({display_width(line) for line in box}) == 1, box
    assert all(display_width(line) <= width for line in rendered.split("\n"))


def test_golden_files_are_checked_not_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SEQTHINK_UPDATE_GOLDEN a difference fails; the file stays as it was."""
    monkeypatch.delenv("SEQTHINK_UPDATE_GOLDEN", raising=False)
    monkeypatch.setattr(f"{__name__}.GOLDEN", tmp_path)
    (tmp_path / "x.txt").write_bytes(b"old\n")
    with pytest.raises(AssertionError, match="differs"):
        check_golden("x.txt", "new")
    assert b"old\n" == (tmp_path / "x.txt").read_bytes()


# --- text ---------------------------------------------------------------------------


def test_text_header_and_titles() -> None:
    rendered = to_text(demo_session(), width=100)
    header = rendered.split("\n")[0]
    assert header == (
        "Session factor-1001 \u00b7 8 thoughts \u00b7 2 branches \u00b7 complete \u00b7 "
        "last activity 2026-01-01T00:00:12Z"
    )
    titles = [box[1].strip("\u2502 ") for box in boxes(rendered)]
    assert titles == [
        "Thought 1/5",
        "Thought 2/5",
        "Thought 3/5",
        "Revision of 3 \u00b7 thought 4/6 \u00b7 needs more thoughts",
        "Branch elevens from 4 \u00b7 thought 5/6",
        "Branch trial from 4 \u00b7 thought 5/6",
        "Branch trial from 4 \u00b7 thought 6/6",
        "Thought 6/6 \u00b7 final",
    ]


def test_text_titles_name_the_revised_thought_and_the_branch() -> None:
    session = ThinkingSession("titles", clock=ticking())
    session.think("one", total_thoughts=5)
    session.think("two")
    session.think("three", is_revision=True, revises_thought=2)
    session.think("four", branch_from_thought=2, branch_id="feature-x")
    rendered = to_text(session)
    assert "Revision of 2 \u00b7 thought 3/5" in rendered
    assert "Branch feature-x from 2 \u00b7 thought 4/5" in rendered
    assert "in progress" in rendered.split("\n")[0]
    assert "final" not in rendered


def test_text_of_an_empty_session() -> None:
    session = ThinkingSession("empty", clock=lambda: START_NS)
    assert to_text(session, width=100) == (
        "Session empty \u00b7 0 thoughts \u00b7 0 branches \u00b7 in progress \u00b7 "
        "last activity 2026-01-01T00:00:00Z\n(no thoughts yet)"
    )


def test_one_thought_one_branch_are_singular() -> None:
    session = ThinkingSession("one", clock=ticking())
    session.think("root")
    session.think("side", branch_from_thought=1, branch_id="b")
    assert "2 thoughts \u00b7 1 branch \u00b7" in to_text(session)
    session = ThinkingSession("one", clock=ticking())
    session.think("root")
    assert "1 thought \u00b7 0 branches" in to_text(session)


@pytest.mark.parametrize("width", [19, 0, -80, True, 20.0, "80", None])
def test_text_refuses_a_bad_width(width: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="width") as caught:
        to_text(demo_session(), width=width)
    assert "width" == caught.value.name


@pytest.mark.parametrize("colour", [1, "yes", None])
def test_text_refuses_a_colour_that_is_not_a_bool(colour: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="colour"):
        to_text(demo_session(), colour=colour)


@pytest.mark.parametrize("render", [to_text, to_markdown, to_mermaid, to_json])
@pytest.mark.parametrize("session", [None, "factor-1001", object()])
def test_every_renderer_wants_a_session(render: Callable[[Any], str], session: object) -> None:
    with pytest.raises(InvalidArgumentError, match="session"):
        render(session)


def test_colour_only_when_asked() -> None:
    session = demo_session()
    assert ESC not in to_text(session)
    assert ESC not in to_text(session, colour=False)
    coloured = to_text(session, colour=True)
    assert f"{ESC}[34mThought 1/5{ESC}[0m" in coloured
    assert f"{ESC}[33mRevision of 3" in coloured
    assert f"{ESC}[32mBranch elevens from 4" in coloured
    assert plain(coloured) == to_text(session)


@pytest.mark.parametrize(("value", "coloured"), [("1", False), ("0", False), ("false", False), ("", True)])
def test_no_color_wins(monkeypatch: pytest.MonkeyPatch, value: str, coloured: bool) -> None:
    monkeypatch.setenv("NO_COLOR", value)
    assert (ESC in to_text(wide_session(), colour=True)) is coloured


def test_no_color_is_read_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    session = demo_session()
    assert ESC in to_text(session, colour=True)
    monkeypatch.setenv("NO_COLOR", "1")
    assert ESC not in to_text(session, colour=True)
    monkeypatch.delenv("NO_COLOR")
    assert ESC in to_text(session, colour=True)


def test_colour_in_thought_text_follows_the_colour_switch() -> None:
    session = ThinkingSession("sgr", clock=ticking())
    session.think(f"{ESC}[31mred{ESC}[0m text")
    assert re.search(r"^\u2502 red text +\u2502$", to_text(session), flags=re.MULTILINE)
    assert f"{ESC}[31mred{ESC}[0m text" in to_text(session, colour=True)


@pytest.mark.parametrize("colour", [False, True])
def test_other_control_characters_are_shown_not_sent(colour: bool) -> None:
    session = ThinkingSession("controls", clock=ticking())
    session.think(f"clear{ESC}[2J title{ESC}]0;pwned\x07 back\x08 del\x7f c1\x9b0m nul\x00 vt\x0b end")
    rendered = to_text(session, colour=colour)
    assert not set(plain(rendered)) & {ESC, "\x07", "\x08", "\x7f", "\x9b", "\x00", "\x0b"}
    assert "clear\\x1b[2J" in rendered
    assert "\\x1b]0;pwned\\x07" in rendered
    assert "c1\\x9b0m" in rendered


# --- Markdown -----------------------------------------------------------------------


def test_markdown_structure() -> None:
    document = to_markdown(demo_session())
    lines = document.split("\n")
    assert lines[0] == "# Session `factor-1001`"
    assert lines[2] == (
        "Created 2026-01-01T00:00:00Z \u00b7 last activity 2026-01-01T00:00:12Z \u00b7 8 thoughts "
        "\u00b7 2 branches \u00b7 complete"
    )
    headings = [line for line in lines if line.startswith("#")]
    assert headings == [
        "# Session `factor-1001`",
        "## Main line",
        "## Branches",
        "### Branch `elevens` (from thought 4)",
        "### Branch `trial` (from thought 4)",
    ]
    assert f"```mermaid\n{to_mermaid(demo_session())}\n```" in document
    assert re.findall(r'<a id="(t\d+)"></a>', document) == ["t1", "t2", "t3", "t4", "t8", "t5", "t6", "t7"]
    assert "*Revision of [thought 3](#t3):*" in document
    assert "Warnings" not in document


def test_markdown_anchors_are_unique_when_numbers_repeat() -> None:
    session = ThinkingSession("repeat", clock=ticking())
    session.think("A first go.", thought_number=1, total_thoughts=2)
    session.think("Another go.", thought_number=1)
    session.think("Revise the latest 1.", thought_number=2, is_revision=True, revises_thought=1)
    document = to_markdown(session)
    anchors = re.findall(r'<a id="([^"]+)"></a>', document)
    assert anchors == ["t1", "t2", "t3"]
    assert "*Revision of [thought 1](#t2):*" in document  # the latest earlier thought numbered 1


def test_markdown_revision_of_an_absent_thought_is_plain_and_warned() -> None:
    session = ThinkingSession("dangling", clock=ticking())
    session.think("One.", total_thoughts=3)
    session.think("Fix nine.", is_revision=True, revises_thought=9)
    session.think("Off a ghost.", branch_from_thought=7, branch_id="ghost")
    document = to_markdown(session)
    assert "*Revision of thought 9:*" in document
    assert "### Branch `ghost` (from thought 7)" in document
    assert "Branches off" not in document
    warnings = document.split("## Warnings\n\n")[1].split("\n")
    assert warnings == [
        "- [Thought 2](#t2): thought 2 revises thought 9, which is not in this session (it has 1)",
        "- [Thought 3](#t3): thought 3 branches from thought 7, which is not in this session (it has 1-2)",
    ]


def test_markdown_warns_about_half_given_references() -> None:
    session = ThinkingSession("half", clock=ticking())
    session.think("One.")
    session.think("Two.", revises_thought=1)
    session.think("Three.", branch_id="lost")
    document = to_markdown(session)
    assert "## Branches" not in document
    assert "but is\\_revision is not true" in document
    assert "names branch 'lost' but no branch\\_from\\_thought" in document


def test_markdown_of_an_empty_session() -> None:
    document = to_markdown(ThinkingSession("empty", clock=lambda: START_NS))
    assert document == (
        "# Session `empty`\n\nCreated 2026-01-01T00:00:00Z \u00b7 last activity 2026-01-01T00:00:00Z "
        "\u00b7 0 thoughts \u00b7 0 branches \u00b7 in progress\n\n*No thoughts yet.*"
    )


def test_markdown_with_only_branch_thoughts() -> None:
    session = ThinkingSession("only", clock=ticking())
    session.think("Off nothing.", branch_from_thought=1, branch_id="b")
    assert "*No thoughts on the main line.*" in to_markdown(session)


HOSTILE = [
    "# heading <script>alert(1)</script>",
    "## two\n### three\n> quote\n- item\n+ item\n* item\n1. one\n2) two\n---\n===\n***\n___",
    "```python\nprint('fenced')\n```",
    "~~~\nfenced\n~~~",
    "    indented code",
    "<div>block</div>\n<!-- comment -->",
    "[link](javascript:alert(1)) ![img](http://x/y.png) [ref]: http://x",
    "*em* **strong** _em_ __strong__ `code` ~~strike~~ $x^2$",
    "a | table\n--- | ---\nb | c",
    "&amp; &lt;b&gt; &#60;script&#62; &copy;",
    "back\\slash\\ at the end\\",
    "title {#id .class}\n{: .attr}",
    "line\x1b[31mred\x1b[0m\x07bell",
    "Setext\n======",
    "trailing two spaces  \nnext",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_escapes_thought_text(text: str) -> None:
    session = ThinkingSession("hostile", clock=ticking())
    session.think(text)
    document = to_markdown(session)
    body = document.split("## Main line\n\n", 1)[1]
    # No HTML but the anchors, no line a block could start from.
    assert "<" not in re.sub(r'<a id="t\d+"></a>', "", body)
    assert ESC not in body
    assert "\x07" not in body
    for line in body.split("\n")[1:]:
        assert not re.match(r"\s*([#>*+=|~`]|-|[0-9]+[.)]|\s{4})", line), line


def test_markdown_heading_text_renders_inert() -> None:
    session = ThinkingSession("heading", clock=ticking())
    session.think("# heading <script>")
    document = to_markdown(session)
    assert '<a id="t1"></a>**1.** \\# heading &lt;script&gt;' in document


def test_markdown_keeps_the_lines_of_a_thought() -> None:
    session = ThinkingSession("lines", clock=ticking())
    session.think("first\n  second\n\n\n\tthird\r\nfourth\\")
    document = to_markdown(session)
    assert '<a id="t1"></a>**1.** first\\\nsecond\n\nthird\\\nfourth\\\\' in document


@pytest.mark.parametrize(
    ("branch", "heading"),
    [
        ("plain", "`plain`"),
        ("with `tick`", "`` with `tick` ``"),
        ("`edge`", "`` `edge` ``"),
        ("<b>&amp;</b> # * _", "`<b>&amp;</b> # * _`"),
        ("a``b", "```a``b```"),
    ],
)
def test_markdown_branch_ids_are_code_spans(branch: str, heading: str) -> None:
    session = ThinkingSession("branch", clock=ticking())
    session.think("root")
    session.think("side", branch_from_thought=1, branch_id=branch)
    document = to_markdown(session)
    assert f"### Branch {heading} (from thought 1)" in document


def test_markdown_renders_inert() -> None:
    """Through a Markdown renderer (Python-Markdown, as mkdocs uses), thought text is only text."""
    markdown = pytest.importorskip("markdown")
    for text in HOSTILE:
        session = ThinkingSession("hostile", clock=ticking())
        session.think(text)
        rendered = markdown.markdown(to_markdown(session))
        for tag in ["<script", "<div", "<h2>two", "<blockquote>", "<li>", "<pre>", "<em>", "<img", "<table"]:
            assert tag not in rendered, (text, rendered)
        assert rendered.count("<strong>") == 1, (text, rendered)  # our own "**1.**"
        assert '<a href="javascript' not in rendered
    session = ThinkingSession("heading", clock=ticking())
    session.think("# heading <script>")
    rendered = markdown.markdown(to_markdown(session))
    assert "# heading &lt;script&gt;" in rendered
    assert "<h1>heading" not in rendered
    for branch in ["plain", "with `tick`", "`edge`", "<b>&amp;</b> # * _", "a``b"]:
        session = ThinkingSession("branch", clock=ticking())
        session.think("root")
        session.think("side", branch_from_thought=1, branch_id=branch)
        rendered = markdown.markdown(to_markdown(session))
        assert f"<code>{html.escape(branch, quote=False)}</code>" in rendered


# --- Mermaid ------------------------------------------------------------------------

LABEL = r'(?:[^"`<>|%:\\#\n]|#(?:quot|amp|lt|gt|\d+);)*'
MERMAID_LINE = re.compile(
    "|".join(
        [
            r"flowchart TD",
            rf'    t\d+\["\d+: {LABEL}"\]',
            r"    t\d+ --> t\d+",
            rf'    t\d+ -->\|"{LABEL}"\| t\d+',
            r"    t\d+ -\.->\|revises\| t\d+",
            r"    classDef (revision|branch) [a-z:#0-9,-]+",
            r"    class t\d+(,t\d+)* (revision|branch)",
        ]
    )
)
ENTITIES = {"quot": '"', "amp": "&", "lt": "<", "gt": ">"}


def unescape_label(label: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return chr(int(name)) if name.isdigit() else ENTITIES[name]

    return re.sub(r"#(\w+);", replace, label)


def check_mermaid(diagram: str) -> None:
    for line in diagram.split("\n"):
        assert MERMAID_LINE.fullmatch(line), line


def node_labels(diagram: str) -> list[str]:
    return [unescape_label(m) for m in re.findall(r'^    t\d+\["\d+: (.*)"\]$', diagram, flags=re.MULTILINE)]


def test_mermaid_edges_of_the_demo() -> None:
    diagram = to_mermaid(demo_session())
    check_mermaid(diagram)
    edges = [line.strip() for line in diagram.split("\n") if "->" in line]
    assert 8 == len(edges)
    assert 7 == sum(" --> " in e or " -->|" in e for e in edges)
    assert 1 == sum("-.->|revises|" in e for e in edges)
    assert {"t1 --> t2", "t2 --> t3", "t3 --> t4", "t4 --> t8"} <= set(edges)
    assert {'t4 -->|"elevens"| t5', 't4 -->|"trial"| t6', "t6 --> t7", "t4 -.->|revises| t3"} <= set(edges)
    assert 8 == len(re.findall(r'^    t\d+\["', diagram, flags=re.MULTILINE))
    assert "    class t4 revision" in diagram
    assert "    class t5,t6,t7 branch" in diagram


def test_mermaid_draws_nothing_dangling() -> None:
    session = ThinkingSession("dangling", clock=ticking())
    session.think("One.", total_thoughts=3)
    session.think("Fix nine.", is_revision=True, revises_thought=9)
    session.think("Off a ghost.", branch_from_thought=7, branch_id="ghost")
    session.think("Ghost again.", branch_from_thought=7, branch_id="ghost")
    session.think("Revises a later number.", thought_number=5, is_revision=True, revises_thought=6)
    session.think("Six.", thought_number=6)
    diagram = to_mermaid(session)
    check_mermaid(diagram)
    edges = [line.strip() for line in diagram.split("\n") if "->" in line]
    assert edges == ["t1 --> t2", "t3 --> t4", "t2 --> t5", "t5 --> t6"]


def test_mermaid_revises_the_latest_earlier_thought_with_the_number() -> None:
    session = ThinkingSession("latest", clock=ticking())
    session.think("a", thought_number=1)
    session.think("b", thought_number=1)
    session.think("c", thought_number=2, is_revision=True, revises_thought=1)
    session.think("d", thought_number=1)
    assert "    t3 -.->|revises| t2" in to_mermaid(session)


def test_mermaid_of_an_empty_session() -> None:
    assert "flowchart TD" == to_mermaid(ThinkingSession("empty"))


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ('say "hi"', "say #quot;hi#quot;"),
        ("a [box] {x} (y)", "a [box] {x} (y)"),
        ("two\nlines\r\nand\tmore", "two lines and more"),
        ("`code` and ```fence```", "#96;code#96; and #96;#96;#96;fence#96;#96;#96;"),
        ("<b>bold</b> & co", "#lt;b#gt;bold#lt;/b#gt; #amp; co"),
        ("#quot; stays text", "#35;quot; stays text"),
        ("a|b 50% c:d e\\f", "a#124;b 50#37; c#58;d e#92;f"),
        ("style x:#fff;", "style x#58;#35;fff;"),
        ("%% not a comment", "#37;#37; not a comment"),
        ("end", "end"),
        (f"{ESC}[31mred{ESC}[0m", "red"),
        ("\u4e2d\u6587 " + FAMILY, "\u4e2d\u6587 " + FAMILY),
    ],
)
def test_mermaid_label_escaping(text: str, label: str) -> None:
    session = ThinkingSession("labels", clock=ticking())
    session.think(text)
    diagram = to_mermaid(session)
    check_mermaid(diagram)
    assert f'    t1["1: {label}"]' in diagram.split("\n")


def test_mermaid_labels_are_shortened_at_a_word() -> None:
    session = ThinkingSession("short", clock=ticking())
    session.think("word " * 20)
    session.think("x" * 100)
    session.think("\u4e2d" * 30)
    session.think("exactly forty columns of text, no more!!")
    labels = node_labels(to_mermaid(session))
    assert labels[0] == "word word word word word word word word\u2026"
    assert labels[1] == "x" * 39 + "\u2026"
    assert labels[2] == "\u4e2d" * 19 + "\u2026"
    assert labels[3] == "exactly forty columns of text, no more!!"
    assert all(display_width(label) <= 40 for label in labels)


@pytest.mark.parametrize("branch", ['say "b"', "a|b", "<x>", "`t`", "#1;", "\u5206\u652f"])
def test_mermaid_branch_labels_are_escaped(branch: str) -> None:
    session = ThinkingSession("branches", clock=ticking())
    session.think("root")
    session.think("side", branch_from_thought=1, branch_id=branch)
    diagram = to_mermaid(session)
    check_mermaid(diagram)
    (edge,) = re.findall(r'^    t1 -->\|"(.*)"\| t2$', diagram, flags=re.MULTILINE)
    assert branch == unescape_label(edge)


# --- the export format --------------------------------------------------------------


def test_export_keys() -> None:
    document = json.loads(to_json(demo_session()))
    assert list(document) == [
        "format",
        "version",
        "session_id",
        "created_at",
        "created_ns",
        "last_activity",
        "last_activity_ns",
        "thoughts",
    ]
    assert (EXPORT_FORMAT, EXPORT_VERSION) == ("seqthink.session", 1)
    assert (document["format"], document["version"]) == (EXPORT_FORMAT, EXPORT_VERSION)
    assert document["created_at"] == "2026-01-01T00:00:00.000000000Z"
    assert list(document["thoughts"][0]) == [
        "thought",
        "thought_number",
        "total_thoughts",
        "next_thought_needed",
    ]
    assert list(document["thoughts"][3]) == [
        "thought",
        "thought_number",
        "total_thoughts",
        "next_thought_needed",
        "is_revision",
        "revises_thought",
        "needs_more_thoughts",
    ]


def test_export_times_keep_the_nanoseconds() -> None:
    session = ThinkingSession("ns", clock=ticking(START_NS + 123_456_789, 1))
    session.think("one")
    document = json.loads(to_json(session))
    assert document["created_at"] == "2026-01-01T00:00:00.123456789Z"
    assert document["last_activity"] == "2026-01-01T00:00:00.123456790Z"
    assert document["last_activity_ns"] == START_NS + 123_456_790


def test_round_trip_of_the_demo() -> None:
    session = demo_session()
    text = to_json(session)
    back = from_json(text)
    assert same_session(session, back)
    assert text == to_json(back)
    assert to_json(session, indent=None) == to_json(from_json(to_json(session, indent=None)), indent=None)
    assert same_session(session, from_json(text.encode("utf-8")))


def same_session(a: ThinkingSession, b: ThinkingSession) -> bool:
    return (
        a.session_id == b.session_id
        and a._created_ns == b._created_ns
        and a._last_activity_ns == b._last_activity_ns
        and a.created_at == b.created_at
        and a.last_activity == b.last_activity
        and a.thought_history == b.thought_history
        and dict(a.branches) == dict(b.branches)
        and list(a.branches) == list(b.branches)
    )


@pytest.mark.parametrize(("indent", "lines"), [(None, 1), (0, 68), (2, 68), (4, 68)])
def test_indent(indent: int | None, lines: int) -> None:
    text = to_json(demo_session(), indent=indent)
    assert lines == len(text.split("\n"))
    assert not text.endswith("\n")
    if indent is None:
        assert text.startswith('{"format":"seqthink.session","version":1,')
    assert same_session(demo_session(), from_json(text))


@pytest.mark.parametrize("indent", [-1, True, 2.0, "  "])
def test_indent_must_be_none_or_a_count(indent: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="indent"):
        to_json(demo_session(), indent=indent)


def test_export_is_utf8_not_escapes() -> None:
    text = to_json(wide_session())
    assert "\u4e2d\u6587" in text
    assert FAMILY in text
    assert "\\u001b[31m" in text  # control characters are escaped by JSON itself
    assert same_session(wide_session(), from_json(text.encode("utf-8")))


def test_a_time_outside_the_format_is_refused_on_export() -> None:
    session = ThinkingSession("far", clock=lambda: -1)
    with pytest.raises(InvalidArgumentError, match="1970-9999"):
        to_json(session)
    session = ThinkingSession("far", clock=lambda: 253_402_300_800 * 10**9)
    with pytest.raises(InvalidArgumentError, match="1970-9999"):
        to_json(session)


def test_the_latest_time_round_trips() -> None:
    last = 253_402_300_800 * 10**9 - 1
    session = ThinkingSession("edge", clock=lambda: last)
    document = json.loads(to_json(session))
    assert document["created_at"] == "9999-12-31T23:59:59.999999999Z"
    assert same_session(session, from_json(to_json(session)))
    session = ThinkingSession("epoch", clock=lambda: 0)
    assert json.loads(to_json(session))["created_at"] == "1970-01-01T00:00:00.000000000Z"
    assert same_session(session, from_json(to_json(session)))


def test_import_under_another_id() -> None:
    back = from_json(to_json(demo_session()), session_id="copy-2")
    assert "copy-2" == back.session_id
    assert demo_session().thought_history == back.thought_history


@pytest.mark.parametrize("session_id", ["", "../x", "con", "a" * 129, "bad id"])
def test_import_under_an_invalid_id_is_refused(session_id: str) -> None:
    with pytest.raises(InvalidSessionIdError):
        from_json(to_json(demo_session()), session_id=session_id)


@pytest.mark.parametrize("text", [None, 3, ["{}"], bytearray(b"{}")])
def test_from_json_wants_text_or_bytes(text: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="text"):
        from_json(text)


def test_a_byte_order_mark_is_skipped() -> None:
    text = to_json(demo_session())
    assert same_session(demo_session(), from_json("\ufeff" + text))
    assert same_session(demo_session(), from_json(b"\xef\xbb\xbf" + text.encode("utf-8")))
    with pytest.raises(InvalidExportError):
        from_json("\ufeff\ufeff" + text)


def test_null_optional_fields_mean_not_set() -> None:
    document = json.loads(to_json(demo_session()))
    for thought in document["thoughts"]:
        for key in [
            "is_revision",
            "revises_thought",
            "branch_from_thought",
            "branch_id",
            "needs_more_thoughts",
        ]:
            thought.setdefault(key, None)
    assert same_session(demo_session(), from_json(json.dumps(document)))


def test_the_import_is_a_session_a_store_saves(tmp_path: Path) -> None:
    for store in [MemoryStore(), FileSystemStore(tmp_path)]:
        imported = from_json(to_json(demo_session()))
        store.save(imported)
        restored = store.restore("factor-1001")
        assert same_session(demo_session(), restored)
        imported.think("One more.")
        store.save(imported)
        assert 9 == len(store.restore("factor-1001"))


def test_an_empty_session_round_trips() -> None:
    session = ThinkingSession("empty", clock=lambda: START_NS)
    text = to_json(session)
    assert '"thoughts": []' in text
    assert same_session(session, from_json(text))


# --- refusals -----------------------------------------------------------------------

BASE = to_json(demo_session())


def edit(change: Callable[[dict[str, Any]], object]) -> str:
    """The demo export with ``change`` applied to its parsed form."""
    document = json.loads(BASE)
    change(document)
    return json.dumps(document, indent=2, ensure_ascii=False)


def put(path: str, value: object) -> Callable[[dict[str, Any]], object]:
    """A change setting the value at a dotted path (``thoughts.3.thought_number``)."""

    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for step in parents:
            target = target[int(step)] if step.isdigit() else target[step]
        target[int(last) if last.isdigit() else last] = value

    return change


def drop(path: str) -> Callable[[dict[str, Any]], object]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for step in parents:
            target = target[int(step)] if step.isdigit() else target[step]
        del target[last]

    return change


def replace(old: str, new: str, count: int = 1) -> str | bytes:
    assert old in BASE, old
    return BASE.replace(old, new, count)


CREATED = '"created_ns": 1767225600000000000'
FIRST_NUMBER = '"thought_number": 1,'

REFUSALS: list[tuple[str, str | bytes, str, str]] = [
    # the whole text
    ("empty", "", "$", "not valid JSON"),
    ("not json", "{format: 1}", "$", "not valid JSON"),
    ("truncated", BASE[:-10], "$", "not valid JSON"),
    ("trailing data", BASE + "\n{}", "$", "not valid JSON"),
    ("not utf-8", b'{"format": "\xff"}', "$", "not UTF-8"),
    ("utf-16", BASE.encode("utf-16"), "$", "not UTF-8"),
    ("deep", "[" * 100_000 + "]" * 100_000, "$", "nested too deeply"),
    ("a list", "[]", "$", "must be a JSON object, got a list"),
    ("a string", '"seqthink.session"', "$", "must be a JSON object"),
    ("null", "null", "$", "must be a JSON object, got null"),
    # format and version
    ("no format", edit(drop("format")), "$.format", "is required"),
    ("other format", edit(put("format", "seqthink.sessions")), "$.format", 'must be "seqthink.session"'),
    ("format not a string", edit(put("format", ["seqthink.session"])), "$.format", "got a list"),
    ("no version", edit(drop("version")), "$.version", "is required"),
    ("version 2", edit(put("version", 2)), "$.version", "reads version 1 only"),
    ("version 0", edit(put("version", 0)), "$.version", "reads version 1 only"),
    ("version true", edit(put("version", True)), "$.version", "must be the integer 1, got true"),
    ("version string", edit(put("version", "1")), "$.version", 'got "1"'),
    ("version float", replace('"version": 1,', '"version": 1.0,'), "$.version", "got 1.0"),
    ("seed session.json", '{"session_id": "x", "total_thoughts": 0}', "$.format", "is required"),
    # top-level keys
    ("unknown key", edit(put("extra", 1)), "$.extra", "not a key of a session export"),
    ("unknown odd key", edit(put("two words", 1)), '$["two words"]', "not a key"),
    ("unknown key branches", edit(put("branches", {})), "$.branches", "not a key"),
    (
        "duplicate key",
        replace('"version": 1,', '"version": 1,\n  "version": 1,'),
        "$.version",
        "more than once",
    ),
    ("no session id", edit(drop("session_id")), "$.session_id", "is required"),
    ("no thoughts", edit(drop("thoughts")), "$.thoughts", "is required"),
    ("no created_at", edit(drop("created_at")), "$.created_at", "is required"),
    ("no last_activity_ns", edit(drop("last_activity_ns")), "$.last_activity_ns", "is required"),
    # the session id
    ("session id path", edit(put("session_id", "../etc")), "$.session_id", "must be 1-128 characters"),
    ("session id device", edit(put("session_id", "NUL")), "$.session_id", "reserves for a device"),
    ("session id number", edit(put("session_id", 5)), "$.session_id", "must be a string, got 5"),
    ("session id null", edit(put("session_id", None)), "$.session_id", "must be a string, got null"),
    # times
    (
        "created_ns string",
        edit(put("created_ns", "1767225600000000000")),
        "$.created_ns",
        "must be an integer",
    ),
    ("created_ns true", edit(put("created_ns", True)), "$.created_ns", "got true"),
    ("created_ns float", replace(CREATED, '"created_ns": 1767225600000000000.0'), "$.created_ns", "integer"),
    ("created_ns exponent", replace(CREATED, '"created_ns": 1.7e18'), "$.created_ns", "got 1.7e18"),
    ("created_ns NaN", replace(CREATED, '"created_ns": NaN'), "$.created_ns", "got NaN"),
    ("created_ns Infinity", replace(CREATED, '"created_ns": -Infinity'), "$.created_ns", "got -Infinity"),
    (
        "created_ns huge",
        replace(CREATED, '"created_ns": ' + "9" * 5000),
        "$.created_ns",
        "must be an integer",
    ),
    ("created_ns negative", edit(put("created_ns", -1)), "$.created_ns", "must be between 0 and"),
    (
        "created_ns past 9999",
        edit(put("created_ns", 253_402_300_800 * 10**9)),
        "$.created_ns",
        "1970 to 9999",
    ),
    (
        "created_at other",
        edit(put("created_at", "2026-01-01T00:00:00Z")),
        "$.created_at",
        "the time created_ns",
    ),
    (
        "created_at offset",
        edit(put("created_at", "2026-01-01T01:00:00.000000000+01:00")),
        "$.created_at",
        "must be",
    ),
    ("created_at number", edit(put("created_at", 0)), "$.created_at", "must be a string, got 0"),
    (
        "last before created",
        edit(put("last_activity_ns", START_NS - 1)),
        "$.last_activity_ns",
        "earlier than",
    ),
    (
        "last_activity other",
        edit(put("last_activity", "2026-01-01T00:00:12.000000001Z")),
        "$.last_activity",
        '"2026-01-01T00:00:12.000000000Z", the time last_activity_ns gives',
    ),
    # the thoughts
    ("thoughts object", edit(put("thoughts", {})), "$.thoughts", "must be a list, got an object"),
    ("thoughts null", edit(put("thoughts", None)), "$.thoughts", "must be a list, got null"),
    ("thought a string", edit(put("thoughts.0", "One.")), "$.thoughts[0]", "must be an object"),
    ("thought unknown key", edit(put("thoughts.0.extra", 1)), "$.thoughts[0].extra", "not a key"),
    (
        "thought camelCase key",
        edit(put("thoughts.0.thoughtNumber", 1)),
        "$.thoughts[0].thoughtNumber",
        "not a key",
    ),
    ("thought text missing", edit(drop("thoughts.1.thought")), "$.thoughts[1].thought", "is required"),
    (
        "thought text empty",
        edit(put("thoughts.1.thought", "  ")),
        "$.thoughts[1].thought",
        "empty or only white",
    ),
    ("thought text null", edit(put("thoughts.1.thought", None)), "$.thoughts[1].thought", "must be a string"),
    ("thought text number", edit(put("thoughts.1.thought", 1)), "$.thoughts[1].thought", "must be a string"),
    (
        "thought lone surrogate",
        replace('"Find the prime', '"\\ud800Find the prime'),
        "$.thoughts[0].thought",
        "lone surrogate",
    ),
    ("number string", edit(put("thoughts.3.thought_number", "4")), "$.thoughts[3].thought_number", 'got "4"'),
    ("number true", edit(put("thoughts.3.thought_number", True)), "$.thoughts[3].thought_number", "integer"),
    (
        "number zero",
        edit(put("thoughts.3.thought_number", 0)),
        "$.thoughts[3].thought_number",
        "between 1 and",
    ),
    (
        "number too big",
        edit(put("thoughts.3.thought_number", 2**32)),
        "$.thoughts[3].thought_number",
        "between",
    ),
    (
        "number float",
        replace(FIRST_NUMBER, '"thought_number": 1.0,'),
        "$.thoughts[0].thought_number",
        "got 1.0",
    ),
    (
        "number NaN",
        replace(FIRST_NUMBER, '"thought_number": NaN,'),
        "$.thoughts[0].thought_number",
        "got NaN",
    ),
    (
        "number missing",
        edit(drop("thoughts.3.thought_number")),
        "$.thoughts[3].thought_number",
        "is required",
    ),
    ("total null", edit(put("thoughts.2.total_thoughts", None)), "$.thoughts[2].total_thoughts", "integer"),
    ("total negative", edit(put("thoughts.2.total_thoughts", -5)), "$.thoughts[2].total_thoughts", "between"),
    (
        "next null",
        edit(put("thoughts.1.next_thought_needed", None)),
        "$.thoughts[1].next_thought_needed",
        "true",
    ),
    (
        "next string",
        edit(put("thoughts.1.next_thought_needed", "false")),
        "$.thoughts[1].next_thought_needed",
        "or",
    ),
    (
        "next number",
        edit(put("thoughts.1.next_thought_needed", 0)),
        "$.thoughts[1].next_thought_needed",
        "got 0",
    ),
    ("is_revision number", edit(put("thoughts.3.is_revision", 1)), "$.thoughts[3].is_revision", "got 1"),
    (
        "revises string",
        edit(put("thoughts.3.revises_thought", "3")),
        "$.thoughts[3].revises_thought",
        "integer",
    ),
    ("revises zero", edit(put("thoughts.3.revises_thought", 0)), "$.thoughts[3].revises_thought", "between"),
    (
        "branch from false",
        edit(put("thoughts.4.branch_from_thought", False)),
        "$.thoughts[4].branch_from_thought",
        "got false",
    ),
    (
        "branch id empty",
        edit(put("thoughts.4.branch_id", "")),
        "$.thoughts[4].branch_id",
        "must not be empty",
    ),
    (
        "branch id tab",
        edit(put("thoughts.4.branch_id", "a\tb")),
        "$.thoughts[4].branch_id",
        "control characters",
    ),
    (
        "branch id long",
        edit(put("thoughts.4.branch_id", "b" * 257)),
        "$.thoughts[4].branch_id",
        "at most 256",
    ),
    ("branch id list", edit(put("thoughts.4.branch_id", ["trial"])), "$.thoughts[4].branch_id", "got a list"),
    (
        "needs more string",
        edit(put("thoughts.3.needs_more_thoughts", "yes")),
        "$.thoughts[3].needs_more_thoughts",
        'got "yes"',
    ),
    (
        "thought duplicate key",
        replace('"thought": "Find', '"thought": "x",\n      "thought": "Find'),
        "$.thoughts[0].thought",
        "given more than once",
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "reason"), [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS]
)
def test_from_json_refuses(text: str | bytes, path: str, reason: str) -> None:
    with pytest.raises(InvalidExportError) as caught:
        from_json(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert isinstance(error, SeqthinkError)
    matching = [problem for problem in error.problems if problem[0] == path]
    assert matching, error.problems
    assert any(reason in found for _, found in matching), error.problems
    assert f"{path}: " in str(error)


def test_every_problem_is_listed() -> None:
    document = json.loads(BASE)
    document["extra"] = 1
    document["session_id"] = "bad id"
    document["created_at"] = "yesterday"
    document["thoughts"][0]["thought_number"] = "1"
    document["thoughts"][0]["total_thoughts"] = 0
    document["thoughts"][5]["branch_id"] = ""
    document["thoughts"][7] = []
    with pytest.raises(InvalidExportError) as caught:
        from_json(json.dumps(document))
    assert [path for path, _ in caught.value.problems] == [
        "$.extra",
        "$.session_id",
        "$.created_at",
        "$.thoughts[0].thought_number",
        "$.thoughts[0].total_thoughts",
        "$.thoughts[5].branch_id",
        "$.thoughts[7]",
    ]


def test_a_wrong_format_stops_the_reading() -> None:
    """Nothing else is reported about a document in another format: it would all be noise."""
    with pytest.raises(InvalidExportError) as caught:
        from_json('{"format": "other", "version": 7, "stuff": []}')
    assert [path for path, _ in caught.value.problems] == ["$.format", "$.version"]


def test_the_message_lists_the_first_twenty_problems() -> None:
    document = json.loads(BASE)
    document["thoughts"] = [1] * 25
    with pytest.raises(InvalidExportError) as caught:
        from_json(json.dumps(document))
    assert 25 == len(caught.value.problems)
    assert str(caught.value).endswith("$.thoughts[19]: must be an object, got 1; and 5 more")


def test_long_and_strange_values_are_shown_short_and_printable() -> None:
    document = json.loads(BASE)
    document["x" * 500] = 1
    text = json.dumps(document).replace('"format"', '"\\udc80": 1, "format"')
    with pytest.raises(InvalidExportError) as caught:
        from_json(text)
    message = str(caught.value)
    message.encode("utf-8")  # no lone surrogate in it
    assert '$["\\udc80"]: is not a key' in message
    assert len(message) < 400


# --- properties ---------------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8"), min_size=1, max_size=60).filter(str.strip)
small_numbers = st.integers(1, 8)
branch_ids = st.sampled_from(["a", "b", "x y", "`tick`", '"q"', "<b>", "\u5206\u652f", "#1;", "a|b", "%%"])
thoughts = st.builds(
    Thought,
    thought=texts,
    thought_number=small_numbers,
    total_thoughts=small_numbers,
    next_thought_needed=st.booleans(),
    is_revision=st.none() | st.booleans(),
    revises_thought=st.none() | small_numbers,
    branch_from_thought=st.none() | small_numbers,
    branch_id=st.none() | branch_ids,
    needs_more_thoughts=st.none() | st.booleans(),
)


@st.composite
def sessions(draw: st.DrawFn) -> ThinkingSession:
    history = draw(st.lists(thoughts, max_size=12))
    times = iter(draw(st.lists(st.integers(0, 253_402_300_800 * 10**9 - 1), min_size=13, max_size=13)))
    session = ThinkingSession("prop", clock=lambda: next(times))
    for thought in history:
        session.add_thought(thought)
    return session


@given(sessions())
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip_is_exact(session: ThinkingSession) -> None:
    text = to_json(session)
    back = from_json(text)
    assert same_session(session, back)
    assert text == to_json(back)


@given(sessions(), st.integers(20, 100), st.booleans())
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
def test_text_always_fits(session: ThinkingSession, width: int, colour: bool) -> None:
    rendered = to_text(session, width=width, colour=colour)
    assert all(display_width(line) <= width for line in rendered.split("\n"))
    found = list(boxes(rendered))
    assert len(found) == len(session)
    for box in found:
        assert len({display_width(line) for line in box}) == 1, box


@given(sessions())
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
def test_markdown_and_mermaid_stay_well_formed(session: ThinkingSession) -> None:
    diagram = to_mermaid(session)
    check_mermaid(diagram)
    assert len(session) == len(node_labels(diagram))
    document = to_markdown(session)
    outside_code = re.sub(r"^### Branch (`+).*\1 \(from thought \d+\)$", "", document, flags=re.MULTILINE)
    assert "<" not in re.sub(r'<a id="t\d+"></a>', "", outside_code)
    anchors = re.findall(r'<a id="(t\d+)"></a>', document)
    assert sorted(anchors) == sorted(f"t{i}" for i in range(1, len(session) + 1))
    for line in document.split("\n"):
        if line.startswith("#"):
            assert re.fullmatch(r"# Session `prop`|## (Main line|Branches|Warnings)|### Branch .*", line)
    if session.thought_history:
        assert 1 == document.count("```mermaid\n")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def import_or_refuse(text: str | bytes) -> None:
    """from_json returns a session or raises InvalidExportError; a session it returns exports back."""
    outcome: ThinkingSession | InvalidExportError
    try:
        outcome = from_json(text)
    except InvalidExportError as error:
        outcome = error
    if isinstance(outcome, InvalidExportError):
        assert outcome.problems
        assert all(isinstance(path, str) and path.startswith("$") for path, _ in outcome.problems)
        str(outcome).encode("utf-8")
    else:
        assert same_session(outcome, from_json(to_json(outcome)))


@given(json_values)
@settings(max_examples=300)
def test_random_json_is_refused_cleanly(value: object) -> None:
    import_or_refuse(json.dumps(value))


@given(st.dictionaries(st.sampled_from([*json.loads(BASE), "other"]), json_values, max_size=9))
@settings(max_examples=300)
def test_random_documents_with_the_right_keys_are_refused_cleanly(document: dict[str, Any]) -> None:
    document.setdefault("format", EXPORT_FORMAT)
    document.setdefault("version", EXPORT_VERSION)
    import_or_refuse(json.dumps(document))


def containers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The paths of every list and object inside ``value``, ``value``'s own first."""
    if isinstance(value, (dict, list)):
        yield path
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from containers(item, (*path, key))


@given(st.data())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_exports_are_imported_or_refused_cleanly(data: st.DataObject) -> None:
    document = json.loads(BASE)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(containers(document))
        path = data.draw(st.sampled_from(paths))
        target: Any = document
        for step in path:
            target = target[step]
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = data.draw(st.sampled_from(["set", "delete", "add"]))
        if action == "add" or not keys:
            if isinstance(target, dict):
                target[data.draw(st.text(max_size=8))] = data.draw(json_values)
            else:
                target.append(data.draw(json_values))
        elif action == "set":
            target[data.draw(st.sampled_from(keys))] = data.draw(json_values)
        else:
            del target[data.draw(st.sampled_from(keys))]
    import_or_refuse(json.dumps(document, ensure_ascii=data.draw(st.booleans())))


@given(st.data())
@settings(max_examples=300)
def test_damaged_bytes_are_imported_or_refused_cleanly(data: st.DataObject) -> None:
    raw = bytearray(BASE.encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            raw[position] = data.draw(st.integers(0, 255))
        elif action == "delete":
            del raw[position]
        else:
            raw.insert(position, data.draw(st.sampled_from(b'{}[]",:0-9eE.\\ntrufalsN\xff\xc3')))
    import_or_refuse(bytes(raw))
    import_or_refuse(bytes(raw).decode("utf-8", errors="replace"))


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_text_is_imported_or_refused_cleanly(text: str | bytes) -> None:
    import_or_refuse(text)


def test_a_valid_export_comes_back_unchanged() -> None:
    for session in [demo_session(), wide_session(), ThinkingSession("empty", clock=lambda: 5)]:
        text = to_json(session)
        assert text == to_json(from_json(text))


# --- the documentation --------------------------------------------------------------


def test_the_docs_draw_the_mermaid_picture_they_print() -> None:
    """docs/rendering.md shows to_mermaid's output as text and draws the same as a mermaid block."""
    blocks = fenced_blocks(DOCS / "rendering.md")
    drawn = [block.code for block in blocks if block.language == "mermaid"]
    printed = [block.code for block in blocks if block.language == "text"]
    assert drawn
    assert all(picture in printed for picture in drawn)
    assert drawn[0] == to_mermaid(demo_session()) + "\n"
