"""MemoryStore, listing, age-based cleanup with an explicit "now", and delete.

Sessions get fixed clocks so that their ages are known; cleanup is then asked
about a chosen moment instead of the real time, which is how a test or a
scheduled job would call it.

    python examples/memory_and_cleanup.py
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import seqthink

if TYPE_CHECKING:
    from collections.abc import Callable

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def clock_at(moment: datetime) -> Callable[[], int]:
    """A clock that always reads ``moment``, in nanoseconds since the epoch."""
    ns = (moment - EPOCH) // timedelta(microseconds=1) * 1000
    return lambda: ns


def session_last_active(session_id: str, ago: timedelta, thoughts: int) -> seqthink.ThinkingSession:
    """A session whose thoughts were all recorded ``ago`` before NOW."""
    session = seqthink.ThinkingSession(session_id, clock=clock_at(NOW - ago))
    for n in range(1, thoughts + 1):
        session.think(f"{session_id}: thought {n}.")
    return session


def show(store: seqthink.SessionStore, title: str) -> None:
    print(title)
    for meta in store.list_sessions():  # most recently active first
        age = NOW - meta.last_activity
        print(f"  {meta.session_id:<12} {meta.total_thoughts} thoughts, idle {age}")


def main() -> None:
    store = seqthink.MemoryStore()
    for session_id, ago, thoughts in (
        ("last-week", timedelta(days=7), 4),
        ("yesterday", timedelta(hours=20), 2),
        ("just-now", timedelta(minutes=5), 3),
    ):
        store.save(session_last_active(session_id, ago, thoughts))
    show(store, "Stored:")

    # The store keeps copies: a restored session can change without touching it.
    draft = store.restore("just-now")
    draft.think("An unsaved afterthought.")
    print(f"Restored copy has {len(draft)} thoughts; the store still has {len(store.restore('just-now'))}")

    deleted = store.cleanup(timedelta(days=1), now=NOW)
    print(f"cleanup(older than 1 day) deleted: {deleted}")
    deleted = store.cleanup(timedelta(hours=1), now=NOW)
    print(f"cleanup(older than 1 hour) deleted: {deleted}")
    print(f"cleanup again deleted: {store.cleanup(timedelta(hours=1), now=NOW)}")
    show(store, "Left:")

    print(f"delete('just-now') -> {store.delete('just-now')}")
    print(f"delete('just-now') again -> {store.delete('just-now')}")
    print(f"exists('just-now') -> {store.exists('just-now')}; sessions left: {len(store.list_sessions())}")


if __name__ == "__main__":
    main()
