"""Writers racing on one session: no acknowledged thought is ever lost."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from seqthink import FileSystemStore, MemoryStore, SessionStore
from seqthink.errors import ConflictError
from seqthink.testing import sample_session

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from seqthink._format import SessionHeader

TRIALS = 40


def race(store: SessionStore, other: SessionStore) -> tuple[list[str], list[str]]:
    """Two copies of one stored state each gain a thought and are saved at the same moment.

    Returns (what the saves reported, the texts of the new thoughts that were stored).
    """
    store.save(sample_session())
    copies = [store.restore("sample"), other.restore("sample")]
    for name, copy in zip(("one", "two"), copies, strict=True):
        copy.think(f"From writer {name}.")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(target: SessionStore, index: int) -> None:
        barrier.wait()
        try:
            target.save(copies[index])
            outcomes.append("saved")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(s, i)) for i, s in enumerate((store, other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [t.thought for t in store.restore("sample").thought_history[7:]]
    store.delete("sample")
    return sorted(outcomes), stored


@pytest.mark.parametrize("kind", ["memory", "files", "files, two handles"])
def test_racing_saves_never_both_succeed(tmp_path: Path, kind: str) -> None:
    """Of two racing saves from one base, exactly one wins and the other gets ConflictError."""
    store: SessionStore = MemoryStore() if kind == "memory" else FileSystemStore(tmp_path, durable=False)
    other = FileSystemStore(tmp_path, durable=False) if kind == "files, two handles" else store
    results = [race(store, other) for _ in range(TRIALS)]
    assert all(outcomes == ["conflict", "saved"] for outcomes, _ in results), results
    assert all(len(stored) == 1 for _, stored in results), results


def append_in_process(root: str, text: str, start: multiprocessing.synchronize.Event) -> None:
    """Child: restore, add one thought, save; retry on conflict until it is stored."""
    store = FileSystemStore(root, durable=False)
    start.wait()
    while True:
        session = store.restore("sample")
        session.think(text)
        try:
            store.save(session)
        except ConflictError:
            continue
        return


@pytest.mark.parametrize("writers", [2, 4])
def test_processes_retrying_on_conflict_store_every_thought(tmp_path: Path, writers: int) -> None:
    """Processes that restore, append and retry on ConflictError all get their thought stored, once each."""
    FileSystemStore(tmp_path).save(sample_session())
    context = multiprocessing.get_context("fork")
    start = context.Event()
    texts = [f"Writer {i}, thought {j}." for i in range(writers) for j in range(5)]
    processes = [
        context.Process(target=_append_many, args=(str(tmp_path), texts[i * 5 : i * 5 + 5], start))
        for i in range(writers)
    ]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(60)
    assert [0] * writers == [p.exitcode for p in processes]
    stored = [t.thought for t in FileSystemStore(tmp_path).restore("sample").thought_history[7:]]
    assert sorted(texts) == sorted(stored)


def _append_many(root: str, texts: list[str], start: multiprocessing.synchronize.Event) -> None:
    for text in texts:
        append_in_process(root, text, start)


def test_cleanup_does_not_delete_a_session_written_after_its_scan(tmp_path: Path) -> None:
    """cleanup looks at a session again under its lock, so a save that lands after the scan keeps it."""
    store = FileSystemStore(tmp_path, durable=False)
    old = sample_session("busy")
    store.save(old)
    now = old.last_activity + timedelta(days=2)
    real_headers = store._headers

    def scan_then_write(names: Iterable[str] | None = None, **kwargs: Any) -> Iterator[SessionHeader]:
        found = list(real_headers(names, **kwargs))
        session = store.restore("busy")
        session._clock = lambda: int(now.timestamp() * 1e9)
        session.think("Fresh activity after the scan.")
        store.save(session)
        return iter(found)

    store._headers = scan_then_write  # type: ignore[method-assign]
    assert [] == store.cleanup(timedelta(days=1), now=now)
    assert 8 == len(store.restore("busy"))


def test_lock_files_go_with_their_sessions(tmp_path: Path) -> None:
    """A session's lock file exists while it does, and is removed by delete and cleanup."""
    store = FileSystemStore(tmp_path, durable=False)
    store.save(sample_session("a"))
    store.save(sample_session("b"))
    locks = tmp_path / ".locks"
    before = sorted(p.name for p in locks.iterdir())
    store.delete("a")
    store.cleanup(timedelta(0))
    assert (["a.lock", "b.lock"], []) == (before, sorted(p.name for p in locks.iterdir()))


def test_deleting_nothing_creates_nothing(tmp_path: Path) -> None:
    """delete() of an absent session on an absent root writes nothing at all."""
    store = FileSystemStore(tmp_path / "root")
    assert (False, False) == (store.delete("ghost"), (tmp_path / "root").exists())


def test_a_waiter_whose_lock_file_was_removed_starts_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the lock file is replaced while a writer waits on it, the writer locks the new one instead."""
    import seqthink._filesystem as fs

    store = FileSystemStore(tmp_path, durable=False)
    store.save(sample_session("a"))
    lock_path = tmp_path / ".locks" / "a.lock"
    real_flock = fs._flock
    locked: list[int] = []

    def flock_after_a_swap(fd: int) -> None:
        if not locked:  # meanwhile a delete removed the file and another writer made a new one
            lock_path.unlink()
            lock_path.write_bytes(b"")
        real_flock(fd)
        locked.append(fd)

    monkeypatch.setattr(fs, "_flock", flock_after_a_swap)
    session = store.restore("a")
    session.think("Through the replaced lock.")
    store.save(session)
    assert 2 == len(locked)
    assert 8 == len(store.restore("a"))
