"""Exceptions raised by seqthink.

Every exception seqthink raises on purpose derives from :class:`SeqthinkError`.
Where a builtin exception means the same thing, the class derives from it too,
so callers may catch either: ``InvalidThoughtError`` is a ``ValueError`` and
``SessionNotFoundError`` is a ``KeyError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "CleanupError",
    "ConflictError",
    "CorruptSessionError",
    "InvalidArgumentError",
    "InvalidExportError",
    "InvalidSessionIdError",
    "InvalidThoughtError",
    "SeqthinkError",
    "SessionNotFoundError",
    "StoreConnectionError",
    "StoreError",
    "ToolInputError",
]


class SeqthinkError(Exception):
    """Base class of every error seqthink raises on purpose."""


class InvalidThoughtError(SeqthinkError, ValueError):
    """A thought was rejected; nothing was recorded.

    ``field`` names the offending field and ``value`` holds what was given.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}: {reason} (got {_show(value)})")


class InvalidSessionIdError(SeqthinkError, ValueError):
    """A session id is not of the allowed form; nothing was touched."""

    def __init__(self, session_id: object, reason: str) -> None:
        self.session_id = session_id
        self.reason = reason
        super().__init__(f"session_id: {reason} (got {_show(session_id)})")


class InvalidArgumentError(SeqthinkError, ValueError):
    """An argument other than a thought or a session id is not acceptable."""

    def __init__(self, name: str, value: object, reason: str) -> None:
        self.name = name
        self.value = value
        self.reason = reason
        super().__init__(f"{name}: {reason} (got {_show(value)})")


class InvalidExportError(SeqthinkError, ValueError):
    """Text given to :func:`seqthink.render.from_json` is not a valid session export.

    ``problems`` lists every problem found as ``(path, reason)``: ``path`` is a
    JSON path into the document (``$`` for the whole of it, then
    ``.key`` and ``[index]`` steps, such as ``$.thoughts[3].thought_number``),
    ``reason`` says what is wrong there. The message lists the first 20.
    Nothing is created.
    """

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        listed = "; ".join(f"{path}: {reason}" for path, reason in self.problems[:_LISTED])
        if len(self.problems) > _LISTED:
            listed += f"; and {len(self.problems) - _LISTED} more"
        super().__init__(f"not a valid seqthink session export: {listed}")


class SessionNotFoundError(SeqthinkError, KeyError):
    """No committed session with this id is in the store."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(session_id)

    def __str__(self) -> str:
        return f"no session {self.session_id!r} in the store"


class CorruptSessionError(SeqthinkError):
    """A stored session cannot be read back exactly.

    ``problems`` lists every bad file (or key) with what is wrong with it;
    the stored data is left as it was.
    """

    def __init__(self, session_id: str, problems: Sequence[tuple[str, str]]) -> None:
        self.session_id = session_id
        self.problems = tuple(problems)
        listed = "; ".join(f"{where}: {what}" for where, what in self.problems)
        super().__init__(f"session {session_id!r} cannot be read: {listed}")


class ConflictError(SeqthinkError):
    """The stored copy changed since this session was restored or last saved.

    Saving would overwrite thoughts another writer recorded, so nothing was
    written. Restore the session again and re-apply the new thoughts.
    """

    def __init__(self, session_id: str, detail: str) -> None:
        self.session_id = session_id
        super().__init__(f"session {session_id!r} changed in the store: {detail}")


class StoreError(SeqthinkError):
    """The store could not complete an operation (an I/O error, for example).

    The original exception is kept as ``__cause__``. The stored data stays at
    its previous committed state.
    """


class CleanupError(StoreError):
    """``cleanup`` could not read or delete some sessions; it went on with the others.

    ``deleted`` lists the ids it did delete (what ``cleanup`` would have
    returned), ``errors`` maps each session id it could not read or delete to
    the StoreError that stopped it; the first of those is ``__cause__``, and
    its own cause is the OSError. Those sessions are as they were. Call
    ``cleanup`` again once the cause is fixed.
    """

    def __init__(self, deleted: Sequence[str], errors: Mapping[str, StoreError]) -> None:
        self.deleted = list(deleted)
        self.errors = dict(errors)
        listed = "; ".join(f"{sid!r}: {error}" for sid, error in list(self.errors.items())[:_LISTED])
        more = f" (and {len(self.errors) - _LISTED} more)" if len(self.errors) > _LISTED else ""
        super().__init__(
            f"cleanup deleted {len(self.deleted)} session(s) but could not finish "
            f"{len(self.errors)}: {listed}{more}"
        )


class StoreConnectionError(StoreError):
    """The store's server could not be reached, or did not answer in time.

    The original exception (redis-py's ConnectionError or TimeoutError) is kept
    as ``__cause__``. Each write is applied whole or not at all; when the
    connection failed after a write was sent, it may have been applied, and
    the store's own retries never apply one twice.
    """


class ToolInputError(SeqthinkError, ValueError):
    """A tool call's arguments were refused; nothing was recorded.

    ``problems`` lists every bad argument as ``(name, value, reason)``, the
    name spelled as the caller spelled it (``thoughtNumber`` or
    ``thought_number``). The message names each one with its value.
    """

    def __init__(self, problems: Sequence[tuple[str, object, str]]) -> None:
        self.problems = tuple(problems)
        listed = "; ".join(f"{name}: {reason} (got {_show(value)})" for name, value, reason in self.problems)
        super().__init__(f"invalid arguments: {listed}")


#: An InvalidExportError's message lists at most this many of its problems.
_LISTED = 20


def _show(value: object, limit: int = 80) -> str:
    """A short, safe rendering of a rejected value for an error message."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text
