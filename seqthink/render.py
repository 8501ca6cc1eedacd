"""A session for people to read, and for programs to exchange.

Four views of a :class:`~seqthink.ThinkingSession`, each a pure function of
the session (the environment is read only for ``NO_COLOR``):

* :func:`to_text`: a header line and one box per thought, for a terminal;
* :func:`to_markdown`: a document with a Mermaid picture, the main line, each
  branch and the warnings the thoughts drew;
* :func:`to_mermaid`: a Mermaid ``flowchart`` of the thoughts;
* :func:`to_json`: a versioned export holding everything the session holds,
  which :func:`from_json` reads back, strictly, into a session a store can
  save.

None of the results ends with a newline.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final

import attrs

from seqthink import _box, _rules
from seqthink._session import SessionRecord, ThinkingSession
from seqthink._thought import Thought
from seqthink.errors import (
    InvalidArgumentError,
    InvalidExportError,
    InvalidSessionIdError,
    InvalidThoughtError,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["EXPORT_FORMAT", "EXPORT_VERSION", "from_json", "to_json", "to_markdown", "to_mermaid", "to_text"]

#: The value of an export's ``"format"`` key.
EXPORT_FORMAT: Final = "seqthink.session"
#: The value of an export's ``"version"`` key: the version :func:`to_json` writes and
#: the only one :func:`from_json` reads.
EXPORT_VERSION: Final = 1

#: The narrowest text rendering :func:`to_text` draws, in terminal columns.
_MIN_WIDTH: Final = 20
#: Mermaid node labels are shortened to at most this many terminal columns of text.
_LABEL_WIDTH: Final = 40

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NS_PER_SECOND: Final = 1_000_000_000
#: The last nanosecond of 9999-12-31, the latest time a Python datetime holds.
_MAX_NS: Final = 253_402_300_800 * _NS_PER_SECOND - 1
#: Separates the parts of a header line.
_DOT: Final = " \N{MIDDLE DOT} "
_ELLIPSIS: Final = "\N{HORIZONTAL ELLIPSIS}"

_THOUGHT_KEYS: Final = tuple(field.name for field in attrs.fields(Thought))
_REQUIRED_THOUGHT_KEYS: Final = ("thought", "thought_number", "total_thoughts", "next_thought_needed")
_EXPORT_KEYS: Final = (
    "format",
    "version",
    "session_id",
    "created_at",
    "created_ns",
    "last_activity",
    "last_activity_ns",
    "thoughts",
)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: An SGR (colour) escape sequence, or a control character other than tab, newline and carriage return.
_TERMINAL_HAZARD = re.compile(r"(\x1b\[[0-9;:]*m)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _check_session(session: object) -> ThinkingSession:
    if not isinstance(session, ThinkingSession):
        raise InvalidArgumentError("session", session, "must be a seqthink.ThinkingSession")
    return session


def _times(session: ThinkingSession) -> tuple[int, int]:
    """The session's creation and last activity times, in nanoseconds since the epoch."""
    return session._created_ns, session._last_activity_ns  # noqa: SLF001


def _iso_ns(ns: int) -> str:
    """``ns`` as ISO 8601 UTC with all nine digits of the nanoseconds: 2026-01-01T00:00:00.123456789Z."""
    seconds, nanos = divmod(ns, _NS_PER_SECOND)
    return f"{_EPOCH + timedelta(seconds=seconds):%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"


