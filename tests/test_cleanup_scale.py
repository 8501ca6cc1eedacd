"""cleanup() over 10,000 sessions: bounded per call, idempotent, resumable, decided by session.json."""

from __future__ import annotations

import os
import random
import signal
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from seqthink import FileSystemStore, SessionRecord, Thought
from seqthink._format import encode_session, encode_thought
from seqthink._session import datetime_to_ns

if TYPE_CHECKING:
    from pathlib import Path

SESSIONS = 10_000
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def populate(root: Path) -> set[str]:
    """Write SESSIONS one-thought sessions in the seed's format; every third is 30 days idle.

    File times say the opposite of session.json (old sessions get fresh mtimes and
    fresh ones ancient mtimes), so a cleanup going by file times would get it wrong.
    Returns the ids of the old sessions.
    """
    old = set()
    root.mkdir(parents=True)
    for i in range(SESSIONS):
        sid = f"s{i:05d}"
        is_old = i % 3 == 0
        moment = NOW - (timedelta(days=30) if is_old else timedelta(minutes=5)) + timedelta(seconds=i)
        ns = datetime_to_ns(moment)
        thought = Thought(f"Thought of {sid}.", 1, 1, False)
        record = SessionRecord.from_thoughts(sid, ns, ns, (thought,))
        folder = root / sid
        folder.mkdir()
        (folder / "thought1.json").write_bytes(encode_thought(thought))
        (folder / "session.json").write_bytes(encode_session(record))
        stamp = time.time() if is_old else 0
        for path in (folder, folder / "thought1.json", folder / "session.json"):
            os.utime(path, (stamp, stamp))
        if is_old:
            old.add(sid)
    return old


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    root = tmp_path_factory.mktemp("scale") / "sessions"
    return root, populate(root)


def copy_of(template: tuple[Path, set[str]], tmp_path: Path) -> tuple[FileSystemStore, set[str]]:
    import shutil

    root, old = template
    shutil.copytree(root, tmp_path / "sessions", symlinks=True)
    return FileSystemStore(tmp_path / "sessions", durable=False), old


def remaining(store: FileSystemStore) -> set[str]:
    return {p.name for p in store.root.iterdir() if not p.name.startswith(".")}


def test_limited_cleanup_deletes_the_oldest_first_in_bounded_rounds(
    template: tuple[Path, set[str]], tmp_path: Path
) -> None:
    """Each call with limit=1000 deletes at most 1000, oldest first, until exactly the old ones are gone."""
    store, old = copy_of(template, tmp_path)
    rounds = []
    while batch := store.cleanup(timedelta(days=1), now=NOW, limit=1000):
        rounds.append(batch)
    deleted = [sid for batch in rounds for sid in batch]
    assert [1000] * 3 + [334] == [len(batch) for batch in rounds]
    assert sorted(old) == deleted  # ids sort by age here: the oldest first
    assert {f"s{i:05d}" for i in range(SESSIONS)} - old == remaining(store)
    assert [] == store.cleanup(timedelta(days=1), now=NOW)


def test_cleanup_killed_midway_leaves_whole_sessions_and_finishes_when_run_again(
    template: tuple[Path, set[str]], tmp_path: Path
) -> None:
    """A cleanup killed at a random moment leaves every session whole or gone; a second run finishes."""
    store, old = copy_of(template, tmp_path)
    pid = os.fork()
    if pid == 0:  # the child cleans up until it is killed
        try:
            store.cleanup(timedelta(days=1), now=NOW)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 60
    while (store.root / "s00000").exists() and time.monotonic() < deadline:
        time.sleep(0.002)  # wait for the first (oldest) deletion, then a little more
    time.sleep(random.Random(3).uniform(0, 0.05))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    left = remaining(store)
    assert old - left, "the child was killed before it deleted anything"
    assert old & left, "the child finished before it was killed"
    for sid in sorted(left)[::97]:  # a sample of what is left restores whole
        assert 1 == len(store.restore(sid))
    store.cleanup(timedelta(days=1), now=NOW)
    assert {f"s{i:05d}" for i in range(SESSIONS)} - old == remaining(store)
    assert [] == list(store.root.glob(".deleted-*"))
