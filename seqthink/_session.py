"""ThinkingSession: one agent's thoughts, revisions and branches, in memory."""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import TypeVar, overload

import attrs

from seqthink import _rules
from seqthink._thought import Thought, ThoughtResult
from seqthink.errors import InvalidArgumentError

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: A clock returns the current time as integer nanoseconds since the Unix epoch.
Clock = Callable[[], int]


def now_ns() -> int:
    """The current time in nanoseconds since the epoch: what every default clock reads."""
    return time.time_ns()


def ns_to_datetime(ns: int) -> datetime:
    """Nanoseconds since the epoch as an aware UTC datetime (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def datetime_to_ns(moment: datetime) -> int:
    """An aware datetime as nanoseconds since the epoch."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


@attrs.frozen
class SessionMetadata:
    """What a store lists about a session without reading its thoughts."""

    session_id: str
    created_at: datetime
    last_activity: datetime
    #: The number of thoughts in the history (not an estimate).
    total_thoughts: int
    #: Branch ids in first-seen order.
    branch_ids: tuple[str, ...]


_T = TypeVar("_T")


class _Prefix(Sequence[_T]):
    """The first ``n`` items of a list that only ever grows: an O(1) frozen view."""

    __slots__ = ("_items", "_n")

    def __init__(self, items: list[_T], n: int) -> None:
        self._items = items
        self._n = n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> _T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[_T]: ...
    def __getitem__(self, index: int | slice) -> _T | Sequence[_T]:
        if isinstance(index, slice):
            items = self._items
            return [items[i] for i in range(*index.indices(self._n))]
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError(index)
        return self._items[index]

    def __iter__(self) -> Iterator[_T]:
        items = self._items
        for i in range(self._n):
            yield items[i]


@attrs.frozen
class SessionRecord:
    """A session's committed state, as a store writes and reads it.

    Store backends receive one in ``_save`` and return one from ``_load``;
    ``thoughts`` and each branch are read-only sequences.
    """

    session_id: str
    created_ns: int
    last_activity_ns: int
    thoughts: Sequence[Thought]
    #: Branch id -> the branch's thoughts, ids in first-seen order.
    branches: Mapping[str, Sequence[Thought]]

    @classmethod
    def from_thoughts(
        cls, session_id: str, created_ns: int, last_activity_ns: int, thoughts: Sequence[Thought]
    ) -> SessionRecord:
        """Build a record, deriving the branches from the history."""
        branches: dict[str, list[Thought]] = {}
        for thought in thoughts:
            branch = _rules.branch_of(thought)
            if branch is not None:
                branches.setdefault(branch, []).append(thought)
        return cls(session_id, created_ns, last_activity_ns, thoughts, branches)

    @property
    def metadata(self) -> SessionMetadata:
        return SessionMetadata(
            session_id=self.session_id,
            created_at=ns_to_datetime(self.created_ns),
            last_activity=ns_to_datetime(self.last_activity_ns),
            total_thoughts=len(self.thoughts),
            branch_ids=tuple(self.branches),
        )


def check_options(*, strict: object, max_thought_length: object) -> None:
    """Raise InvalidArgumentError unless these are usable session options."""
    if not isinstance(strict, bool):
        raise InvalidArgumentError("strict", strict, "must be true or false")
    if (
        not isinstance(max_thought_length, int)
        or isinstance(max_thought_length, bool)
        or max_thought_length < 1
    ):
        raise InvalidArgumentError("max_thought_length", max_thought_length, "must be an integer >= 1")


