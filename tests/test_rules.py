"""The pure rules that are not about one thought's fields: saving over a stored copy, messages."""

from __future__ import annotations

import pytest

from seqthink._rules import describe_numbers, plan_save
from seqthink._session import KnownStates
from seqthink.errors import ConflictError

CREATED = 1_000


def known(*states: tuple[int, int]) -> KnownStates:
    result = KnownStates()
    for state in states:
        result.add(state)
    return result


def test_nothing_stored_means_write_everything() -> None:
    """With no stored copy, the store keeps nothing and writes every thought."""
    assert 0 == plan_save("s", stored=None, known=known(), created_ns=CREATED, count=5)


def test_a_stored_prefix_is_kept() -> None:
    """A stored copy in a state this session had is kept; only the rest is written."""
    states = known((3, 30), (5, 50))
    assert 3 == plan_save("s", stored=(CREATED, 3, 30), known=states, created_ns=CREATED, count=5)


@pytest.mark.parametrize("stored", [(CREATED, 5, 50), (CREATED, 7, 70)])
def test_a_stored_copy_as_far_along_means_nothing_to_write(stored: tuple[int, int, int]) -> None:
    """When the store holds a known state with as many thoughts or more, there is nothing to write."""
    states = known((3, 30), (5, 50), (7, 70))
    assert plan_save("s", stored=stored, known=states, created_ns=CREATED, count=5) is None


def test_a_state_this_session_never_had_is_a_conflict() -> None:
    """Another writer's thoughts are never written over."""
    with pytest.raises(ConflictError, match="never had"):
        plan_save("s", stored=(CREATED, 4, 41), known=known((3, 30)), created_ns=CREATED, count=5)


@pytest.mark.parametrize("states", [known(), known((3, 30))])
def test_another_session_with_the_same_id_is_a_conflict(states: KnownStates) -> None:
    """A stored session created at another time is another session, whatever this one knows."""
    with pytest.raises(ConflictError, match="another session with this id") as info:
        plan_save("s", stored=(CREATED + 1, 3, 30), known=states, created_ns=CREATED, count=5)
    assert "s" == info.value.session_id


def test_known_states_keep_only_the_latest() -> None:
    """KnownStates remembers a bounded number of states, newest last, without repeats."""
    states = KnownStates(limit=3)
    for state in [(1, 1), (2, 2), (2, 2), (3, 3), (4, 4)]:
        states.add(state)
    assert ([(2, 2), (3, 3), (4, 4)], 3, (1, 1) in states) == (list(states), len(states), False)


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        (set(), "it has no thoughts yet"),
        ({1}, "it has 1"),
        ({1, 2, 3, 5}, "it has 1-3, 5"),
        ({1, 3, 5, 7, 9, 11, 13, 15}, "it has 1, 3, 5, ..., 13, 15"),
    ],
)
def test_describe_numbers_is_short(numbers: set[int], expected: str) -> None:
    """Messages describe a session's thought numbers as a few ranges."""
    assert expected == describe_numbers(numbers)
