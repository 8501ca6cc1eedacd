"""seqthink's benchmark suite: every case measured in one run, against its floor and its peers.

Run (from a checkout, in a venv with seqthink installed):

    python benchmarks/run.py                 # the full suite, a few minutes
    python benchmarks/run.py --quick         # smaller sizes, fewer repeats
    python benchmarks/run.py --out FILE      # where the JSON goes (default benchmarks/results.json)

Peers are measured when installed (``pip install -r benchmarks/requirements-peers.txt``)
and the reference's node implementation when node and npm are present; RedisStore
when redis-py is installed and either a redis-server binary is on PATH (the suite
starts its own, twice: without persistence, and with appendfsync always) or
SEQTHINK_REDIS_URL names a server. Otherwise their rows say why they were skipped.

Absolute times on a shared machine drift by 2x between runs, so every target is
a ratio of two cases measured in the same run. Each case is run ``--repeat``
times; the table gives the median, min and max of the per-run medians (for
per-operation cases) or per-run totals (for whole-job cases).
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

import seqthink
from seqthink import FileSystemStore, ThinkingSession, Thought, _format

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import local_redis  # the Redis case's server, beside this file
import peers  # the peers' adapters live beside this file

if TYPE_CHECKING:
    from collections.abc import Callable


@attrs.frozen
class Sizes:
    """How big each case is; --quick shrinks them."""

    repeat: int
    thoughts: int  # thoughts per in-memory think run, and the long session's length
    appends: int  # appends measured per run
    sessions: int  # sessions in the cleanup scan
    old: int  # of those, how many are old enough to delete
    tool_sessions: int  # distinct sessions served for the RSS case
    text: int  # characters of each thought's text


FULL = Sizes(repeat=7, thoughts=1000, appends=150, sessions=10_000, old=1000, tool_sessions=100_000, text=200)
QUICK = Sizes(repeat=3, thoughts=1000, appends=60, sessions=2000, old=200, tool_sessions=5000, text=200)
SMOKE = Sizes(repeat=1, thoughts=30, appends=3, sessions=20, old=5, tool_sessions=30, text=20)


@attrs.define
class Result:
    name: str
    unit: str
    runs: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": self.median if self.runs else None,
            "min": min(self.runs) if self.runs else None,
            "max": max(self.runs) if self.runs else None,
            "runs": self.runs,
            "note": self.note,
        }


def text_of(i: int, size: int) -> str:
    return f"thought {i}: " + "x" * size


def thought_dicts(n: int, size: int) -> list[dict[str, Any]]:
    """The same n thoughts for everyone, in the reference's camelCase."""
    return [
        {"thought": text_of(i, size), "thoughtNumber": i, "totalThoughts": n, "nextThoughtNeeded": i < n}
        for i in range(1, n + 1)
    ]


def settle() -> None:
    """Write back what set-up left dirty, so that a case does not pay for its set-up.

    (On ext4 in its default ordered mode a journal commit, such as the one a
    rename over an existing file starts, first writes out every dirty file.)
    """
    os.sync()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- 1. think in memory ---------------------------------------------------------


def bench_think(sizes: Sizes) -> Result:
    """Microseconds per validated thought: session.think() with every argument checked."""
    texts = [text_of(i, sizes.text) for i in range(1, sizes.thoughts + 1)]
    runs = []
    for _ in range(sizes.repeat):
        session = ThinkingSession("bench")
        think = session.think
        gc.collect()
        start = time.perf_counter()
        for text in texts:
            think(text, total_thoughts=sizes.thoughts)
        runs.append((time.perf_counter() - start) / len(texts) * 1e6)
    return Result("think (in memory, validated)", "us/thought", runs)


# --- 2 and 3. append, and its floor ---------------------------------------------


def prepared_store(root: Path, history: int, sizes: Sizes, *, durable: bool) -> FileSystemStore:
    store = FileSystemStore(root, durable=False)
    session = ThinkingSession("s")
    for i in range(1, history + 1):
        session.think(text_of(i, sizes.text), total_thoughts=history + sizes.appends)
    store.save(session)
    return FileSystemStore(root, durable=durable)


