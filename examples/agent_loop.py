"""Agent code using ThinkingSession directly: think, revise, branch, pause, resume.

An agent working on a bug report records its reasoning as it goes. Half way it
is interrupted (a new process, a restart): the session is saved, and the next
run restores it and carries on where it stopped. The "model" is a fixed plan
here, so the example runs offline and prints the same thing every time.

Run: python examples/agent_loop.py   (sessions go to $SEQTHINK_SESSIONS_DIR or
the default per-user folder; the example deletes its session at the end)
"""

from __future__ import annotations

from seqthink import FileSystemStore, ThinkingSession, Thought

SESSION_ID = "agent-loop-example"

# What the model would answer at each step: the thought and its options.
FIRST_RUN: list[dict[str, object]] = [
    {"text": "The report says saving twice loses a thought. Reproduce it first."},
    {"text": "Reproduced: two writers, one session, one thought gone."},
    {"text": "Suspect: both read the same state, the second write wins."},
]
SECOND_RUN: list[dict[str, object]] = [
    {
        "text": "Correction: the loss needs no second reader; one writer retrying is enough.",
        "is_revision": True,
        "revises_thought": 3,
    },
    {
        "text": "Alternative worth a look: a lock per session around read-modify-write.",
        "branch_from_thought": 3,
        "branch_id": "locking",
    },
    {
        "text": "Fix: compare the stored version before writing, retry on conflict. Done.",
        "next_thought_needed": False,
    },
]


def show(session: ThinkingSession) -> None:
    for thought in session.thought_history:
        print(f"  {describe(thought)} {thought.thought}")
    if session.branches:
        print("  branches: " + ", ".join(f"{b} ({len(ts)})" for b, ts in session.branches.items()))


def describe(thought: Thought) -> str:
    mark = f"[{thought.thought_number}/{thought.total_thoughts}]"
    if thought.is_revision:
        mark += f" revises #{thought.revises_thought}:"
    elif thought.branch_id is not None:
        mark += f" branch {thought.branch_id!r} from #{thought.branch_from_thought}:"
    return mark


def run_steps(session: ThinkingSession, steps: list[dict[str, object]], total: int) -> None:
    for step in steps:
        options = dict(step)
        text = str(options.pop("text"))
        result = session.think(text, total_thoughts=total, **options)  # type: ignore[arg-type]
        for warning in result.warnings:
            print(f"  warning: {warning}")


def main() -> None:
    store = FileSystemStore()
    store.delete(SESSION_ID)  # start clean if an earlier run was stopped half way

    print("First run:")
    session = ThinkingSession(SESSION_ID)
    run_steps(session, FIRST_RUN, total=5)
    store.save(session)
    show(session)
    print(f"  saved after {len(session)} thoughts; complete: {session.is_complete}")

    print("Second run (a new process would do exactly this):")
    resumed = store.restore(SESSION_ID)
    same_time = resumed.last_activity == session.last_activity
    print(f"  restored {len(resumed)} thoughts, last activity kept: {same_time}")
    run_steps(resumed, SECOND_RUN, total=6)
    store.save(resumed)
    show(resumed)
    print(f"  complete: {resumed.is_complete}")

    final = store.restore(SESSION_ID)
    print(
        f"Stored: {len(final)} thoughts, {len(final.branches)} branch, "
        f"same as in memory: {final.thought_history == resumed.thought_history}"
    )
    store.delete(SESSION_ID)


if __name__ == "__main__":
    main()
