"""Every rule of seqthink, in one pure module.

Functions here take values and return values or raise; they read no clock,
draw no random numbers, log nothing and touch no file. The session and the
stores supply time, ids and bytes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from seqthink.errors import ConflictError, InvalidSessionIdError, InvalidThoughtError

if TYPE_CHECKING:
    from collections.abc import Collection

    from seqthink._thought import Thought

#: Thought numbers are stored by the seed as unsigned 32-bit integers.
MAX_NUMBER = 2**32 - 1
#: The longest branch id accepted, in characters.
MAX_BRANCH_ID_LENGTH = 256
#: The default limit on a thought's text, in characters.
DEFAULT_MAX_THOUGHT_LENGTH = 100_000

_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: Names Windows reserves for devices, with or without an extension ("CON", "nul.txt").
_DEVICE_NAME = re.compile(r"(?i)(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# --- identifiers -----------------------------------------------------------


def check_session_id(value: object) -> str:
    """Return ``value`` if it is a valid session id, else raise InvalidSessionIdError.

    A session id is 1 to 128 characters of ``A-Z a-z 0-9 . _ -``, starting with
    a letter or digit, so it is always a safe single path component; it may
    not end with a dot nor be a Windows device name, so it is one on every
    system.
    """
    if not isinstance(value, str):
        raise InvalidSessionIdError(value, "must be a string")
    if _SESSION_ID.fullmatch(value) is None:
        raise InvalidSessionIdError(
            value,
            "must be 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
        )
    # So that an id valid on one system is a valid folder name on every one:
    if value.endswith("."):
        raise InvalidSessionIdError(value, "must not end with '.' (Windows drops it from folder names)")
    if _DEVICE_NAME.fullmatch(value):
        raise InvalidSessionIdError(
            value, "must not be a name Windows reserves for a device (CON, NUL, COM1, ...)"
        )
    return value


def is_session_id(value: object) -> bool:
    """Whether :func:`check_session_id` accepts ``value`` (for names found in a listing)."""
    try:
        check_session_id(value)
    except InvalidSessionIdError:
        return False
    return True


def check_branch_id(value: object) -> None:
    """Raise InvalidThoughtError unless ``value`` is a usable branch id."""
    if not isinstance(value, str):
        raise InvalidThoughtError("branch_id", value, "must be a string or None")
    if not value:
        raise InvalidThoughtError("branch_id", value, "must not be empty")
    if len(value) > MAX_BRANCH_ID_LENGTH:
        raise InvalidThoughtError(
            "branch_id", value, f"must be at most {MAX_BRANCH_ID_LENGTH} characters, has {len(value)}"
        )
    if _CONTROL.search(value):
        raise InvalidThoughtError("branch_id", value, "must not contain control characters")
    if not _encodable(value):
        raise InvalidThoughtError("branch_id", value, "cannot be encoded as UTF-8 (lone surrogate)")


# --- one thought on its own ------------------------------------------------


def check_thought(thought: Thought) -> None:
    """Check the fields of one thought on their own; raise InvalidThoughtError."""
    text, number, total = thought.thought, thought.thought_number, thought.total_thoughts
    if (  # the common case, a plain thought with every field fine, in one expression
        type(text) is str
        and text
        and not text.isspace()
        and text.isascii()
        and type(number) is int
        and 1 <= number <= MAX_NUMBER
        and type(total) is int
        and 1 <= total <= MAX_NUMBER
        and (thought.next_thought_needed is True or thought.next_thought_needed is False)
        and thought.is_revision is None
        and thought.revises_thought is None
        and thought.branch_from_thought is None
        and thought.branch_id is None
        and thought.needs_more_thoughts is None
    ):
        return
    _check_text(thought.thought)
    _check_number("thought_number", thought.thought_number, optional=False)
    _check_number("total_thoughts", thought.total_thoughts, optional=False)
    _check_bool("next_thought_needed", thought.next_thought_needed, optional=False)
    _check_bool("is_revision", thought.is_revision, optional=True)
    _check_number("revises_thought", thought.revises_thought, optional=True)
    _check_number("branch_from_thought", thought.branch_from_thought, optional=True)
    if thought.branch_id is not None:
        check_branch_id(thought.branch_id)
    _check_bool("needs_more_thoughts", thought.needs_more_thoughts, optional=True)


def check_field(field: str, value: object) -> None:
    """Check one Thought field's value on its own; raise InvalidThoughtError."""
    if field == "thought":
        _check_text(value)
    elif field == "branch_id":
        if value is not None:
            check_branch_id(value)
    elif field in {"thought_number", "total_thoughts"}:
        _check_number(field, value, optional=False)
    elif field in {"revises_thought", "branch_from_thought"}:
        _check_number(field, value, optional=True)
    else:
        _check_bool(field, value, optional=field != "next_thought_needed")


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise InvalidThoughtError("thought", text, "must be a string")
    if not text or text.isspace():  # (as `not text.strip()`, without the copy)
        raise InvalidThoughtError("thought", text, "must not be empty or only white space")
    if not _encodable(text):
        raise InvalidThoughtError("thought", text, "cannot be encoded as UTF-8 (lone surrogate)")