def floor_append(
    directory: str, name: str, thought: dict[str, Any], header: dict[str, Any], *, durable: bool
) -> None:
    """One append with bare os calls: the thought file, then session.json, each written to a
    temp file, fsynced, renamed into place, and the folder fsynced (no fsyncs when not durable).
    Encoding is json.dumps, as any implementation of the format needs.
    """
    for file_name, obj in ((name, thought), ("session.json", header)):
        data = json.dumps(obj, indent=2, ensure_ascii=False).encode()
        temp = os.path.join(directory, f".{file_name}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        if durable:
            os.fsync(fd)
        os.close(fd)
        os.replace(temp, os.path.join(directory, file_name))
        if durable:
            dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            os.fsync(dfd)
            os.close(dfd)


def bench_appends(sizes: Sizes, *, durable: bool, work: Path) -> list[Result]:
    """Milliseconds per append of one thought: store.append onto sessions of 10 and of
    `thoughts` thoughts, and the floor (the same two files by bare os calls, in a folder
    holding as many files as the long session's). The three are interleaved, one
    operation of each per round, so that the machine's drift touches all alike.
    """
    long = sizes.thoughts
    per: dict[str, list[float]] = {"10": [], "long": [], "floor": []}
    runs: dict[str, list[float]] = {"10": [], "long": [], "floor": []}
    for run in range(sizes.repeat):
        stores = {
            "10": prepared_store(work / f"a10-{durable}-{run}", 10, sizes, durable=durable),
            "long": prepared_store(work / f"along-{durable}-{run}", long, sizes, durable=durable),
        }
        floor_dir = prepared_store(work / f"afloor-{durable}-{run}", long, sizes, durable=False).root / "s"
        for key, store in stores.items():  # the first append of a store object tidies, once: untimed
            start = 10 if key == "10" else long
            store.append("s", Thought(text_of(0, sizes.text), start + 1, start + sizes.appends + 1, True))
        settle()
        for times in per.values():
            times.clear()
        for k in range(2, sizes.appends + 2):
            for key in ("10", "long", "floor")[k % 3 :] + ("10", "long", "floor")[: k % 3]:
                if key == "floor":
                    position = long + k
                    body = {
                        "thought": text_of(k, sizes.text),
                        "thought_number": position,
                        "total_thoughts": position,
                        "next_thought_needed": True,
                    }
                    header = {"session_id": "s", "total_thoughts": position, "branch_ids": []}
                    one = functools.partial(
                        floor_append,
                        str(floor_dir),
                        f"thought{position}.json",
                        {"thought_number": position, "thought_data": body},
                        header,
                        durable=durable,
                    )
                    per[key].append(timed(one))
                else:
                    start = 10 if key == "10" else long
                    thought = Thought(text_of(k, sizes.text), start + k, start + sizes.appends + 1, True)
                    per[key].append(timed(functools.partial(stores[key].append, "s", thought)))
        for key, times in per.items():
            runs[key].append(statistics.median(times) * 1e3)
        for path in (
            work / f"a10-{durable}-{run}",
            work / f"along-{durable}-{run}",
            work / f"afloor-{durable}-{run}",
        ):
            shutil.rmtree(path)
    mode = "durable" if durable else "non-durable"
    return [
        Result(f"append, {mode}, at 10 thoughts", "ms", runs["10"]),
        Result(f"append, {mode}, at {long} thoughts", "ms", runs["long"]),
        Result(f"append floor, {mode} (bare os calls)", "ms", runs["floor"]),
    ]


# --- 4. the seed's scheme ---------------------------------------------------------


def bench_seed_scheme(sizes: Sizes, history: int, work: Path) -> Result:
    """The seed's save, re-implemented naively: every save rewrites session.json and every
    thought file (plain writes, no fsync, as the seed does). Seconds per save at `history`.
    """
    runs = []
    texts = [Thought(text_of(i, sizes.text), i, history + 5, True) for i in range(1, history + 6)]
    for run in range(sizes.repeat):
        folder = work / f"seed-{history}-{run}"
        folder.mkdir()

        def save(count: int, folder: Path = folder) -> None:
            for position in range(1, count + 1):
                (folder / f"thought{position}.json").write_bytes(_format.encode_thought(texts[position - 1]))
            header = {"session_id": "s", "total_thoughts": count, "branch_ids": []}
            (folder / "session.json").write_text(json.dumps(header, indent=2))

        save(history)
        settle()
        per = [timed(functools.partial(save, count)) for count in range(history + 1, history + 4)]
        runs.append(statistics.median(per) * 1e3)
        shutil.rmtree(folder)
    return Result(f"seed scheme save, at {history} thoughts", "ms", runs)


# --- 5. peers ---------------------------------------------------------------------------


def bench_peer(name: str, sizes: Sizes, work: Path, *, durable: bool) -> Result:
    thoughts = thought_dicts(sizes.thoughts, sizes.text)
    runs = []
    note = ""
    for run in range(min(sizes.repeat, 3)):  # the peers are slow: three runs are plenty
        folder = work / f"peer-{name}-{durable}-{run}"
        folder.mkdir()
        outcome = getattr(peers, name)(folder, thoughts, durable=durable)
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(outcome, str):
            note = outcome
            break
        runs.append(statistics.median(outcome) * 1e3)
    mode = "durable" if durable else "non-durable"
    return Result(f"peer {name}, {mode}, per thought", "ms", runs, note)


def bench_node(sizes: Sizes) -> Result:
    thoughts = thought_dicts(sizes.thoughts, sizes.text)
    runs = []
    note = ""
    for _ in range(sizes.repeat):
        outcome = peers.node_reference(thoughts)
        if isinstance(outcome, str):
            note = outcome
            break
        runs.append(statistics.median(outcome) * 1e6)
    return Result("reference (node): parse + processThought", "us/thought", runs, note)


# --- 6. restore ---------------------------------------------------------------------------


def branched_session(sizes: Sizes) -> ThinkingSession:
    """A session of `thoughts` thoughts, two branches among them."""
    session = ThinkingSession("restore-me")
    n = sizes.thoughts
    for i in range(1, n + 1):
        branch: dict[str, Any] = {}
        if i > n // 2 and i % 10 == 1:
            branch = {"branch_from_thought": n // 2, "branch_id": "left" if i % 20 == 1 else "right"}
        session.think(text_of(i, sizes.text), thought_number=i, total_thoughts=n, **branch)
    return session


def bench_restore(sizes: Sizes, work: Path) -> tuple[Result, Result]:
    root = work / "restore"
    store = FileSystemStore(root, durable=False)
    store.save(branched_session(sizes))
    folder = root / "restore-me"
    names = [entry.name for entry in os.scandir(folder)]
    settle()

    def raw() -> None:
        for name in names:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                data = os.read(fd, 65_536)  # (1 MiB would be mmapped per call by malloc)
            finally:
                os.close(fd)
            json.loads(data)

    ours: list[float] = []
    floor: list[float] = []
    for run in range(max(sizes.repeat, 5) * 3):  # many short runs, the two alternating in order
        fresh = FileSystemStore(root, durable=False)
        pair: list[tuple[list[float], Callable[[], object]]] = [
            (ours, functools.partial(fresh.restore, "restore-me")),
            (floor, raw),
        ]
        for into, fn in pair if run % 2 else pair[::-1]:
            into.append(timed(fn) * 1e3)
    shutil.rmtree(root)
    return (
        Result(f"restore, {sizes.thoughts} thoughts, 2 branches", "ms", ours),
        Result(f"restore floor ({len(names)} files: os.open, os.read, json.loads)", "ms", floor),
    )


# --- 7. cleanup ----------------------------------------------------------------------------


def make_sessions(root: Path, count: int, *, when: int, start: int = 0) -> None:
    store = FileSystemStore(root, durable=False)
    for k in range(start, start + count):
        session = ThinkingSession(f"s{k:06d}", clock=lambda: when)
        session.think("one", total_thoughts=1, next_thought_needed=False)
        store.save(session)


def scan_floor(root: Path) -> list[str]:
    """List the folder and parse every session.json: what any age-based cleanup must do."""
    old = []
    for name in os.listdir(root):
        if name.startswith("."):
            continue
        try:
            fd = os.open(os.path.join(root, name, "session.json"), os.O_RDONLY)
        except OSError:
            continue
        try:
            data = os.read(fd, 65_536)  # (1 MiB would be mmapped per call by malloc)
        finally:
            os.close(fd)
        header = json.loads(data)
        if header["last_activity"]["secs_since_epoch"] < 1_000_000_000:
            old.append(name)
    return old


def bench_cleanup(sizes: Sizes, work: Path) -> list[Result]:
    root = work / "cleanup"
    now = time.time_ns()
    make_sessions(root, sizes.sessions - sizes.old, when=now)
    later = datetime.now(timezone.utc)
    scan, scan_floor_runs, delete, delete_floor = [], [], [], []
    for _ in range(sizes.repeat):
        store = FileSystemStore(root, durable=False)
        make_sessions(root, sizes.old, when=now, start=sizes.sessions)  # fresh too: none old
        settle()
        for turn in range(6):  # alternating in order
            if turn % 2:
                scan.append(timed(functools.partial(store.cleanup, timedelta(days=1), now=later)) * 1e3)
            else:
                scan_floor_runs.append(timed(lambda: scan_floor(root)) * 1e3)
        for k in range(sizes.sessions, sizes.sessions + sizes.old):
            shutil.rmtree(root / f"s{k:06d}")
        make_sessions(root, sizes.old, when=10**15, start=sizes.sessions)  # 1970: old
        settle()
        start = time.perf_counter()
        deleted = store.cleanup(timedelta(days=1), now=later)
        delete.append((time.perf_counter() - start) * 1e3)
        assert len(deleted) == sizes.old, (len(deleted), sizes.old)
        make_sessions(root, sizes.old, when=10**15, start=sizes.sessions)
        settle()

        def raw_delete() -> None:
            for name in scan_floor(root):
                shutil.rmtree(root / name)

        delete_floor.append(timed(raw_delete) * 1e3)
    shutil.rmtree(root)
    n, old = sizes.sessions, sizes.old
    return [
        Result(f"cleanup scan, {n} sessions, none old", "ms", scan),
        Result(f"cleanup scan floor (listdir + parse {n} session.json)", "ms", scan_floor_runs),
        Result(f"cleanup, {n} sessions, {old} old", "ms", delete),
        Result(f"cleanup floor (scan + rmtree {old})", "ms", delete_floor),
    ]


# --- 8. memory ------------------------------------------------------------------------------


def bench_bytes_per_thought(sizes: Sizes) -> Result:
    """tracemalloc: bytes a session holds per thought, beyond the thought's text."""
    runs = []
    n = sizes.thoughts * 10
    for _ in range(sizes.repeat):
        texts = [text_of(i, sizes.text) for i in range(1, n + 1)]  # made before measuring
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        session = ThinkingSession("memory")
        for text in texts:
            session.think(text, total_thoughts=n)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        runs.append((after - before) / n)
        del session
    return Result("memory per stored thought, beyond its text", "bytes", runs)


RSS_SCRIPT = """
import resource, sys
from seqthink import FileSystemStore
from seqthink.tool import SequentialThinkingTool
root, count, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tool = SequentialThinkingTool(FileSystemStore(root, durable=False), max_live_sessions=cap)
call = {"thought": "x" * 200, "thoughtNumber": 1, "totalThoughts": 1, "nextThoughtNeeded": False}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
capped = base
for k in range(count):
    call["sessionId"] = f"s{k}"
    tool.call(call)
    if k + 1 == min(count, 2 * cap):  # the cap reached, and as many again evicted
        capped = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(base, capped, peak, len(tool.live_sessions))
"""

LIVE_CAP = 1000


def bench_tool_rss(sizes: Sizes, work: Path) -> tuple[Result, Result, Result]:
    """Peak RSS of a tool serving `tool_sessions` distinct sessions, max_live_sessions=1000:
    after imports, once the cap is reached (at 2,000 sessions), and at the end.
    """
    root = work / "rss"
    done = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, str(root), str(sizes.tool_sessions), str(LIVE_CAP)],
        capture_output=True,
        text=True,
        check=True,
    )
    base, capped, peak, live = (int(x) for x in done.stdout.split())
    shutil.rmtree(root)
    n = sizes.tool_sessions
    note = f"{live} sessions tracked at the end"
    at = min(n, 2 * LIVE_CAP)
    return (
        Result(f"tool RSS after imports (KiB), before {n} sessions", "KiB", [float(base)]),
        Result(f"tool peak RSS after {at} sessions (the live cap reached)", "KiB", [float(capped)]),
        Result(
            f"tool peak RSS, {n} distinct sessions, max_live_sessions={LIVE_CAP}", "KiB", [float(peak)], note
        ),
    )


