"""SessionStore: what users call, kept apart from what a backend implements.

The public methods check their arguments and keep the session's bookkeeping;
then they call the backend's underscore methods, which see only plain values
(session ids, :class:`SessionRecord`). Each async twin calls an async
backend hook whose default runs the sync hook in a worker thread, one hop per
call, written once here. A natively async backend overrides the async hooks.
"""

from __future__ import annotations

import abc
import asyncio
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from seqthink import _rules
from seqthink._session import (
    SessionMetadata,
    SessionRecord,
    ThinkingSession,
    check_options,
    datetime_to_ns,
)
from seqthink._thought import Thought, ThoughtResult
from seqthink.errors import ConflictError, InvalidArgumentError, SessionNotFoundError

if TYPE_CHECKING:
    from collections.abc import Collection

    from typing_extensions import Self


class SessionStore(abc.ABC):
    """Where sessions are saved, restored, listed, deleted and aged out.

    Nothing happens in the background: every method does its work when it is
    called and returns when it is done.
    """

    # --- what users call -----------------------------------------------------

    def close(self) -> None:  # noqa: B027 - a store holding nothing has nothing to close
        """Release what the store holds open (file descriptors, connections).

        The store stays usable: a later call opens what it needs again. A
        store is also a context manager that closes it on exit. This default
        holds nothing.
        """

    async def aclose(self) -> None:
        """:meth:`close`, for a store used from an event loop (``async with store:``)."""
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def save(self, session: ThinkingSession) -> None:
        """Commit ``session``: its thoughts not yet stored, then its metadata.

        Raises ConflictError, writing nothing, when the stored copy changed
        since ``session`` was restored or last saved (another writer recorded
        thoughts), or when another session with this id is stored.
        """
        record = _snapshot(session)
        self._save(record, session._known)

    async def asave(self, session: ThinkingSession) -> None:
        """:meth:`save`, without blocking the event loop.

        The session is captured before the call hands over to the store, so
        thoughts recorded while it runs are simply left for the next save.
        """
        record = _snapshot(session)
        await self._asave(record, session._known)

    def restore(
        self,
        session_id: str,
        *,
        strict: bool = False,
        max_thought_length: int = _rules.DEFAULT_MAX_THOUGHT_LENGTH,
    ) -> ThinkingSession:
        """Read a committed session back; the stored copy is left as it is.

        Raises SessionNotFoundError when there is none and CorruptSessionError,
        naming every bad part, when it cannot be read back exactly.
        ``strict`` and ``max_thought_length`` apply to thoughts recorded later.
        """
        check_options(strict=strict, max_thought_length=max_thought_length)
        record = self._load(_rules.check_session_id(session_id))
        return ThinkingSession._from_record(record, strict=strict, max_thought_length=max_thought_length)

    async def arestore(
        self,
        session_id: str,
        *,
        strict: bool = False,
        max_thought_length: int = _rules.DEFAULT_MAX_THOUGHT_LENGTH,
    ) -> ThinkingSession:
        """:meth:`restore`, without blocking the event loop."""
        check_options(strict=strict, max_thought_length=max_thought_length)
        record = await self._aload(_rules.check_session_id(session_id))
        return ThinkingSession._from_record(record, strict=strict, max_thought_length=max_thought_length)

    def append(
        self,
        session_id: str,
        thought: Thought,
        *,
        strict: bool = False,
        max_thought_length: int = _rules.DEFAULT_MAX_THOUGHT_LENGTH,
    ) -> ThoughtResult:
        """Record one thought on the newest stored state of a session, and commit it.

        The session is created if the store has none with this id. Unlike
        restore-think-save, this never raises ConflictError: writers appending
        to one session at once each get their thought stored exactly once.
        ``strict`` and ``max_thought_length`` are the session rules applied to
        this thought; a refused thought raises InvalidThoughtError and stores
        nothing.
        """
        self._check_append(session_id, thought, strict, max_thought_length)
        return self._append(session_id, thought, strict=strict, max_thought_length=max_thought_length)

    async def aappend(
        self,
        session_id: str,
        thought: Thought,
        *,
        strict: bool = False,
        max_thought_length: int = _rules.DEFAULT_MAX_THOUGHT_LENGTH,
    ) -> ThoughtResult:
        """:meth:`append`, without blocking the event loop."""
        self._check_append(session_id, thought, strict, max_thought_length)
        return await self._aappend(session_id, thought, strict=strict, max_thought_length=max_thought_length)

    @staticmethod
    def _check_append(
        session_id: object, thought: object, strict: object, max_thought_length: object
    ) -> None:
        _rules.check_session_id(session_id)
        check_options(strict=strict, max_thought_length=max_thought_length)
        if not isinstance(thought, Thought):
            raise InvalidArgumentError("thought", thought, "must be a seqthink.Thought")

    def delete(self, session_id: str) -> bool:
        """Remove a session; True if there was anything stored under this id."""
        return self._delete(_rules.check_session_id(session_id))

    async def adelete(self, session_id: str) -> bool:
        """:meth:`delete`, without blocking the event loop."""
        return await self._adelete(_rules.check_session_id(session_id))

    def exists(self, session_id: str) -> bool:
        """True if a committed session with this id is stored."""
        return self._exists(_rules.check_session_id(session_id))

    async def aexists(self, session_id: str) -> bool:
        """:meth:`exists`, without blocking the event loop."""
        return await self._aexists(_rules.check_session_id(session_id))

    def list_sessions(self) -> list[SessionMetadata]:
        """Metadata of every readable stored session, most recently active first."""
        return _newest_first(self._list())

    async def alist_sessions(self) -> list[SessionMetadata]:
        """:meth:`list_sessions`, without blocking the event loop."""
        return _newest_first(await self._alist())

    def cleanup(
        self, older_than: timedelta, *, now: datetime | None = None, limit: int | None = None
    ) -> list[str]:
        """Delete the sessions last active more than ``older_than`` before ``now``.

        Decides from each session's committed ``last_activity``; sessions that
        cannot be read are left in place and logged. Deletes the oldest first,
        at most ``limit`` of them when it is given, and returns their ids; call
        again to go on. Running it twice, or again after an interruption, is
        safe.
        """
        cutoff = _cutoff(older_than, now, limit)
        return [] if cutoff is None else self._cleanup(cutoff, limit)

    async def acleanup(
        self, older_than: timedelta, *, now: datetime | None = None, limit: int | None = None
    ) -> list[str]:
        """:meth:`cleanup`, without blocking the event loop."""
        cutoff = _cutoff(older_than, now, limit)
        return [] if cutoff is None else await self._acleanup(cutoff, limit)

    # --- what a backend implements -------------------------------------------
    # Session ids reaching these methods are already valid.

    #: The conflict rule, for backends: see :func:`seqthink._rules.plan_save`.
    _plan_save = staticmethod(_rules.plan_save)

    @abc.abstractmethod
    def _save(self, record: SessionRecord, known: Collection[tuple[int, int]]) -> None:
        """Commit ``record`` atomically, adding to the stored copy when it is in a ``known`` state.

        Under one lock or transaction: read the stored copy's (created_ns,
        thought count, last_activity_ns), ask :meth:`_plan_save` how many
        stored thoughts to keep (None: nothing to write; it raises
        ConflictError for a copy this session never had), then write the rest.
        ``known`` is live: read it at that moment, not before.
        """

    @abc.abstractmethod
    def _load(self, session_id: str) -> SessionRecord:
        """The committed record, or SessionNotFoundError / CorruptSessionError."""

    @abc.abstractmethod
    def _delete(self, session_id: str) -> bool: ...

    @abc.abstractmethod
    def _exists(self, session_id: str) -> bool: ...

    @abc.abstractmethod
    def _list(self) -> list[SessionMetadata]:
        """Metadata of every readable committed session, in any order."""

    @abc.abstractmethod
    def _cleanup(self, cutoff_ns: int, limit: int | None) -> list[str]:
        """Delete sessions whose committed last activity is before ``cutoff_ns``.

        Oldest first, at most ``limit`` (all when None); return their ids.
        """

    def _append(
        self, session_id: str, thought: Thought, *, strict: bool, max_thought_length: int
    ) -> ThoughtResult:
        """Record ``thought`` on the newest stored state.

        This default restores, adds and saves, and starts again when another
        writer got in between (ConflictError). A backend with a lock or
        transaction overrides it to do the work once, under the lock.
        """
        while True:
            try:
                session = ThinkingSession._from_record(
                    self._load(session_id), strict=strict, max_thought_length=max_thought_length
                )
            except SessionNotFoundError:
                session = ThinkingSession(session_id, strict=strict, max_thought_length=max_thought_length)
            result = session.add_thought(thought)
            try:
                self._save(session._snapshot(), session._known)
            except ConflictError:
                continue
            return result

    # The async hooks: one worker-thread hop each, unless a backend is natively async.

    async def _asave(self, record: SessionRecord, known: Collection[tuple[int, int]]) -> None:
        await asyncio.to_thread(self._save, record, known)

    async def _aload(self, session_id: str) -> SessionRecord:
        return await asyncio.to_thread(self._load, session_id)

    async def _adelete(self, session_id: str) -> bool:
        return await asyncio.to_thread(self._delete, session_id)

    async def _aexists(self, session_id: str) -> bool:
        return await asyncio.to_thread(self._exists, session_id)

    async def _alist(self) -> list[SessionMetadata]:
        return await asyncio.to_thread(self._list)

    async def _acleanup(self, cutoff_ns: int, limit: int | None) -> list[str]:
        return await asyncio.to_thread(self._cleanup, cutoff_ns, limit)

    async def _aappend(
        self, session_id: str, thought: Thought, *, strict: bool, max_thought_length: int
    ) -> ThoughtResult:
        return await asyncio.to_thread(
            self._append, session_id, thought, strict=strict, max_thought_length=max_thought_length
        )


