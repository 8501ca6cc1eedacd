"""The async twins: same results as the sync methods, and the event loop never blocks."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from seqthink import FileSystemStore, MemoryStore, SessionStore, ThinkingSession
from seqthink.testing import sample_session

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path


def big_session(n: int = 2000) -> ThinkingSession:
    session = ThinkingSession("big")
    session.think("Start.")
    for i in range(2, n + 1):
        if i % 10 == 0:
            session.think(f"Branch thought {i}.", branch_from_thought=1, branch_id=f"b{i % 3}")
        else:
            session.think(f"Thought {i}: " + "words " * 20)
    return session


async def longest_pause(work: Awaitable[Any]) -> tuple[float, Any]:
    """Run ``work`` beside a task ticking every 2 ms; return the longest gap between ticks and the result."""
    ticks: list[float] = []
    done = False

    async def ticker() -> None:
        while not done:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.002)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        result = await work
    finally:
        done = True
        await task
    ticks.append(time.perf_counter())
    return max(b - a for a, b in itertools.pairwise(ticks)), result


def test_big_save_and_restore_do_not_block_the_loop(tmp_path: Path) -> None:
    """A ticker keeps ticking at most 20 ms apart while asave writes and arestore reads 2,000 thoughts.

    A blocking implementation stops the ticker for the whole operation (hundreds of
    milliseconds here), so it fails every attempt; the best of three attempts absorbs
    a rare stall of this shared machine.
    """
    session = big_session()

    async def attempt(i: int) -> tuple[float, float, ThinkingSession]:
        store = FileSystemStore(tmp_path / f"try{i}", durable=False)
        save_pause, _ = await longest_pause(store.asave(session))
        restore_pause, restored = await longest_pause(store.arestore("big"))
        return save_pause, restore_pause, restored

    results = [asyncio.run(attempt(i)) for i in range(3)]
    assert all(session.thought_history == restored.thought_history for _, _, restored in results)
    best = min(max(save, restore) for save, restore, _ in results)
    assert best <= 0.020, f"the loop stalled for {best * 1000:.1f} ms at best"


def test_a_blocking_call_is_caught_by_the_ticker(tmp_path: Path) -> None:
    """The measurement itself can fail: calling the sync save inside a coroutine stalls the ticker."""
    session = big_session(500)
    store = FileSystemStore(tmp_path, durable=False)

    async def blocking() -> None:
        store.save(session)

    pause, _ = asyncio.run(longest_pause(blocking()))
    assert pause > 0.020


@pytest.mark.parametrize(
    ("method", "hook", "args"),
    [
        ("asave", "_save", (sample_session("s2"),)),
        ("arestore", "_load", ("s1",)),
        ("adelete", "_delete", ("s1",)),
        ("aexists", "_exists", ("s1",)),
        ("alist_sessions", "_list", ()),
        ("acleanup", "_cleanup", (timedelta(days=1),)),
    ],
)
@pytest.mark.parametrize("make", [MemoryStore, lambda: FileSystemStore(None, durable=False)])
def test_each_async_call_is_one_thread_hop_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    make: Callable[[], SessionStore],
    method: str,
    hook: str,
    args: tuple[Any, ...],
) -> None:
    """Every a-method hands the backend's work to exactly one worker thread, never to the loop's thread."""
    monkeypatch.setenv("SEQTHINK_SESSIONS_DIR", str(tmp_path))
    store = make()
    store.save(sample_session("s1"))
    hops: list[int] = []
    real = asyncio.to_thread

    async def counting(func: Callable[..., Any], /, *a: Any, **k: Any) -> Any:
        hops.append(1)
        return await real(func, *a, **k)

    monkeypatch.setattr(asyncio, "to_thread", counting)

    async def run() -> tuple[int, set[int]]:
        loop_thread = threading.get_ident()
        seen: set[int] = set()
        original = getattr(store, hook)

        def recording(*a: Any, **k: Any) -> Any:
            seen.add(threading.get_ident())
            return original(*a, **k)

        monkeypatch.setattr(store, hook, recording)
        await getattr(store, method)(*args)
        return loop_thread, seen

    loop_thread, seen = asyncio.run(run())
    assert ([1], 1, False) == (hops, len(seen), loop_thread in seen)


def test_cancelled_save_leaves_a_committed_state(tmp_path: Path) -> None:
    """Cancelling the caller of asave leaves the stored session at its old or its new state, never between."""
    store = FileSystemStore(tmp_path, durable=False)
    session = big_session(300)
    store.save(session)
    restored = store.restore("big")
    for i in range(200):
        restored.think(f"New {i}.")

    async def cancel_soon() -> None:
        task = asyncio.create_task(store.asave(restored))
        await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_soon())
    stored = store.restore("big").thought_history
    assert stored in (session.thought_history, restored.thought_history)


@pytest.mark.parametrize("make", [MemoryStore, lambda: FileSystemStore(None, durable=False)])
def test_session_may_grow_while_asave_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make: Callable[[], SessionStore]
) -> None:
    """asave stores the session as it was when called; thoughts added meanwhile wait for the next save."""
    monkeypatch.setenv("SEQTHINK_SESSIONS_DIR", str(tmp_path))
    store = make()
    session = sample_session()
    inside, release = threading.Event(), threading.Event()
    real_save = store._save

    def slow_save(*args: Any) -> None:
        inside.set()
        release.wait(5)
        real_save(*args)

    monkeypatch.setattr(store, "_save", slow_save)

    snapshot_threads: list[int] = []
    real_snapshot = session._snapshot

    def recorded_snapshot() -> Any:
        snapshot_threads.append(threading.get_ident())
        return real_snapshot()

    monkeypatch.setattr(session, "_snapshot", recorded_snapshot)

    async def run() -> None:
        task = asyncio.create_task(store.asave(session))
        await asyncio.to_thread(inside.wait, 5)
        for i in range(50):  # new thoughts and new branches while the worker holds the snapshot
            session.think(f"Meanwhile {i}.", branch_from_thought=1, branch_id=f"m{i}")
        release.set()
        await task

    asyncio.run(run())
    # Taken on the loop's thread: a worker iterating the session while the loop grows it could fail.
    assert [threading.get_ident()] == snapshot_threads
    assert 7 == len(store.restore("sample"))
    store.save(session)  # the next save adds exactly the 50 without conflict
    assert session.thought_history == store.restore("sample").thought_history


@pytest.mark.parametrize("make", [MemoryStore, lambda: FileSystemStore(None, durable=False)])
def test_overlapping_asaves_of_one_session_both_succeed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make: Callable[[], SessionStore]
) -> None:
    """A second asave of a session started before the first finished is not a conflict."""
    monkeypatch.setenv("SEQTHINK_SESSIONS_DIR", str(tmp_path))
    store = make()
    session = sample_session()
    store.save(session)

    async def run() -> None:
        session.think("First batch.")
        first = asyncio.create_task(store.asave(session))
        await asyncio.sleep(0)  # the first save has taken its snapshot
        session.think("Second batch.")
        await asyncio.gather(first, store.asave(session))

    for _ in range(10):
        asyncio.run(run())
    assert session.thought_history == store.restore("sample").thought_history