# --- 9. Redis -------------------------------------------------------------------------------------

#: The Redis configurations, each with the FileSystemStore mode it is compared with:
#: (label, redis-server options, durable).
REDIS_MODES = (
    ("appendfsync always", local_redis.FSYNC_ALWAYS, True),
    ("no persistence", local_redis.NO_PERSISTENCE, False),
)


def redis_append_name(label: str, history: int) -> str:
    return f"RedisStore.append, {label}, at {history} thoughts"


def fs_append_beside_redis_name(durable: bool) -> str:
    mode = "durable" if durable else "non-durable"
    return f"FileSystemStore.append, {mode}, at 10 thoughts (beside Redis)"


def redis_restore_names(sizes: Sizes) -> tuple[str, str]:
    n = sizes.thoughts
    return (
        f"RedisStore.restore, {n} thoughts, 2 branches",
        f"FileSystemStore.restore, {n} thoughts, 2 branches (beside Redis)",
    )


def redis_append_names(sizes: Sizes, label: str, durable: bool) -> list[str]:
    return [
        redis_append_name(label, 10),
        redis_append_name(label, sizes.thoughts),
        fs_append_beside_redis_name(durable),
    ]


def redis_names(sizes: Sizes) -> list[str]:
    """Every row of the Redis case, in the order reported."""
    names = [name for label, _, durable in REDIS_MODES for name in redis_append_names(sizes, label, durable)]
    return [*names, *redis_restore_names(sizes)]


