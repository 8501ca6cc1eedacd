"""The quickstart again, from asyncio: the store's a-methods never block the event loop.

Recording thoughts is synchronous (it touches no disk); saving, restoring, listing
and deleting are awaited. A ticker task runs beside the store calls to show that
the loop keeps going while files are written and read.

    python examples/async_quickstart.py
"""

from __future__ import annotations

import asyncio

import seqthink

SESSION_ID = "seqthink-async-quickstart"


def record(session: seqthink.ThinkingSession) -> None:
    """Think through a small problem, with one slip, its correction and a cross-check."""
    session.think("A recipe for 4 needs 300 g of flour. How much for 6?", total_thoughts=3)
    session.think("6 is 4 + 2, so add 2 * 300 g: 900 g.")
    session.think(
        "Thought 2 slipped: each extra person needs 75 g, so 300 + 150 = 450 g.",
        is_revision=True,
        revises_thought=2,
    )
    session.think("Cross-check: 300 g * 6 / 4 = 450 g.", branch_from_thought=1, branch_id="ratio")
    session.think("Both give 450 g of flour.", next_thought_needed=False)


def marks(thought: seqthink.Thought) -> str:
    """Short labels for what a thought does besides moving on."""
    labels = []
    if thought.is_revision:
        labels.append(f"revises #{thought.revises_thought}")
    if thought.branch_id is not None and thought.branch_from_thought is not None:
        labels.append(f"branch {thought.branch_id!r} from #{thought.branch_from_thought}")
    if not thought.next_thought_needed:
        labels.append("final")
    return f" ({', '.join(labels)})" if labels else ""


async def ticker(ticks: list[int], stop: asyncio.Event) -> None:
    """Count while the store works; a blocked loop would leave the count at zero."""
    while not stop.is_set():
        ticks.append(len(ticks))
        await asyncio.sleep(0)


async def main_async() -> None:
    store = seqthink.FileSystemStore()
    ticks: list[int] = []
    stop = asyncio.Event()
    ticking = asyncio.create_task(ticker(ticks, stop))

    if await store.adelete(SESSION_ID):
        print(f"Removed the session left by the previous run from {store.root}")

    session = seqthink.ThinkingSession(SESSION_ID)
    record(session)
    await store.asave(session)

    restored = await store.arestore(SESSION_ID)
    assert restored.thought_history == session.thought_history
    listed = [m for m in await store.alist_sessions() if m.session_id == SESSION_ID]
    exists = await store.aexists(SESSION_ID)

    stop.set()
    await ticking

    state = "complete" if restored.is_complete else "in progress"
    print(f"Session {restored.session_id}: {len(restored)} thoughts, {state}")
    for thought in restored.thought_history:
        print(f"  [{thought.thought_number}/{thought.total_thoughts}]{marks(thought)} {thought.thought}")
    print("Branches:")
    for branch_id, thoughts in restored.branches.items():
        print(f"  {branch_id}: {', '.join(f'#{t.thought_number}' for t in thoughts)}")
    print(f"Listed: {len(listed) == 1}, exists: {exists}")
    print(f"Stored in: {store.root / SESSION_ID}")
    print(f"The event loop ran {len(ticks)} ticker steps while the store worked.")


def main() -> None:
    asyncio.run(main_async())


if __name__ == "__main__":
    main()