def _iso_seconds(ns: int) -> str:
    """``ns`` as ISO 8601 UTC to the second, for people: 2026-01-01T00:00:00Z."""
    try:
        return f"{_EPOCH + timedelta(seconds=ns // _NS_PER_SECOND):%Y-%m-%dT%H:%M:%S}Z"
    except OverflowError:  # a clock gave a time outside years 1-9999
        return f"{ns} ns after 1970-01-01T00:00:00Z"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _inert(text: str, *, keep_colour: bool) -> str:
    """``text`` with control characters shown as ``\\xNN``, so none reaches the reader's terminal.

    Tabs and line breaks are kept. SGR colour sequences are kept when
    ``keep_colour``, else removed; every other escape sequence is shown as
    text, its ESC as ``\\x1b``.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1) if keep_colour else ""
        return f"\\x{ord(match.group()):02x}"

    return _TERMINAL_HAZARD.sub(replace, text)


# --- the shape of a session ---------------------------------------------------------


@attrs.frozen
class _Entry:
    """A recorded thought with where it sits: positions count from 1 in the history."""

    position: int
    thought: Thought
    #: The branch the thought joins (both branch fields set), or None on the main line.
    branch: str | None
    #: The position of the thought it revises (the latest earlier one with that
    #: number), when it is a revision and that thought is in the session.
    revises: int | None
    #: The position of the thought it branches from, found the same way.
    origin: int | None

    @property
    def node(self) -> str:
        """Its Mermaid node id and Markdown anchor."""
        return f"t{self.position}"


def _entries(history: Sequence[Thought]) -> list[_Entry]:
    latest: dict[int, int] = {}
    entries = []
    for position, thought in enumerate(history, start=1):
        revises = None
        if thought.is_revision is True and thought.revises_thought is not None:
            revises = latest.get(thought.revises_thought)
        branch = _rules.branch_of(thought)
        origin = None
        if branch is not None and thought.branch_from_thought is not None:
            origin = latest.get(thought.branch_from_thought)
        entries.append(_Entry(position, thought, branch, revises, origin))
        latest[thought.thought_number] = position
    return entries


def _branches(entries: Iterable[_Entry]) -> dict[str, list[_Entry]]:
    """Branch id -> its thoughts, in first-seen order."""
    found: dict[str, list[_Entry]] = {}
    for entry in entries:
        if entry.branch is not None:
            found.setdefault(entry.branch, []).append(entry)
    return found


def _warnings(history: Sequence[Thought]) -> list[tuple[int, str]]:
    """(position, warning) for every warning the thoughts drew when recorded in this order."""
    recorded: set[int] = set()
    found: list[tuple[int, str]] = []
    for position, thought in enumerate(history, start=1):
        _, warnings = _rules.assess(
            thought, recorded=recorded, strict=False, max_length=max(1, len(thought.thought))
        )
        found.extend((position, warning) for warning in warnings)
        recorded.add(thought.thought_number)
    return found


# --- text ---------------------------------------------------------------------------


def to_text(session: ThinkingSession, *, width: int = 80, colour: bool = False) -> str:
    """``session`` for a terminal: a header, then one box per thought in recorded order.

    The header names the session, counts its thoughts and branches, says
    whether it is complete and gives its last activity in UTC. Each box is
    titled like the MCP server's ("Thought 2/5", "Revision of 2 · thought
    3/5", "Branch alt from 2 · thought 4/5"), with "· needs more thoughts"
    and "· final" added where they apply. Every line takes at most ``width``
    terminal columns, counted as :mod:`seqthink._box` counts them (wide
    characters, emoji sequences, combining marks, escape sequences).

    The titles are coloured only when ``colour`` is true and the environment
    variable ``NO_COLOR`` is unset or empty (read at each call). Colour
    sequences in a thought's text are kept when colouring and removed
    otherwise; every other control character in it (other escape
    sequences, backspace, bell, ...) is shown as ``\\xNN``.

    Raises:
        InvalidArgumentError: ``width`` is not an integer of at least 20, or
            ``colour`` is not a bool.
    """
    session = _check_session(session)
    if not isinstance(width, int) or isinstance(width, bool) or width < _MIN_WIDTH:
        raise InvalidArgumentError("width", width, f"must be an integer >= {_MIN_WIDTH}")
    if not isinstance(colour, bool):
        raise InvalidArgumentError("colour", colour, "must be true or false")
    colour = colour and not os.environ.get("NO_COLOR", "")
    _, last_ns = _times(session)
    history = session.thought_history
    header = _DOT.join(
        [
            f"Session {session.session_id}",
            _count(len(history), "thought", "thoughts"),
            _count(len(session.branches), "branch", "branches"),
            "complete" if session.is_complete else "in progress",
            f"last activity {_iso_seconds(last_ns)}",
        ]
    )
    rows = [f"\x1b[1m{line}{_box.RESET}" if colour else line for line in _box.wrap(header, width)]
    if not history:
        rows.append("(no thoughts yet)")
    for thought in history:
        title, code = _box.thought_title(thought)
        if thought.needs_more_thoughts is True:
            title += f"{_DOT}needs more thoughts"
        if not thought.next_thought_needed:
            title += f"{_DOT}final"
        body = _inert(thought.thought, keep_colour=colour)
        rows.append(_box.draw_box(title, body, max_width=width, colour=code if colour else None))
    return "\n".join(rows)


# --- Markdown -----------------------------------------------------------------------

#: Characters escaped wherever they are in a line of text.
_MD_INLINE = re.compile(r"[\\`*_\[\]{}<>&|~$]")
_MD_ENTITIES: Final = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
#: What would start a block at the start of a line: a heading, a list item, a setext
#: underline, a fence. ``>`` and ``<`` are entities by then, ``*`` and ``_`` escaped.
_MD_LINE_START = re.compile(r"[#+=-]|[0-9]{1,9}(?=[.)])")


def _md_escape_line(line: str) -> str:
    """One line of plain text as inert Markdown: no markup, no HTML, no block syntax."""
    escaped = _MD_INLINE.sub(lambda m: _MD_ENTITIES.get(m.group(), "\\" + m.group()), line)
    start = _MD_LINE_START.match(escaped)
    if start is None:
        return escaped
    if start.group()[0].isdigit():  # "1." or "1)" would start an ordered list
        end = start.end()
        return f"{escaped[:end]}\\{escaped[end:]}"
    return "\\" + escaped


def _md_text(text: str) -> str:
    """A thought's text as Markdown paragraphs: its line breaks kept, nothing in it taken as markup.

    Lines lose the white space around them (indentation would make a code
    block); runs of blank lines become one paragraph break; the other line
    breaks become hard breaks.
    """
    paragraphs: list[list[str]] = [[]]
    for raw in _LINE_BREAK.split(_inert(text, keep_colour=False)):
        line = raw.replace("\t", " ").strip()
        if line:
            paragraphs[-1].append(_md_escape_line(line))
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join("\\\n".join(lines) for lines in paragraphs if lines)


def _md_code(text: str) -> str:
    """``text`` as a Markdown code span, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")):
        text = f" {text} "
    return f"{fence}{text}{fence}"