def redis_prefix() -> str:
    """Keys of this run only, so that a server given by SEQTHINK_REDIS_URL is left as it was."""
    return f"seqthink-bench:{os.getpid()}-{time.time_ns()}:"


def bench_redis_appends(
    sizes: Sizes, url: str, label: str, *, durable: bool, work: Path, note: str = ""
) -> list[Result]:
    """Milliseconds per RedisStore.append of one thought onto sessions of 10 and of `thoughts`
    thoughts, interleaved (one operation of each per round) with FileSystemStore.append at
    10 thoughts, durable or not as `durable` says.
    """
    from seqthink import RedisStore  # noqa: PLC0415 - redis-py is optional

    long = sizes.thoughts
    keys = ("10", "long", "fs")
    # Rounds alternate between two orders so that, over the run, each operation follows
    # each of the other two equally often. A Redis append right after a filesystem append
    # measured 10 to 25% slower here than one after another Redis append; a plain rotation
    # (as the append case uses) would put that on one of the two Redis rows twice as often
    # as on the other.
    orders = (keys, (keys[0], keys[2], keys[1]))
    per: dict[str, list[float]] = {key: [] for key in keys}
    runs: dict[str, list[float]] = {key: [] for key in keys}
    store = RedisStore(url, prefix=redis_prefix())
    try:
        for run in range(sizes.repeat):
            ids = {"10": f"a10-{run}", "long": f"along-{run}"}
            for key, history in (("10", 10), ("long", long)):
                session = ThinkingSession(ids[key])
                for i in range(1, history + 1):
                    session.think(text_of(i, sizes.text), total_thoughts=history + sizes.appends)
                store.save(session)
            fs_root = work / f"redis-fs-{durable}-{run}"
            fs = prepared_store(fs_root, 10, sizes, durable=durable)

            def append(key: str, k: int, fs: FileSystemStore = fs, ids: dict[str, str] = ids) -> None:
                start = long if key == "long" else 10
                thought = Thought(text_of(k, sizes.text), start + k, start + sizes.appends + 1, True)
                if key == "fs":
                    fs.append("s", thought)
                else:
                    store.append(ids[key], thought)

            for key in keys:  # the first append of each: untimed (the filesystem store tidies, once)
                append(key, 1)
            settle()
            for times in per.values():
                times.clear()
            for k in range(2, sizes.appends + 2):
                for key in orders[k % 2]:
                    per[key].append(timed(functools.partial(append, key, k)))
            for key, times in per.items():
                runs[key].append(statistics.median(times) * 1e3)
            for session_id in ids.values():
                store.delete(session_id)
            shutil.rmtree(fs_root)
    finally:
        store.close()
    names = redis_append_names(sizes, label, durable)
    return [
        Result(names[0], "ms", runs["10"], note),
        Result(names[1], "ms", runs["long"], note),
        Result(names[2], "ms", runs["fs"]),
    ]