class NumberSet(Collection[int]):
    """The thought numbers a session holds, at about one bit per number.

    A set would cost some 50 bytes per thought. Numbers are usually 1..n with
    a few gaps, so they are kept as bits; the bitmap reaches at most eight
    numbers per thought recorded plus 8,192, and a number beyond that (one far
    ahead of the rest) goes into a small set instead, so a single huge number
    cannot make the bitmap huge.
    """

    __slots__ = ("_bits", "_far")

    _MIN_BYTES = 1024

    def __init__(self, numbers: Iterable[int] = ()) -> None:
        self._bits = bytearray()
        self._far: set[int] = set()
        for count, number in enumerate(numbers, 1):
            self.add(number, count)

    def add(self, number: int, count: int) -> None:
        """Add ``number``, the ``count``-th thought recorded (which bounds the bitmap)."""
        byte = number >> 3
        bits = self._bits
        if byte >= len(bits):
            if byte >= count + self._MIN_BYTES:  # too far ahead for the bitmap
                self._far.add(number)
                return
            bits.extend(bytes(byte + 1 - len(bits)))
        bits[byte] |= 1 << (number & 7)

    def __contains__(self, number: object) -> bool:
        if type(number) is not int or number < 0:
            return False
        byte = number >> 3
        if byte < len(self._bits) and self._bits[byte] & (1 << (number & 7)):
            return True
        return number in self._far

    def __iter__(self) -> Iterator[int]:
        """The numbers in ascending order."""
        dense = (i * 8 + j for i, byte in enumerate(self._bits) if byte for j in range(8) if byte >> j & 1)
        return iter(sorted({*dense, *self._far}))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class KnownStates(Collection[tuple[int, int]]):
    """The latest (thought count, last_activity_ns) states a session was restored as
    or handed to a store to save. Thread-safe: a store's worker thread reads it
    while the session's thread adds to it.
    """

    __slots__ = ("_lock", "_states")

    def __init__(self, limit: int = 16) -> None:
        self._lock = threading.Lock()
        self._states: deque[tuple[int, int]] = deque(maxlen=limit)

    def add(self, state: tuple[int, int]) -> None:
        with self._lock:
            if not self._states or self._states[-1] != state:
                self._states.append(state)

    def __contains__(self, state: object) -> bool:
        with self._lock:
            return state in self._states

    def __iter__(self) -> Iterator[tuple[int, int]]:
        with self._lock:
            return iter(tuple(self._states))

    def __len__(self) -> int:
        with self._lock:
            return len(self._states)