def _md_link(number: int, position: int | None) -> str:
    return f"[thought {number}](#t{position})" if position is not None else f"thought {number}"


def _md_thought(entry: _Entry) -> str:
    thought = entry.thought
    parts = [f'<a id="{entry.node}"></a>**{thought.thought_number}.**']
    if thought.is_revision is True:
        if thought.revises_thought is None:
            parts.append("*Revision:*")
        else:
            parts.append(f"*Revision of {_md_link(thought.revises_thought, entry.revises)}:*")
    parts.append(_md_text(thought.thought))
    if thought.needs_more_thoughts is True:
        parts.append("*(needs more thoughts)*")
    if not thought.next_thought_needed:
        parts.append("*(final)*")
    return " ".join(parts)


def to_markdown(session: ThinkingSession) -> str:
    """``session`` as a Markdown document, for GitHub, mkdocs-material and other renderers.

    An H1 names the session, a line gives its creation and last activity
    times (UTC, ISO 8601) and its counts, a ``mermaid`` block draws it (see
    :func:`to_mermaid`), then come the main line's thoughts, each branch's
    under a heading "Branch `id` (from thought k)", and a "Warnings" section
    listing the dangling references the thoughts drew when recorded (left out
    when there are none).

    Each thought starts with an anchor named by its position in the history,
    ``<a id="t5"></a>`` for the fifth thought recorded, so links stay unique
    when numbers repeat. A revision links to the thought it revises: the
    latest earlier thought with that number. A thought's text is escaped so
    that nothing in it is taken as Markdown or HTML.
    """
    session = _check_session(session)
    created_ns, last_ns = _times(session)
    history = session.thought_history
    entries = _entries(history)
    branches = _branches(entries)
    state = "complete" if session.is_complete else "in progress"
    out = [
        f"# Session {_md_code(session.session_id)}",
        "",
        _DOT.join(
            [
                f"Created {_iso_seconds(created_ns)}",
                f"last activity {_iso_seconds(last_ns)}",
                _count(len(history), "thought", "thoughts"),
                _count(len(branches), "branch", "branches"),
                state,
            ]
        ),
    ]
    if not history:
        out += ["", "*No thoughts yet.*"]
        return "\n".join(out)
    out += ["", "```mermaid", to_mermaid(session), "```", "", "## Main line"]
    main = [entry for entry in entries if entry.branch is None]
    for entry in main:
        out += ["", _md_thought(entry)]
    if not main:
        out += ["", "*No thoughts on the main line.*"]
    if branches:
        out += ["", "## Branches"]
    for branch, members in branches.items():
        first = members[0]
        origin = first.thought.branch_from_thought
        out += ["", f"### Branch {_md_code(branch)} (from thought {origin})"]
        if first.origin is not None:
            out += ["", f"Branches off [thought {origin}](#t{first.origin})."]
        for entry in members:
            out += ["", _md_thought(entry)]
    warnings = _warnings(history)
    if warnings:
        out += ["", "## Warnings", ""]
        out += [
            f"- [Thought {history[position - 1].thought_number}](#t{position}): "
            f"{_md_escape_line(' '.join(warning.split()))}"
            for position, warning in warnings
        ]
    return "\n".join(out)