def bench_redis_restore(sizes: Sizes, url: str, work: Path, note: str = "") -> list[Result]:
    """Milliseconds per restore of the branched session from Redis and from the filesystem,
    alternating in order. The RedisStore (and so its connection) is reused, as a server
    would; restore from the filesystem keeps nothing between calls either way.
    """
    from seqthink import RedisStore  # noqa: PLC0415 - redis-py is optional

    session = branched_session(sizes)
    root = work / "redis-restore"
    FileSystemStore(root, durable=False).save(session)
    store = RedisStore(url, prefix=redis_prefix())
    ours: list[float] = []
    theirs: list[float] = []
    try:
        store.save(session)
        from_redis = store.restore("restore-me")  # untimed: loads the script into the server
        from_files = FileSystemStore(root, durable=False).restore("restore-me")
        assert from_redis.thought_history == from_files.thought_history
        assert from_redis.branches == from_files.branches
        settle()
        for run in range(max(sizes.repeat, 5) * 3):  # many short runs, the two alternating in order
            fresh = FileSystemStore(root, durable=False)
            pair: list[tuple[list[float], Callable[[], object]]] = [
                (ours, functools.partial(store.restore, "restore-me")),
                (theirs, functools.partial(fresh.restore, "restore-me")),
            ]
            for into, fn in pair if run % 2 else pair[::-1]:
                into.append(timed(fn) * 1e3)
        store.delete("restore-me")
    finally:
        store.close()
        shutil.rmtree(root)
    names = redis_restore_names(sizes)
    return [Result(names[0], "ms", ours, note), Result(names[1], "ms", theirs)]


