"""The record a store receives: a frozen, O(1) view of a session that keeps growing."""

from __future__ import annotations

import itertools

import pytest

from seqthink import SessionRecord
from seqthink._session import _Prefix
from seqthink.testing import sample_session


def test_snapshot_does_not_grow_with_the_session() -> None:
    """Thoughts recorded after a snapshot is taken are not in it, nor in its branches."""
    session = sample_session()
    record = session._snapshot()
    before = (tuple(record.thoughts), {b: tuple(ts) for b, ts in record.branches.items()})
    session.think("Later.", branch_from_thought=1, branch_id="alt")
    session.think("Later, on a new branch.", branch_from_thought=1, branch_id="new")
    after = (tuple(record.thoughts), {b: tuple(ts) for b, ts in record.branches.items()})
    assert before == after
    assert 7 == len(record.thoughts)


def test_snapshot_matches_a_record_built_from_the_history() -> None:
    """A session's snapshot equals a record whose branches are derived from its history."""
    session = sample_session()
    record = session._snapshot()
    derived = SessionRecord.from_thoughts(
        record.session_id, record.created_ns, record.last_activity_ns, tuple(record.thoughts)
    )
    assert (list(derived.branches), derived.metadata) == (list(record.branches), record.metadata)
    assert all(tuple(derived.branches[b]) == tuple(record.branches[b]) for b in derived.branches)


VALUES = [None, -12, -3, -1, 0, 1, 3, 6, 7, 12]


@pytest.mark.parametrize("step", [None, 1, 2, -1, -2])
def test_prefix_behaves_like_a_slice_of_the_list(step: int | None) -> None:
    """Indexing, slicing, iterating and len of a prefix view agree with the copied prefix."""
    items = list(range(10))
    view, copy = _Prefix(items, 6), items[:6]
    for start, stop in itertools.product(VALUES, VALUES):
        assert copy[start:stop:step] == view[start:stop:step]
    assert (copy, 6, copy[-1], copy[0]) == (list(view), len(view), view[-1], view[0])
    for bad in (6, -7):
        with pytest.raises(IndexError):
            view[bad]