# --- Mermaid ------------------------------------------------------------------------

#: Characters written as Mermaid entity codes inside a quoted label. ``#`` starts an
#: entity code; ``:`` and ``%`` keep Mermaid's own pre-parsing of ``style``/``classDef``
#: lines and ``%%`` comments away from the label.
_MERMAID_ENTITIES: Final = {
    '"': "#quot;",
    "#": "#35;",
    "&": "#amp;",
    "<": "#lt;",
    ">": "#gt;",
    "`": "#96;",
    "|": "#124;",
    "%": "#37;",
    ":": "#58;",
    "\\": "#92;",
}
_MERMAID_SPECIAL = re.compile("[" + re.escape("".join(_MERMAID_ENTITIES)) + "]")
_WHITE_SPACE = re.compile(r"\s+")
_CLASS_STYLES: Final = {
    "revision": "fill:#fff3cd,stroke:#b8860b,color:#000",
    "branch": "fill:#dcf0dc,stroke:#2e7d32,color:#000",
}


def _mermaid_text(text: str) -> str:
    """``text`` made safe inside a quoted Mermaid label: one line, special characters as entity codes."""
    flat = _WHITE_SPACE.sub(" ", _inert(text, keep_colour=False)).strip()
    return _MERMAID_SPECIAL.sub(lambda m: _MERMAID_ENTITIES[m.group()], flat)


def _shorten(text: str) -> str:
    """``text`` on one line, cut at a word boundary to 40 columns with an ellipsis."""
    flat = _WHITE_SPACE.sub(" ", _inert(text, keep_colour=False)).strip()
    if _box.display_width(flat) <= _LABEL_WIDTH:
        return flat
    return _box.wrap(flat, _LABEL_WIDTH - 1)[0].rstrip() + _ELLIPSIS


def _mermaid_edges(entries: Iterable[_Entry]) -> list[str]:
    """The arrows between the thoughts, each thought's after the thought it follows."""
    lines = []
    previous_main: _Entry | None = None
    previous_in_branch: dict[str, _Entry] = {}
    for entry in entries:
        if entry.branch is None:
            if previous_main is not None:
                lines.append(f"    {previous_main.node} --> {entry.node}")
            previous_main = entry
        else:
            before = previous_in_branch.get(entry.branch)
            if before is not None:
                lines.append(f"    {before.node} --> {entry.node}")
            elif entry.origin is not None:
                lines.append(f'    t{entry.origin} -->|"{_mermaid_text(entry.branch)}"| {entry.node}')
            previous_in_branch[entry.branch] = entry
        if entry.revises is not None:
            lines.append(f"    {entry.node} -.->|revises| t{entry.revises}")
    return lines