def external_redis_mode(url: str) -> tuple[str | None, str]:
    """Which configuration the server at `url` is, by CONFIG GET: (its label or None, a note)."""
    import redis  # noqa: PLC0415 - redis-py is optional

    client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5)
    try:
        config: dict[str | None, str | None] = {}
        for name in ("appendonly", "appendfsync", "save"):
            config.update(client.config_get(name))
    except redis.exceptions.ResponseError as exc:
        return None, f"{local_redis.URL_ENV}: its persistence is unknown (CONFIG GET: {exc})"
    finally:
        client.close()
    shown = ", ".join(f"{name} {config.get(name, '?')!r}" for name in ("appendonly", "appendfsync", "save"))
    note = f"{local_redis.URL_ENV}: {shown}"
    if config.get("appendonly") == "yes" and config.get("appendfsync") == "always":
        return "appendfsync always", note
    if config.get("appendonly") == "no":
        if config.get("save"):
            note += " (RDB snapshots in the background)"
        return "no persistence", note
    return None, note


def bench_redis(sizes: Sizes, work: Path) -> list[Result]:
    """The Redis case: a redis-server of its own per configuration, or SEQTHINK_REDIS_URL's."""
    names = redis_names(sizes)
    found: dict[str, Result] = {}
    skipped: dict[str, str] = {}

    def add(results: list[Result]) -> None:
        found.update((result.name, result) for result in results)

    def rows() -> list[Result]:
        return [found.get(name) or Result(name, "ms", [], skipped[name]) for name in names]

    try:
        importlib.import_module("seqthink._redis")
    except ImportError as exc:
        skipped.update(dict.fromkeys(names, f"skipped: {exc}"))
        return rows()
    url = os.environ.get(local_redis.URL_ENV)
    if url:
        return bench_external_redis(sizes, url, work)
    binary = local_redis.binary()
    if binary is None:
        reason = f"skipped: no redis-server on PATH, and {local_redis.URL_ENV} is not set"
        skipped.update(dict.fromkeys(names, reason))
        return rows()
    for label, options, durable in REDIS_MODES:
        folder = work / ("redis-" + label.replace(" ", "-"))
        server = local_redis.LocalRedis(binary, folder, options)
        try:
            server.start()
        except RuntimeError as exc:
            mine = redis_append_names(sizes, label, durable)
            if not durable:
                mine += redis_restore_names(sizes)
            skipped.update(dict.fromkeys(mine, f"skipped: {exc}"))
            continue
        try:
            add(bench_redis_appends(sizes, server.url, label, durable=durable, work=work))
            if not durable:  # restore only reads: it runs on the server without persistence
                add(bench_redis_restore(sizes, server.url, work))
        finally:
            server.stop()
        shutil.rmtree(folder)
    return rows()


