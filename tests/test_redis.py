"""RedisStore beyond the shared contract: its keys, many writers on one session,
connection failures, lost replies, damaged data, and the async side.

The contract itself (tests/test_conformance.py) runs against Redis too; the
server comes from the ``redis_url`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import socket
import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

redis = pytest.importorskip("redis")

import redis_server  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

from seqthink import RedisStore, ThinkingSession, Thought  # noqa: E402
from seqthink.errors import (  # noqa: E402
    CorruptSessionError,
    InvalidArgumentError,
    SessionNotFoundError,
    StoreConnectionError,
    StoreError,
)
from seqthink.testing import sample_session  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> Iterator[RedisStore]:
    made = RedisStore(redis_url, prefix=redis_prefix)
    yield made
    made.close()


@pytest.fixture
def raw(redis_url: str) -> Iterator[Any]:
    """A plain client, to look at and damage the keys."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def keys_of(raw: Any, prefix: str) -> set[str]:
    return {k.decode() for k in raw.scan_iter(match=prefix.replace("*", r"\*") + "*", count=1000)}


# --- the layout ----------------------------------------------------------------------


def test_the_keys_of_a_saved_session(store: RedisStore, raw: Any, redis_prefix: str) -> None:
    """docs/stores.md's layout: meta hash, thought list, number set, branch lists, index."""
    session = sample_session()
    store.save(session)
    p = f"{redis_prefix}s:sample:"
    assert {
        redis_prefix + "index",
        p + "meta",
        p + "thoughts",
        p + "numbers",
        p + "branch_ids",
        p + "branch:alt",
        p + "branch:halve",
        p + "ops",
    } == keys_of(raw, redis_prefix)
    meta = {k.decode(): v.decode() for k, v in raw.hgetall(p + "meta").items()}
    assert meta == {
        "format": "1",
        "session_id": "sample",
        "created_ns": str(session._created_ns),
        "last_activity_ns": str(session._last_activity_ns),
        "count": "7",
    }
    stored = [json.loads(x) for x in raw.lrange(p + "thoughts", 0, -1)]
    assert [t["thought"] for t in stored] == [t.thought for t in session.thought_history]
    assert [b"alt", b"halve"] == raw.lrange(p + "branch_ids", 0, -1)
    assert [b"3", b"6"] == raw.lrange(p + "branch:alt", 0, -1)
    assert {b"1", b"2", b"3", b"4", b"5", b"6", b"7"} == raw.smembers(p + "numbers")
    assert raw.zscore(redis_prefix + "index", "sample") == session._last_activity_ns // 1000


def test_delete_removes_every_key_of_the_session(store: RedisStore, raw: Any, redis_prefix: str) -> None:
    store.save(sample_session("gone"))
    store.save(sample_session("kept"))
    assert store.delete("gone")
    left = keys_of(raw, redis_prefix)
    assert not [k for k in left if ":s:gone:" in k]
    assert [b"kept"] == raw.zrange(redis_prefix + "index", 0, -1)
    assert not store.delete("gone")


def test_prefixes_keep_stores_apart(redis_url: str, redis_prefix: str) -> None:
    one, two = (
        RedisStore(redis_url, prefix=redis_prefix + "a:"),
        RedisStore(redis_url, prefix=redis_prefix + "b:"),
    )
    one.save(sample_session("same-id"))
    assert not two.exists("same-id")
    assert [] == two.list_sessions()
    assert [] == two.cleanup(timedelta(0))
    assert one.exists("same-id")


def test_branch_ids_with_any_characters_get_their_own_key(
    store: RedisStore, raw: Any, redis_prefix: str
) -> None:
    session = ThinkingSession("odd")
    session.think("root")
    for branch in ("a:b", "ünï €", "x" * 256, "*?[]"):
        session.think(f"on {branch}", branch_from_thought=1, branch_id=branch)
    store.save(session)
    assert store.restore("odd").branches == session.branches
    assert raw.exists(f"{redis_prefix}s:odd:branch:a:b")
    store.delete("odd")
    assert set() == keys_of(raw, redis_prefix)


# --- one round trip ------------------------------------------------------------------


