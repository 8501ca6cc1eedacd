"""The values a session records and returns: Thought and ThoughtResult."""

from __future__ import annotations

import attrs

from seqthink import _rules


@attrs.frozen(weakref_slot=False)  # no weak references: 8 bytes less per thought
class Thought:
    """One step of thinking, with the seed's field names.

    Constructing a Thought checks every field on its own (types, ranges,
    text); a bad value raises :class:`~seqthink.errors.InvalidThoughtError`
    naming the field and the value. Whether the thought fits the session it
    joins (revisions, branches) is checked when it is recorded.
    """

    thought: str
    thought_number: int
    total_thoughts: int
    next_thought_needed: bool
    is_revision: bool | None = None
    revises_thought: int | None = None
    branch_from_thought: int | None = None
    branch_id: str | None = None
    needs_more_thoughts: bool | None = None

    def __attrs_post_init__(self) -> None:
        _rules.check_thought(self)


@attrs.frozen
class ThoughtResult:
    """What recording a thought returns: the seed's result, plus warnings."""

    thought_number: int
    total_thoughts: int
    next_thought_needed: bool
    branches: tuple[str, ...]
    thought_history_length: int
    warnings: tuple[str, ...] = ()