def to_mermaid(session: ThinkingSession) -> str:
    """``session`` as a Mermaid ``flowchart TD``.

    One node per recorded thought, named by its position (``t1``, ``t2``,
    ...), labelled with its number and its text cut to about 40 columns.
    Solid arrows join consecutive main-line thoughts; a branch's first
    thought hangs from the thought it branches from, by an arrow labelled
    with the branch id, and its later thoughts follow one another. A dashed
    arrow labelled "revises" goes from a revision to the thought it revises.
    Referenced thoughts are the latest recorded before the referring one with
    that number; a reference to a thought not there draws no arrow.
    Revisions and branch thoughts get a class (``revision``, ``branch``) and
    a colour. Labels are quoted, with quotes, ``#``, ``<``, ``>``, ``&``,
    backticks and a few more written as Mermaid entity codes (``#quot;``),
    and line breaks as spaces.
    """
    session = _check_session(session)
    entries = _entries(session.thought_history)
    lines = ["flowchart TD"]
    for entry in entries:
        label = _mermaid_text(_shorten(entry.thought.thought))
        lines.append(f'    {entry.node}["{entry.thought.thought_number}: {label}"]')
    lines += _mermaid_edges(entries)
    classes = {
        "revision": [entry.node for entry in entries if entry.thought.is_revision is True],
        "branch": [entry.node for entry in entries if entry.branch is not None],
    }
    for name, nodes in classes.items():
        if nodes:
            lines.append(f"    classDef {name} {_CLASS_STYLES[name]}")
            lines.append(f"    class {','.join(nodes)} {name}")
    return "\n".join(lines)


# --- the export format --------------------------------------------------------------


def _thought_json(thought: Thought) -> dict[str, Any]:
    """A thought's fields by their names, in field order, those that are None left out."""
    fields = attrs.asdict(thought, recurse=False)
    return {key: value for key, value in fields.items() if value is not None}


def to_json(session: ThinkingSession, *, indent: int | None = 2) -> str:
    """``session`` as a JSON export, which :func:`from_json` reads back exactly.

    The document holds the format name and version, the session id, the
    creation and last activity times (nanoseconds since the epoch, with the
    same instants in ISO 8601 for people) and every thought with its fields
    by their names, fields that are None left out; see docs/rendering.md.
    Non-ASCII text is written as UTF-8. ``indent`` is passed to
    :func:`json.dumps`; ``None`` writes one line with no spaces.

    Raises:
        InvalidArgumentError: ``indent`` is not None nor an integer >= 0, or
            the session's times are outside 1970-9999 (a clock returned them).
    """
    session = _check_session(session)
    if indent is not None and (not isinstance(indent, int) or isinstance(indent, bool) or indent < 0):
        raise InvalidArgumentError("indent", indent, "must be None or an integer >= 0")
    created_ns, last_ns = _times(session)
    for ns in (created_ns, last_ns):
        if not isinstance(ns, int) or not 0 <= ns <= _MAX_NS:
            raise InvalidArgumentError(
                "session", session, f"has a time outside 1970-9999 ({ns!r} ns), which an export cannot hold"
            )
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "session_id": session.session_id,
        "created_at": _iso_ns(created_ns),
        "created_ns": created_ns,
        "last_activity": _iso_ns(last_ns),
        "last_activity_ns": last_ns,
        "thoughts": [_thought_json(thought) for thought in session.thought_history],
    }
    if indent is None:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(document, ensure_ascii=False, indent=indent)


class _Object(dict[str, Any]):
    """A JSON object as parsed, remembering the keys it gave more than once."""

    duplicates: tuple[str, ...] = ()


@attrs.frozen
class _Number:
    """A JSON number that is not an integer seqthink can hold: 1.5, 1e3, NaN, or 40 digits."""

    text: str


_MISSING: Final = object()
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Integers longer than this are kept as text: no field takes one, and Python's
#: int() refuses very long ones.
_MAX_DIGITS: Final = 40


