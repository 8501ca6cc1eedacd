"""RedisStore: sessions in a Redis server, shared by processes on many hosts.

Every write is one Lua script, so it happens whole or not at all, and none
is ever half-visible. Each operation is written once, as a generator that
yields the requests it needs (a script call or a batch of commands) and
receives their replies; :meth:`RedisStore._run` drives it with the sync
client and :meth:`RedisStore._arun` with the asyncio client.

Layout (``P`` the prefix, ``S`` a validated session id, ``B`` a branch id):

- ``P index``: sorted set, member ``S``, score last activity in microseconds
- ``P s:S:meta``: hash ``format``, ``session_id``, ``created_ns``,
  ``last_activity_ns``, ``count``
- ``P s:S:thoughts``: list, one compact JSON thought per entry, in order
- ``P s:S:numbers``: set of the thought numbers recorded
- ``P s:S:branch_ids``: list of branch ids in first-seen order
- ``P s:S:branch:B``: list of the 1-based history positions of B's thoughts
- ``P s:S:ops``: list of the tokens of the latest 64 writes, so that a write
  resent after a lost reply is not applied twice
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import weakref
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from seqthink import _format, _rules
from seqthink._format import FormatError
from seqthink._session import SessionMetadata, SessionRecord, now_ns, ns_to_datetime
from seqthink._store import SessionStore
from seqthink._thought import Thought, ThoughtResult
from seqthink._url import redact_url
from seqthink.errors import (
    CorruptSessionError,
    InvalidArgumentError,
    SessionNotFoundError,
    StoreConnectionError,
    StoreError,
)

try:
    import redis
    import redis.asyncio
    import redis.exceptions
except ImportError as exc:  # pragma: no cover - the extra is not installed
    raise ImportError(
        "seqthink.RedisStore needs redis-py 5.0.1 or newer: pip install 'seqthink[redis]'"
    ) from exc

if TYPE_CHECKING:
    from collections.abc import Collection

log = logging.getLogger("seqthink")

#: The format written in each session's meta hash.
FORMAT_VERSION = b"1"
#: Tokens of this many latest writes are kept per session.
_OPS_KEPT = 64
#: Sessions read per round trip when listing.
_LIST_BATCH = 500

_DIGITS = re.compile(rb"0|[1-9][0-9]{0,19}")
#: The meta hash's fields, as save, append and list read them.
_META_FIELDS = ("format", "session_id", "created_ns", "count", "last_activity_ns")

# --- the scripts -----------------------------------------------------------------

_COMMIT = """
-- KEYS: meta, thoughts, numbers, branch_ids, ops, index, then the branch key of each new
--       branch thought.
-- ARGV: session id, token, expected created_ns ('' when none may be stored), expected
--       count, expected last_activity_ns, created_ns, last_activity_ns, score, the prefix
--       of the session's branch keys, then four per new thought: its JSON, its number, the
--       index in KEYS of its branch key (0: none), its branch id.
-- Returns 1 when written, 2 when this token was written before, 0 when the stored state
-- is not the expected one (nothing is written).
if redis.call('LPOS', KEYS[5], ARGV[2]) then return 2 end
local stored = redis.call('HMGET', KEYS[1], 'created_ns', 'count', 'last_activity_ns')
if ARGV[3] == '' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  -- No session: clear anything a damaged one left without its meta hash.
  for _, id in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do redis.call('DEL', ARGV[9] .. id) end
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
elseif stored[1] ~= ARGV[3] or stored[2] ~= ARGV[4] or stored[3] ~= ARGV[5] then
  return 0
end
local count = tonumber(ARGV[4])
for i = 10, #ARGV, 4 do
  count = count + 1
  redis.call('RPUSH', KEYS[2], ARGV[i])
  redis.call('SADD', KEYS[3], ARGV[i + 1])
  local key = tonumber(ARGV[i + 2])
  if key > 0 and redis.call('RPUSH', KEYS[key], count) == 1 then
    redis.call('RPUSH', KEYS[4], ARGV[i + 3])
  end
