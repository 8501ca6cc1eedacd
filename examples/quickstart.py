"""Record a short session with a revision and a branch, save it, restore it, print it.

The session goes into the default store: ``$SEQTHINK_SESSIONS_DIR`` when that is set,
otherwise seqthink's folder in your user state directory. Run it as often as you
like; each run replaces the session the previous run left.

    python examples/quickstart.py
"""

from __future__ import annotations

import seqthink

SESSION_ID = "seqthink-quickstart"


def record(session: seqthink.ThinkingSession) -> None:
    """Think through a small problem, with one slip, its correction and a cross-check."""
    session.think(
        "A train leaves at 14:10 and the trip takes 2 h 55 min. When does it arrive?", total_thoughts=4
    )
    session.think("14:10 + 2 h = 16:10, and 16:10 + 55 min = 16:65, which is 17:15.")
    session.think("Thought 2 slipped: 16:65 is 17:05, not 17:15.", is_revision=True, revises_thought=2)
    session.think(
        "Cross-check another way: 14:10 + 3 h = 17:10, minus 5 min = 17:05.",
        branch_from_thought=1,
        branch_id="round-up",
    )
    session.think("Both ways give 17:05. The train arrives at 17:05.", next_thought_needed=False)


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


def show(session: seqthink.ThinkingSession, store: seqthink.FileSystemStore) -> None:
    """Print a restored session so that a person can follow it."""
    state = "complete" if session.is_complete else "in progress"
    print(f"Session {session.session_id}: {len(session)} thoughts, {state}")
    for thought in session.thought_history:
        print(f"  [{thought.thought_number}/{thought.total_thoughts}]{marks(thought)} {thought.thought}")
    print("Branches:")
    for branch_id, thoughts in session.branches.items():
        numbers = ", ".join(f"#{t.thought_number}" for t in thoughts)
        print(f"  {branch_id}: {numbers}")
    folder = store.root / session.session_id
    print(f"Stored in: {folder}")
    print(f"Files: {', '.join(sorted(path.name for path in folder.iterdir()))}")


def main() -> None:
    store = seqthink.FileSystemStore()
    if store.delete(SESSION_ID):
        print(f"Removed the session left by the previous run from {store.root}")

    session = seqthink.ThinkingSession(SESSION_ID)
    record(session)
    store.save(session)

    restored = store.restore(SESSION_ID)  # a new object, read back from disk
    assert restored.thought_history == session.thought_history
    show(restored, store)


if __name__ == "__main__":
    main()