def _object_hook(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object()
    duplicates: list[str] = []
    for key, value in pairs:
        if key in result and key not in duplicates:
            duplicates.append(key)
        result[key] = value
    result.duplicates = tuple(duplicates)
    return result


def _parse_int(text: str) -> int | _Number:
    return int(text) if len(text) <= _MAX_DIGITS else _Number(text)


def _show_text(text: str, limit: int = 60) -> str:
    """``text`` quoted as JSON, shortened, non-ASCII kept where it can be printed."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    shown = json.dumps(text, ensure_ascii=False)
    try:
        shown.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: spell every non-ASCII character as \uXXXX
        return json.dumps(text)
    return shown


def _show(value: object) -> str:
    """A short description of a JSON value, in JSON's spelling."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, _Number):
        return value.text if len(value.text) <= 60 else value.text[:57] + "..."
    if isinstance(value, str):
        return _show_text(value)
    return "a list" if isinstance(value, list) else "an object"


def _key_path(base: str, key: str) -> str:
    if len(key) <= 60 and _IDENTIFIER.fullmatch(key):
        return f"{base}.{key}"
    return f"{base}[{_show_text(key)}]"


def _parse(text: str | bytes) -> Any:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidExportError([("$", f"is not UTF-8 ({exc.reason} at byte {exc.start})")]) from None
    elif not isinstance(text, str):
        raise InvalidArgumentError("text", text, "must be a str or bytes")
    text = text.removeprefix("\N{BYTE ORDER MARK}")
    try:
        return json.loads(
            text,
            object_pairs_hook=_object_hook,
            parse_int=_parse_int,
            parse_float=_Number,
            parse_constant=_Number,
        )
    except RecursionError:
        raise InvalidExportError([("$", "is not valid JSON (nested too deeply)")]) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise InvalidExportError([("$", f"is not valid JSON ({exc.msg}: {where})")]) from None


class _Reader:
    """Reads a parsed export, collecting every problem with its path."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def problem(self, path: str, reason: str) -> None:
        self.problems.append((path, reason))

    def keys(self, obj: _Object, path: str, allowed: Sequence[str], required: Iterable[str]) -> None:
        """Report keys given twice, unknown keys and missing required keys."""
        for key in obj.duplicates:
            self.problem(_key_path(path, key), "is given more than once")
        for key in obj:
            if key not in allowed:
                self.problem(_key_path(path, key), "is not a key of a session export")
        for key in required:
            if key not in obj:
                self.problem(_key_path(path, key), "is required")

    def header(self, document: object) -> _Object:
        """The document, if it says it is an export of a version this reads; else raise."""
        if not isinstance(document, _Object):
            raise InvalidExportError([("$", f"must be a JSON object, got {_show(document)}")])
        found = document.get("format", _MISSING)
        if found is _MISSING:
            self.problem("$.format", f'is required: a session export says "format": "{EXPORT_FORMAT}"')
        elif type(found) is not str or found != EXPORT_FORMAT:
            self.problem("$.format", f'must be "{EXPORT_FORMAT}", got {_show(found)}')
        version = document.get("version", _MISSING)
        if version is _MISSING:
            self.problem("$.version", "is required")
        elif type(version) is not int:
            self.problem("$.version", f"must be the integer {EXPORT_VERSION}, got {_show(version)}")
        elif version != EXPORT_VERSION:
            self.problem("$.version", f"is {version}; this seqthink reads version {EXPORT_VERSION} only")
        if self.problems:  # the rest means nothing in an unknown format
            raise InvalidExportError(self.problems)
        return document

    def session_id(self, document: _Object) -> str | None:
        value = document.get("session_id", _MISSING)
        if value is _MISSING:
            return None
        try:
            return _rules.check_session_id(value)
        except InvalidSessionIdError as exc:
            self.problem("$.session_id", f"{exc.reason}, got {_show(value)}")
            return None

    def instant(self, document: _Object, ns_key: str, iso_key: str) -> int | None:
        """The nanoseconds under ``ns_key``, checked against the ISO time under ``iso_key``."""
        ns = document.get(ns_key, _MISSING)
        valid: int | None = None
        if ns is _MISSING:
            pass
        elif type(ns) is not int:
            self.problem(f"$.{ns_key}", f"must be an integer (nanoseconds since the epoch), got {_show(ns)}")
        elif not 0 <= ns <= _MAX_NS:
            self.problem(f"$.{ns_key}", f"must be between 0 and {_MAX_NS} (1970 to 9999), got {ns}")
        else:
            valid = ns
        iso = document.get(iso_key, _MISSING)
        if iso is _MISSING:
            pass
        elif type(iso) is not str:
            self.problem(f"$.{iso_key}", f"must be a string, got {_show(iso)}")
        elif valid is not None and iso != _iso_ns(valid):
            self.problem(
                f"$.{iso_key}", f'must be "{_iso_ns(valid)}", the time {ns_key} gives, got {_show(iso)}'
            )
        return valid

    def thoughts(self, document: _Object) -> list[Thought]:
        value = document.get("thoughts", _MISSING)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            self.problem("$.thoughts", f"must be a list, got {_show(value)}")
            return []
        found = []
        for index, item in enumerate(value):
            thought = self.thought(item, f"$.thoughts[{index}]")
            if thought is not None:
                found.append(thought)
        return found

    def thought(self, item: object, path: str) -> Thought | None:
        if not isinstance(item, _Object):
            self.problem(path, f"must be an object, got {_show(item)}")
            return None
        before = len(self.problems)
        self.keys(item, path, _THOUGHT_KEYS, _REQUIRED_THOUGHT_KEYS)
        fields: dict[str, Any] = {}
        for key in _THOUGHT_KEYS:
            value = item.get(key)
            if key not in item or (value is None and key not in _REQUIRED_THOUGHT_KEYS):
                continue
            try:
                _rules.check_field(key, value)
            except InvalidThoughtError as exc:
                self.problem(f"{path}.{key}", f"{exc.reason}, got {_show(value)}")
            fields[key] = value
        if len(self.problems) > before:
            return None
        return Thought(**fields)


def from_json(text: str | bytes, *, session_id: str | None = None) -> ThinkingSession:
    """The session in a JSON export written by :func:`to_json`.

    ``text`` is the export as a str or as UTF-8 bytes; one byte order mark
    at the start is skipped. It is read strictly: the ``format`` and
    ``version`` keys must be there with the values :func:`to_json` writes,
    no key may be unknown, missing or given twice, every value must have
    exactly its type (no ``true`` for 1, no ``"3"`` for 3, no ``3.0``, no
    NaN), each thought must pass the rules of :class:`~seqthink.Thought`,
    the session id must be valid, the ISO times must be exactly those the
    nanosecond counts give, and the session cannot have been active before it
    was created. An optional thought field may be ``null`` or left out.

    ``session_id``, when given, is the id of the returned session instead of
    the export's (to import a copy under another name).

    The returned session is not strict, has the default thought length
    limit and is ready for a store to save.

    Raises:
        InvalidExportError: ``text`` is not a valid export; ``problems``
            lists every problem found, each with its JSON path.
        InvalidSessionIdError: ``session_id`` is not a valid session id.
        InvalidArgumentError: ``text`` is neither str nor bytes.
    """
    if session_id is not None:
        _rules.check_session_id(session_id)
    reader = _Reader()
    document = reader.header(_parse(text))
    reader.keys(document, "$", _EXPORT_KEYS, _EXPORT_KEYS)
    exported_id = reader.session_id(document)
    created_ns = reader.instant(document, "created_ns", "created_at")
    last_ns = reader.instant(document, "last_activity_ns", "last_activity")
    if created_ns is not None and last_ns is not None and last_ns < created_ns:
        reader.problem("$.last_activity_ns", f"is earlier than created_ns ({last_ns} < {created_ns})")
    thoughts = reader.thoughts(document)
    if reader.problems:
        raise InvalidExportError(reader.problems)
    assert exported_id is not None
    assert created_ns is not None
    assert last_ns is not None
    chosen = exported_id if session_id is None else session_id
    record = SessionRecord.from_thoughts(chosen, created_ns, last_ns, thoughts)
    return ThinkingSession._from_record(record)  # noqa: SLF001
