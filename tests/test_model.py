"""FileSystemStore against MemoryStore: a model-based state machine, sync and async.

Hypothesis drives a FileSystemStore (two handles on one root, as two
processes would hold them) and a MemoryStore (the model) with the same
operations: create a live session, record thoughts on it (valid, dangling,
branching and invalid ones), save it, append thoughts directly, restore
(from either handle or a freshly opened one), delete, clean up with an
explicit ``now`` and a limit, reopen a handle and move the clock. After
every step it checks that the two agree: the same results, the same errors
(a refused call writing nothing), the same stored sessions to the
nanosecond, listed the same way, and the filesystem root holding exactly
the committed files of exactly the stored sessions.

The machine is written once and run five ways: through the sync methods,
through their async twins (on an event loop kept for each example), a
smaller run with ``durable=True``, and on RedisStore, sync and async, where
the invariant checks the server holds exactly the keys of the stored sessions
(the ``redis_url`` fixture's server; skipped without one, as tests/conftest.py
says). ``SEQTHINK_SOAK=N`` runs N times as many
examples. Failures it found are replayed step by step at the end of the file.

Time: every session reads one fake clock, which moves 1 ms at the start of
every step (so no two steps share a timestamp, as with a real clock) and by
larger jumps in the ``tick`` rule. ``append`` and ``restore`` build their
sessions with the default clock, which would read the real time separately
for each store; the machine points that default at the fake clock for the
length of each example, so every time the two stores record is equal and is
compared exactly, appended sessions included.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar
from unittest import mock

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, MultipleResults, RuleBasedStateMachine, invariant, multiple, rule

import seqthink._session
from seqthink import MAX_NUMBER, FileSystemStore, MemoryStore, ThinkingSession, Thought
from seqthink._filesystem import LOCKS_DIR
from seqthink._format import SESSION_FILE, branch_file_name, thought_file_name
from seqthink._session import ns_to_datetime
from seqthink.errors import SeqthinkError, SessionNotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable

    from seqthink import SessionStore

#: A few session ids, so that operations collide.
SESSION_IDS = ("a", "b", "c.d")
#: Branch ids: plain, a case twin, and ones stored under encoded or hashed file names.
BRANCH_IDS = ("alt", "Alt", "with space", "ü/..", "x" * 201)
#: A short limit on thought text, so that over-long thoughts come up often.
MAX_LEN = 12
#: 2026-01-02T03:04:05.123456Z. The clock starts on a whole microsecond, where cleanup's
#: cutoff (a datetime, so whole microseconds) can fall exactly on a last activity; ``tick``
#: adds sub-microsecond parts, which every store must keep.
START_NS = 1_767_323_045_123_456_000
#: How far the clock moves at the start of every step (whole microseconds: only ``tick``
#: changes the sub-microsecond part).
STEP_NS = 1_000_000

numbers = st.integers(min_value=1, max_value=6)
#: Thought texts: never blank, sometimes longer than MAX_LEN, some non-ASCII.
texts = st.builds(
    str.__add__, st.sampled_from("aé𝄞"), st.text(st.sampled_from("b é→𝄞\n"), max_size=MAX_LEN + 2)
)
#: Mostly "alt", so that branches grow past one thought.
branch_ids = st.just("alt") | st.sampled_from(BRANCH_IDS)
#: (is_revision, revises_thought): none, a revision, or any mix (dangling or half-given).
revision_fields = (
    st.just((None, None))
    | st.tuples(st.just(True), numbers)
    | st.tuples(st.none() | st.booleans(), st.none() | numbers)
)
#: (branch_from_thought, branch_id): none, a branch thought, or any mix.
branch_fields = (
    st.just((None, None))
    | st.tuples(numbers, branch_ids)
    | st.tuples(st.none() | numbers, st.none() | branch_ids)
)


@st.composite
def thought_fields(draw: st.DrawFn, *, numbered: bool) -> dict[str, Any]:
    """A thought's fields, each valid on its own; references may dangle.

    Without ``numbered``, thought_number and total_thoughts may be None (think() fills them).
    """
    maybe = numbers if numbered else st.none() | numbers
    is_revision, revises = draw(revision_fields)
    origin, branch = draw(branch_fields)
    return {
        "text": draw(texts),
        "thought_number": draw(maybe),
        "total_thoughts": draw(maybe),
        "next_thought_needed": draw(st.booleans()),
        "is_revision": is_revision,
        "revises_thought": revises,
        "branch_from_thought": origin,
        "branch_id": branch,
        "needs_more_thoughts": draw(st.none() | st.booleans()),
    }


#: Values a thought refuses, by think() argument.
INVALID_ARGUMENTS: dict[str, tuple[Any, ...]] = {
    "text": ("", " \n", "a\ud800", 3),
    "next_thought_needed": (None, "false", 1),
    "thought_number": (0, MAX_NUMBER + 1, True, "2"),
    "total_thoughts": (0, -1, 2.0),
    "is_revision": ("true", 0),
    "revises_thought": (0, False),
    "branch_from_thought": (0, MAX_NUMBER + 1),
    "branch_id": ("", "a\x00b", "a\nb", "z" * 257, "\udfff"),
    "needs_more_thoughts": (1,),
}


@st.composite
def think_arguments(draw: st.DrawFn) -> dict[str, Any]:
    """Arguments for think(): valid fields, and now and then one invalid value."""
    kwargs = draw(thought_fields(numbered=False))
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        field = draw(st.sampled_from(sorted(INVALID_ARGUMENTS)))
        kwargs[field] = draw(st.sampled_from(INVALID_ARGUMENTS[field]))
    return kwargs


def _thought(fields: dict[str, Any]) -> Thought:
    return Thought(thought=fields["text"], **{k: v for k, v in fields.items() if k != "text"})


#: Thoughts for append(): the text may be too long for the session and references may
#: dangle, which the session's rules decide.
thoughts = thought_fields(numbered=True).map(_thought)
#: Strictness: mostly off, so that thoughts with dangling references are recorded (with warnings).
stricts = st.sampled_from((False, False, False, True))
#: Which filesystem handle an operation goes through.
handles = st.integers(min_value=0, max_value=1)


class FakeClock:
    """Integer nanoseconds since the epoch; moved only by the machine."""

    def __init__(self) -> None:
        self.now = START_NS

    def __call__(self) -> int:
        return self.now


class Pair:
    """One live session per store, built by the same calls, so their states stay equal."""

    def __init__(self, fs: ThinkingSession, model: ThinkingSession) -> None:
        self.fs = fs
        self.model = model

    def __repr__(self) -> str:
        return f"<Pair {self.fs.session_id!r}>"


def state(session: ThinkingSession) -> tuple[object, ...]:
    """Everything observable about a session, with its times to the nanosecond."""
    return (
        session.session_id,
        session._created_ns,
        session._last_activity_ns,
        session.created_at,
        session.last_activity,
        session.thought_history,
        list(session.branches.items()),
        session.metadata,
        session.is_complete,
        session.strict,
        session.max_thought_length,
    )


def outcome(call: Callable[[], object]) -> tuple[str, object]:
    """("returned", value) or ("raised", (error type, field)) for a seqthink error."""
    try:
        return "returned", call()
    except SeqthinkError as exc:
        return "raised", (type(exc), getattr(exc, "field", None))


def describe(result: tuple[str, object]) -> str:
    """A short label of an outcome, for hypothesis' statistics (--hypothesis-show-statistics)."""
    kind, value = result
    if kind == "raised":
        assert isinstance(value, tuple)
        return f"raised {value[0].__name__}" + (f" ({value[1]})" if value[1] else "")
    if isinstance(value, list):
        return f"returned {len(value)} ids"
    if value is None or isinstance(value, ThinkingSession):
        return "returned"
    return f"returned {value}" if isinstance(value, bool) else f"returned {type(value).__name__}"


