"""A host's cleanup job for a FileSystemStore: bounded rounds, and what to do when the disk fails.

Nothing in seqthink runs in the background; a host that wants idle sessions gone
calls cleanup() from a job of its own. This one deletes sessions idle for more
than a week, at most 100 per call, and keeps going until there are none left.
If the disk fails under some sessions, cleanup deletes the others first and
then raises CleanupError, which says what it deleted and what it could not.

The store is used as a context manager, which closes the folders it holds open
for appends when the job is done.

    python examples/scheduled_cleanup.py
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import seqthink
from seqthink.errors import CleanupError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def stored_session(store: seqthink.FileSystemStore, session_id: str, idle: timedelta) -> None:
    """Save a one-thought session last active ``idle`` before NOW."""
    ns = (NOW - idle - EPOCH) // timedelta(microseconds=1) * 1000
    session = seqthink.ThinkingSession(session_id, clock=lambda: ns)
    session.think(f"{session_id}: the only thought.", next_thought_needed=False)
    store.save(session)


def cleanup_job(store: seqthink.SessionStore, idle: timedelta, per_round: int) -> list[str]:
    """Delete every session idle for longer than ``idle``, ``per_round`` at a time."""
    deleted: list[str] = []
    while True:
        try:
            batch = store.cleanup(idle, now=NOW, limit=per_round)
        except CleanupError as error:  # some sessions could not be read or deleted
            deleted += error.deleted
            for session_id, cause in error.errors.items():
                print(f"  could not clean up {session_id}: {type(cause.__cause__).__name__}")
            return deleted  # try those again on the job's next run
        if not batch:
            return deleted
        deleted += batch


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, seqthink.FileSystemStore(folder, durable=False) as store:
        for k in range(5):
            stored_session(store, f"old-{k}", timedelta(days=30 + k))
        stored_session(store, "recent", timedelta(hours=2))

        deleted = cleanup_job(store, timedelta(days=7), per_round=2)
        print(f"first run deleted {sorted(deleted)}")

        # Make one session's lock impossible to take (a folder where its lock file goes),
        # as a disk error would: the job deletes the others and reports that one.
        for k in range(3):
            stored_session(store, f"stale-{k}", timedelta(days=10))
        lock = Path(folder) / ".locks" / "stale-1.lock"
        lock.unlink()
        lock.mkdir()
        deleted = cleanup_job(store, timedelta(days=7), per_round=2)
        print(f"second run deleted {sorted(deleted)}")

        lock.rmdir()
        print(f"third run deleted {cleanup_job(store, timedelta(days=7), per_round=2)}")
        print(f"left: {[meta.session_id for meta in store.list_sessions()]}")


if __name__ == "__main__":
    main()
