"""The tool's argument rules: from a JSON object an LLM client sent to a Thought.

Pure: a mapping goes in, a :class:`ToolCall` comes out or ToolInputError is
raised listing every bad argument. Both dialects are read: the reference
server's camelCase names and the seed's snake_case names. Coercion goes as far
as LLM clients need and no further: numeric strings become integers and
"true"/"false" in any case become booleans; nothing else is guessed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Final

import attrs

from seqthink import _rules
from seqthink._thought import Thought
from seqthink.errors import InvalidSessionIdError, InvalidThoughtError, ToolInputError


class _Missing:
    """The value of an argument that was not given, as error messages show it."""

    def __repr__(self) -> str:
        return "nothing"


MISSING: Final = _Missing()

#: (Thought field, camelCase name, kind, required) for every argument.
FIELDS: Final[tuple[tuple[str, str, type, bool], ...]] = (
    ("thought", "thought", str, True),
    ("next_thought_needed", "nextThoughtNeeded", bool, True),
    ("thought_number", "thoughtNumber", int, True),
    ("total_thoughts", "totalThoughts", int, True),
    ("is_revision", "isRevision", bool, False),
    ("revises_thought", "revisesThought", int, False),
    ("branch_from_thought", "branchFromThought", int, False),
    ("branch_id", "branchId", str, False),
    ("needs_more_thoughts", "needsMoreThoughts", bool, False),
)
SESSION_ID_NAMES: Final = ("session_id", "sessionId")

_DIGITS = re.compile(r"[0-9]{1,20}")
_Problem = tuple[str, object, str]


@attrs.frozen
class ToolCall:
    """A call's validated arguments: the session named (None for the default) and the thought.

    ``names`` maps each Thought field to the name the caller used for it, so
    a later refusal (by the session's rules) can name the field as sent.
    """

    session_id: str | None
    thought: Thought
    names: Mapping[str, str]


def parse_call(arguments: object) -> ToolCall:
    """Validate a tool call's arguments; raise ToolInputError naming every bad one."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        raise ToolInputError([("arguments", arguments, "must be a JSON object")])
    problems: list[_Problem] = []
    values: dict[str, object] = {}
    names: dict[str, str] = {}
    for field, camel, kind, required in FIELDS:
        name, value = _pick(arguments, field, camel, kind, problems)
        names[field] = name
        if value is None and required:
            if name not in {p[0] for p in problems}:
                problems.append((name, arguments.get(name, MISSING), "is required"))
            continue
        values[field] = value
    session_name, session_id = _pick(arguments, SESSION_ID_NAMES[0], SESSION_ID_NAMES[1], str, problems)
    if session_id is not None:
        try:
            _rules.check_session_id(session_id)
        except InvalidSessionIdError as exc:
            problems.append((session_name, session_id, exc.reason))
    if problems:
        raise ToolInputError(problems)
    thought = Thought(**values)  # type: ignore[arg-type]  # every field was checked above
    return ToolCall(
        session_id=session_id if isinstance(session_id, str) else None, thought=thought, names=names
    )


def _pick(
    arguments: Mapping[object, object], snake: str, camel: str, kind: type, problems: list[_Problem]
) -> tuple[str, object]:
    """The name used and the coerced value (None when absent) of one argument.

    Adds to ``problems`` when the value cannot be taken, or when both
    spellings are given with values that differ.
    """
    given = [name for name in dict.fromkeys((camel, snake)) if name in arguments]
    if not given:
        return camel, None
    taken: list[tuple[str, object]] = []
    for name in given:
        value = _coerce(snake, arguments[name], kind)
        if isinstance(value, _Refusal):
            problems.append((name, arguments[name], value.reason))
        else:
            taken.append((name, value))
    if len(taken) < len(given):
        return given[0], None
    (first, value), *rest = taken
    for other, other_value in rest:
        if other_value != value or type(other_value) is not type(value):
            reason = f"is also given as {other} with a different value ({arguments[other]!r})"
            problems.append((first, arguments[first], reason))
            return first, None
    return first, value


@attrs.frozen
class _Refusal:
    """Why an argument's value cannot be taken."""

    reason: str


def _coerce(field: str, value: object, kind: type) -> object:
    """One argument's value as the Thought field wants it, or a _Refusal saying why not."""
    if value is None:
        return None  # absent; a required field is reported by the caller
    if kind is bool:
        return _boolean(value)
    taken = _integer(value) if kind is int else _string(field, value)
    if isinstance(taken, _Refusal) or taken is None or field == "session_id":
        return taken  # (a session id is checked by the caller, with the session id rules)
    return _checked(field, taken)


def _string(field: str, value: object) -> str | _Refusal | None:
    if not isinstance(value, str):
        return _Refusal("must be a string")
    if field == "branch_id" and not value:
        return None  # the reference reads an empty branch id as no branch id
    return value


def _checked(field: str, value: object) -> object:
    try:
        _rules.check_field(field, value)
    except InvalidThoughtError as exc:
        return _Refusal(exc.reason)
    return value


def _integer(value: object) -> int | _Refusal:
    if isinstance(value, bool):
        return _Refusal("must be an integer, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)  # JSON has one number type: 2.0 is the integer 2
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, (float, str)):
        return _Refusal("must be a whole number (an integer, or a string of digits)")
    return _Refusal("must be an integer")


def _boolean(value: object) -> bool | _Refusal:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return _Refusal('must be true or false (or the string "true" or "false")')
