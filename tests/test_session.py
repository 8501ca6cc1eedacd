"""ThinkingSession: ids, numbering, revisions, branches, warnings, strictness and time."""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import seqthink
from seqthink import SessionMetadata, ThinkingSession, Thought, ThoughtResult, _rules
from seqthink._session import NumberSet
from seqthink.errors import InvalidArgumentError, InvalidSessionIdError, InvalidThoughtError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
START_NS = 1_765_339_200_123_456_789


class FakeClock:
    """A clock the test moves by hand: integer nanoseconds since the epoch."""

    def __init__(self, now: int = START_NS) -> None:
        self.now = now
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.now


def at(ns: int) -> datetime:
    """The aware UTC datetime a session reports for ``ns`` (microsecond precision)."""
    return EPOCH + timedelta(microseconds=ns // 1000)


def state(session: ThinkingSession) -> tuple[Any, ...]:
    """Everything observable about a session, for before/after comparisons."""
    return (
        session.session_id,
        session.created_at,
        session.last_activity,
        session.thought_history,
        list(session.branches.items()),
        session.metadata,
        session.is_complete,
        len(session),
    )


def thought(number: int, text: str = "a step", **fields: Any) -> Thought:
    """A valid Thought numbered ``number`` (total 3, more needed unless given)."""
    values: dict[str, Any] = {"total_thoughts": 3, "next_thought_needed": True, **fields}
    return Thought(thought=text, thought_number=number, **values)


# --- session ids ---------------------------------------------------------------


def test_a_fresh_session_gets_a_uuid4_id() -> None:
    """Without an id, a session gets the canonical text of a fresh random UUID4."""
    first, second = ThinkingSession(), ThinkingSession()

    assert 4 == uuid.UUID(first.session_id).version
    assert str(uuid.UUID(first.session_id)) == first.session_id
    assert first.session_id != second.session_id


@pytest.mark.parametrize(
    "session_id",
    [
        "a",
        "Z",
        "0",
        "x" * 128,
        "a.b_c-d",
        "a..b",
        "a-",
        "9_",
        "v1.2.3",
        "6f1d2c1e-8a4b-4c9e-9d53-2b7f0e5a91c4",
    ],
)
def test_valid_session_ids_are_kept(session_id: str) -> None:
    """1 to 128 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit, are accepted."""
    assert session_id == ThinkingSession(session_id).session_id


@pytest.mark.parametrize(
    "session_id",
    [
        "",
        ".",
        "..",
        ".hidden",
        "-dash",
        "_under",
        "a/b",
        "/abs",
        "a\\b",
        "x" * 129,
        "a\x00b",
        "a b",
        "a\n",
        "\n",
        "é",
        "caf\u00e9",
        "日本",
        "a\u200bb",
        "ａ",  # noqa: RUF001 - a fullwidth letter is not an ASCII letter
        "a:b",
        5,
        b"abc",
        ["abc"],
    ],
)
def test_invalid_session_ids_are_rejected(session_id: object) -> None:
    """Ids that are not safe path components of the allowed form raise InvalidSessionIdError."""
    with pytest.raises(InvalidSessionIdError) as info:
        ThinkingSession(session_id)  # type: ignore[arg-type]

    assert isinstance(info.value, ValueError)
    assert info.value.session_id is session_id


@pytest.mark.parametrize(
    ("argument", "value"),
    [("strict", "yes"), ("strict", 1), ("max_thought_length", 0), ("max_thought_length", True)],
)
def test_bad_options_are_rejected(argument: str, value: object) -> None:
    """strict must be a bool and max_thought_length an int >= 1."""
    kwargs: dict[str, Any] = {argument: value}
    with pytest.raises(InvalidArgumentError):
        ThinkingSession("s", **kwargs)


# --- numbering -----------------------------------------------------------------


def test_think_numbers_thoughts_from_one() -> None:
    """think() numbers each thought as the history length + 1."""
    session = ThinkingSession("s")

    numbers = [session.think(f"step {i}").thought_number for i in range(1, 5)]

    assert [1, 2, 3, 4] == numbers
    assert [1, 2, 3, 4] == [t.thought_number for t in session.thought_history]


def test_think_default_total_is_the_latest_estimate_at_least_the_number() -> None:
    """Without total_thoughts, think() keeps the latest estimate, raised to the number when lower."""
    session = ThinkingSession("s")

    first = session.think("one")
    second = session.think("two", total_thoughts=5)
    third = session.think("three")
    jumped = session.think("jump", thought_number=9)

    assert (1, 5, 5, 9) == (
        first.total_thoughts,
        second.total_thoughts,
        third.total_thoughts,
        jumped.total_thoughts,
    )
    assert [1, 5, 5, 9] == [t.total_thoughts for t in session.thought_history]


def test_think_number_default_is_history_length_not_last_number() -> None:
    """After an explicitly numbered thought, the default number is still the history length + 1."""
    session = ThinkingSession("s")
    session.think("first", thought_number=7)

    assert 2 == session.think("second").thought_number


def test_total_is_raised_to_the_number_in_history_and_result() -> None:
    """A total below the thought number is raised to it, in the result and the stored thought."""
    session = ThinkingSession("s")

    result = session.add_thought(thought(4, total_thoughts=2))

    assert 4 == result.total_thoughts
    assert (thought(4, total_thoughts=4),) == session.thought_history


def test_total_above_the_number_is_kept() -> None:
    """A total at or above the number is stored unchanged."""
    session = ThinkingSession("s")

    session.add_thought(thought(2, total_thoughts=10))

    assert (thought(2, total_thoughts=10),) == session.thought_history


def test_think_passes_every_field_through() -> None:
    """think() records a thought with exactly the fields given."""
    session = ThinkingSession("s")
    session.think("base")

    session.think(
        "other way",
        next_thought_needed=False,
        thought_number=2,
        total_thoughts=4,
        is_revision=False,
        branch_from_thought=1,
        branch_id="b",
        needs_more_thoughts=True,
    )

    expected = Thought(
        thought="other way",
        thought_number=2,
        total_thoughts=4,
        next_thought_needed=False,
        is_revision=False,
        branch_from_thought=1,
        branch_id="b",
        needs_more_thoughts=True,
    )
    assert expected == session.thought_history[-1]


def test_result_reports_the_recorded_thought() -> None:
    """ThoughtResult carries the number, total, next flag, branch ids and history length."""
    session = ThinkingSession("s")
    session.think("one")

    result = session.think("two", next_thought_needed=False, branch_from_thought=1, branch_id="alt")

    expected = ThoughtResult(
        thought_number=2,
        total_thoughts=2,
        next_thought_needed=False,
        branches=("alt",),
        thought_history_length=2,
        warnings=(),
    )
    assert expected == result


# --- history and branches ------------------------------------------------------


def test_every_thought_goes_into_the_history_in_order() -> None:
    """Revisions, branch thoughts and plain ones all land in the history in recorded order."""
    session = ThinkingSession("s")
    added = [
        thought(1),
        thought(2, is_revision=True, revises_thought=1),
        thought(3, branch_from_thought=1, branch_id="alt"),
        thought(4, total_thoughts=4),
    ]

    for item in added:
        session.add_thought(item)

    assert tuple(added) == session.thought_history


def test_branch_membership_needs_both_fields() -> None:
    """A thought joins a branch only when both branch_from_thought and branch_id are set."""
    session = ThinkingSession("s")
    session.add_thought(thought(1))
    both = thought(2, branch_from_thought=1, branch_id="alt")
    only_id = thought(3, branch_id="alt")
    only_origin = thought(4, branch_from_thought=1)

    for item in (both, only_id, only_origin):
        session.add_thought(item)

    assert {"alt": (both,)} == dict(session.branches)
    assert 4 == len(session.thought_history)


def test_branch_ids_keep_first_seen_order() -> None:
    """Branch ids are listed in the order first seen, everywhere they are listed."""
    session = ThinkingSession("s")
    session.think("root")
    for branch_id in ("zeta", "alpha", "mid", "alpha", "zeta"):
        result = session.think(f"on {branch_id}", branch_from_thought=1, branch_id=branch_id)

    expected = ("zeta", "alpha", "mid")
    assert expected == tuple(session.branches)
    assert expected == result.branches
    assert expected == session.metadata.branch_ids
    assert [2, 2, 1] == [len(session.branches[b]) for b in expected]
    assert [2, 6] == [t.thought_number for t in session.branches["zeta"]]


def test_metadata_describes_the_session() -> None:
    """metadata holds the id, times, the count of thoughts (not an estimate) and branch ids."""
    clock = FakeClock()
    session = ThinkingSession("meta", clock=clock)
    created = clock.now
    clock.now += 5_000_000_000
    session.think("one", total_thoughts=10)
    session.think("two", branch_from_thought=1, branch_id="b")

    expected = SessionMetadata(
        session_id="meta",
        created_at=at(created),
        last_activity=at(created + 5_000_000_000),
        total_thoughts=2,
        branch_ids=("b",),
    )
    assert expected == session.metadata
    assert 2 == len(session)


# --- warnings and strictness -----------------------------------------------------

DANGLING = [
    pytest.param(
        {"is_revision": True, "revises_thought": 9}, "revises_thought", 9, "9", id="revises-missing-thought"
    ),
    pytest.param(
        {"branch_from_thought": 9, "branch_id": "b"},
        "branch_from_thought",
        9,
        "9",
        id="branches-from-missing-thought",
    ),
    pytest.param({"is_revision": True}, "is_revision", True, "revis", id="revision-without-target"),
    pytest.param({"revises_thought": 1}, "revises_thought", 1, "is_revision", id="target-without-revision"),
    pytest.param(
        {"revises_thought": 1, "is_revision": False},
        "revises_thought",
        1,
        "is_revision",
        id="target-with-false-revision",
    ),
    pytest.param({"branch_id": "b"}, "branch_id", "b", "'b'", id="branch-id-without-origin"),
    pytest.param(
        {"branch_from_thought": 1}, "branch_from_thought", 1, "branch_id", id="origin-without-branch-id"
    ),
]


def one_thought_session(*, strict: bool = False, clock: FakeClock | None = None) -> ThinkingSession:
    """A session holding thought 1."""
    session = ThinkingSession("w", strict=strict, clock=clock)
    session.think("first")
    return session


@pytest.mark.parametrize(("fields", "field", "value", "mentions"), DANGLING)
def test_dangling_references_are_recorded_with_one_warning(
    fields: dict[str, Any], field: str, value: object, mentions: str
) -> None:
    """Without strict, a doubtful reference is recorded as given, with one readable warning."""
    session = one_thought_session()
    added = thought(2, **fields)

    result = session.add_thought(added)

    assert 1 == len(result.warnings)
    assert mentions in result.warnings[0]
    assert added == session.thought_history[-1]
    assert 2 == len(session)


@pytest.mark.parametrize(("fields", "field", "value", "mentions"), DANGLING)
def test_strict_sessions_refuse_dangling_references(
    fields: dict[str, Any], field: str, value: object, mentions: str
) -> None:
    """With strict=True each doubtful reference raises InvalidThoughtError and records nothing."""
    clock = FakeClock()
    session = one_thought_session(strict=True, clock=clock)
    before = state(session)
    clock.now += 1_000_000_000

    with pytest.raises(InvalidThoughtError) as info:
        session.add_thought(thought(2, **fields))

    assert (field, value) == (info.value.field, info.value.value)
    assert isinstance(info.value, ValueError)
    assert before == state(session)


def test_both_revision_warnings_at_once() -> None:
    """A thought revising a missing thought without is_revision gets both warnings."""
    session = one_thought_session()

    result = session.add_thought(thought(2, revises_thought=7))

    assert 2 == len(result.warnings)
    assert "7" in result.warnings[0]


def test_sound_revisions_and_branches_have_no_warnings() -> None:
    """Revising and branching from recorded thoughts gives no warnings, strict or not."""
    for strict in (False, True):
        session = one_thought_session(strict=strict)

        revision = session.add_thought(thought(2, is_revision=True, revises_thought=1))
        branch = session.add_thought(thought(3, branch_from_thought=2, branch_id="alt"))

        assert ((), ()) == (revision.warnings, branch.warnings)


def test_a_thought_may_not_revise_itself_before_it_exists() -> None:
    """Revising one's own number, when no thought has it yet, is a dangling reference."""
    session = one_thought_session(strict=True)

    with pytest.raises(InvalidThoughtError) as info:
        session.add_thought(thought(2, is_revision=True, revises_thought=2))

    assert "revises_thought" == info.value.field


# --- rejected thoughts change nothing ------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": ""},
        {"text": "   "},
        {"text": "\ud800"},
        {"text": "ok", "thought_number": 0},
        {"text": "ok", "thought_number": True},
        {"text": "ok", "total_thoughts": "3"},
        {"text": "ok", "next_thought_needed": "false"},
        {"text": "ok", "is_revision": 1},
        {"text": "ok", "revises_thought": 1.0},
        {"text": "ok", "branch_from_thought": seqthink.MAX_NUMBER + 1},
        {"text": "ok", "branch_id": ""},
        {"text": "ok", "branch_id": "x" * 257},
        {"text": "ok", "branch_id": "a\nb"},
        {"text": "ok", "needs_more_thoughts": "true"},
    ],
)
def test_a_rejected_thought_leaves_the_session_as_it_was(kwargs: dict[str, Any]) -> None:
    """A bad field raises InvalidThoughtError; history, branches, metadata and times stay put."""
    clock = FakeClock()
    session = one_thought_session(clock=clock)
    session.think("branch", branch_from_thought=1, branch_id="alt")
    before = state(session)
    clock.now += 60_000_000_000

    with pytest.raises(InvalidThoughtError):
        session.think(**kwargs)

    assert before == state(session)