end
redis.call('HSET', KEYS[1], 'format', '1', 'session_id', ARGV[1], 'created_ns', ARGV[6],
  'last_activity_ns', ARGV[7], 'count', string.format('%d', count))
redis.call('ZADD', KEYS[6], ARGV[8], ARGV[1])
redis.call('LPUSH', KEYS[5], ARGV[2])
redis.call('LTRIM', KEYS[5], 0, 63)
return 1
"""

_LOAD = """
-- KEYS: meta, thoughts, branch_ids. ARGV: the prefix of the session's branch keys.
-- Returns nil when there is no meta hash, else {meta as a flat list, thoughts, branch ids,
-- the list of each branch in that order}.
local meta = redis.call('HGETALL', KEYS[1])
if #meta == 0 then return false end
local ids = redis.call('LRANGE', KEYS[3], 0, -1)
local lists = {}
for i, id in ipairs(ids) do lists[i] = redis.call('LRANGE', ARGV[1] .. id, 0, -1) end
return {meta, redis.call('LRANGE', KEYS[2], 0, -1), ids, lists}
"""

_DELETE = """
-- KEYS: meta, thoughts, numbers, branch_ids, ops, index.
-- ARGV: session id, the prefix of its branch keys, a cutoff in ns ('' for none).
-- With a cutoff, deletes only when the committed last_activity_ns is below it.
-- Returns 1 when something was deleted, 0 when not; with a cutoff, -1 when the meta hash
-- cannot be read (the session is left), and 2 when the index named a session that is not
-- stored (the entry goes).
if ARGV[3] ~= '' then
  if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('ZREM', KEYS[6], ARGV[1])
    return 2
  end
  local meta = redis.call('HMGET', KEYS[1], 'format', 'session_id', 'created_ns', 'count',
    'last_activity_ns')
  if meta[1] ~= '1' or meta[2] ~= ARGV[1] then return -1 end
  for i = 3, 5 do
    if not meta[i] or not string.match(meta[i], '^[0-9]+$') then return -1 end
  end
  local last = meta[5]
  local cutoff = ARGV[3]
  if #last > #cutoff or (#last == #cutoff and last >= cutoff) then return 0 end
