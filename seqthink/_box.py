"""Drawing thoughts as boxes on a terminal.

The MCP server logs every thought it records to stderr as a small box (a
header naming the thought, then its text), and :func:`seqthink.render.to_text`
draws thoughts the same way. This module holds the pieces: measuring how many
terminal columns text takes, wrapping and padding it to a width, drawing the
box, choosing a thought's header and colour, and deciding from the
environment whether to colour or log at all. Every function is pure: no I/O,
no global state, the environment is passed in.

Widths are measured in terminal columns, on "grapheme-ish" clusters (a
character and what attaches to it), with these rules:

* Printable ASCII, and every other character not listed below, takes 1
  column. East Asian "Ambiguous" characters (box drawing, Greek, accented
  Latin letters) take 1 too, as in a terminal outside CJK locales; a terminal
  set to draw them wide will misalign the boxes.
* East Asian Wide and Fullwidth characters (CJK, Hangul syllables, most
  emoji) take 2.
* Combining marks (nonzero combining class, or category Mn or Me), format
  characters (category Cf: zero width space, joiners, bidi marks, word
  joiner, BOM, tag characters), variation selectors, line and paragraph
  separators (U+2028, U+2029) and Hangul medial vowels and final consonants
  (U+1160-U+11FF, U+D7B0-U+D7FF) take 0. The soft hyphen U+00AD is the one
  format character that takes 1: terminals draw it as a hyphen, and glibc's
  ``wcwidth`` counts it as 1.
* Spacing marks (category Mc) stay with the character before them, so
  wrapping never separates them, but take their own column, as ``wcwidth``
  does.
* A character followed by VARIATION SELECTOR-16 (U+FE0F, emoji presentation)
  takes 2 ("\N{HEAVY BLACK HEART}\N{VARIATION SELECTOR-16}"), unless it is
  white space; a wide character followed by VARIATION SELECTOR-15 (U+FE0E,
  text presentation) takes 1.
* Emoji joined by ZERO WIDTH JOINER (a family, a profession, a rainbow flag)
  are one cluster of 2 columns. Only symbols (category So) join this way; a
  joiner between letters joins nothing and takes 0.
* An emoji skin tone modifier (U+1F3FB-U+1F3FF) after a symbol (category So)
  belongs to it and adds nothing; on its own it takes 2.
* Two regional indicators make one flag of 2 columns; a lone regional
  indicator takes 1 (its East Asian width is Neutral).
* Escape sequences take 0: CSI (``ESC [`` ... final byte, such as the SGR
  colours ``ESC [31m`` and ``ESC [0m``), OSC, DCS, SOS, PM and APC strings
  (ended by BEL or ``ESC \\``) and the other two-or-more byte escapes
  (``ESC ( B``, ``ESC 7``). Only the 7-bit forms are recognised. An escape
  sequence that is cut short is a lone ESC (0 columns) followed by text.
* Other C0 and C1 control characters and DEL take 0, including newlines and
  carriage returns: :func:`display_width` measures one line.
* A tab advances to the next tab stop; tab stops are every :data:`TAB_SIZE`
  (8) columns, counted from the start of the line. :func:`wrap` replaces tabs
  by spaces before wrapping, so boxes never hold a tab.

Control characters other than escape sequences are measured as 0 but kept in
the output as they are; a backspace or a bell in the text will therefore
disturb the box it is drawn in.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from seqthink._thought import Thought

__all__ = [
    "BLUE",
    "GREEN",
    "MIN_BOX_WIDTH",
    "RESET",
    "TAB_SIZE",
    "YELLOW",
    "colour_allowed",
    "display_width",
    "draw_box",
    "pad",
    "thought_box",
    "thought_logging_disabled",
    "thought_title",
    "wrap",
]

#: Tab stops are every this many columns.
TAB_SIZE = 8
#: The narrowest box :func:`draw_box` draws: two borders, two spaces of padding
#: and room for one 2-column character.
MIN_BOX_WIDTH = 6

#: The SGR colour codes of the three kinds of thought.
BLUE = "34"
GREEN = "32"
YELLOW = "33"
#: Ends every colour and attribute.
RESET = "\x1b[0m"

_ESC = "\x1b"
_ZWJ = "\N{ZERO WIDTH JOINER}"
_ZWNJ = "\N{ZERO WIDTH NON-JOINER}"
_VS15 = "\N{VARIATION SELECTOR-15}"
_VS16 = "\N{VARIATION SELECTOR-16}"
_SOFT_HYPHEN = "\N{SOFT HYPHEN}"
#: Separates the parts of a thought's title.
_DOT = " \N{MIDDLE DOT} "

_ESCAPE_SEQUENCE = re.compile(
    r"""
      \x1b \[ [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]            # CSI: parameters, intermediates, final byte
    | \x1b [\]PX^_] [^\x07\x1b]* (?: \x07 | \x1b\\ )           # OSC, DCS, SOS, PM, APC: to BEL or ST
    | \x1b [\x20-\x2f]* [\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e]  # any other escape sequence
    """,
    re.VERBOSE,
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SGR_CODE = re.compile(r"[0-9]{1,3}(?:;[0-9]{1,3})*")
#: Categories whose characters stand alone as zero-width clusters (UAX #29's Control).
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
#: Categories whose characters take no column.
_ZERO_WIDTH_CATEGORIES = frozenset({"Mn", "Me", "Cc", "Cf", "Zl", "Zp"})

_HORIZONTAL = "\N{BOX DRAWINGS LIGHT HORIZONTAL}"
_VERTICAL = "\N{BOX DRAWINGS LIGHT VERTICAL}"
_TOP_LEFT = "\N{BOX DRAWINGS LIGHT DOWN AND RIGHT}"
_TOP_RIGHT = "\N{BOX DRAWINGS LIGHT DOWN AND LEFT}"
_MIDDLE_LEFT = "\N{BOX DRAWINGS LIGHT VERTICAL AND RIGHT}"
_MIDDLE_RIGHT = "\N{BOX DRAWINGS LIGHT VERTICAL AND LEFT}"
_BOTTOM_LEFT = "\N{BOX DRAWINGS LIGHT UP AND RIGHT}"
_BOTTOM_RIGHT = "\N{BOX DRAWINGS LIGHT UP AND LEFT}"


# --- measuring ----------------------------------------------------------------


class _Cluster(NamedTuple):
    """A piece of text that is never split: a character and what attaches to it,
    an escape sequence, or a control character."""

    text: str
    width: int
    #: A plain space (U+0020), where lines may be broken.
    space: bool = False

    @property
    def visible(self) -> bool:
        """Whether the cluster puts something other than a space on the screen."""
        return self.width > 0 and not self.space


_SPACE = _Cluster(" ", 1, space=True)


def _is_regional_indicator(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


def _is_skin_tone(char: str) -> bool:
    return "\U0001f3fb" <= char <= "\U0001f3ff"


def _is_pictographic(char: str) -> bool:
    """Whether ``char`` is a symbol that emoji sequences are built from."""
    return unicodedata.category(char) == "So"


def _is_hangul_trailing_jamo(char: str) -> bool:
    """Hangul medial vowels and final consonants, drawn inside the syllable they follow."""
    return "\u1160" <= char <= "\u11ff" or "\ud7b0" <= char <= "\ud7ff"


def _is_extender(char: str) -> bool:
    """Whether ``char`` always belongs to the cluster before it."""
    if char in {_ZWJ, _ZWNJ} or "\U000e0020" <= char <= "\U000e007f" or _is_hangul_trailing_jamo(char):
        return True
    return unicodedata.combining(char) != 0 or unicodedata.category(char) in {"Mn", "Me", "Mc"}


def _is_control(char: str) -> bool:
    """Whether ``char`` stands alone, with no width, as a cluster of its own."""
    if char in {_ZWJ, _ZWNJ, _SOFT_HYPHEN} or "\U000e0020" <= char <= "\U000e007f":
        return False
    return unicodedata.category(char) in _CONTROL_CATEGORIES


def _joins(cluster: str, char: str) -> bool:
    """Whether ``char`` continues ``cluster`` rather than starting a new cluster."""
    if _is_extender(char):
        return True
    if cluster[-1] == _ZWJ and _is_pictographic(cluster[0]) and _is_pictographic(char):
        return True
    if _is_regional_indicator(char):
        return len(cluster) == 1 and _is_regional_indicator(cluster[0])
    return _is_skin_tone(char) and _is_pictographic(cluster[0])


def _char_width(char: str) -> int:
    """The columns one character takes on its own."""
    if char == _SOFT_HYPHEN:
        return 1
    if (
        unicodedata.category(char) in _ZERO_WIDTH_CATEGORIES
        or unicodedata.combining(char) != 0
        or _is_hangul_trailing_jamo(char)
    ):
        return 0
    return 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1


def _spacing_mark_width(char: str) -> int:
    return int(unicodedata.category(char) == "Mc" and unicodedata.combining(char) == 0)


def _cluster_width(cluster: str) -> int:
    """The columns a cluster of characters (see :func:`_clusters`) takes."""
    base = cluster[0]
    width = _char_width(base)
    if len(cluster) == 1:
        return width
    if _is_regional_indicator(base) and _is_regional_indicator(cluster[1]):
        return 2
    if any(a == _ZWJ and _is_pictographic(b) for a, b in itertools.pairwise(cluster)):
        return 2
    if cluster[1] == _VS16 and width == 1 and not base.isspace():
        width = 2
    elif cluster[1] == _VS15 and width == 2:
        width = 1
    return width + sum(_spacing_mark_width(char) for char in cluster[1:])


def _text_cluster(text: str) -> _Cluster:
    return _Cluster(text, _cluster_width(text), space=text == " ")


def _clusters(text: str) -> Iterator[_Cluster]:
    """Split ``text`` into clusters, in order; their texts add up to ``text``."""
    current = ""
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        if char == _ESC and (match := _ESCAPE_SEQUENCE.match(text, index)) is not None:
            if current:
                yield _text_cluster(current)
                current = ""
            yield _Cluster(match.group(), 0)
            index = match.end()
            continue
        index += 1
        # Printable ASCII is neither a control nor joins the cluster before it (a fast path).
        ascii_text = " " <= char <= "~"
        if not ascii_text and _is_control(char):
            if current:
                yield _text_cluster(current)
                current = ""
            yield _Cluster(char, 0)
        elif current and not ascii_text and _joins(current, char):
            current += char
        else:
            if current:
                yield _text_cluster(current)
            current = char
    if current:
        yield _text_cluster(current)


def _expand_tabs(clusters: Iterable[_Cluster]) -> Iterator[_Cluster]:
    """The clusters with each tab replaced by spaces up to the next tab stop."""
    column = 0
    for cluster in clusters:
        if cluster.text == "\t":
            spaces = TAB_SIZE - column % TAB_SIZE
            yield from [_SPACE] * spaces
            column += spaces
        else:
            yield cluster
            column += cluster.width


def display_width(text: str) -> int:
    """The number of terminal columns ``text``, one line, takes.

    See the module's documentation for the rules. Escape sequences and
    control characters (newlines too) take no column; a tab reaches the next
    multiple of :data:`TAB_SIZE` columns from the start of ``text``.
    """
    if text.isascii() and text.isprintable():
        return len(text)
    return sum(cluster.width for cluster in _expand_tabs(_clusters(text)))


# --- wrapping -------------------------------------------------------------------


class _LineWrapper:
    """Greedy wrapping of one line (without line breaks or tabs) to ``width`` columns."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[str] = []
        self.current: list[_Cluster] = []
        self.used = 0
        # True from a break made here until visible text arrives: spaces then are dropped.
        self.after_break = False

    def add(self, cluster: _Cluster) -> None:
        if cluster.space:
            self._add_space()
        elif cluster.width == 0 or self.used == 0 or self.used + cluster.width <= self.width:
            self._append(cluster)
        else:
            self._break_before(cluster)

    def finish(self) -> list[str]:
        if self.lines and not any(cluster.visible for cluster in self.current):
            # Only escapes and the like are left after the last break: they end the line above.
            self.lines[-1] += "".join(cluster.text for cluster in self.current if not cluster.space)
        else:
            self.lines.append(_join(self.current))
        return self.lines

    def _append(self, cluster: _Cluster) -> None:
        self.current.append(cluster)
        self.used += cluster.width
        if cluster.visible:
            self.after_break = False

    def _add_space(self) -> None:
        if self.after_break:
            return
        if self.used + 1 <= self.width:
            self._append(_SPACE)
        else:
            self._flush(self.current)
            self.after_break = True

    def _break_before(self, cluster: _Cluster) -> None:
        """Start a new line for ``cluster``, which does not fit on this one."""
        cut = self._last_break()
        if cut is None:
            self._flush(self.current)
        else:
            # Move the word being written, which follows the last space, to the next line.
            # It fits there with ``cluster``: the text and space before it took 2 columns
            # or more, and no cluster is wider than 2.
            tail = self.current[cut + 1 :]
            self._flush(self.current[:cut])
            self.current = tail
            self.used = sum(item.width for item in tail)
        self._append(cluster)

    def _last_break(self) -> int | None:
        """The index of the last space on this line that follows visible text."""
        first = next((i for i, cluster in enumerate(self.current) if cluster.visible), None)
        if first is None:
            return None
        for index in range(len(self.current) - 1, first, -1):
            if self.current[index].space:
                return index
        return None

    def _flush(self, clusters: list[_Cluster]) -> None:
        """End a line holding ``clusters``, without its trailing spaces, and start the next.

        A line with nothing visible is not written: its escapes and other
        zero-width clusters move to the next line.
        """
        end = len(clusters)
        while end and clusters[end - 1].space:
            end -= 1
        kept = clusters[:end]
        if any(cluster.visible for cluster in kept):
            self.lines.append(_join(kept))
            self.current = []
        else:
            self.current = [cluster for cluster in kept if not cluster.space]
        self.used = 0