def test_default_length_limit_is_100000_characters() -> None:
    """By default 100,000 characters are accepted and 100,001 are refused, naming the thought."""
    session = ThinkingSession("s")
    session.think("x" * 100_000)
    before = state(session)

    with pytest.raises(InvalidThoughtError) as info:
        session.think("y" * 100_001)

    assert "thought" == info.value.field
    assert before == state(session)
    assert 100_000 == seqthink.DEFAULT_MAX_THOUGHT_LENGTH


def test_length_limit_is_configurable_and_counts_characters() -> None:
    """max_thought_length counts characters (not bytes); one over the limit is refused."""
    session = ThinkingSession("s", max_thought_length=5)
    session.think("ü🧠ü🧠ü")  # 5 characters, 14 bytes
    before = state(session)

    with pytest.raises(InvalidThoughtError) as info:
        session.add_thought(thought(2, "abcdef"))

    assert ("thought", "abcdef") == (info.value.field, info.value.value)
    assert before == state(session)
    assert 5 == session.max_thought_length


@pytest.mark.parametrize("value", [None, "text", {"thought": "x"}, 1])
def test_add_thought_requires_a_thought(value: object) -> None:
    """add_thought of anything but a Thought raises InvalidArgumentError and records nothing."""
    session = one_thought_session()
    before = state(session)

    with pytest.raises(InvalidArgumentError) as info:
        session.add_thought(value)  # type: ignore[arg-type]

    assert isinstance(info.value, ValueError)
    assert before == state(session)