end
local ids = redis.call('LRANGE', KEYS[4], 0, -1)
for _, id in ipairs(ids) do redis.call('DEL', ARGV[2] .. id) end
local found = redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
found = found + redis.call('ZREM', KEYS[6], ARGV[1])
if found > 0 then return 1 end
return 0
"""

_SCRIPTS = {"commit": _COMMIT, "load": _LOAD, "delete": _DELETE}


# --- what an operation asks for ------------------------------------------------


@attrs.frozen
class _Script:
    name: str
    keys: Sequence[bytes | str]
    args: Sequence[bytes | str | int]


@attrs.frozen
class _Batch:
    """Commands sent together in one round trip (not a transaction)."""

    commands: Sequence[tuple[Any, ...]]


_Request = _Script | _Batch
_T = TypeVar("_T")
_Op = Generator[_Request, Any, _T]


class RedisStore(SessionStore):
    """Keeps sessions in Redis (6.2 or newer), for tool servers running as several
    replicas on several hosts.

    ``url_or_client`` is a ``redis://`` (or ``rediss://``, ``unix://``) URL,
    a ``redis.Redis`` or a ``redis.asyncio.Redis``. Given a URL, the store
    makes one client for the sync methods and, for the async twins, one
    ``redis.asyncio`` client per event loop; :meth:`close` and :meth:`aclose`
    release them. Given a ``redis.Redis``, the async twins run it in a worker
    thread; given a ``redis.asyncio.Redis``, only the async methods work.
    A client must not be made with ``decode_responses=True``.

    Every key starts with ``prefix``. Redis Cluster is not supported: scripts
    reach a session's branch keys by name.
    """

    def __init__(
        self, url_or_client: str | redis.Redis | redis.asyncio.Redis, *, prefix: str = "seqthink:"
    ) -> None:
        if not isinstance(prefix, str) or any(c in prefix for c in "\x00\r\n"):
            raise InvalidArgumentError("prefix", prefix, "must be a string without NUL or line breaks")
        self._prefix = prefix
        self._url: str | None = None
        self._sync: redis.Redis | None = None
        self._async: redis.asyncio.Redis | None = None
        self._own_sync = False
        # One asyncio client per event loop when made from a URL: a client's
        # connections belong to the loop that opened them.
        self._per_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[redis.asyncio.Redis, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()
        if isinstance(url_or_client, str):
            self._url = url_or_client
            try:
                self._sync = redis.Redis.from_url(url_or_client, **_URL_DEFAULTS)
                # redis-py takes the URL's query parameters as connection options, and would
                # refuse an unknown one only when it first connects: make a connection
                # object now (it does not connect) so the URL is refused here instead.
                pool = self._sync.connection_pool
                pool.connection_class(**pool.connection_kwargs)
            except (ValueError, TypeError) as exc:
                raise InvalidArgumentError(
                    "url_or_client", redact_url(url_or_client), f"is not a usable Redis URL ({exc})"
                ) from None
            self._own_sync = True
        elif isinstance(url_or_client, redis.asyncio.Redis):
            _check_bytes_replies(url_or_client)
            self._async = url_or_client
        elif isinstance(url_or_client, redis.Redis):
            _check_bytes_replies(url_or_client)
            self._sync = url_or_client
        else:
            raise InvalidArgumentError(
                "url_or_client", url_or_client, "must be a Redis URL, a redis.Redis or a redis.asyncio.Redis"
            )

    @property
    def prefix(self) -> str:
        return self._prefix

    def __repr__(self) -> str:
        """The URL without its password (it goes into error messages and logs)."""
        where = redact_url(self._url) if self._url is not None else type(self._sync or self._async).__name__
        return f"RedisStore({where!r}, prefix={self._prefix!r})"

    def close(self) -> None:
        """Close the sync client this store made from a URL (a client passed in is the caller's)."""
        if self._own_sync and self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        """Close the asyncio client this store made for the running event loop."""
        entry = self._per_loop.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()  # its finally closes the client

    # --- keys ------------------------------------------------------------------

    def _key(self, session_id: str, part: str) -> str:
        return f"{self._prefix}s:{session_id}:{part}"

    def _keys(self, session_id: str) -> list[str]:
        """meta, thoughts, numbers, branch_ids, ops, index: the KEYS of commit and delete."""
        return [
            *(self._key(session_id, part) for part in ("meta", "thoughts", "numbers", "branch_ids", "ops")),
            self._prefix + "index",
        ]

    def _branch_prefix(self, session_id: str) -> str:
        return self._key(session_id, "branch:")

    # --- the operations, each written once ------------------------------------------

    def _meta_command(self, session_id: str) -> tuple[str, ...]:
        """The HMGET whose reply :meth:`_read_meta` reads."""
        return ("HMGET", self._key(session_id, "meta"), *_META_FIELDS)

    def _read_meta(self, session_id: str, meta: Sequence[bytes | None]) -> tuple[int, int, int] | None:
        """(created_ns, count, last_activity_ns) from the reply of :meth:`_meta_command`;
        None when there is no meta hash, CorruptSessionError when it is not readable.
        """
        if all(raw is None for raw in meta):
            return None
        where = self._key(session_id, "meta")
        problems = []
        if meta[0] != FORMAT_VERSION:
            problems.append((where, f"format is {meta[0]!r}, not {FORMAT_VERSION!r}"))
        if meta[1] != session_id.encode():
            problems.append((where, f"session_id is {meta[1]!r}, not {session_id!r}"))
        values = []
        for name, raw in zip(_META_FIELDS[2:], meta[2:], strict=True):
            if raw is None or _DIGITS.fullmatch(raw) is None:
                problems.append((where, f"{name} is {raw!r}, not an integer"))
            else:
                values.append(int(raw))
        if problems:
            raise CorruptSessionError(session_id, problems)
        return values[0], values[1], values[2]

    def _commit_script(
        self,
        session_id: str,
        *,
        token: str,
        expected: Sequence[bytes | None] | None,
        created_ns: int,
        last_activity_ns: int,
        thoughts: Sequence[Thought],
    ) -> _Script:
        keys: list[bytes | str] = list(self._keys(session_id))
        args: list[bytes | str | int] = [session_id, token]
        args += [b"", b"0", b""] if expected is None else [e or b"" for e in expected]
        args += [created_ns, last_activity_ns, last_activity_ns // 1000, self._branch_prefix(session_id)]
        branch_keys: dict[str, int] = {}
        for thought in thoughts:
            branch = _rules.branch_of(thought)
            index = 0
            if branch is not None:
                index = branch_keys.get(branch, 0)
                if not index:
                    keys.append(self._branch_prefix(session_id) + branch)
                    index = branch_keys[branch] = len(keys)
            args += [_format.encode_compact_thought(thought), thought.thought_number, index, branch or ""]
        return _Script("commit", keys, args)

    def _save_op(self, record: SessionRecord, known: Collection[tuple[int, int]]) -> _Op[None]:
        sid = record.session_id
        token = secrets.token_hex(8)
        while True:
            (meta,) = yield _Batch([self._meta_command(sid)])
            stored = self._read_meta(sid, meta)
            keep = self._plan_save(
                sid, stored=stored, known=known, created_ns=record.created_ns, count=len(record.thoughts)
            )
            if keep is None:
                return
            done = yield self._commit_script(
                sid,
                token=token,
                expected=None if stored is None else meta[2:],
                created_ns=record.created_ns,
                last_activity_ns=record.last_activity_ns,
                thoughts=record.thoughts[keep:],
            )
            if done:
                return
            # Another writer committed between the read and the script: plan again.

    def _append_op(
        self, session_id: str, thought: Thought, *, strict: bool, max_thought_length: int
    ) -> _Op[ThoughtResult]:
        token = secrets.token_hex(8)
        wanted = [n for n in (thought.revises_thought, thought.branch_from_thought) if n is not None]
        while True:
            commands: list[tuple[Any, ...]] = [
                self._meta_command(session_id),
                ("LRANGE", self._key(session_id, "branch_ids"), 0, -1),
            ]
            if wanted:
                commands.append(("SMISMEMBER", self._key(session_id, "numbers"), *wanted))
            # (Not a transaction: a write landing between these reads changes the meta hash
            # read first, so the commit below finds another state, writes nothing, and the
            # reads happen again.)
            replies = yield _Batch(commands)
            stored = self._read_meta(session_id, replies[0])
            recorded: Collection[int] = ()
            if wanted:
                present = [n for n, flag in zip(wanted, replies[2], strict=True) if flag]
                recorded = set(present)
                if len(present) < len(wanted):  # a warning will list what the session holds
                    (members,) = yield _Batch([("SMEMBERS", self._key(session_id, "numbers"))])
                    recorded = {int(m) for m in members if _DIGITS.fullmatch(m)}
            total, warnings = _rules.assess(
                thought, recorded=recorded, strict=strict, max_length=max_thought_length
            )
            recorded_thought = (
                thought if total == thought.total_thoughts else attrs.evolve(thought, total_thoughts=total)
            )
            now = now_ns()  # the clock ThinkingSession reads by default
            if stored is None:
                created, count, last = now, 0, now
            else:
                created, count, last = stored[0], stored[1], max(stored[2], now)
            done = yield self._commit_script(
                session_id,
                token=token,
                expected=None if stored is None else replies[0][2:],
                created_ns=created,
                last_activity_ns=last,
                thoughts=[recorded_thought],
            )
            if not done:
                continue  # another writer got in between: read again
            branches = [b.decode("utf-8", "replace") for b in replies[1]]  # (checked by restore)
            branch = _rules.branch_of(recorded_thought)
            if branch is not None and branch not in branches:
                branches.append(branch)
            return ThoughtResult(
                thought_number=recorded_thought.thought_number,
                total_thoughts=recorded_thought.total_thoughts,
                next_thought_needed=recorded_thought.next_thought_needed,
                branches=tuple(branches),
                thought_history_length=count + 1,
                warnings=warnings,
            )

    def _load_op(self, session_id: str) -> _Op[SessionRecord]:
        keys = [self._key(session_id, part) for part in ("meta", "thoughts", "branch_ids")]
        reply = yield _Script("load", keys, [self._branch_prefix(session_id)])
        if reply is None:
            raise SessionNotFoundError(session_id)
        return self._decode_session(session_id, reply)

    def _decode_session(self, session_id: str, reply: Sequence[Any]) -> SessionRecord:
        flat, raw_thoughts, raw_ids, raw_lists = reply
        problems: list[tuple[str, str]] = []
        meta = dict(zip(flat[::2], flat[1::2], strict=True))
        stored = self._read_meta(session_id, [meta.get(name.encode()) for name in _META_FIELDS])
        assert stored is not None  # (the script found the meta hash)
        created_ns, count, last_ns = stored
        thoughts_key = self._key(session_id, "thoughts")
        if len(raw_thoughts) != count:
            problems.append(
                (thoughts_key, f"holds {len(raw_thoughts)} thoughts; the meta hash counts {count}")
            )
        thoughts: list[Thought] = []
        for index, data in enumerate(raw_thoughts):
            try:
                thoughts.append(_format.decode_compact_thought(data))
            except FormatError as exc:  # noqa: PERF203 - every bad entry is named
                problems.append((f"{thoughts_key}[{index}]", str(exc)))
        if problems:
            raise CorruptSessionError(session_id, problems)
        record = SessionRecord.from_thoughts(session_id, created_ns, last_ns, thoughts)
        problems.extend(self._branch_problems(session_id, record, raw_ids, raw_lists))
        if problems:
            raise CorruptSessionError(session_id, problems)
        return record

    def _branch_problems(
        self,
        session_id: str,
        record: SessionRecord,
        raw_ids: Sequence[bytes],
        raw_lists: Sequence[Sequence[bytes]],
    ) -> list[tuple[str, str]]:
        """The branch lists must say exactly what the thoughts say."""
        try:
            ids = [raw.decode("utf-8") for raw in raw_ids]
        except UnicodeDecodeError:
            ids = []
        if ids != list(record.branches):
            return [
                (
                    self._key(session_id, "branch_ids"),
                    f"lists {raw_ids!r}; the thoughts have {list(record.branches)}",
                )
            ]
        positions: dict[str, list[bytes]] = {branch: [] for branch in ids}
        for position, thought in enumerate(record.thoughts, 1):
            branch = _rules.branch_of(thought)
            if branch is not None:
                positions[branch].append(str(position).encode())
        return [
            (
                self._branch_prefix(session_id) + branch,
                f"lists positions {list(found)!r}, not {positions[branch]!r}",
            )
            for branch, found in zip(ids, raw_lists, strict=True)
            if list(found) != positions[branch]
        ]

    def _delete_op(self, session_id: str, cutoff_ns: int | None = None) -> _Op[int]:
        args = [session_id, self._branch_prefix(session_id), "" if cutoff_ns is None else str(cutoff_ns)]
        done: int = yield _Script("delete", self._keys(session_id), args)
        return done

    def _exists_op(self, session_id: str) -> _Op[bool]:
        (found,) = yield _Batch([("EXISTS", self._key(session_id, "meta"))])
        return bool(found)

    def _list_op(self) -> _Op[list[SessionMetadata]]:
        (members,) = yield _Batch([("ZRANGE", self._prefix + "index", 0, -1)])
        ids = [m.decode("ascii", "replace") for m in members]
        found: list[SessionMetadata] = []
        for start in range(0, len(ids), _LIST_BATCH):
            batch = []
            for sid in ids[start : start + _LIST_BATCH]:
                if _rules.is_session_id(sid):
                    batch.append(sid)
                else:
                    log.warning("skipping %r in %sindex: not a session id", sid, self._prefix)
            commands: list[tuple[Any, ...]] = []
            for sid in batch:
                commands.append(self._meta_command(sid))
                commands.append(("LRANGE", self._key(sid, "branch_ids"), 0, -1))
            replies = yield _Batch(commands)
            for sid, meta, branch_ids in zip(batch, replies[::2], replies[1::2], strict=True):
                try:
                    stored = self._read_meta(sid, meta)
                    names = tuple(b.decode("utf-8") for b in branch_ids)
                except (CorruptSessionError, UnicodeDecodeError) as exc:
                    log.warning("skipping unreadable session %r: %s", sid, exc)
                    continue
                if stored is not None:  # (deleted since the index was read)
                    found.append(
                        SessionMetadata(
                            session_id=sid,
                            created_at=ns_to_datetime(stored[0]),
                            last_activity=ns_to_datetime(stored[2]),
                            total_thoughts=stored[1],
                            branch_ids=names,
                        )
                    )
        return found

    def _cleanup_op(self, cutoff_ns: int, limit: int | None) -> _Op[list[str]]:
        deleted: list[str] = []
        skipped = 0  # candidates left in the index (not old after all, or unreadable)
        highest = cutoff_ns // 1000  # scores are microseconds, rounded down
        while limit is None or len(deleted) < limit:
            page = 100 if limit is None else min(100, limit - len(deleted))
            (members,) = yield _Batch(
                [("ZRANGEBYSCORE", self._prefix + "index", "-inf", highest, "LIMIT", skipped, page)]
            )
            if not members:
                break
            for member in members:
                sid = member.decode("ascii", "replace")
                if not _rules.is_session_id(sid):
                    log.warning("skipping %r in %sindex: not a session id", member, self._prefix)
                    skipped += 1
                    continue
                done = yield from self._delete_op(sid, cutoff_ns)
                if done == 1:
                    deleted.append(sid)
                elif done != 2:  # left in the index: not old after all (0), or unreadable (-1)
                    if done == -1:
                        log.warning("skipping unreadable session %r: its meta hash cannot be read", sid)
                    skipped += 1
        return deleted

    # --- SessionStore's hooks: the drivers ------------------------------------------

    def _save(self, record: SessionRecord, known: Collection[tuple[int, int]]) -> None:
        self._run(self._save_op(record, known))

    async def _asave(self, record: SessionRecord, known: Collection[tuple[int, int]]) -> None:
        await self._arun(self._save_op(record, known))

    def _append(
        self, session_id: str, thought: Thought, *, strict: bool, max_thought_length: int
    ) -> ThoughtResult:
        return self._run(
            self._append_op(session_id, thought, strict=strict, max_thought_length=max_thought_length)
        )

    async def _aappend(
        self, session_id: str, thought: Thought, *, strict: bool, max_thought_length: int
    ) -> ThoughtResult:
        return await self._arun(
            self._append_op(session_id, thought, strict=strict, max_thought_length=max_thought_length)
        )

    def _load(self, session_id: str) -> SessionRecord:
        return self._run(self._load_op(session_id))

    async def _aload(self, session_id: str) -> SessionRecord:
        return await self._arun(self._load_op(session_id))

    def _delete(self, session_id: str) -> bool:
        return self._run(self._delete_op(session_id)) == 1

    async def _adelete(self, session_id: str) -> bool:
        return await self._arun(self._delete_op(session_id)) == 1

    def _exists(self, session_id: str) -> bool:
        return self._run(self._exists_op(session_id))

    async def _aexists(self, session_id: str) -> bool:
        return await self._arun(self._exists_op(session_id))

    def _list(self) -> list[SessionMetadata]:
        return self._run(self._list_op())

    async def _alist(self) -> list[SessionMetadata]:
        return await self._arun(self._list_op())

    def _cleanup(self, cutoff_ns: int, limit: int | None) -> list[str]:
        return self._run(self._cleanup_op(cutoff_ns, limit))

    async def _acleanup(self, cutoff_ns: int, limit: int | None) -> list[str]:
        return await self._arun(self._cleanup_op(cutoff_ns, limit))

    def _run(self, op: _Op[_T]) -> _T:
        """Drive ``op`` with the sync client."""
        client = self._sync
        if client is None:
            raise StoreError(
                "this RedisStore was given a redis.asyncio client: use its async methods, "
                "or give it a URL or a redis.Redis"
            )
        scripts = _scripts_of(client)
        reply: Any = None
        while True:
            try:
                request = op.send(reply)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            try:
                if isinstance(request, _Script):
                    reply = scripts[request.name](keys=request.keys, args=request.args, client=client)
                else:
                    pipe = client.pipeline(transaction=False)
                    for command in request.commands:
                        pipe.execute_command(*command)  # type: ignore[no-untyped-call]
                    reply = pipe.execute()
            except redis.exceptions.RedisError as exc:
                op.close()
                raise _store_error(exc, self) from exc

    async def _arun(self, op: _Op[_T]) -> _T:
        """Drive ``op`` with the asyncio client of the running loop."""
        client = await self._async_client()
        if client is None:  # a redis.Redis was given: its calls, in a worker thread
            return await asyncio.to_thread(self._run, op)
        scripts = _scripts_of(client)
        reply: Any = None
        while True:
            try:
                request = op.send(reply)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            try:
                if isinstance(request, _Script):
                    reply = await scripts[request.name](keys=request.keys, args=request.args, client=client)
                else:
                    pipe = client.pipeline(transaction=False)
                    for command in request.commands:
                        pipe.execute_command(*command)
                    reply = await pipe.execute()
            except redis.exceptions.RedisError as exc:
                op.close()
                raise _store_error(exc, self) from exc

    async def _async_client(self) -> redis.asyncio.Redis | None:
        if self._async is not None:
            return self._async
        if self._url is None:
            return None
        loop = asyncio.get_running_loop()
        entry = self._per_loop.get(loop)
        if entry is None:
            client = redis.asyncio.Redis.from_url(self._url, **_URL_DEFAULTS)
            # Closed when the loop finalizes its async generators, as asyncio.run does
            # on the way out, so no connection outlives the loop it belongs to.
            keeper = _close_at_loop_end(client)
            await keeper.__anext__()
            entry = self._per_loop[loop] = (client, keeper)
        return entry[0]


async def _close_at_loop_end(client: redis.asyncio.Redis) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()


# Timeouts for clients made from a URL (redis-py waits for ever by default); a URL's own
# socket_timeout / socket_connect_timeout query parameters take precedence.
_URL_DEFAULTS: dict[str, Any] = {"socket_timeout": 10.0, "socket_connect_timeout": 5.0}

_script_cache: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _scripts_of(client: Any) -> dict[str, Callable[..., Any]]:
    """The scripts registered on ``client`` (EVALSHA, loading the script when the server lacks it)."""
    scripts = _script_cache.get(client)
    if scripts is None:
        scripts = _script_cache[client] = {
            name: client.register_script(src) for name, src in _SCRIPTS.items()
        }
    return scripts


def _check_bytes_replies(client: Any) -> None:
    if client.connection_pool.connection_kwargs.get("decode_responses"):
        raise InvalidArgumentError(
            "url_or_client", client, "must not decode responses: make it with decode_responses=False"
        )


def _store_error(exc: redis.exceptions.RedisError, store: RedisStore) -> StoreError:
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return StoreConnectionError(f"{store!r}: {type(exc).__name__}: {exc}")
    return StoreError(f"{store!r}: {type(exc).__name__}: {exc}")
