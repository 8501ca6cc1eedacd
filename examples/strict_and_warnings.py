"""Doubtful thoughts: warnings in lenient mode, refusals in strict mode, and no half-recorded thought.

A lenient session (the default) records a thought whose references dangle and
says why in ``ThoughtResult.warnings``. A strict session refuses the same thought
with ``InvalidThoughtError``. Either way, a refused thought leaves the session
exactly as it was.

    python examples/strict_and_warnings.py
"""

from __future__ import annotations

from typing import Any

import seqthink
from seqthink.errors import InvalidThoughtError

# Thoughts whose references do not fit a session that holds thoughts 1 and 2.
DOUBTFUL: list[tuple[str, dict[str, Any]]] = [
    ("revises a thought that does not exist", {"is_revision": True, "revises_thought": 9}),
    ("is a revision of nothing in particular", {"is_revision": True}),
    ("names a branch but not where it starts", {"branch_id": "idea"}),
    ("starts a branch but gives it no name", {"branch_from_thought": 1}),
    ("branches from a thought that does not exist", {"branch_from_thought": 7, "branch_id": "idea"}),
]

# Values no session accepts, strict or not.
INVALID: list[tuple[str, str, dict[str, Any]]] = [
    ("blank text", "   ", {}),
    ("thought number 0", "Zero.", {"thought_number": 0}),
    ("a string for a number", "Three.", {"thought_number": "3"}),
    ("a control character in a branch id", "Tab.", {"branch_from_thought": 1, "branch_id": "a\tb"}),
    ("text over the session's limit", "x" * 81, {}),
]


def started(*, strict: bool) -> seqthink.ThinkingSession:
    session = seqthink.ThinkingSession(strict=strict, max_thought_length=80)
    session.think("List what could cause the outage.", total_thoughts=4)
    session.think("The certificate expired at midnight.")
    return session


def state(session: seqthink.ThinkingSession) -> tuple[object, ...]:
    return (session.thought_history, dict(session.branches), session.last_activity, session.is_complete)


def lenient() -> None:
    print("Lenient session: doubtful thoughts are recorded, with warnings")
    for what, fields in DOUBTFUL:
        session = started(strict=False)
        result = session.think("A doubtful thought.", **fields)
        print(f"  {what}: recorded as #{result.thought_number}, {len(result.warnings)} warning(s)")
        for warning in result.warnings:
            print(f"    warning: {warning}")


def attempt(session: seqthink.ThinkingSession, text: str, **fields: Any) -> InvalidThoughtError | None:
    """Try to record a thought; return the refusal, or None if it was recorded."""
    try:
        session.think(text, **fields)
    except InvalidThoughtError as error:
        return error
    return None


def strict() -> None:
    print("Strict session: the same thoughts are refused")
    for what, fields in DOUBTFUL:
        session = started(strict=True)
        before = state(session)
        error = attempt(session, "A doubtful thought.", **fields)
        if error is None:
            raise AssertionError(f"strict mode accepted a thought that {what}")
        unchanged = state(session) == before
        print(f"  {what}: refused ({error.field}={error.value!r}); session unchanged: {unchanged}")


def invalid() -> None:
    print("Invalid values are refused in every mode, and nothing is recorded")
    session = started(strict=False)
    before = state(session)
    for what, text, fields in INVALID:
        error = attempt(session, text, **fields)
        if error is None:
            raise AssertionError(f"accepted {what}")
        print(f"  {what}: {error}")
    print(f"  session unchanged after all of them: {state(session) == before} ({len(session)} thoughts)")


def main() -> None:
    lenient()
    strict()
    invalid()


if __name__ == "__main__":
    main()