def test_add_thought_rejects_a_thought_result() -> None:
    """A ThoughtResult is not a Thought, even though it shares field names."""
    session = one_thought_session()
    result = session.think("two")

    with pytest.raises(InvalidArgumentError):
        session.add_thought(result)  # type: ignore[arg-type]


# --- time ----------------------------------------------------------------------


def test_times_are_aware_utc_datetimes() -> None:
    """created_at and last_activity are timezone-aware, in UTC, close to now by default."""
    before = datetime.now(timezone.utc)
    session = ThinkingSession("s")
    session.think("one")
    after = datetime.now(timezone.utc)

    meta = session.metadata
    for moment in (session.created_at, session.last_activity, meta.created_at, meta.last_activity):
        assert isinstance(moment, datetime)
        assert timedelta(0) == moment.utcoffset()
        assert before - timedelta(seconds=1) <= moment <= after + timedelta(seconds=1)


def test_new_session_was_last_active_when_created() -> None:
    """Before any thought, last_activity equals created_at, both read from the clock."""
    clock = FakeClock()

    session = ThinkingSession("s", clock=clock)

    assert (at(START_NS), at(START_NS)) == (session.created_at, session.last_activity)


def test_last_activity_moves_only_when_a_thought_is_recorded() -> None:
    """Reading and rejected thoughts leave last_activity; a recorded thought moves it to the clock."""
    clock = FakeClock()
    session = ThinkingSession("s", clock=clock)

    clock.now += 3_000_000_000
    _ = (session.thought_history, session.branches, session.metadata)
    with pytest.raises(InvalidThoughtError):
        session.think("")
    assert at(START_NS) == session.last_activity

    session.think("one")
    assert at(START_NS + 3_000_000_000) == session.last_activity
    assert at(START_NS) == session.created_at