def bench_external_redis(sizes: Sizes, url: str, work: Path) -> list[Result]:
    """The Redis case on the server SEQTHINK_REDIS_URL names: its appends are measured under
    the configuration it has (CONFIG GET says which), the other's rows say why not.
    """
    import redis  # noqa: PLC0415 - redis-py is optional

    try:
        label, note = external_redis_mode(url)
    except redis.exceptions.RedisError as exc:
        reason = f"skipped: {local_redis.URL_ENV}: {type(exc).__name__}: {exc}"
        return [Result(name, "ms", [], reason) for name in redis_names(sizes)]
    results: list[Result] = []
    for mode, _, durable in REDIS_MODES:
        if mode == label:
            results += bench_redis_appends(sizes, url, mode, durable=durable, work=work, note=note)
        else:
            reason = f"skipped: the server is not of this configuration ({note})"
            results += [Result(name, "ms", [], reason) for name in redis_append_names(sizes, mode, durable)]
    return results + bench_redis_restore(sizes, url, work, note)


# --- the run ------------------------------------------------------------------------------------


def ratio(results: dict[str, Result], top: str, bottom: str) -> float | None:
    a, b = results.get(top), results.get(bottom)
    if a is None or b is None or not a.runs or not b.runs:
        return None
    return a.median / b.median


def first(results: dict[str, Result], prefix: str) -> str:
    """The name of the first row starting with `prefix` ('' when there is none)."""
    return next((name for name in results if name.startswith(prefix)), "")


#: The limit of a row that compares, for information, and is no target.
FOR_COMPARISON = None


