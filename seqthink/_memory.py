"""MemoryStore: the store's behaviour in process, for tests and short-lived hosts."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from seqthink._session import SessionMetadata, SessionRecord
from seqthink._store import SessionStore
from seqthink.errors import SessionNotFoundError

if TYPE_CHECKING:
    from collections.abc import Collection

    from seqthink._thought import Thought


class MemoryStore(SessionStore):
    """Keeps sessions in a dict. Thread-safe; stores copies, never live objects.

    Changing a restored session does not change the stored one until it is
    saved. Everything is lost when the process ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # session id -> (created_ns, last_activity_ns, thoughts)
        self._sessions: dict[str, tuple[int, int, list[Thought]]] = {}

    def _save(self, record: SessionRecord, known: Collection[tuple[int, int]]) -> None:
        with self._lock:
            stored = self._sessions.get(record.session_id)
            token = None if stored is None else (stored[0], len(stored[2]), stored[1])
            keep = self._plan_save(
                record.session_id,
                stored=token,
                known=known,
                created_ns=record.created_ns,
                count=len(record.thoughts),
            )
            if keep is None:
                return  # the store holds all of this record already
            thoughts = [] if stored is None else stored[2]
            thoughts.extend(record.thoughts[keep:])
            self._sessions[record.session_id] = (record.created_ns, record.last_activity_ns, thoughts)

    def _load(self, session_id: str) -> SessionRecord:
        with self._lock:
            stored = self._sessions.get(session_id)
            if stored is None:
                raise SessionNotFoundError(session_id)
            created, last, thoughts = stored
            return SessionRecord.from_thoughts(session_id, created, last, tuple(thoughts))

    def _delete(self, session_id: str) -> bool:
        with self._lock:
            return self._sessions.pop(session_id, None) is not None

    def _exists(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._sessions

    def _list(self) -> list[SessionMetadata]:
        with self._lock:
            items = [(sid, created, last, tuple(ts)) for sid, (created, last, ts) in self._sessions.items()]
        return [SessionRecord.from_thoughts(*item).metadata for item in items]

    def _cleanup(self, cutoff_ns: int, limit: int | None) -> list[str]:
        with self._lock:
            old = sorted(
                ((last, sid) for sid, (_, last, _) in self._sessions.items() if last < cutoff_ns),
            )[:limit]
            for _, sid in old:
                del self._sessions[sid]
        return [sid for _, sid in old]