def test_last_activity_never_goes_backwards() -> None:
    """When the clock jumps back, last_activity keeps the later time."""
    clock = FakeClock()
    session = ThinkingSession("s", clock=clock)
    clock.now += 10_000_000_000
    session.think("one")

    clock.now -= 3_600_000_000_000
    session.think("two")

    assert at(START_NS + 10_000_000_000) == session.last_activity
    assert 2 == len(session)


def test_created_at_never_changes() -> None:
    """created_at stays the creation time whatever the clock does later."""
    clock = FakeClock()
    session = ThinkingSession("s", clock=clock)

    clock.now = 0
    session.think("one")
    clock.now = START_NS * 2
    session.think("two")

    assert at(START_NS) == session.created_at


# --- completion ------------------------------------------------------------------


def test_a_final_thought_completes_the_session_which_stays_usable() -> None:
    """next_thought_needed=False marks the session complete; later thoughts are still recorded."""
    session = ThinkingSession("s")
    session.think("one")
    assert session.is_complete is False

    session.think("done", next_thought_needed=False)
    assert session.is_complete is True

    result = session.think("one more", needs_more_thoughts=True)
    assert 3 == result.thought_history_length
    assert ["one", "done", "one more"] == [t.thought for t in session.thought_history]
    assert session.is_complete is False