class ThinkingSession:
    """One line of thought: numbered thoughts, revisions and named branches.

    A session lives in memory; a :class:`~seqthink.SessionStore` saves and
    restores it. Recording a thought either succeeds completely or raises and
    leaves the session exactly as it was. A session is not thread-safe: give
    each thread its own, or guard it with a lock.
    """

    def __init__(
        self,
        session_id: str | None = None,
        *,
        strict: bool = False,
        max_thought_length: int = _rules.DEFAULT_MAX_THOUGHT_LENGTH,
        clock: Clock | None = None,
    ) -> None:
        self._session_id = str(uuid.uuid4()) if session_id is None else _rules.check_session_id(session_id)
        check_options(strict=strict, max_thought_length=max_thought_length)
        self._strict = strict
        self._max_thought_length = max_thought_length
        if clock is not None and not callable(clock):
            raise InvalidArgumentError("clock", clock, "must be a function returning nanoseconds, or None")
        self._clock: Clock = now_ns if clock is None else clock
        self._created_ns = self._last_activity_ns = self._read_clock()
        self._history: list[Thought] = []
        self._branches: dict[str, list[Thought]] = {}
        self._numbers = NumberSet()
        # (thought count, last_activity_ns) of the latest states this session was
        # restored as or handed to a store; a stored copy in one of them is a
        # prefix of this session, so saving over it loses nothing.
        self._known = KnownStates()

    # --- reading -------------------------------------------------------------

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def strict(self) -> bool:
        """Whether dangling references raise instead of warning."""
        return self._strict

    @property
    def max_thought_length(self) -> int:
        """The longest thought text accepted, in characters."""
        return self._max_thought_length

    @property
    def created_at(self) -> datetime:
        return ns_to_datetime(self._created_ns)

    @property
    def last_activity(self) -> datetime:
        """When the latest thought was recorded (creation time if none was)."""
        return ns_to_datetime(self._last_activity_ns)

    @property
    def thought_history(self) -> tuple[Thought, ...]:
        """Every recorded thought, in the order recorded."""
        return tuple(self._history)

    @property
    def branches(self) -> Mapping[str, tuple[Thought, ...]]:
        """Branch id -> its thoughts, ids in first-seen order."""
        return MappingProxyType({b: tuple(ts) for b, ts in self._branches.items()})

    @property
    def is_complete(self) -> bool:
        """True when the latest thought said no further thought is needed."""
        return bool(self._history) and not self._history[-1].next_thought_needed

    @property
    def metadata(self) -> SessionMetadata:
        return SessionMetadata(
            session_id=self._session_id,
            created_at=self.created_at,
            last_activity=self.last_activity,
            total_thoughts=len(self._history),
            branch_ids=tuple(self._branches),
        )

    def __len__(self) -> int:
        return len(self._history)

    def __repr__(self) -> str:
        return (
            f"<ThinkingSession {self._session_id!r}: {len(self._history)} thoughts, "
            f"{len(self._branches)} branches>"
        )

    # --- recording -----------------------------------------------------------

    def _read_clock(self) -> int:
        now = self._clock()
        if type(now) is not int:  # e.g. time.time, seconds as a float: refused, not stored as 1970
            raise InvalidArgumentError(
                "clock", now, "must return integer nanoseconds since the epoch (like time.time_ns)"
            )
        return now

    def add_thought(self, thought: Thought) -> ThoughtResult:
        """Record ``thought``; raise InvalidThoughtError and record nothing if it is refused.

        ``total_thoughts`` is raised to ``thought_number`` when lower. Dangling
        references (a revision or branch of a thought not in the session) are
        recorded with a warning in the result, or refused when ``strict``.
        """
        if not isinstance(thought, Thought):
            raise InvalidArgumentError("thought", thought, "must be a seqthink.Thought")
        total, warnings = _rules.assess(
            thought, recorded=self._numbers, strict=self._strict, max_length=self._max_thought_length
        )
        if total != thought.total_thoughts:
            thought = attrs.evolve(thought, total_thoughts=total)
        now = self._read_clock()
        # Nothing below can fail: the session changes completely or not at all.
        self._append(thought)
        self._last_activity_ns = max(self._last_activity_ns, now)
        return ThoughtResult(
            thought_number=thought.thought_number,
            total_thoughts=thought.total_thoughts,
            next_thought_needed=thought.next_thought_needed,
            branches=tuple(self._branches),
            thought_history_length=len(self._history),
            warnings=warnings,
        )

    def think(
        self,
        text: str,
        *,
        next_thought_needed: bool = True,
        thought_number: int | None = None,
        total_thoughts: int | None = None,
        is_revision: bool | None = None,
        revises_thought: int | None = None,
        branch_from_thought: int | None = None,
        branch_id: str | None = None,
        needs_more_thoughts: bool | None = None,
    ) -> ThoughtResult:
        """Record a thought, numbering it for you.

        ``thought_number`` defaults to the history length + 1 and
        ``total_thoughts`` to the latest thought's estimate (at least the
        number).
        """
        if thought_number is None:
            thought_number = len(self._history) + 1
        if total_thoughts is None:
            latest = self._history[-1].total_thoughts if self._history else 0
            total_thoughts = latest
            if isinstance(thought_number, int) and not isinstance(thought_number, bool):
                total_thoughts = max(latest, thought_number)
        return self.add_thought(
            Thought(
                thought=text,
                thought_number=thought_number,
                total_thoughts=total_thoughts,
                next_thought_needed=next_thought_needed,
                is_revision=is_revision,
                revises_thought=revises_thought,
                branch_from_thought=branch_from_thought,
                branch_id=branch_id,
                needs_more_thoughts=needs_more_thoughts,
            )
        )

    def _append(self, thought: Thought) -> None:
        self._history.append(thought)
        self._numbers.add(thought.thought_number, len(self._history))
        branch = _rules.branch_of(thought)
        if branch is not None:
            self._branches.setdefault(branch, []).append(thought)

    # --- the store's side ----------------------------------------------------

    def _snapshot(self) -> SessionRecord:
        """The current state as a record, in O(number of branches), remembered as known."""
        self._known.add((len(self._history), self._last_activity_ns))
        return SessionRecord(
            self._session_id,
            self._created_ns,
            self._last_activity_ns,
            _Prefix(self._history, len(self._history)),
            {b: _Prefix(ts, len(ts)) for b, ts in self._branches.items()},
        )

    @classmethod
    def _from_record(
        cls,
        record: SessionRecord,
        *,
        strict: bool = False,
        max_thought_length: int = _rules.DEFAULT_MAX_THOUGHT_LENGTH,
        clock: Clock | None = None,
    ) -> ThinkingSession:
        """Rebuild a session from a stored record, marking it as in step with the store."""
        session = cls(record.session_id, strict=strict, max_thought_length=max_thought_length, clock=clock)
        session._created_ns = record.created_ns
        session._last_activity_ns = record.last_activity_ns
        # What _append does per thought, done for them all at once.
        session._history = history = list(record.thoughts)
        session._numbers = NumberSet(thought.thought_number for thought in history)
        branches = session._branches
        for thought in history:
            branch = _rules.branch_of(thought)
            if branch is not None:
                branches.setdefault(branch, []).append(thought)
        session._known.add((len(session._history), record.last_activity_ns))
        return session
