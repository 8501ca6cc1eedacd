"""The behavioural test suite every SessionStore must pass.

Subclass :class:`StoreTests` in a pytest test module and say how to make a
fresh store; every test then runs against it twice, once through the sync
methods and once through their async twins::

    from seqthink.testing import StoreTests

    class TestMyStore(StoreTests):
        def make_store(self, tmp_path):
            return MyStore(...)

Override :meth:`StoreTests.reopen` when your store can be opened twice on
the same data (as two processes would); the suite then also checks what one
handle sees of the other's writes.

This module needs pytest, which is not a dependency of seqthink itself.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

from seqthink._session import ThinkingSession, datetime_to_ns
from seqthink._thought import Thought, ThoughtResult
from seqthink.errors import (
    ConflictError,
    InvalidArgumentError,
    InvalidSessionIdError,
    InvalidThoughtError,
    SeqthinkError,
    SessionNotFoundError,
)

if TYPE_CHECKING:
    from pathlib import Path

    from seqthink._session import SessionMetadata
    from seqthink._store import SessionStore

__all__ = ["Colour", "StoreTests", "sample_session"]

_T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)


class _Clock:
    """A clock the tests move by hand: integer nanoseconds since the epoch."""

    def __init__(self, start: datetime = _T0) -> None:
        self.ns = datetime_to_ns(start) + 789  # sub-microsecond part, kept by every store

    def __call__(self) -> int:
        self.ns += 1_000_000  # each reading is 1 ms later
        return self.ns


def sample_session(session_id: str = "sample", *, start: datetime = _T0) -> ThinkingSession:
    """A session with a revision, two branches and a completed last thought."""
    session = ThinkingSession(session_id, clock=_Clock(start))
    session.think("Restate the problem: 15 * 24.", total_thoughts=4)
    session.think("15 * 24 = 15 * 20 + 15 * 4 = 300 + 60 = 360.")
    session.think("Alternative: 24 * 15 = 240 + 120.", branch_from_thought=1, branch_id="alt")
    session.think("Check by halving and doubling: 30 * 12.", branch_from_thought=1, branch_id="halve")
    session.think("360 again; thought 2 stands.", is_revision=True, revises_thought=2)
    session.think("Both branches agree: 360.", branch_from_thought=3, branch_id="alt")
    session.think("Answer: 360.", next_thought_needed=False)
    return session


class Colour:
    """One way of calling a store: its sync methods, or their async twins."""

    def __init__(self, store: SessionStore, name: str) -> None:
        self.store = store
        self.name = name

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.name == "sync":
            return getattr(self.store, method)(*args, **kwargs)
        return asyncio.run(getattr(self.store, "a" + method)(*args, **kwargs))

    def save(self, session: ThinkingSession) -> None:
        self._call("save", session)

    def restore(self, session_id: str, **options: Any) -> ThinkingSession:
        result: ThinkingSession = self._call("restore", session_id, **options)
        return result

    def delete(self, session_id: str) -> bool:
        return bool(self._call("delete", session_id))

    def exists(self, session_id: str) -> bool:
        return bool(self._call("exists", session_id))

    def list_sessions(self) -> list[SessionMetadata]:
        result: list[SessionMetadata] = self._call("list_sessions")
        return result

    def cleanup(
        self, older_than: timedelta, *, now: datetime | None = None, limit: int | None = None
    ) -> list[str]:
        result: list[str] = self._call("cleanup", older_than, now=now, limit=limit)
        return result

    def append(self, session_id: str, thought: Thought, **options: Any) -> ThoughtResult:
        result: ThoughtResult = self._call("append", session_id, thought, **options)
        return result


def _state(session: ThinkingSession) -> tuple[object, ...]:
    """Everything a session holds, for comparing two of them."""
    return (
        session.session_id,
        session.created_at,
        session.last_activity,
        session.thought_history,
        dict(session.branches),
        session.metadata,
        session.is_complete,
    )


class StoreTests:
    """The contract of a SessionStore. Subclass it and define :meth:`make_store`."""

    def make_store(self, tmp_path: Path) -> SessionStore:
        """A fresh, empty store; ``tmp_path`` is a new folder it may use."""
        raise NotImplementedError

    def reopen(self, store: SessionStore) -> SessionStore:
        """Another handle on the same data, as another process would open it."""
        return store

    @pytest.fixture(params=["sync", "async"])
    def api(self, request: pytest.FixtureRequest, tmp_path: Path) -> Colour:
        return Colour(self.make_store(tmp_path), request.param)

    @pytest.fixture
    def other(self, api: Colour) -> Colour:
        return Colour(self.reopen(api.store), api.name)

    # --- save and restore --------------------------------------------------

    def test_restore_gives_back_what_was_saved(self, api: Colour) -> None:
        """Every thought, branch, time and flag comes back exactly."""
        session = sample_session()
        api.save(session)
        assert _state(session) == _state(api.restore("sample"))

    def test_restore_keeps_sub_microsecond_time(self, api: Colour, other: Colour) -> None:
        """Saving a restored session that gained nothing changes nothing: times compare equal to the ns."""
        api.save(sample_session())
        restored = other.restore("sample")
        other.save(restored)  # nothing new: must not count as a conflict or change the times
        assert _state(restored) == _state(api.restore("sample"))

    def test_empty_session_round_trips(self, api: Colour) -> None:
        """A session with no thoughts can be saved and restored."""
        session = ThinkingSession("empty")
        api.save(session)
        restored = api.restore("empty")
        assert (0, {}, session.created_at) == (len(restored), dict(restored.branches), restored.created_at)

    def test_saves_are_incremental_and_keep_order(self, api: Colour) -> None:
        """Thoughts added between saves are all stored, in order, with their branches."""
        session = sample_session()
        api.save(session)
        session.think("A late thought.", branch_from_thought=2, branch_id="late")
        api.save(session)
        session.think("And one more.")
        api.save(session)
        assert _state(session) == _state(api.restore("sample"))

    def test_restored_sessions_are_copies(self, api: Colour) -> None:
        """Changing a restored session changes nothing stored until it is saved."""
        api.save(sample_session())
        first = api.restore("sample")
        first.think("Unsaved thought.")
        assert len(first) - 1 == len(api.restore("sample"))

    def test_restored_session_continues_numbering(self, api: Colour) -> None:
        """think() on a restored session numbers the next thought after the stored ones."""
        api.save(sample_session())
        restored = api.restore("sample")
        result = restored.think("Next.")
        assert (8, 8) == (result.thought_number, result.thought_history_length)

    def test_restore_options_apply_to_later_thoughts(self, api: Colour) -> None:
        """restore(strict=True) gives a strict session."""
        api.save(sample_session())
        restored = api.restore("sample", strict=True, max_thought_length=50)
        with pytest.raises(SeqthinkError):
            restored.think("x" * 51)
        assert (True, 50) == (restored.strict, restored.max_thought_length)

    def test_unusual_branch_ids_round_trip(self, api: Colour) -> None:
        """Branch ids with spaces, dots, slashes, non-ASCII and maximal length come back exactly."""
        session = ThinkingSession("odd")
        session.think("Root.")
        ids = ["with space", "../up", "a/b\\c", "ветка", "思考 🌿", "x" * 256, "Alt", "alt", "~tilde"]
        for branch_id in ids:
            session.think(f"On {branch_id}.", branch_from_thought=1, branch_id=branch_id)
        api.save(session)
        assert ids == list(api.restore("odd").branches)

    def test_non_ascii_text_round_trips(self, api: Colour) -> None:
        """Text in any script, with emoji, newlines, quotes and NUL, comes back unchanged."""
        session = ThinkingSession("text")
        text = 'Ünïcödé — 中文 — 🧠\n"quoted"\t\\back\x00nul'
        session.think(text)
        api.save(session)
        assert text == api.restore("text").thought_history[0].thought

    def test_restore_of_unknown_session_raises_not_found(self, api: Colour) -> None:
        """Restoring an id that was never saved raises SessionNotFoundError, also a KeyError."""
        with pytest.raises(SessionNotFoundError) as info:
            api.restore("never-saved")
        assert isinstance(info.value, KeyError)
        assert "never-saved" == info.value.session_id

    @pytest.mark.parametrize("bad", ["", "..", ".hidden", "a/b", "a\\b", "x" * 129, "a\x00b", "é"])
    def test_bad_session_ids_are_refused_everywhere(self, api: Colour, bad: str) -> None:
        """Every method refuses an invalid id with InvalidSessionIdError and stores nothing."""
        for call in (api.restore, api.delete, api.exists):
            with pytest.raises(InvalidSessionIdError):
                call(bad)
        assert [] == api.list_sessions()

    def test_save_refuses_what_is_not_a_session(self, api: Colour) -> None:
        """save() of something else raises InvalidArgumentError."""
        with pytest.raises(InvalidArgumentError):
            api.save("sample")  # type: ignore[arg-type]

    # --- conflicts ----------------------------------------------------------

    def test_new_session_cannot_overwrite_a_stored_one(self, api: Colour) -> None:
        """A fresh session reusing a stored id gets ConflictError and the stored one is untouched."""
        stored = sample_session()
        api.save(stored)
        impostor = sample_session("sample", start=_T0 + timedelta(days=1))
        with pytest.raises(ConflictError):
            api.save(impostor)
        assert _state(stored) == _state(api.restore("sample"))

    def test_stale_copy_gets_a_conflict_and_can_retry(self, api: Colour, other: Colour) -> None:
        """Of two copies restored from one state, the second to save gets ConflictError and
        changes nothing; restoring again and re-applying its thought then succeeds.
        """
        api.save(sample_session())
        first, second = api.restore("sample"), other.restore("sample")
        first.think("First writer.")
        api.save(first)
        second.think("Second writer.")
        with pytest.raises(ConflictError):
            other.save(second)
        assert _state(first) == _state(api.restore("sample"))
        retry = other.restore("sample")
        retry.think("Second writer.")
        other.save(retry)
        texts = [t.thought for t in api.restore("sample").thought_history[-2:]]
        assert ["First writer.", "Second writer."] == texts

    def test_an_older_snapshot_committed_late_changes_nothing(self, api: Colour) -> None:
        """Two overlapping saves of one session: when the newer lands first, the older one writes nothing."""
        session = sample_session()
        api.save(session)
        session.think("Eighth.")
        older = session._snapshot()
        session.think("Ninth.")
        newer = session._snapshot()
        for record in (newer, older):  # the order in which two in-flight saves may commit
            if api.name == "sync":
                api.store._save(record, session._known)
            else:
                asyncio.run(api.store._asave(record, session._known))
        assert _state(session) == _state(api.restore("sample"))

    def test_saving_again_after_delete_recreates(self, api: Colour) -> None:
        """A live session whose stored copy was deleted is stored whole when saved again."""
        session = sample_session()
        api.save(session)
        assert api.delete("sample")
        session.think("Still thinking.")
        api.save(session)
        assert _state(session) == _state(api.restore("sample"))

    def test_other_handle_sees_saved_sessions(self, api: Colour, other: Colour) -> None:
        """What one handle saves, another handle on the same data restores and lists."""
        session = sample_session()
        api.save(session)
        assert _state(session) == _state(other.restore("sample"))
        assert [session.metadata] == other.list_sessions()

    # --- append ----------------------------------------------------------------

    def test_append_creates_the_session_and_returns_the_result(self, api: Colour) -> None:
        """append() to an absent id creates the session; the result is add_thought's."""
        result = api.append("fresh", Thought("First.", 1, 2, True))
        restored = api.restore("fresh")
        assert (1, 2, 1, ()) == (
            result.thought_number,
            result.total_thoughts,
            result.thought_history_length,
            result.branches,
        )
        assert [Thought("First.", 1, 2, True)] == list(restored.thought_history)

    def test_append_adds_to_the_newest_stored_state(self, api: Colour, other: Colour) -> None:
        """Appends through two handles and a save in between all end up stored, in order."""
        session = sample_session()
        api.save(session)
        api.append("sample", Thought("Eighth.", 8, 8, True))
        other.append("sample", Thought("Ninth.", 9, 9, True, branch_from_thought=8, branch_id="late"))
        result = api.append("sample", Thought("Tenth.", 10, 10, False))
        restored = api.restore("sample")
        assert ["Eighth.", "Ninth.", "Tenth."] == [t.thought for t in restored.thought_history[7:]]
        assert (10, ("alt", "halve", "late")) == (result.thought_history_length, result.branches)
        assert restored.is_complete

    def test_append_applies_the_session_rules(self, api: Colour) -> None:
        """Dangling references warn, or are refused with strict; refused thoughts store nothing."""
        api.save(sample_session())
        warned = api.append(
            "sample", Thought("Revises 99.", 8, 8, True, is_revision=True, revises_thought=99)
        )
        with pytest.raises(InvalidThoughtError):
            api.append("sample", Thought("Strictly no.", 9, 9, True, revises_thought=99), strict=True)
        with pytest.raises(InvalidThoughtError):
            api.append("sample", Thought("x" * 11, 9, 9, True), max_thought_length=10)
        with pytest.raises(InvalidThoughtError):
            api.append("absent", Thought("x" * 11, 1, 1, True), max_thought_length=10)
        assert (1, 8, False) == (len(warned.warnings), len(api.restore("sample")), api.exists("absent"))

    def test_a_stale_copy_cannot_save_over_appends(self, api: Colour) -> None:
        """A copy restored before an append gets ConflictError when saved."""
        api.save(sample_session())
        copy = api.restore("sample")
        api.append("sample", Thought("Appended.", 8, 8, True))
        copy.think("Stale.")
        with pytest.raises(ConflictError):
            api.save(copy)
        assert "Appended." == api.restore("sample").thought_history[-1].thought

    def test_append_after_delete_starts_a_new_session(self, api: Colour) -> None:
        """Appending to a deleted id creates a new session holding just that thought."""
        api.save(sample_session())
        api.append("sample", Thought("Before delete.", 8, 8, True))
        api.delete("sample")
        api.append("sample", Thought("After delete.", 1, 1, True))
        assert ["After delete."] == [t.thought for t in api.restore("sample").thought_history]

    @pytest.mark.parametrize(
        ("args", "error"),
        [
            (("../x", Thought("t", 1, 1, True)), InvalidSessionIdError),
            (("ok", "not a thought"), InvalidArgumentError),
            (("ok", {"thought": "t"}), InvalidArgumentError),
        ],
    )
    def test_append_refuses_bad_arguments(self, api: Colour, args: tuple[Any, Any], error: type) -> None:
        """A bad id or something that is not a Thought is refused before the store is touched."""
        with pytest.raises(error):
            api.append(*args)
        with pytest.raises(InvalidArgumentError):
            api.append("ok", Thought("t", 1, 1, True), strict="yes")
        assert [] == api.list_sessions()

    # --- exists, delete, list -------------------------------------------------

    def test_exists_follows_save_and_delete(self, api: Colour) -> None:
        """exists() is false before saving, true after, false after delete."""
        before = api.exists("sample")
        api.save(sample_session())
        during = api.exists("sample")
        api.delete("sample")
        assert (False, True, False) == (before, during, api.exists("sample"))

    def test_delete_reports_whether_there_was_a_session(self, api: Colour) -> None:
        """delete() returns True once, then False; the session is gone."""
        api.save(sample_session())
        assert (True, False) == (api.delete("sample"), api.delete("sample"))
        with pytest.raises(SessionNotFoundError):
            api.restore("sample")

    def test_delete_leaves_other_sessions(self, api: Colour) -> None:
        """Deleting one session does not touch another."""
        keep = sample_session("keep")
        api.save(keep)
        api.save(sample_session("drop"))
        api.delete("drop")
        assert _state(keep) == _state(api.restore("keep"))

    def test_list_sessions_newest_first(self, api: Colour) -> None:
        """list_sessions() gives each session's metadata, most recently active first."""
        sessions = [sample_session(f"s{i}", start=_T0 + timedelta(hours=i)) for i in range(3)]
        for session in sessions:
            api.save(session)
        assert [s.metadata for s in reversed(sessions)] == api.list_sessions()

    def test_list_of_empty_store_is_empty(self, api: Colour) -> None:
        """A store with nothing saved lists nothing."""
        assert [] == api.list_sessions()

    # --- cleanup ----------------------------------------------------------------

    def test_cleanup_deletes_only_old_sessions_oldest_first(self, api: Colour) -> None:
        """cleanup() deletes sessions last active before now - older_than and returns their ids."""
        for name, age in (("fresh", 1), ("old", 30), ("older", 50), ("edge", 24)):
            api.save(sample_session(name, start=_T0 - timedelta(hours=age)))
        now = _T0 + timedelta(seconds=1)  # each sample session is active for ~7 ms after its start
        deleted = api.cleanup(timedelta(hours=24), now=now)
        remaining = sorted(m.session_id for m in api.list_sessions())
        assert (["older", "old", "edge"], ["fresh"]) == (deleted, remaining)

    def test_cleanup_limit_bounds_each_call_and_resumes(self, api: Colour) -> None:
        """With limit, each call deletes at most that many, oldest first; repeated calls finish the job."""
        for age in range(5):
            api.save(sample_session(f"s{age}", start=_T0 - timedelta(days=10 + age)))
        api.save(sample_session("fresh", start=_T0))
        now = _T0 + timedelta(hours=1)
        rounds = [api.cleanup(timedelta(days=1), now=now, limit=2) for _ in range(4)]
        assert [["s4", "s3"], ["s2", "s1"], ["s0"], []] == rounds
        assert ["fresh"] == [m.session_id for m in api.list_sessions()]

    @pytest.mark.parametrize("limit", [0, -1, True, 2.0, "3"])
    def test_cleanup_refuses_a_bad_limit(self, api: Colour, limit: Any) -> None:
        """limit must be a positive integer or None."""
        api.save(sample_session("old", start=_T0 - timedelta(days=3)))
        with pytest.raises(InvalidArgumentError, match="limit"):
            api.cleanup(timedelta(days=1), now=_T0, limit=limit)
        assert api.exists("old")

    def test_cleanup_is_idempotent(self, api: Colour) -> None:
        """A second cleanup with the same arguments deletes nothing more."""
        api.save(sample_session("old", start=_T0 - timedelta(days=3)))
        now = _T0
        first = api.cleanup(timedelta(days=1), now=now)
        assert (["old"], []) == (first, api.cleanup(timedelta(days=1), now=now))

    def test_cleanup_uses_last_activity_not_creation(self, api: Colour) -> None:
        """A session created long ago but active recently is kept."""
        session = sample_session("long-lived", start=_T0 - timedelta(days=10))
        session._clock = _Clock(_T0)  # its next thought is recorded now
        session.think("Still going.")
        api.save(session)
        assert [] == api.cleanup(timedelta(days=1), now=_T0 + timedelta(hours=1))

    @pytest.mark.parametrize(
        ("older_than", "now"),
        [
            (timedelta(hours=-1), None),
            (3600, None),
            (timedelta(hours=1), datetime(2026, 1, 1)),  # noqa: DTZ001 (naive on purpose)
            (timedelta(hours=1), "2026-01-01"),
        ],
    )
    def test_cleanup_refuses_bad_arguments(self, api: Colour, older_than: Any, now: Any) -> None:
        """Negative or non-timedelta ages and naive or non-datetime times raise InvalidArgumentError."""
        api.save(sample_session("old", start=_T0 - timedelta(days=3)))
        with pytest.raises(InvalidArgumentError):
            api.cleanup(older_than, now=now)
        assert api.exists("old")

    def test_cleanup_with_an_age_beyond_the_calendar_deletes_nothing(self, api: Colour) -> None:
        """An older_than reaching before year 1 is valid and matches no session."""
        api.save(sample_session("old", start=datetime(2001, 1, 1, tzinfo=timezone.utc)))
        assert ([], True) == (api.cleanup(timedelta.max), api.exists("old"))

    def test_cleanup_default_now_is_the_current_time(self, api: Colour) -> None:
        """Without now, cleanup measures age from the current time."""
        api.save(sample_session("ancient", start=datetime(2001, 1, 1, tzinfo=timezone.utc)))
        api.save(sample_session("future", start=datetime.now(timezone.utc) + timedelta(days=1)))
        assert ["ancient"] == api.cleanup(timedelta(days=365))

    # --- closing -----------------------------------------------------------

    def test_a_closed_store_works_again(self, api: Colour) -> None:
        """Leaving ``with store:`` (or ``async with store:``) closes the store, and yields the
        store itself on entry; a later call opens what it needs again and sees everything.
        """
        api.save(sample_session())
        api.append("appended", Thought("One.", 1, 2, True))
        if api.name == "sync":
            with api.store as entered:
                assert entered is api.store
        else:

            async def enter_and_leave() -> SessionStore:
                async with api.store as entered:
                    return entered

            assert asyncio.run(enter_and_leave()) is api.store
        api.store.close()
        api.append("appended", Thought("Two.", 2, 2, False))
        assert (7, 2) == (len(api.restore("sample")), len(api.restore("appended")))