def test_empty_session_is_not_complete() -> None:
    """A session without thoughts is not complete."""
    assert ThinkingSession("s").is_complete is False


# --- read-only views ---------------------------------------------------------------


def test_history_and_branches_cannot_be_changed_through_what_is_returned() -> None:
    """Mutating the returned history, branches or their items is refused or has no effect."""
    session = one_thought_session()
    session.think("b", branch_from_thought=1, branch_id="alt")
    before = state(session)
    extra = thought(9)

    history = session.thought_history
    branches = session.branches
    metadata = session.metadata
    attempts: list[tuple[object, str, tuple[object, ...]]] = [
        (history, "append", (extra,)),
        (history, "__setitem__", (0, extra)),
        (history, "__delitem__", (0,)),
        (history, "clear", ()),
        (branches, "__setitem__", ("new", (extra,))),
        (branches, "__delitem__", ("alt",)),
        (branches, "clear", ()),
        (branches["alt"], "append", (extra,)),
        (branches["alt"], "__setitem__", (0, extra)),
        (history[0], "__setattr__", ("thought", "changed")),
        (metadata, "__setattr__", ("total_thoughts", 99)),
        (metadata.branch_ids, "append", ("x",)),
    ]
    for target, method, args in attempts:
        with contextlib.suppress(TypeError, AttributeError):
            getattr(target, method)(*args)

    assert before == state(session)