def test_restore_is_one_round_trip(store: RedisStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Restore reads meta, thoughts and branch lists with one request to the server."""
    store.save(sample_session())
    store.restore("sample")  # the script is loaded now, if it was not
    sent: list[object] = []
    send = redis.connection.Connection.send_packed_command

    def counting(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(command)
        return send(self, command, *args, **kwargs)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counting)
    assert 7 == len(store.restore("sample"))
    assert 1 == len(sent)


# --- many writers --------------------------------------------------------------------

PROCESSES, PER_PROCESS = 8, 200


def _append_from_process(url: str, prefix: str, writer: int, start: Any, results: Any) -> None:
    store = RedisStore(url, prefix=prefix)
    start.wait()
    lengths = []
    try:
        for step in range(PER_PROCESS):
            result = store.append("shared", Thought(f"w{writer} s{step}", 1 + step, PER_PROCESS, True))
            lengths.append(result.thought_history_length)
    except Exception as exc:  # reported to the test, which fails on it
        results.put((writer, lengths, repr(exc)))
        return
    results.put((writer, lengths, ""))


def test_processes_appending_to_one_session_store_every_thought_once(
    redis_url: str, redis_prefix: str
) -> None:
    """8 processes x 200 appends: 1,600 thoughts, each once, each writer's in its order,
    and the lengths acknowledged are exactly 1..1600.
    """
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    processes = [
        context.Process(target=_append_from_process, args=(redis_url, redis_prefix, w, start, results))
        for w in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    start.set()
    reports = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(60)
    assert [""] * PROCESSES == [error for _, _, error in reports]
    lengths = sorted(n for _, got, _ in reports for n in got)
    assert list(range(1, PROCESSES * PER_PROCESS + 1)) == lengths
    history = RedisStore(redis_url, prefix=redis_prefix).restore("shared").thought_history
    texts = [t.thought for t in history]
    assert len(set(texts)) == len(texts) == PROCESSES * PER_PROCESS
    for writer in range(PROCESSES):
        mine = [t for t in texts if t.startswith(f"w{writer} ")]
        assert [f"w{writer} s{step}" for step in range(PER_PROCESS)] == mine


def test_threads_and_coroutines_appending_together(store: RedisStore) -> None:
    def in_thread(k: int) -> None:
        for step in range(25):
            store.append("mixed", Thought(f"t{k} {step}", 1, 1, True))

    async def coroutines() -> None:
        await asyncio.gather(*(store.aappend("mixed", Thought(f"c{k}", 1, 1, True)) for k in range(50)))

    threads = [threading.Thread(target=in_thread, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    asyncio.run(coroutines())
    for thread in threads:
        thread.join()
    texts = [t.thought for t in store.restore("mixed").thought_history]
    assert len(texts) == len(set(texts)) == 4 * 25 + 50


# --- failures ------------------------------------------------------------------------


def test_an_unreachable_server_raises_store_connection_error(redis_prefix: str) -> None:
    url = f"redis://127.0.0.1:{redis_server.free_port()}/0"
    store = RedisStore(url, prefix=redis_prefix)
    calls: list[Callable[[], object]] = [
        lambda: store.save(sample_session()),
        lambda: store.restore("sample"),
        lambda: store.append("sample", Thought("x", 1, 1, True)),
        lambda: store.delete("sample"),
        lambda: store.exists("sample"),
        store.list_sessions,
        lambda: store.cleanup(timedelta(0)),
        lambda: asyncio.run(store.aappend("sample", Thought("x", 1, 1, True))),
        lambda: asyncio.run(store.arestore("sample")),
    ]
    for call in calls:
        with pytest.raises(StoreConnectionError) as info:
            call()
        assert isinstance(info.value.__cause__, redis.exceptions.ConnectionError)
        assert isinstance(info.value, StoreError)


def test_a_server_gone_mid_session_loses_nothing_acknowledged(tmp_path: Path, redis_prefix: str) -> None:
    """Appends while the server is down raise and are not counted; the rest are intact after."""
    binary = redis_server.binary()
    if binary is None:
        pytest.skip("needs a redis-server binary of its own to stop and start")
    server = redis_server.RedisServer(binary, tmp_path / "redis")
    server.start()
    try:
        store = RedisStore(server.url, prefix=redis_prefix)
        for k in range(3):
            store.append("s", Thought(f"before {k}", k + 1, 3, True))
        session = store.restore("s")
        # Keep the data: write it to the server's folder, where the restart reads it.
        saver = redis.Redis.from_url(server.url)
        saver.save()
        saver.close()
        server.stop()
        with pytest.raises(StoreConnectionError):
            store.append("s", Thought("while down", 4, 4, True))
        with pytest.raises(StoreConnectionError):
            store.save(session)
        server.start()
        assert [t.thought for t in store.restore("s").thought_history] == [f"before {k}" for k in range(3)]
        assert 4 == store.append("s", Thought("after", 4, 4, True)).thought_history_length
    finally:
        server.stop()


class LossyProxy:
    """A TCP proxy in front of Redis that, once armed, relays the next request holding
    ``marker`` to the server and then drops the connection instead of relaying the reply.
    """

    def __init__(self, port: int, marker: bytes) -> None:
        self.target = port
        self.marker = marker
        self.armed = False
        self.dropped = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self.relay, args=(client, upstream), daemon=True).start()

    def relay(self, client: socket.socket, upstream: socket.socket) -> None:
        with client, upstream:
            while True:
                request = client.recv(65536)
                if not request:
                    return
                upstream.sendall(request)
                reply = upstream.recv(65536)
                if self.armed and self.marker in request:
                    self.armed = False
                    self.dropped += 1
                    return  # the server did the work; the client never hears
                client.sendall(reply)

    def close(self) -> None:
        self.listener.close()


def test_a_write_resent_after_a_lost_reply_is_applied_once(redis_url: str, redis_prefix: str) -> None:
    """The server applies the append, the reply is lost, redis-py sends it again: the
    write's token makes the second send a no-op, so the thought is stored once.
    """
    port = int(redis_url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    proxy = LossyProxy(port, b"EVALSHA")
    client = redis.Redis(
        port=proxy.port, retry=Retry(NoBackoff(), 2), retry_on_error=[redis.exceptions.ConnectionError]
    )
    store = RedisStore(client, prefix=redis_prefix)
    try:
        store.append("lossy", Thought("first", 1, 2, True))
        proxy.armed = True
        result = store.append("lossy", Thought("second", 2, 2, False))
        assert 1 == proxy.dropped
        assert 2 == result.thought_history_length
        assert ["first", "second"] == [t.thought for t in store.restore("lossy").thought_history]
    finally:
        client.close()
        proxy.close()


def test_a_client_paused_out_of_its_timeout_writes_nothing(
    redis_url: str, redis_prefix: str, raw: Any
) -> None:
    """An append that times out (the server paused for writes) raises, and is not applied later."""
    client = redis.Redis.from_url(redis_url, socket_timeout=0.3)
    store = RedisStore(client, prefix=redis_prefix)
    store.append("paused", Thought("one", 1, 2, True))
    raw.execute_command("CLIENT", "PAUSE", 1500, "WRITE")
    try:
        with pytest.raises(StoreConnectionError) as info:
            store.append("paused", Thought("two", 2, 2, True))
        assert isinstance(info.value.__cause__, redis.exceptions.TimeoutError)
    finally:
        raw.execute_command("CLIENT", "UNPAUSE")
    assert ["one"] == [t.thought for t in store.restore("paused").thought_history]
    client.close()


# --- damaged data --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "where"),
    [
        (lambda r, p: r.hset(p + "meta", "count", "x"), "meta"),
        (lambda r, p: r.hset(p + "meta", "format", "2"), "meta"),
        (lambda r, p: r.hset(p + "meta", "session_id", "other"), "meta"),
        (lambda r, p: r.hdel(p + "meta", "created_ns"), "meta"),
        (lambda r, p: r.lset(p + "thoughts", 1, b"{not json"), "thoughts[1]"),
        (lambda r, p: r.lset(p + "thoughts", 0, json.dumps({"thought": "x"})), "thoughts[0]"),
        (lambda r, p: r.rpush(p + "thoughts", b"[]"), "thoughts"),
        (lambda r, p: r.lset(p + "branch:alt", 0, b"4"), "branch:alt"),
        (lambda r, p: r.lpop(p + "branch_ids"), "branch_ids"),
        (lambda r, p: r.lset(p + "thoughts", 2, b'{"thought":"' + b"\xff" + b'"}'), "thoughts[2]"),
    ],
)
def test_damaged_keys_are_reported_as_corrupt(
    store: RedisStore, raw: Any, redis_prefix: str, damage: Any, where: str
) -> None:
    store.save(sample_session())
    damage(raw, f"{redis_prefix}s:sample:")
    with pytest.raises(CorruptSessionError) as info:
        store.restore("sample")
    assert any(key.endswith(f"s:sample:{where}") for key, _ in info.value.problems), info.value.problems


def test_list_and_cleanup_skip_an_unreadable_session(
    store: RedisStore, raw: Any, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    store.save(sample_session("good"))
    store.save(sample_session("bad"))
    raw.hset(f"{redis_prefix}s:bad:meta", "last_activity_ns", "soon")
    with caplog.at_level(logging.WARNING, logger="seqthink"):
        assert ["good"] == [m.session_id for m in store.list_sessions()]
        later = datetime(2100, 1, 1, tzinfo=timezone.utc)
        assert ["good"] == store.cleanup(timedelta(days=1), now=later)
    assert "bad" in caplog.text
    assert store.exists("bad")


def test_an_index_entry_without_a_session_is_dropped_by_cleanup(
    store: RedisStore, raw: Any, redis_prefix: str
) -> None:
    raw.zadd(redis_prefix + "index", {"ghost": 1})
    assert [] == store.cleanup(timedelta(0))
    assert [] == raw.zrange(redis_prefix + "index", 0, -1)


def test_cleanup_is_bounded_per_call(store: RedisStore) -> None:
    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    for k in range(30):
        store.save(sample_session(f"old{k:02d}", start=start + timedelta(minutes=k)))
    later = datetime(2030, 1, 1, tzinfo=timezone.utc)
    first = store.cleanup(timedelta(days=1), now=later, limit=12)
    assert [f"old{k:02d}" for k in range(12)] == first
    assert 18 == len(store.list_sessions())
    assert 18 == len(store.cleanup(timedelta(days=1), now=later))


# --- clients and the async side --------------------------------------------------------


def test_the_async_twins_use_no_worker_thread(store: RedisStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a URL, the async methods run on redis.asyncio, not in threads."""

    def no_threads(*args: object, **kwargs: object) -> None:
        raise AssertionError("a thread hop")

    monkeypatch.setattr(asyncio, "to_thread", no_threads)

    async def use() -> None:
        await store.asave(sample_session())
        await store.aappend("sample", Thought("more", 8, 8, False))
        assert 8 == len(await store.arestore("sample"))
        assert await store.aexists("sample")
        assert ["sample"] == [m.session_id for m in await store.alist_sessions()]
        assert ["sample"] == await store.acleanup(timedelta(0), now=datetime(2100, 1, 1, tzinfo=timezone.utc))
        await store.aclose()

    asyncio.run(use())


def test_an_asyncio_client_serves_the_async_methods_only(redis_url: str, redis_prefix: str) -> None:
    async def use() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        store = RedisStore(client, prefix=redis_prefix)
        await store.asave(sample_session())
        assert 7 == len(await store.arestore("sample"))
        with pytest.raises(StoreError, match="async methods"):
            store.exists("sample")
        await client.aclose()

    asyncio.run(use())


def test_a_sync_client_serves_both(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisStore(client, prefix=redis_prefix)
    store.save(sample_session())
    assert asyncio.run(store.aexists("sample"))
    store.close()  # not the store's to close: the client still works
    assert client.ping()
    client.close()


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (42, "url_or_client"),
        ("http://example.com", "url_or_client"),
    ],
)
def test_bad_arguments_are_refused(value: Any, field: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        RedisStore(value)
    assert field == info.value.name


def test_a_client_that_decodes_replies_is_refused(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(InvalidArgumentError, match="decode_responses"):
        RedisStore(client)
    client.close()


@pytest.mark.parametrize("prefix", [3, "a\nb", "nul\x00"])
def test_bad_prefixes_are_refused(redis_url: str, prefix: Any) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        RedisStore(redis_url, prefix=prefix)
    assert "prefix" == info.value.name


def test_restore_of_a_missing_session(store: RedisStore) -> None:
    with pytest.raises(SessionNotFoundError):
        store.restore("nobody")


def test_a_new_session_clears_what_a_damaged_one_left(store: RedisStore, raw: Any, redis_prefix: str) -> None:
    """Keys left without their meta hash are not a session; writing one anew replaces them."""
    store.save(sample_session("left"))
    raw.delete(f"{redis_prefix}s:left:meta")
    assert not store.exists("left")
    assert 1 == store.append("left", Thought("fresh start", 1, 1, False)).thought_history_length
    again = store.restore("left")
    assert ["fresh start"] == [t.thought for t in again.thought_history]
    assert {} == dict(again.branches)
    assert not raw.exists(f"{redis_prefix}s:left:branch:alt")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
        ("redis://:secret@host/0", "redis://:***@host/0"),
        ("rediss://user:pa:ss@host:1/2", "rediss://user:***@host:1/2"),
        ("redis://user@host/0", "redis://user@host/0"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
        ("unix:///run/redis.sock?db=2&password=pw", "unix:///run/redis.sock?db=2&password=***"),
    ],
)
def test_the_url_is_shown_without_its_password(url: str, shown: str) -> None:
    """repr() goes into every StoreError message: no password in it."""
    store = RedisStore(url)
    assert f"RedisStore({shown!r}, prefix='seqthink:')" == repr(store)
    store.close()


def test_a_connection_error_names_the_store_without_the_password(redis_prefix: str) -> None:
    url = f"redis://:hunter2@127.0.0.1:{redis_server.free_port()}/0"
    with pytest.raises(StoreConnectionError) as info:
        RedisStore(url, prefix=redis_prefix).exists("x")
    assert "hunter2" not in str(info.value)
    assert "127.0.0.1" in str(info.value)


def test_a_url_with_an_unknown_option_is_refused_at_once() -> None:
    """redis-py would take it as a connection option and fail only on first use."""
    with pytest.raises(InvalidArgumentError, match="not a usable Redis URL") as info:
        RedisStore("redis://:hunter2@localhost:6379/0?no_such_option=1")
    assert "url_or_client" == info.value.name
    assert "hunter2" not in str(info.value)


def test_list_warns_about_an_index_entry_that_is_not_a_session_id(
    store: RedisStore, raw: Any, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    store.save(sample_session())
    raw.zadd(redis_prefix + "index", {"../not an id": 5})
    with caplog.at_level(logging.WARNING, logger="seqthink"):
        assert ["sample"] == [m.session_id for m in store.list_sessions()]
    assert "not a session id" in caplog.text


@pytest.mark.parametrize(
    "damage",
    [
        lambda r, p: r.hset(p + "meta", "count", "x"),
        lambda r, p: r.hdel(p + "meta", "created_ns"),
        lambda r, p: r.hset(p + "meta", "format", "9"),
        lambda r, p: r.hset(p + "meta", "session_id", "other"),
    ],
)
def test_a_session_with_an_unreadable_meta_hash_is_named_by_list_and_left_by_cleanup(
    store: RedisStore, raw: Any, redis_prefix: str, caplog: pytest.LogCaptureFixture, damage: Any
) -> None:
    """As with a damaged session.json: listed as unreadable (a warning), never deleted by age."""
    store.save(sample_session("hurt"))
    damage(raw, f"{redis_prefix}s:hurt:")
    with caplog.at_level(logging.WARNING, logger="seqthink"):
        assert [] == store.list_sessions()
        assert [] == store.cleanup(timedelta(0), now=datetime(2100, 1, 1, tzinfo=timezone.utc))
    assert caplog.text.count("'hurt'") >= 2
    assert store.exists("hurt")
    with pytest.raises(CorruptSessionError):
        store.append("hurt", Thought("more", 8, 8, next_thought_needed=True))
    assert store.delete("hurt")