def _snapshot(session: object) -> SessionRecord:
    if not isinstance(session, ThinkingSession):
        raise InvalidArgumentError("session", session, "must be a seqthink.ThinkingSession")
    _rules.check_session_id(session.session_id)  # checked again right before any path is built
    return session._snapshot()


def _newest_first(found: list[SessionMetadata]) -> list[SessionMetadata]:
    found.sort(key=lambda m: m.session_id)
    found.sort(key=lambda m: m.last_activity, reverse=True)
    return found


def _cutoff(older_than: object, now: object, limit: object) -> int | None:
    """The cutoff in ns for cleanup's arguments; None when it lies before year 1."""
    if limit is not None and (type(limit) is not int or limit < 1):
        raise InvalidArgumentError("limit", limit, "must be an integer >= 1 or None")
    if not isinstance(older_than, timedelta):
        raise InvalidArgumentError("older_than", older_than, "must be a datetime.timedelta")
    if older_than < timedelta(0):
        raise InvalidArgumentError("older_than", older_than, "must not be negative")
    if now is None:
        now = datetime.now(timezone.utc)
    elif not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidArgumentError("now", now, "must be a timezone-aware datetime")
    try:
        return datetime_to_ns(now - older_than)
    except OverflowError:  # nothing can be that old
        return None