def test_returned_history_is_a_snapshot() -> None:
    """A history or branches value read earlier does not change when thoughts are added later."""
    session = one_thought_session()
    session.think("b", branch_from_thought=1, branch_id="alt")
    history, branches = session.thought_history, session.branches
    copied = (tuple(history), {k: tuple(v) for k, v in branches.items()})

    session.think("c", branch_from_thought=1, branch_id="alt")
    session.think("d", branch_from_thought=1, branch_id="other")

    assert copied == (tuple(history), {k: tuple(v) for k, v in branches.items()})


def test_session_properties_cannot_be_assigned() -> None:
    """session_id, times, history and branches are read-only properties."""
    session = one_thought_session()
    before = state(session)

    for name in ("session_id", "created_at", "last_activity", "thought_history", "branches", "metadata"):
        with pytest.raises(AttributeError):
            setattr(session, name, None)

    assert before == state(session)


# --- a reference model -------------------------------------------------------------

MAX_LEN = 12
VALID_IDS = ("a", "b", "日本")
INVALID: dict[str, list[object]] = {
    "text": ["", "  \n", "\ud800", 5],
    "thought_number": [0, -3, seqthink.MAX_NUMBER + 1, True, "3", 1.0],
    "total_thoughts": [0, False, "2", 2.0],
    "next_thought_needed": [None, "true", 1, 0],
    "is_revision": ["false", 1],
    "revises_thought": [0, True, "1"],
    "branch_from_thought": [0, False, 1.5],
    "branch_id": ["", "x" * 257, "a\x00", "\udc00", 3],
    "needs_more_thoughts": ["yes", 0],
}
ARGUMENT_TO_FIELD = {"text": "thought"}


@st.composite
def think_arguments(draw: st.DrawFn) -> tuple[dict[str, Any], str | None]:
    """Arguments for think(): mostly valid, sometimes with exactly one bad field.

    Returns the arguments and the name of the field made bad (or None).
    """
    small = st.integers(min_value=1, max_value=6)
    kwargs: dict[str, Any] = {
        "text": draw(st.sampled_from(["step", "über 🧠", "x" * MAX_LEN, "y" * (MAX_LEN + 1)])),
        "thought_number": draw(st.none() | small),
        "total_thoughts": draw(st.none() | small),
        "next_thought_needed": draw(st.booleans()),
        "is_revision": draw(st.none() | st.booleans()),
        "revises_thought": draw(st.none() | small),
        "branch_from_thought": draw(st.none() | small),
        "branch_id": draw(st.none() | st.sampled_from(VALID_IDS)),
        "needs_more_thoughts": draw(st.none() | st.booleans()),
    }
    bad = draw(st.none() | st.sampled_from(sorted(INVALID)))
    if bad is not None:
        kwargs[bad] = draw(st.sampled_from(INVALID[bad]))
        return kwargs, ARGUMENT_TO_FIELD.get(bad, bad)
    return kwargs, None


