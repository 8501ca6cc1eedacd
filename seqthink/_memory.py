"""MemoryStore: the store's behaviour in process, for tests and short-lived hosts."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from seqthink._session import SessionMetadata, SessionRecord, ThinkingSession
from seqthink._store import SessionStore
from seqthink.errors import SessionNotFoundError

if TYPE_CHECKING:
    from collections.abc import Collection

    from seqthink._thought import Thought, ThoughtResult


class MemoryStore(SessionStore):
    """Keeps sessions in a dict. Thread-safe; stores copies, never live objects.

    Changing a restored session does not change the stored one until it is
    saved. Everything is lost when the process ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Private sessions, never handed out: restore copies them, append adds to them.
        self._sessions: dict[str, ThinkingSession] = {}

    def _save(self, record: SessionRecord, known: Collection[tuple[int, int]]) -> None:
        with self._lock:
            stored = self._sessions.get(record.session_id)
            token = None if stored is None else (stored._created_ns, len(stored), stored._last_activity_ns)
            keep = self._plan_save(
                record.session_id,
                stored=token,
                known=known,
                created_ns=record.created_ns,
                count=len(record.thoughts),
            )
            if keep is None:
                return  # the store holds all of this record already
            if stored is None:
                stored = self._sessions[record.session_id] = ThinkingSession(record.session_id)
            stored._created_ns = record.created_ns
            for thought in record.thoughts[keep:]:
                stored._append(thought)
            stored._last_activity_ns = record.last_activity_ns

    def _append(
        self, session_id: str, thought: Thought, *, strict: bool, max_thought_length: int
    ) -> ThoughtResult:
        with self._lock:  # one step under the lock: no restore, no retry
            stored = self._sessions.get(session_id)
            if stored is None:  # (not `or`: an empty session is falsy, having no thoughts)
                stored = ThinkingSession(session_id)
            stored._strict, stored._max_thought_length = strict, max_thought_length
            result = stored.add_thought(thought)  # a refused thought changes nothing
            self._sessions[session_id] = stored
            return result

    def _load(self, session_id: str) -> SessionRecord:
        with self._lock:
            stored = self._sessions.get(session_id)
            if stored is None:
                raise SessionNotFoundError(session_id)
            return SessionRecord.from_thoughts(
                session_id, stored._created_ns, stored._last_activity_ns, tuple(stored._history)
            )

    def _delete(self, session_id: str) -> bool:
        with self._lock:
            return self._sessions.pop(session_id, None) is not None

    def _exists(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._sessions

    def _list(self) -> list[SessionMetadata]:
        with self._lock:
            return [stored.metadata for stored in self._sessions.values()]

    def _cleanup(self, cutoff_ns: int, limit: int | None) -> list[str]:
        with self._lock:
            old = sorted(
                (stored._last_activity_ns, sid)
                for sid, stored in self._sessions.items()
                if stored._last_activity_ns < cutoff_ns
            )[:limit]
            for _, sid in old:
                del self._sessions[sid]
        return [sid for _, sid in old]