def _join(clusters: Iterable[_Cluster]) -> str:
    return "".join(cluster.text for cluster in clusters)


def wrap(text: str, width: int) -> list[str]:
    """Wrap ``text`` to lines of at most ``width`` terminal columns.

    ``text`` is split at its line breaks (``\\n``, ``\\r\\n``, ``\\r``), empty
    lines kept; tabs are replaced by spaces up to the next tab stop (counted
    from the start of their line); then each line is wrapped greedily. Lines
    are broken at spaces (U+0020 only) when a word would not fit, and the
    spaces there are dropped; leading spaces of a line that fit are kept. A
    word longer than ``width`` is broken between clusters, so a character
    never loses its combining marks, an emoji sequence or flag is never cut
    and an escape sequence is always whole on one line. A single cluster
    wider than ``width`` (a 2-column character when ``width`` is 1) gets a
    line of its own, the only case of a line wider than ``width``. Escape
    sequences left after the last break of a line go to the end of the line
    before.

    Raises:
        ValueError: ``width`` is less than 1.
    """
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    lines: list[str] = []
    for line in _LINE_BREAK.split(text):
        wrapper = _LineWrapper(width)
        for cluster in _expand_tabs(_clusters(line)):
            wrapper.add(cluster)
        lines.extend(wrapper.finish())
    return lines


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` terminal columns.

    Text already ``width`` columns wide or wider is returned unchanged.
    """
    return text + " " * max(0, width - display_width(text))


# --- boxes ----------------------------------------------------------------------


def _paint(line: str, colour: str | None) -> str:
    """``line`` in ``colour``; a line with escapes in it ends with a reset."""
    if colour is not None and line:
        return f"\x1b[{colour}m{line}{RESET}"
    return line + RESET if _ESC in line else line


def draw_box(title: str, body: str, *, max_width: int = 80, colour: str | None = None) -> str:
    """A box of light box-drawing lines around ``title`` and, below a rule, ``body``.

    Title and body are wrapped with :func:`wrap` (their line breaks kept) to
    fit a box at most ``max_width`` columns wide; the box is as narrow as its
    widest line allows, with one space between the text and each border.
    Every line of the box takes exactly the same number of columns. An empty
    body draws one empty line. ``colour``, an SGR code such as ``"34"`` or
    ``"1;33"``, colours the title text, not the borders or padding. A line of
    text holding escape sequences ends with a reset, so that a colour left
    open does not spill onto the border. The lines are joined by ``\\n``, with
    none after the last.

    Raises:
        ValueError: ``max_width`` is less than :data:`MIN_BOX_WIDTH`, or
            ``colour`` is not an SGR code (numbers separated by ``;``).
    """
    if max_width < MIN_BOX_WIDTH:
        raise ValueError(f"max_width must be at least {MIN_BOX_WIDTH}, got {max_width}")
    if colour is not None and _SGR_CODE.fullmatch(colour) is None:
        raise ValueError(f"colour must be an SGR code such as '34' or '1;33', got {colour!r}")
    natural = max(display_width(line) for line in [*_LINE_BREAK.split(title), *_LINE_BREAK.split(body)])
    # max() because wrap() needs a width of at least 1, even for a box with no text in it.
    limit = max(1, min(natural, max_width - 4))
    title_lines = wrap(title, limit)
    body_lines = wrap(body, limit)
    inner = max(display_width(line) for line in [*title_lines, *body_lines])
    rule = _HORIZONTAL * (inner + 2)
    rows = [f"{_TOP_LEFT}{rule}{_TOP_RIGHT}"]
    rows.extend(f"{_VERTICAL} {pad(_paint(line, colour), inner)} {_VERTICAL}" for line in title_lines)
    rows.append(f"{_MIDDLE_LEFT}{rule}{_MIDDLE_RIGHT}")
    rows.extend(f"{_VERTICAL} {pad(_paint(line, None), inner)} {_VERTICAL}" for line in body_lines)
    rows.append(f"{_BOTTOM_LEFT}{rule}{_BOTTOM_RIGHT}")
    return "\n".join(rows)


def thought_title(thought: Thought, *, session_id: str | None = None) -> tuple[str, str]:
    """The header of ``thought``'s box and the SGR colour code for it.

    A revision (``is_revision`` true) is "Revision of 2 \N{MIDDLE DOT} thought 3/5" in
    yellow ("Revision \N{MIDDLE DOT} thought 3/5" when it names no thought); a thought
    on a branch (``branch_from_thought`` and ``branch_id`` both set) is "Branch
    alt from 2 \N{MIDDLE DOT} thought 4/5" in green; any other is "Thought 2/5" in
    blue. A revision on a branch is shown as a revision, with
    "\N{MIDDLE DOT} branch alt" before the position. The numbers are the thought's
    own, as given. With a ``session_id``, "  [session <id>]" follows.
    """
    position = f"{thought.thought_number}/{thought.total_thoughts}"
    branch = thought.branch_id if thought.branch_from_thought is not None else None
    if thought.is_revision is True:
        title, colour = "Revision", YELLOW
        if thought.revises_thought is not None:
            title += f" of {thought.revises_thought}"
        if branch is not None:
            title += f"{_DOT}branch {branch}"
        title += f"{_DOT}thought {position}"
    elif branch is not None:
        title = f"Branch {branch} from {thought.branch_from_thought}{_DOT}thought {position}"
        colour = GREEN
    else:
        title, colour = f"Thought {position}", BLUE
    if session_id is not None:
        title += f"  [session {session_id}]"
    return title, colour


def thought_box(
    thought: Thought, *, session_id: str | None = None, colour: bool = False, max_width: int = 80
) -> str:
    """``thought`` drawn by :func:`draw_box` under its :func:`thought_title`.

    The title is coloured only when ``colour`` is true. The thought's text is
    drawn as it is, escape sequences included.
    """
    title, code = thought_title(thought, session_id=session_id)
    return draw_box(title, thought.thought, max_width=max_width, colour=code if colour else None)


# --- the environment ----------------------------------------------------------


def colour_allowed(stream: object, environ: Mapping[str, str]) -> bool:
    """Whether to colour what is written to ``stream``, given the environment ``environ``.

    True only when ``stream.isatty()`` returns True, ``NO_COLOR`` is unset or
    empty (https://no-color.org) and ``TERM`` is not ``dumb``. A stream with
    no ``isatty``, or whose ``isatty`` fails (a closed file), gets no colour.
    """
    if environ.get("NO_COLOR", "") or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    if not callable(isatty):
        return False
    try:
        return isatty() is True
    except (OSError, ValueError):
        return False


def thought_logging_disabled(environ: Mapping[str, str]) -> bool:
    """Whether ``DISABLE_THOUGHT_LOGGING`` is ``true``, in any case, white space around ignored."""
    return environ.get("DISABLE_THOUGHT_LOGGING", "").strip().lower() == "true"