class SessionAgainstModel(RuleBasedStateMachine):
    """A session stays equal to a plain list + dict model through any mix of thoughts."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.strict = False
        self.session = ThinkingSession("model", max_thought_length=MAX_LEN, clock=self.clock)
        self.history: list[Thought] = []
        self.branches: dict[str, list[Thought]] = {}
        self.created_ns = self.last_ns = START_NS

    @initialize(strict=st.booleans())
    def start(self, strict: bool) -> None:
        self.strict = strict
        self.session = ThinkingSession("model", strict=strict, max_thought_length=MAX_LEN, clock=self.clock)
        self.created_ns = self.last_ns = self.clock.now

    @rule(delta_ms=st.integers(min_value=-5_000, max_value=5_000))
    def tick(self, delta_ms: int) -> None:
        self.clock.now += delta_ms * 1_000_000

    def expected_warnings(self, kwargs: dict[str, Any]) -> list[str]:
        """The fields the model expects warnings for, in the library's order."""
        recorded = {t.thought_number for t in self.history}
        found = []
        revises, origin = kwargs["revises_thought"], kwargs["branch_from_thought"]
        if revises is None:
            if kwargs["is_revision"] is True:
                found.append("is_revision")
        else:
            if revises not in recorded:
                found.append("revises_thought")
            if kwargs["is_revision"] is not True:
                found.append("revises_thought")
        if origin is None:
            if kwargs["branch_id"] is not None:
                found.append("branch_id")
        else:
            if origin not in recorded:
                found.append("branch_from_thought")
            if kwargs["branch_id"] is None:
                found.append("branch_from_thought")
        return found

    def expect(self, kwargs: dict[str, Any], bad: str | None) -> tuple[str, Any]:
        """("rejected", field) or ("recorded", (stored thought, number of warnings))."""
        if bad is not None:
            return "rejected", bad
        number = kwargs["thought_number"] or len(self.history) + 1
        total = kwargs["total_thoughts"]
        if total is None:
            total = max(self.history[-1].total_thoughts if self.history else 0, number)
        if len(kwargs["text"]) > MAX_LEN:
            return "rejected", "thought"
        warned = self.expected_warnings(kwargs)
        if self.strict and warned:
            return "rejected", warned[0]
        fields = {k: v for k, v in kwargs.items() if k not in {"text", "thought_number", "total_thoughts"}}
        stored = Thought(
            thought=kwargs["text"], thought_number=number, total_thoughts=max(total, number), **fields
        )
        return "recorded", (stored, len(warned))

    def apply(self, outcome: tuple[str, Any], call: Any) -> None:
        """Run ``call`` and check it did what the model expects, then update the model."""
        kind, detail = outcome
        if kind == "rejected":
            before = state(self.session)
            with pytest.raises(InvalidThoughtError) as info:
                call()
            assert detail == info.value.field
            assert before == state(self.session)
            return
        stored, warnings = detail
        result = call()
        self.history.append(stored)
        if stored.branch_from_thought is not None and stored.branch_id is not None:
            self.branches.setdefault(stored.branch_id, []).append(stored)
        self.last_ns = max(self.last_ns, self.clock.now)
        expected = ThoughtResult(
            thought_number=stored.thought_number,
            total_thoughts=stored.total_thoughts,
            next_thought_needed=stored.next_thought_needed,
            branches=tuple(self.branches),
            thought_history_length=len(self.history),
            warnings=result.warnings,
        )
        assert expected == result
        assert warnings == len(result.warnings)

    @rule(arguments=think_arguments())
    def think(self, arguments: tuple[dict[str, Any], str | None]) -> None:
        kwargs, bad = arguments
        self.apply(self.expect(kwargs, bad), lambda: self.session.think(**kwargs))

    @rule(arguments=think_arguments())
    def add_thought(self, arguments: tuple[dict[str, Any], str | None]) -> None:
        kwargs, bad = arguments
        # add_thought needs explicit numbers: fill the defaults think() would use.
        if kwargs["thought_number"] is None:
            kwargs["thought_number"] = len(self.history) + 1
        if kwargs["total_thoughts"] is None:
            kwargs["total_thoughts"] = 1
        outcome = self.expect(kwargs, bad)
        fields = {k: v for k, v in kwargs.items() if k != "text"}

        def call() -> ThoughtResult:
            return self.session.add_thought(Thought(thought=kwargs["text"], **fields))

        self.apply(outcome, call)

    @invariant()
    def matches_model(self) -> None:
        assert tuple(self.history) == self.session.thought_history
        assert [(k, tuple(v)) for k, v in self.branches.items()] == list(self.session.branches.items())
        expected = SessionMetadata(
            session_id="model",
            created_at=at(self.created_ns),
            last_activity=at(self.last_ns),
            total_thoughts=len(self.history),
            branch_ids=tuple(self.branches),
        )
        assert expected == self.session.metadata
        assert (bool(self.history) and not self.history[-1].next_thought_needed) == self.session.is_complete


