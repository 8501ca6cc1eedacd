"""Boxes on a terminal: display widths, wrapping, padding, boxes, titles, the environment."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqthink import Thought
from seqthink._box import (
    MIN_BOX_WIDTH,
    TAB_SIZE,
    colour_allowed,
    display_width,
    draw_box,
    pad,
    thought_box,
    thought_logging_disabled,
    thought_title,
    wrap,
)

ESC = "\x1b"
ZWJ = "\u200d"
VS15 = "\ufe0e"
VS16 = "\ufe0f"
FAMILY = f"\U0001f468{ZWJ}\U0001f469{ZWJ}\U0001f467"  # man, woman, girl
TECHNOLOGIST = f"\U0001f469{ZWJ}\U0001f4bb"  # woman, laptop
RAINBOW_FLAG = f"\U0001f3f3{VS16}{ZWJ}\U0001f308"  # white flag (narrow) + VS16, rainbow
ASTRONAUT = f"\U0001f469\U0001f3fd{ZWJ}\U0001f680"  # woman, medium skin tone, rocket
FRANCE = "\U0001f1eb\U0001f1f7"
GERMANY = "\U0001f1e9\U0001f1ea"
THUMBS_UP = "\U0001f44d"
MEDIUM_SKIN = "\U0001f3fd"
GRINNING = "\U0001f600"
HEART = "\u2764"
RED = f"{ESC}[31m"
RESET = f"{ESC}[0m"
LINK = f"{ESC}]8;;https://example.com{ESC}\\link{ESC}]8;;{ESC}\\"

# Border characters, spelt out so the golden boxes below read as what they test.
H, V = "\u2500", "\u2502"
TL, TR, ML, MR, BL, BR = "\u250c", "\u2510", "\u251c", "\u2524", "\u2514", "\u2518"

# Every case's expected width is counted by hand from the rules in seqthink._box's docstring.
WIDTH_CASES: list[tuple[str, str, int]] = [
    # ASCII
    ("empty", "", 0),
    ("ascii", "hello", 5),
    ("ascii with spaces", "a b  c", 6),
    ("ascii punctuation", "~!@#$%^&*()", 11),
    # East Asian Wide and Fullwidth
    ("cjk", "\u4e2d\u6587", 4),
    ("cjk and ascii", "\u65e5\u672c\u8a9eabc", 9),
    ("fullwidth latin", "\uff21\uff22", 4),
    ("hangul syllable", "\ud55c\uae00", 4),
    ("ideographic space", "\u3000", 2),
    ("hangul jamo l v t", "\u1100\u1161\u11a8", 2),
    # East Asian Ambiguous: 1
    ("ambiguous precomposed e acute", "\u00e9", 1),
    ("ambiguous greek", "\u03b1\u03b2", 2),
    ("ambiguous box drawing", "\u2500\u2502", 2),
    ("ambiguous private use", "\ue000", 1),
    # emoji
    ("emoji wide", GRINNING, 2),
    ("emoji and text", f"ok {THUMBS_UP}!", 6),
    ("narrow heart", HEART, 1),
    ("heart with vs16", f"{HEART}{VS16}", 2),
    ("heart with vs15", f"{HEART}{VS15}", 1),
    ("wide umbrella with vs15", f"\u2614{VS15}", 1),
    ("wide emoji with vs16", f"{GRINNING}{VS16}", 2),
    ("information source with vs16", f"\u2139{VS16}", 2),
    ("keycap", f"1{VS16}\u20e3", 2),
    ("keycap without vs16", "#\u20e3", 1),
    ("space with vs16 stays narrow", f" {VS16}", 1),
    # zero width joiner sequences
    ("zwj family", FAMILY, 2),
    ("zwj profession", TECHNOLOGIST, 2),
    ("zwj rainbow flag", RAINBOW_FLAG, 2),
    ("two zwj families", FAMILY + FAMILY, 4),
    ("zwj after a narrow symbol", f"{HEART}{ZWJ}\U0001f525", 2),  # heart on fire, no VS16
    ("zwj after a narrow flag", f"\U0001f3f3{ZWJ}\U0001f308", 2),  # rainbow flag, no VS16
    ("zwj between letters", f"x{ZWJ}y", 2),
    ("zwj between cjk", f"\u4e2d{ZWJ}\u6587", 4),
    # regional indicators
    ("flag", FRANCE, 2),
    ("two flags", FRANCE + GERMANY, 4),
    ("lone regional indicator", "\U0001f1eb", 1),
    ("three regional indicators", FRANCE + "\U0001f1e9", 3),
    # skin tone modifiers
    ("skin tone on emoji", THUMBS_UP + MEDIUM_SKIN, 2),
    ("skin tone in zwj sequence", ASTRONAUT, 2),
    ("lone skin tone", MEDIUM_SKIN, 2),
    ("skin tone after a letter", "a" + MEDIUM_SKIN, 3),
    # combining marks
    ("combining acute", "e\u0301", 1),
    ("stacked combining marks", "e\u0301\u0302\u0323", 1),
    ("lone combining mark", "\u0301", 0),
    ("enclosing mark", "a\u20dd", 1),
    ("hebrew point", "\u05d0\u05b8", 1),
    ("combining mark on cjk", "\u4e2d\u0301", 2),
    ("spacing mark takes a column", "\u0915\u093f", 2),
    # other zero-width characters
    ("zero width space", "\u200b", 0),
    ("zero width space between letters", "a\u200bb", 2),
    ("zero width non-joiner", "a\u200cb", 2),
    ("lone zwj", ZWJ, 0),
    ("lone vs16", VS16, 0),
    ("word joiner", "\u2060", 0),
    ("byte order mark", "\ufeff", 0),
    ("left-to-right mark", "ab\u200e", 2),
    ("line separator", "a\u2028b", 2),
    ("soft hyphen counts 1", "co\u00adop", 5),
    # escape sequences
    ("sgr colour", f"{RED}red{RESET}", 3),
    ("sgr 256 colour", f"{ESC}[1;38;5;208mX", 1),
    ("csi cursor", f"{ESC}[2K{ESC}[10;20Hx", 1),
    ("osc 8 hyperlink ended by st", LINK, 4),
    ("osc title ended by bel", f"{ESC}]0;a title\x07ok", 2),
    ("charset designation", f"{ESC}(Bx", 1),
    ("lone escape", ESC, 0),
    ("cut-short csi is text", f"{ESC}[31", 3),
    # control characters
    ("bell", "\x07", 0),
    ("backspace", "a\x08b", 2),
    ("delete", "\x7f", 0),
    ("c1 next line", "\x85", 0),
    ("c1 csi", "\x9b", 0),
    ("carriage return", "a\rb", 2),
    ("newline", "a\nb", 2),
    # tabs: stops every 8 columns from the start of the text
    ("tab alone", "\t", 8),
    ("tab after text", "ab\t", 8),
    ("tab at a stop", "abcdefgh\tx", 17),
    ("tab after cjk", "\u4e2d\tx", 9),
    ("tab after escape", f"{RED}\tx", 9),
    ("two tabs", "\t\t", 16),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in WIDTH_CASES], ids=[c[0] for c in WIDTH_CASES])
def test_display_width(text: str, expected: int) -> None:
    assert expected == display_width(text)


def test_tab_size() -> None:
    assert TAB_SIZE == 8


# --- wrap -----------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;;[^\x1b]*\x1b\\")

#: Pieces random texts are built from. No piece changes how the one before it is
#: measured, so the boundaries between pieces are where lines may be broken.
WIDE_ATOMS = [
    "\u4e2d",
    "\u6587",
    "\uff21",
    GRINNING,
    f"{HEART}{VS16}",
    FAMILY,
    TECHNOLOGIST,
    RAINBOW_FLAG,
    ASTRONAUT,
    FRANCE,
    GERMANY,
    THUMBS_UP + MEDIUM_SKIN,
    "\u4e2d\u0301",
    "\u0915\u093f",  # a spacing mark keeps to its consonant and takes a column of its own
]
NARROW_ATOMS = ["a", "Z", "e\u0301", "a\u0301\u0302", "\u00e9", HEART, "."]
ZERO_ATOMS = [RED, RESET, f"{ESC}[1;4m", f"{ESC}]8;;https://x.org{ESC}\\", "\u200b"]
SPACE_ATOMS = [" ", "  ", "\t", "\n", "\r\n", "\r"]

atoms = st.one_of(
    st.sampled_from(WIDE_ATOMS),
    st.sampled_from(NARROW_ATOMS),
    st.sampled_from(ZERO_ATOMS),
    st.sampled_from(SPACE_ATOMS),
    st.text(alphabet="abcxyz", min_size=1, max_size=12),
)
atom_lists = st.lists(atoms, max_size=60)
#: Pieces of one line: no tab, no line break.
line_atoms = st.one_of(
    st.sampled_from(WIDE_ATOMS),
    st.sampled_from(NARROW_ATOMS),
    st.sampled_from(ZERO_ATOMS),
    st.just(" "),
    st.text(alphabet="abcxyz", min_size=1, max_size=12),
)


def squeeze(text: str) -> str:
    """``text`` without the characters wrapping may drop or turn into others."""
    return re.sub(r"[ \t\r\n]", "", text)


def check_wrapped(pieces: list[str], lines: list[str]) -> None:
    """No character but spaces is lost, and lines break only between pieces (or ASCII letters)."""
    allowed = {0}
    position = 0
    for piece in pieces:
        kept = squeeze(piece)
        if kept.isascii() and kept.isprintable():
            allowed.update(range(position, position + len(kept)))
        position += len(kept)
        allowed.add(position)
    joined = ""
    for line in lines[:-1]:
        joined += squeeze(line)
        assert len(joined) in allowed, (lines, joined)
    joined += squeeze(lines[-1])
    assert squeeze("".join(pieces)) == joined
    # Escape sequences come through whole and in order.
    assert ANSI.findall("".join(pieces)) == [seq for line in lines for seq in ANSI.findall(line)]
    assert all("\n" not in line and "\r" not in line and "\t" not in line for line in lines)


@given(atom_lists, st.integers(min_value=2, max_value=40))
@settings(max_examples=400)
def test_wrap_fits_and_keeps_every_character(pieces: list[str], width: int) -> None:
    lines = wrap("".join(pieces), width)
    assert all(display_width(line) <= width for line in lines), lines
    check_wrapped(pieces, lines)


@given(atom_lists)
@settings(max_examples=200)
def test_wrap_to_one_column_puts_wide_clusters_alone(pieces: list[str]) -> None:
    lines = wrap("".join(pieces), 1)
    for line in lines:
        visible = ANSI.sub("", line).replace("\u200b", "")
        assert display_width(line) <= 1 or visible in WIDE_ATOMS, lines
    check_wrapped(pieces, lines)


@given(st.text(), st.integers(min_value=2, max_value=30))
@settings(max_examples=300)
def test_wrap_any_text(text: str, width: int) -> None:
    lines = wrap(text, width)
    assert all(display_width(line) <= width for line in lines)
    assert squeeze(text) == squeeze("".join(lines))


@given(atom_lists)
def test_wrap_wide_enough_changes_nothing_but_breaks_and_tabs(pieces: list[str]) -> None:
    text = "".join(pieces)
    sources = re.split(r"\r\n|\r|\n", text)
    widest = max(display_width(source) for source in sources)
    lines = wrap(text, max(widest, 1))
    assert len(sources) == len(lines)
    for source, line in zip(sources, lines, strict=True):
        assert display_width(source) == display_width(line)


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("", 5, [""]),
        ("hello world", 11, ["hello world"]),
        ("hello world", 5, ["hello", "world"]),
        ("hello world", 8, ["hello", "world"]),
        ("one two three four", 9, ["one two", "three", "four"]),
        ("aa   bb", 3, ["aa", "bb"]),
        ("  indented", 20, ["  indented"]),
        ("trailing  ", 20, ["trailing  "]),
        ("abcdefgh", 3, ["abc", "def", "gh"]),
        ("a bcdef", 3, ["a", "bcd", "ef"]),
        ("a\n\nb", 5, ["a", "", "b"]),
        ("a\r\nb\rc\n", 5, ["a", "b", "c", ""]),
        ("\n", 5, ["", ""]),
        ("a\tb", 20, ["a       b"]),
        ("\u4e2d\u6587\u5b57", 4, ["\u4e2d\u6587", "\u5b57"]),
        ("\u4e2d\u6587\u5b57", 3, ["\u4e2d", "\u6587", "\u5b57"]),
        ("\u4e2d\u6587", 1, ["\u4e2d", "\u6587"]),
        ("e\u0301e\u0301", 1, ["e\u0301", "e\u0301"]),
        (FAMILY + FAMILY, 2, [FAMILY, FAMILY]),
        (FAMILY + FAMILY, 3, [FAMILY, FAMILY]),
        (FRANCE + GERMANY, 2, [FRANCE, GERMANY]),
        (f"{HEART}{VS16}{HEART}{VS16}", 3, [f"{HEART}{VS16}", f"{HEART}{VS16}"]),
        (f"{RED}abc def{RESET}", 3, [f"{RED}abc", f"def{RESET}"]),
        (f"{RED}abcdef{RESET}", 3, [f"{RED}abc", f"def{RESET}"]),
        (f"abc {RESET}", 3, [f"abc{RESET}"]),
        (f"ab{RED}cd", 2, [f"ab{RED}", "cd"]),
    ],
)
def test_wrap_examples(text: str, width: int, expected: list[str]) -> None:
    assert expected == wrap(text, width)


@pytest.mark.parametrize("width", [0, -1, -80])
def test_wrap_rejects_a_width_below_one(width: int) -> None:
    with pytest.raises(ValueError, match="width must be at least 1"):
        wrap("text", width)


# --- pad ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("ab", 5, "ab   "),
        ("", 3, "   "),
        ("\u4e2d", 4, "\u4e2d  "),
        (FAMILY, 3, FAMILY + " "),
        (f"{RED}x{RESET}", 3, f"{RED}x{RESET}  "),
        ("e\u0301", 2, "e\u0301 "),
        ("exact", 5, "exact"),
        ("too long", 3, "too long"),
    ],
)
def test_pad(text: str, width: int, expected: str) -> None:
    assert expected == pad(text, width)


@given(st.lists(line_atoms, max_size=10).map("".join), st.integers(0, 50))
def test_pad_reaches_the_width(text: str, width: int) -> None:
    assert max(width, display_width(text)) == display_width(pad(text, width))


# --- draw_box -------------------------------------------------------------------


def test_golden_box() -> None:
    expected = (
        "\u250c\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2510\n"
        "\u2502 Thought 1/2  \u2502\n"
        "\u251c\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2524\n"
        "\u2502 Hello, world \u2502\n"
        "\u2514\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2518"
    )
    assert expected == draw_box("Thought 1/2", "Hello, world")


def test_golden_box_in_colour_and_wrapped() -> None:
    # max_width 12 leaves 8 columns for text; the widest wrapped line ("one two") has 7.
    expected = [
        TL + H * 9 + TR,
        f"{V} {ESC}[34mTitle{RESET}   {V}",
        ML + H * 9 + MR,
        f"{V} one two {V}",
        f"{V} three   {V}",
        f"{V}         {V}",
        f"{V} \u4e2d\u6587\u5b57  {V}",
        BL + H * 9 + BR,
    ]
    assert "\n".join(expected) == draw_box(
        "Title", "one two three\n\n\u4e2d\u6587\u5b57", max_width=12, colour="34"
    )


def test_empty_body_draws_one_empty_line() -> None:
    rows = draw_box("Title", "").split("\n")
    assert [TL + H * 7 + TR, f"{V} Title {V}", ML + H * 7 + MR, f"{V}       {V}", BL + H * 7 + BR] == rows


def test_box_with_nothing_in_it() -> None:
    rows = draw_box("", "").split("\n")
    assert [TL + H * 2 + TR, f"{V}  {V}", ML + H * 2 + MR, f"{V}  {V}", BL + H * 2 + BR] == rows


def test_body_escapes_are_reset_before_the_border() -> None:
    rows = draw_box("T", f"{RED}red").split("\n")
    assert f"{V} {RED}red{RESET} {V}" == rows[3]


def test_multi_line_body_keeps_its_lines() -> None:
    rows = draw_box("T", "first\nsecond\n\nfourth").split("\n")
    assert [f"{V} first  {V}", f"{V} second {V}", f"{V}        {V}", f"{V} fourth {V}"] == rows[3:7]


def test_long_title_wraps_and_each_title_line_is_coloured() -> None:
    rows = draw_box("aaaa bbbb", "x", max_width=8, colour="1;33").split("\n")
    assert [f"{V} {ESC}[1;33maaaa{RESET} {V}", f"{V} {ESC}[1;33mbbbb{RESET} {V}"] == rows[1:3]


BOX_INPUTS = [
    ("plain", "Thought 1/3", "A plain thought, long enough to be wrapped at least once or twice."),
    ("cjk", "\u601d\u8003 1/3", "\u8fd9\u662f\u4e00\u4e2a\u5f88\u957f\u7684\u4e2d\u6587\u60f3\u6cd5" * 8),
    ("emoji", f"{GRINNING} Thought", f"{FAMILY} {FRANCE} {HEART}{VS16} {ASTRONAUT} " * 10),
    ("ansi", f"{RED}Red title{RESET}", f"{RED}red{RESET} and {ESC}[1mbold{RESET} words " * 8 + LINK),
    ("multi-line", "Lines", "one\ntwo\r\nthree\rfour\n\n\tindented\ttabs"),
    ("combining", "Marks", "e\u0301" * 100),
    ("empty", "Empty", ""),
    ("wide title", "T" * 200, "short"),
]


@pytest.mark.parametrize("max_width", [MIN_BOX_WIDTH, 7, 20, 41, 80, 200])
@pytest.mark.parametrize(("title", "body"), [b[1:] for b in BOX_INPUTS], ids=[b[0] for b in BOX_INPUTS])
@pytest.mark.parametrize("colour", [None, "34"])
def test_box_lines_all_have_one_width(title: str, body: str, max_width: int, colour: str | None) -> None:
    rows = draw_box(title, body, max_width=max_width, colour=colour).split("\n")
    widths = {display_width(row) for row in rows}
    assert len(widths) == 1, rows
    assert widths.pop() <= max_width
    assert rows[0].startswith(TL)
    assert rows[-1].startswith(BL)


@given(
    st.lists(atoms, max_size=8).map("".join),
    atom_lists.map("".join),
    st.integers(min_value=MIN_BOX_WIDTH, max_value=100),
    st.sampled_from([None, "32", "1;33"]),
)
@settings(max_examples=300)
def test_random_boxes_line_up(title: str, body: str, max_width: int, colour: str | None) -> None:
    rows = draw_box(title, body, max_width=max_width, colour=colour).split("\n")
    width = display_width(rows[0])
    assert width <= max_width
    assert all(display_width(row) == width for row in rows), rows
    assert rows[0] == TL + H * (width - 2) + TR
    assert rows[-1] == BL + H * (width - 2) + BR
    assert sum(row.startswith(ML) for row in rows) == 1
    # The body's text is all there, in order.
    separator = next(i for i, row in enumerate(rows) if row.startswith(ML))
    drawn = "".join(row[2:-2] for row in rows[separator + 1 : -1])
    assert squeeze(body.replace(RESET, "")) == squeeze(drawn.replace(RESET, ""))


@pytest.mark.parametrize("max_width", [5, 0, -1])
def test_box_rejects_a_too_small_max_width(max_width: int) -> None:
    with pytest.raises(ValueError, match="max_width"):
        draw_box("t", "b", max_width=max_width)


@pytest.mark.parametrize("colour", ["", "red", "31m", f"{ESC}[31m", "3;", "1234"])
def test_box_rejects_a_colour_that_is_not_an_sgr_code(colour: str) -> None:
    with pytest.raises(ValueError, match="colour"):
        draw_box("t", "b", colour=colour)


# --- thoughts -------------------------------------------------------------------


def test_title_of_a_thought() -> None:
    assert ("Thought 2/5", "34") == thought_title(Thought("text", 2, 5, True))


def test_title_of_a_revision() -> None:
    thought = Thought("text", 3, 5, True, is_revision=True, revises_thought=2)
    assert ("Revision of 2 \u00b7 thought 3/5", "33") == thought_title(thought)


def test_title_of_a_revision_that_names_no_thought() -> None:
    assert ("Revision \u00b7 thought 3/5", "33") == thought_title(
        Thought("text", 3, 5, True, is_revision=True)
    )


def test_title_of_a_branch_thought() -> None:
    thought = Thought("text", 4, 5, True, branch_from_thought=2, branch_id="feature-x")
    assert ("Branch feature-x from 2 \u00b7 thought 4/5", "32") == thought_title(thought)


@pytest.mark.parametrize(
    "fields",
    [{"is_revision": False}, {"branch_from_thought": 2}, {"branch_id": "alt"}, {"revises_thought": 1}],
)
def test_incomplete_revisions_and_branches_are_plain_thoughts(fields: dict[str, Any]) -> None:
    assert ("Thought 2/5", "34") == thought_title(Thought("text", 2, 5, True, **fields))


def test_a_revision_on_a_branch_is_shown_as_a_revision() -> None:
    thought = Thought(
        "text", 4, 5, True, is_revision=True, revises_thought=3, branch_from_thought=2, branch_id="b"
    )
    assert ("Revision of 3 \u00b7 branch b \u00b7 thought 4/5", "33") == thought_title(thought)


def test_title_with_a_session() -> None:
    title, _ = thought_title(Thought("text", 1, 1, False), session_id="abc-123")
    assert "Thought 1/1  [session abc-123]" == title


def test_golden_thought_box() -> None:
    thought = Thought("Check the sum.", 2, 3, True, branch_from_thought=1, branch_id="alt")
    expected = [
        TL + H * 47 + TR,
        f"{V} Branch alt from 1 \u00b7 thought 2/3  [session s1] {V}",
        ML + H * 47 + MR,
        f"{V} Check the sum.{' ' * 31} {V}",
        BL + H * 47 + BR,
    ]
    assert "\n".join(expected) == thought_box(thought, session_id="s1")


def test_thought_box_colours_only_when_asked() -> None:
    thought = Thought("text", 3, 5, True, is_revision=True, revises_thought=2)
    assert ESC not in thought_box(thought)
    rows = thought_box(thought, colour=True).split("\n")
    assert f"{V} {ESC}[33mRevision of 2 \u00b7 thought 3/5{RESET} {V}" == rows[1]


@pytest.mark.parametrize("max_width", [MIN_BOX_WIDTH, 30, 80])
def test_thought_box_fits_max_width(max_width: int) -> None:
    thought = Thought(f"{FAMILY} \u4e2d\u6587 " * 30, 1, 2, True, branch_from_thought=1, branch_id="b")
    rows = thought_box(thought, session_id="s", colour=True, max_width=max_width).split("\n")
    assert {display_width(rows[0])} == {display_width(row) for row in rows}
    assert display_width(rows[0]) <= max_width


# --- the environment ------------------------------------------------------------


class FakeStream:
    def __init__(self, *, tty: object) -> None:
        self.tty = tty

    def isatty(self) -> object:
        return self.tty


TTY = FakeStream(tty=True)


@pytest.mark.parametrize(
    ("stream", "environ", "expected"),
    [
        (TTY, {}, True),
        (TTY, {"TERM": "xterm-256color"}, True),
        (TTY, {"NO_COLOR": ""}, True),
        (TTY, {"NO_COLOR": "1"}, False),
        (TTY, {"NO_COLOR": "0"}, False),
        (TTY, {"NO_COLOR": "false"}, False),
        (TTY, {"TERM": "dumb"}, False),
        (TTY, {"TERM": "dumb", "NO_COLOR": ""}, False),
        (FakeStream(tty=False), {}, False),
        (FakeStream(tty=1), {}, False),
        (FakeStream(tty="yes"), {}, False),
        (io.StringIO(), {}, False),
        (object(), {}, False),
        (None, {}, False),
    ],
)
def test_colour_allowed(stream: object, environ: dict[str, str], expected: bool) -> None:
    assert expected is colour_allowed(stream, environ)


def test_no_colour_for_a_closed_stream() -> None:
    stream = io.StringIO()
    stream.close()
    assert colour_allowed(stream, {}) is False


def test_no_colour_when_isatty_fails() -> None:
    class Broken:
        def isatty(self) -> bool:
            raise OSError("bad file descriptor")

    assert colour_allowed(Broken(), {}) is False


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"DISABLE_THOUGHT_LOGGING": "true"}, True),
        ({"DISABLE_THOUGHT_LOGGING": "TRUE"}, True),
        ({"DISABLE_THOUGHT_LOGGING": " True "}, True),
        ({"DISABLE_THOUGHT_LOGGING": "\ttrue\n"}, True),
        ({"DISABLE_THOUGHT_LOGGING": "false"}, False),
        ({"DISABLE_THOUGHT_LOGGING": ""}, False),
        ({"DISABLE_THOUGHT_LOGGING": "1"}, False),
        ({"DISABLE_THOUGHT_LOGGING": "yes"}, False),
        ({"DISABLE_THOUGHT_LOGGING": "truest"}, False),
        ({}, False),
        ({"OTHER": "true"}, False),
    ],
)
def test_thought_logging_disabled(environ: dict[str, str], expected: bool) -> None:
    assert expected is thought_logging_disabled(environ)