def _check_number(field: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        kind = "an integer or None" if optional else "an integer"
        raise InvalidThoughtError(field, value, f"must be {kind}")
    if not 1 <= value <= MAX_NUMBER:
        raise InvalidThoughtError(field, value, f"must be between 1 and {MAX_NUMBER}")


def _check_bool(field: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, bool):
        kind = "true, false or None" if optional else "true or false"
        raise InvalidThoughtError(field, value, f"must be {kind}")


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- one thought against the session it joins -------------------------------


def assess(
    thought: Thought,
    *,
    recorded: Collection[int],
    strict: bool,
    max_length: int,
) -> tuple[int, tuple[str, ...]]:
    """Decide how ``thought`` joins a session whose thought numbers are ``recorded``.

    Returns the ``total_thoughts`` to record (raised to the thought number when
    lower) and the warnings about dangling references. Raises
    InvalidThoughtError for a thought over ``max_length`` characters, and for
    any warning when ``strict`` is true.
    """
    if len(thought.thought) > max_length:
        raise InvalidThoughtError(
            "thought",
            thought.thought,
            f"is {len(thought.thought)} characters long; the limit is {max_length}",
        )
    if (
        thought.is_revision is None
        and thought.revises_thought is None
        and thought.branch_from_thought is None
        and thought.branch_id is None
    ):
        return max(thought.total_thoughts, thought.thought_number), ()  # nothing to warn about
    warnings = _revision_warnings(thought, recorded) + _branch_warnings(thought, recorded)
    if strict and warnings:
        field, message = warnings[0]
        raise InvalidThoughtError(field, getattr(thought, field), message)
    total = max(thought.total_thoughts, thought.thought_number)
    return total, tuple(message for _, message in warnings)


def _revision_warnings(thought: Thought, recorded: Collection[int]) -> list[tuple[str, str]]:
    """(field given, message) for each doubtful revision field of ``thought``."""
    number, revises = thought.thought_number, thought.revises_thought
    found = []
    if revises is None:
        if thought.is_revision is True:
            message = f"thought {number} is a revision but does not say which thought it revises"
            found.append(("is_revision", message))
        return found
    if revises not in recorded:
        found.append(("revises_thought", f"thought {number} revises thought {revises}, {_absent(recorded)}"))
    if thought.is_revision is not True:
        message = f"thought {number} gives revises_thought={revises} but is_revision is not true"
        found.append(("revises_thought", message))
    return found


def _branch_warnings(thought: Thought, recorded: Collection[int]) -> list[tuple[str, str]]:
    """(field given, message) for each doubtful branch field of ``thought``."""
    number, origin, branch_id = thought.thought_number, thought.branch_from_thought, thought.branch_id
    found = []
    if origin is None:
        if branch_id is not None:
            message = (
                f"thought {number} names branch {branch_id!r} but no branch_from_thought, so joins no branch"
            )
            found.append(("branch_id", message))
        return found
    if origin not in recorded:
        message = f"thought {number} branches from thought {origin}, {_absent(recorded)}"
        found.append(("branch_from_thought", message))
    if branch_id is None:
        message = f"thought {number} branches from thought {origin} but has no branch_id, so joins no branch"
        found.append(("branch_from_thought", message))
    return found


def _absent(recorded: Collection[int]) -> str:
    return f"which is not in this session ({describe_numbers(recorded)})"


def describe_numbers(numbers: Collection[int]) -> str:
    """Say briefly which thought numbers a session holds: 'has 1-6', 'has none'."""
    if not numbers:
        return "it has no thoughts yet"
    ordered = sorted(numbers)
    runs: list[str] = []
    start = prev = ordered[0]
    for n in ordered[1:]:
        if n != prev + 1:
            runs.append(f"{start}-{prev}" if start != prev else str(start))
            start = n
        prev = n
    runs.append(f"{start}-{prev}" if start != prev else str(start))
    if len(runs) > 6:
        runs = [*runs[:3], "...", *runs[-2:]]
    return "it has " + ", ".join(runs)


def branch_of(thought: Thought) -> str | None:
    """The branch a thought joins: its id when both branch fields are set."""
    if thought.branch_from_thought is not None and thought.branch_id is not None:
        return thought.branch_id
    return None


# --- saving over a stored copy ---------------------------------------------


def plan_save(
    session_id: str,
    *,
    stored: tuple[int, int, int] | None,
    known: Collection[tuple[int, int]],
    created_ns: int,
    count: int,
) -> int | None:
    """How many of a session's ``count`` thoughts the store holds already.

    ``stored`` is the committed copy as (created_ns, thought count,
    last_activity_ns), or None when the store has none. ``known`` holds the
    (thought count, last_activity_ns) of the states this session was restored
    as or handed to a store to save. A stored copy in one of those states is
    exactly a prefix of this session: the store keeps it and adds the rest,
    and when it already holds as many thoughts as the record or more (an
    overlapping save of the same session got there first), there is nothing
    to write and None is returned. Any other stored copy holds thoughts this
    session has not seen, and saving over it would lose them, so
    ConflictError is raised.
    """
    if stored is None:
        return 0
    stored_created, stored_count, stored_last = stored
    if stored_created != created_ns:
        raise ConflictError(
            session_id,
            f"the store holds another session with this id ({stored_count} thoughts, created at a "
            "different time); restore it, or pick another id",
        )
    if (stored_count, stored_last) not in known:
        raise ConflictError(
            session_id,
            f"the store holds {stored_count} thoughts in a state this copy never had: another writer "
            "recorded thoughts since it was restored or saved, so restore it again and re-apply",
        )
    return None if stored_count >= count else stored_count