SessionAgainstModel.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_session_against_model = SessionAgainstModel.TestCase


# --- the set of thought numbers -------------------------------------------------------

_NUMBERS = st.one_of(st.integers(1, 50), st.integers(1, 20_000), st.integers(1, _rules.MAX_NUMBER))


@given(st.lists(_NUMBERS, max_size=80), st.lists(st.integers(-5, 20_050), max_size=40))
def test_number_set_behaves_like_a_set(added: list[int], probes: list[int]) -> None:
    """NumberSet keeps numbers as bits, with far ones in a set; it must answer as a set would."""
    numbers, reference = NumberSet(), set()
    for count, n in enumerate(added, 1):
        numbers.add(n, count)
        reference.add(n)
        assert n in numbers
    assert len(numbers) == len(reference)
    assert list(numbers) == sorted(reference)
    assert all((p in numbers) == (p in reference) for p in probes + added)
    text: object = "1"
    assert text not in numbers
    assert list(NumberSet(added)) == sorted(reference)


def test_number_set_keeps_a_far_number_out_of_the_bitmap() -> None:
    """One huge thought number costs a set entry, not a bitmap reaching up to it."""
    numbers = NumberSet([1, 2, _rules.MAX_NUMBER])
    assert _rules.MAX_NUMBER in numbers
    assert len(numbers._bits) <= 1
    session = ThinkingSession("far")
    session.think("far ahead", thought_number=10**9)
    result = session.think("revise it", is_revision=True, revises_thought=10**9)
    assert result.warnings == ()


@pytest.mark.parametrize("clock", [time.time, lambda: "now", lambda: True])
def test_a_clock_that_does_not_give_integer_nanoseconds_is_refused(clock: Any) -> None:
    """clock=time.time (seconds, a float) would date the session 1970 and break the filesystem
    store: InvalidArgumentError naming the clock, at once.
    """
    with pytest.raises(InvalidArgumentError, match="clock"):
        ThinkingSession("s", clock=clock)


def test_a_clock_that_goes_bad_later_refuses_the_thought_and_changes_nothing() -> None:
    """A clock that returns a float on a later reading: that thought is refused, the session kept."""
    readings: list[Any] = [1_000, 2.5]
    session = ThinkingSession("s", clock=lambda: readings.pop(0))
    with pytest.raises(InvalidArgumentError, match="clock"):
        session.think("Refused.")
    assert (0, 1_000) == (len(session), session._last_activity_ns)


def test_the_default_clock_is_read_when_a_thought_is_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default clock looks up time.time_ns at each reading, so tools that patch it (freezegun,
    monkeypatch) date thoughts of sessions made before the patch too.
    """
    session = ThinkingSession("s")
    monkeypatch.setattr(time, "time_ns", lambda: 1_900_000_000_000_000_000)
    session.think("Dated by the patched clock.")
    assert datetime(2030, 3, 17, 17, 46, 40, tzinfo=timezone.utc) == session.last_activity


def test_a_clock_that_is_not_callable_is_refused() -> None:
    """clock=123 is refused when the session is made."""
    with pytest.raises(InvalidArgumentError, match="clock"):
        ThinkingSession("s", clock=123)  # type: ignore[arg-type]