def note(label: str) -> None:
    """Count an outcome for hypothesis' statistics (``--hypothesis-show-statistics``)."""
    if currently_in_test_context():
        event(label)


def expected_files(session: ThinkingSession) -> set[str]:
    """The files a committed session's folder holds.

    session.json, a file per thought, and a copy of each branch thought.
    """
    names = {SESSION_FILE}
    names.update(thought_file_name(k) for k in range(1, len(session) + 1))
    for branch, branch_thoughts in session.branches.items():
        names.update(branch_file_name(branch, j) for j in range(1, len(branch_thoughts) + 1))
    return names


class StoresAgree(RuleBasedStateMachine):
    """A FileSystemStore behaves exactly like a MemoryStore, step after step."""

    use_async: ClassVar[bool] = False
    durable: ClassVar[bool] = False

    pairs: Bundle[Pair] = Bundle("pairs")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.root = Path(tempfile.mkdtemp(prefix="seqthink-model-"))
        # append() and restore() make sessions with the default clock: make it the fake one.
        self.default_clock = mock.patch.object(seqthink._session, "time", SimpleNamespace(time_ns=self.clock))
        self.default_clock.start()
        if ThinkingSession("clock-check")._created_ns != START_NS:
            self.default_clock.stop()
            shutil.rmtree(self.root, ignore_errors=True)
            msg = "ThinkingSession no longer reads seqthink._session.time.time_ns: update this test"
            raise RuntimeError(msg)
        self.loop = asyncio.new_event_loop() if self.use_async else None
        self.handles = [self.open() for _ in range(2)]
        self.model = MemoryStore()
        self.live: list[Pair] = []

    def teardown(self) -> None:
        self.default_clock.stop()
        if self.loop is not None:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
            self.loop.close()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------

    def open(self) -> FileSystemStore:
        return FileSystemStore(self.root, durable=self.durable)

    def call(self, store: SessionStore, method: str, *args: Any, **kwargs: Any) -> Any:
        """``store.method(...)``, or its async twin ``store.amethod(...)`` in the async form."""
        if self.loop is None:
            return getattr(store, method)(*args, **kwargs)
        return self.loop.run_until_complete(getattr(store, "a" + method)(*args, **kwargs))

    def restored(
        self, store: SessionStore, session_id: str, *, strict: bool = False
    ) -> ThinkingSession | None:
        """The stored session, or None when there is none (any other error fails the test)."""
        try:
            session: ThinkingSession = self.call(
                store, "restore", session_id, strict=strict, max_thought_length=MAX_LEN
            )
        except SessionNotFoundError:
            return None
        return session

    def stored(self, store: SessionStore, session_id: str) -> tuple[object, ...] | None:
        session = self.restored(store, session_id)
        return None if session is None else state(session)

    def both(self, method: str, *args: Any, handle: int, **kwargs: Any) -> tuple[str, object]:
        """The outcome of one call on a filesystem handle, checked equal to the model's."""
        fs = outcome(lambda: self.call(self.handles[handle], method, *args, **kwargs))
        model = outcome(lambda: self.call(self.model, method, *args, **kwargs))
        assert fs == model, f"{method}{args}: filesystem {fs} != model {model}"
        note(f"{method}: {describe(fs)}")
        return fs

    def unchanged_after_refusal(self, session_id: str, before: tuple[object, ...] | None) -> None:
        """A refused call wrote nothing, in either store."""
        assert before == self.stored(self.model, session_id)
        assert before == self.stored(self.open(), session_id)

    # --- rules -----------------------------------------------------------------
    # Each rule first moves the clock a little, so that no two steps share a time.

    @rule(ns=st.integers(min_value=1, max_value=120 * 10**9), whole_microsecond=st.booleans())
    def tick(self, ns: int, whole_microsecond: bool) -> None:
        """Time passes: up to two minutes, to the nanosecond, or to the next whole microsecond."""
        self.clock.now += ns
        if whole_microsecond:
            self.clock.now += -self.clock.now % 1000

    @rule(target=pairs, session_id=st.sampled_from(SESSION_IDS), strict=stricts)
    def create(self, session_id: str, strict: bool) -> Pair:
        """A new live session, one copy per store."""
        self.clock.now += STEP_NS
        fs, model = (
            ThinkingSession(session_id, strict=strict, max_thought_length=MAX_LEN, clock=self.clock)
            for _ in range(2)
        )
        pair = Pair(fs, model)
        self.live.append(pair)
        return pair

    @rule(pair=pairs, calls=st.lists(think_arguments(), min_size=1, max_size=3))
    def think(self, pair: Pair, calls: list[dict[str, Any]]) -> None:
        """Both copies record each thought with the same result, or both refuse it and stay as they were."""
        for kwargs in calls:
            self.clock.now += STEP_NS
            before = state(pair.fs)
            fs = outcome(functools.partial(pair.fs.think, **kwargs))
            model = outcome(functools.partial(pair.model.think, **kwargs))
            assert fs == model
            note(f"think: {describe(fs)}")
            if fs[0] == "raised":
                assert before == state(pair.fs)
            assert state(pair.fs) == state(pair.model)

    @rule(pair=pairs, handle=handles)
    def save(self, pair: Pair, handle: int) -> None:
        """Both stores save, or both raise ConflictError and write nothing."""
        self.clock.now += STEP_NS
        session_id = pair.fs.session_id
        before = self.stored(self.model, session_id)
        fs = outcome(lambda: self.call(self.handles[handle], "save", pair.fs))
        model = outcome(lambda: self.call(self.model, "save", pair.model))
        assert fs == model, f"save: filesystem {fs} != model {model}"
        note(f"save: {describe(fs)}")
        if fs[0] == "raised":
            self.unchanged_after_refusal(session_id, before)
        assert state(pair.fs) == state(pair.model)

    @rule(
        session_id=st.sampled_from(SESSION_IDS),
        appended=st.lists(thoughts, min_size=1, max_size=3),
        strict=stricts,
        handle=handles,
    )
    def append(self, session_id: str, appended: list[Thought], strict: bool, handle: int) -> None:
        """Both stores return equal ThoughtResults, or both refuse the thought and store nothing."""
        for thought in appended:
            self.clock.now += STEP_NS
            before = self.stored(self.model, session_id)
            fs = self.both(
                "append", session_id, thought, strict=strict, max_thought_length=MAX_LEN, handle=handle
            )
            if fs[0] == "raised":
                self.unchanged_after_refusal(session_id, before)

    @rule(
        target=pairs,
        session_id=st.sampled_from(SESSION_IDS),
        strict=stricts,
        where=st.sampled_from(("reopened", 0, 1)),
    )
    def restore(self, session_id: str, strict: bool, where: str | int) -> Pair | MultipleResults[Pair]:
        """Both restore equal sessions (from a handle or a freshly opened store), or neither has one."""
        self.clock.now += STEP_NS
        store = self.open() if where == "reopened" else self.handles[int(where)]
        fs = self.restored(store, session_id, strict=strict)
        model = self.restored(self.model, session_id, strict=strict)
        if fs is None or model is None:
            assert fs is None
            assert model is None
            return multiple()
        assert state(fs) == state(model)
        pair = Pair(fs, model)
        self.live.append(pair)
        return pair

    @rule(session_id=st.sampled_from(SESSION_IDS), handle=handles)
    def delete(self, session_id: str, handle: int) -> None:
        """Both say the same about whether there was a session."""
        self.clock.now += STEP_NS
        self.both("delete", session_id, handle=handle)

    @rule(
        older_than_ms=st.sampled_from((0, 1, 10, 100, 1000)) | st.integers(min_value=0, max_value=600_000),
        anchor=st.none() | st.tuples(st.integers(min_value=0, max_value=2), st.sampled_from((0, 0, -1, 1))),
        limit=st.none() | st.integers(min_value=1, max_value=2),
        handle=handles,
    )
    def cleanup(
        self, older_than_ms: int, anchor: tuple[int, int] | None, limit: int | None, handle: int
    ) -> None:
        """Both delete the same sessions, oldest first, at most ``limit``, with an explicit ``now``.

        ``now`` is the clock's time or, with an ``anchor`` (k, shift), the moment that puts
        the cutoff on the last activity of the k-th most recently active stored session,
        shifted by ``shift`` microseconds: the sessions before it, or also it, are old.
        """
        self.clock.now += STEP_NS
        older_than = timedelta(milliseconds=older_than_ms)
        now = ns_to_datetime(self.clock.now)
        listed = self.model.list_sessions()
        if anchor is not None and listed:
            index, shift_us = anchor
            now = listed[index % len(listed)].last_activity + older_than + timedelta(microseconds=shift_us)
        self.both("cleanup", older_than, now=now, limit=limit, handle=handle)

    @rule(handle=handles)
    def reopen(self, handle: int) -> None:
        """A handle is dropped and the root opened again, as by a restarted process."""
        self.clock.now += STEP_NS
        self.handles[handle] = self.open()

    # --- invariants --------------------------------------------------------------

    @invariant()
    def stores_hold_the_same_sessions(self) -> None:
        """exists (on both handles), restore (in a freshly opened store) and list_sessions agree."""
        fresh = self.open()
        for session_id in SESSION_IDS:
            exists = self.call(self.model, "exists", session_id)
            assert exists == self.call(self.handles[0], "exists", session_id)
            assert exists == self.call(self.handles[1], "exists", session_id)
            # Raises CorruptSessionError if the folder cannot be read back.
            assert self.stored(self.model, session_id) == self.stored(fresh, session_id)
        assert self.call(self.model, "list_sessions") == self.call(fresh, "list_sessions")

    @invariant()
    def live_pairs_are_equal(self) -> None:
        """Saving never changes a live session differently in the two stores."""
        for pair in self.live:
            assert state(pair.fs) == state(pair.model)

    @invariant()
    def disk_holds_exactly_the_committed_files(self) -> None:
        """One folder per stored session, holding its commit record and thought files and nothing else.

        No temp files, no folders of deleted sessions, no thought files past the commit.
        """
        folders = {entry.name for entry in self.root.iterdir()} - {LOCKS_DIR}
        sessions = {sid: self.model.restore(sid) for sid in SESSION_IDS if self.model.exists(sid)}
        assert set(sessions) == folders
        for session_id, session in sessions.items():
            assert expected_files(session) == {entry.name for entry in (self.root / session_id).iterdir()}