def targets(results: dict[str, Result], sizes: Sizes) -> list[dict[str, Any]]:
    """The targets, and a few comparisons for information (limit None, shown as '-').

    A row whose cases were not both measured has ratio None (and met None).
    """
    n = sizes.thoughts
    rows: list[tuple[str, float | None, float | None]] = [
        (
            "append durable: at n / at 10",
            ratio(results, f"append, durable, at {n} thoughts", "append, durable, at 10 thoughts"),
            1.2,
        ),
        (
            "append non-durable: at n / at 10",
            ratio(results, f"append, non-durable, at {n} thoughts", "append, non-durable, at 10 thoughts"),
            1.2,
        ),
        (
            "seed scheme: at n / at 10 (for comparison)",
            ratio(results, f"seed scheme save, at {n} thoughts", "seed scheme save, at 10 thoughts"),
            FOR_COMPARISON,
        ),
        (
            "durable append / raw floor",
            ratio(results, "append, durable, at 10 thoughts", "append floor, durable (bare os calls)"),
            1.25,
        ),
        (
            "non-durable append / raw floor",
            ratio(
                results, "append, non-durable, at 10 thoughts", "append floor, non-durable (bare os calls)"
            ),
            1.5,
        ),
    ]
    peer_rows = [
        r for name, r in results.items() if name.startswith("peer ") and ", durable," in name and r.runs
    ]
    if peer_rows:
        fastest = min(peer_rows, key=lambda r: r.median)
        rows.append(
            (
                f"durable append / fastest durable peer ({fastest.name})",
                ratio(results, "append, durable, at 10 thoughts", fastest.name),
                1.0,
            )
        )
    else:
        rows.append(("durable append / fastest durable peer", None, 1.0))
    rows.append(
        (
            "restore / raw floor",
            ratio(results, first(results, "restore, "), first(results, "restore floor")),
            1.5,
        )
    )
    rows.append(
        (
            "cleanup scan / raw floor",
            ratio(results, first(results, "cleanup scan, "), first(results, "cleanup scan floor")),
            1.5,
        )
    )
    rows.append(
        (
            "think / reference node",
            ratio(results, "think (in memory, validated)", "reference (node): parse + processThought"),
            2.5,
        )
    )
    memory = results.get("memory per stored thought, beyond its text")
    rows.append(("bytes per stored thought beyond its text", memory.median if memory else None, 150.0))
    capped = first(results, "tool peak RSS after ")
    peak = first(results, "tool peak RSS, ")
    if capped and peak:
        rows.append(
            ("tool peak RSS at the end / once the live cap is reached", ratio(results, peak, capped), 1.05)
        )
    for label, _, durable in REDIS_MODES:
        mode = "durable" if durable else "non-durable"
        rows.append(
            (
                f"Redis append ({label}) / FS append ({mode}), at 10 (for comparison)",
                ratio(results, redis_append_name(label, 10), fs_append_beside_redis_name(durable)),
                FOR_COMPARISON,
            )
        )
    for label, _, _ in REDIS_MODES:
        rows.append(
            (
                f"Redis append ({label}): at n / at 10 (for comparison)",
                ratio(results, redis_append_name(label, n), redis_append_name(label, 10)),
                FOR_COMPARISON,
            )
        )
    rows.append(
        (
            f"Redis restore / FS restore, {n} thoughts (for comparison)",
            ratio(results, *redis_restore_names(sizes)),
            FOR_COMPARISON,
        )
    )
    return [
        {
            "target": name,
            "ratio": value,
            "limit": limit,
            "met": None if value is None or limit is None else value <= limit,
        }
        for name, value, limit in rows
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    mode.add_argument(
        "--smoke", action="store_true", help="tiny sizes: checks the suite runs, measures nothing"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.json", help="the JSON file to write")
    parser.add_argument(
        "--skip-peers", action="store_true", help="do not run the peers nor node (their rows say so)"
    )
    parser.add_argument("--only", action="append", default=[], help="run only cases whose name contains this")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL

    results: dict[str, Result] = {}

    def add(*found: Result) -> None:
        for result in found:
            results[result.name] = result
            shown = f"{result.median:10.3f}" if result.runs else "   skipped"
            print(f"  {result.name:<70} {shown} {result.unit} {result.note}", flush=True)

    def wanted(name: str) -> bool:
        return not args.only or any(word in name for word in args.only)

    with tempfile.TemporaryDirectory(prefix="seqthink-bench-") as scratch:
        work = Path(scratch)
        print(f"seqthink {seqthink.__version__} on Python {platform.python_version()}, {platform.machine()}")
        if wanted("think"):
            add(bench_think(sizes))
            if args.skip_peers:
                add(
                    Result(
                        "reference (node): parse + processThought", "us/thought", [], "skipped: --skip-peers"
                    )
                )
            else:
                add(bench_node(sizes))
        if wanted("append"):
            for durable in (True, False):
                add(*bench_appends(sizes, durable=durable, work=work))
        if wanted("seed"):
            for history in (10, sizes.thoughts):
                add(bench_seed_scheme(sizes, history, work))
        if wanted("peer"):
            for name in ("mcp_sequential_thinking", "deepthinking"):
                for durable in (True, False):
                    if args.skip_peers:
                        label = "durable" if durable else "non-durable"
                        add(Result(f"peer {name}, {label}, per thought", "ms", [], "skipped: --skip-peers"))
                    else:
                        add(bench_peer(name, sizes, work, durable=durable))
        if wanted("restore"):
            add(*bench_restore(sizes, work))
        if wanted("cleanup"):
            add(*bench_cleanup(sizes, work))
        if wanted("memory"):
            add(bench_bytes_per_thought(sizes))
            add(*bench_tool_rss(sizes, work))
        if wanted("redis"):
            add(*bench_redis(sizes, work))

    table = [result.as_json() for result in results.values()]
    checks = targets(results, sizes)
    if args.only:  # only the rows this run measured both sides of
        checks = [check for check in checks if check["ratio"] is not None]
    print()
    print(f"{'case':<72} {'median':>10} {'min':>10} {'max':>10}  unit")
    for row in table:
        if row["median"] is None:
            print(f"{row['name']:<72} {'skipped':>10} {'':>10} {'':>10}  {row['note']}")
        else:
            print(
                f"{row['name']:<72} {row['median']:10.3f} {row['min']:10.3f} "
                f"{row['max']:10.3f}  {row['unit']}"
            )
    if checks:
        print()
        print(f"{'target':<80} {'ratio':>8} {'limit':>6}  met")
        for check in checks:
            value = "n/a" if check["ratio"] is None else f"{check['ratio']:.2f}"
            limit = "-" if check["limit"] is None else check["limit"]
            met = "-" if check["limit"] is None else check["met"]
            print(f"{check['target']:<80} {value:>8} {limit:>6}  {met}")
    report = {
        "seqthink": seqthink.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "when": datetime.now(timezone.utc).isoformat(),
        "sizes": attrs.asdict(sizes),
        "results": table,
        "targets": checks,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