class StoresAgreeSync(StoresAgree):
    """The machine through the sync methods, not durable (atomic, no fsync)."""


class StoresAgreeAsync(StoresAgree):
    """The machine through the async twins (asave, aappend, arestore, ...), not durable."""

    use_async = True


class StoresAgreeDurable(StoresAgree):
    """The machine with fsync on every commit (durable=True), through the sync methods: a smaller run."""

    durable = True


class StoresAgreeRedis(StoresAgree):
    """The machine on RedisStore (two handles, each its own connections) against the model."""

    url: ClassVar[str] = ""

    def __init__(self) -> None:
        self.prefix = f"seqthink-model:{uuid.uuid4().hex}:"
        super().__init__()

    def open(self) -> SessionStore:  # type: ignore[override]
        from seqthink import RedisStore

        return RedisStore(self.url, prefix=self.prefix)

    def teardown(self) -> None:
        import redis

        client = redis.Redis.from_url(self.url)
        keys = list(client.scan_iter(match=self.prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()
        super().teardown()

    @invariant()
    def disk_holds_exactly_the_committed_files(self) -> None:
        """The keys of exactly the stored sessions, and only the ones their thoughts call for."""
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            found = {key.decode() for key in client.scan_iter(match=self.prefix + "*", count=1000)}
        finally:
            client.close()
        expected = set()
        for session_id in SESSION_IDS:
            if not self.model.exists(session_id):
                continue
            session = self.model.restore(session_id)
            at = f"{self.prefix}s:{session_id}:"
            expected.update({at + "meta", at + "ops", self.prefix + "index"})
            if len(session):
                expected.update({at + "thoughts", at + "numbers"})
            if session.branches:
                expected.add(at + "branch_ids")
                expected.update(at + "branch:" + branch for branch in session.branches)
        assert expected == found


class StoresAgreeRedisAsync(StoresAgreeRedis):
    """RedisStore through its async twins, on redis.asyncio."""

    use_async = True


@pytest.fixture
def _redis_for_the_model(redis_url: str) -> None:
    StoresAgreeRedis.url = redis_url


#: ``SEQTHINK_SOAK=N`` runs N times as many examples (as tests/test_crash.py runs N times as many trials).
SOAK = max(1, int(os.environ.get("SEQTHINK_SOAK", "1") or "1"))
_SETTINGS: dict[str, Any] = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}

StoresAgreeSync.TestCase.settings = settings(max_examples=100 * SOAK, stateful_step_count=40, **_SETTINGS)
StoresAgreeAsync.TestCase.settings = settings(max_examples=100 * SOAK, stateful_step_count=40, **_SETTINGS)
StoresAgreeDurable.TestCase.settings = settings(max_examples=50 * SOAK, stateful_step_count=40, **_SETTINGS)

StoresAgreeRedis.TestCase.settings = settings(max_examples=50 * SOAK, stateful_step_count=40, **_SETTINGS)
StoresAgreeRedisAsync.TestCase.settings = settings(
    max_examples=50 * SOAK, stateful_step_count=40, **_SETTINGS
)

TestStoresAgreeSync = StoresAgreeSync.TestCase
TestStoresAgreeAsync = StoresAgreeAsync.TestCase
TestStoresAgreeDurable = StoresAgreeDurable.TestCase
TestStoresAgreeRedis = pytest.mark.usefixtures("_redis_for_the_model")(StoresAgreeRedis.TestCase)
TestStoresAgreeRedisAsync = pytest.mark.usefixtures("_redis_for_the_model")(StoresAgreeRedisAsync.TestCase)


# --- failures the machine found, replayed step by step (regression tests) ---------------


def plain(text: str) -> dict[str, Any]:
    """think() arguments for a plain next thought."""
    return {
        "text": text,
        "thought_number": None,
        "total_thoughts": None,
        "next_thought_needed": True,
        "is_revision": None,
        "revises_thought": None,
        "branch_from_thought": None,
        "branch_id": None,
        "needs_more_thoughts": None,
    }


def test_append_after_another_handle_deleted_and_a_copy_was_saved() -> None:
    """append() on a handle whose cached session was deleted and stored anew elsewhere adds to the new one.

    Found by the machine. Handle 1 appends to "a" and keeps the session it committed in
    its cache. Handle 0 deletes "a", and a copy with the same created_at and more thoughts
    is saved anew. MemoryStore appends to what is stored. FileSystemStore used to take its
    stale cache for the head of the stored session, splice the new thoughts onto it,
    return a result computed from that (branches=('alt',)) and commit a session.json
    whose branch_ids did not match the thoughts on disk, so the session no longer
    restored (CorruptSessionError).
    """
    machine = StoresAgreeSync()
    try:
        copy = machine.create("a", strict=False)
        machine.save(copy, handle=0)
        first = Thought("y1", 1, 1, True, branch_from_thought=1, branch_id="alt")
        machine.append("a", [first], strict=False, handle=1)
        machine.delete("a", handle=0)
        machine.think(copy, [plain("p1"), plain("p2")])
        machine.save(copy, handle=0)
        machine.append("a", [Thought("y3", 3, 3, True)], strict=False, handle=1)
        machine.stores_hold_the_same_sessions()
    finally:
        machine.teardown()


def test_append_after_another_handle_deleted_and_a_copy_with_new_thoughts_was_saved() -> None:
    """The same stale cache, when the copy saved anew diverges from it: append raised ConflictError.

    append() promises never to raise ConflictError; MemoryStore appends. (Found by the
    machine in a longer run; same cause as the test above.)
    """
    machine = StoresAgreeSync()
    try:
        machine.append("a", [Thought("t1", 1, 1, True)], strict=False, handle=0)
        copy = machine.restore("a", strict=False, where="reopened")
        assert isinstance(copy, Pair)
        machine.think(copy, [plain("x2")])
        machine.append("a", [Thought("a2", 2, 2, True)], strict=False, handle=0)
        machine.delete("a", handle=1)
        machine.save(copy, handle=1)
        machine.append("a", [Thought("a3", 3, 3, True)], strict=False, handle=0)
        machine.stores_hold_the_same_sessions()
    finally:
        machine.teardown()
