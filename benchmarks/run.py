"""seqthink's benchmark suite: every case measured in one run, against its floor and its peers.

Run (from a checkout, in a venv with seqthink installed):

    python benchmarks/run.py                 # the full suite, a few minutes
    python benchmarks/run.py --quick         # smaller sizes, fewer repeats
    python benchmarks/run.py --out FILE      # where the JSON goes (default benchmarks/results.json)

Peers are measured when installed (``pip install -r benchmarks/requirements-peers.txt``)
and the reference's node implementation when node and npm are present; otherwise
their rows say why they were skipped.

Absolute times on a shared machine drift by 2x between runs, so every target is
a ratio of two cases measured in the same run. Each case is run ``--repeat``
times; the table gives the median, min and max of the per-run medians (for
per-operation cases) or per-run totals (for whole-job cases).
"""

from __future__ import annotations

import argparse
import functools
import gc
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


# --- the run ------------------------------------------------------------------------------------


def ratio(results: dict[str, Result], top: str, bottom: str) -> float | None:
    a, b = results.get(top), results.get(bottom)
    if a is None or b is None or not a.runs or not b.runs:
        return None
    return a.median / b.median


def targets(results: dict[str, Result], sizes: Sizes) -> list[dict[str, Any]]:
    n = sizes.thoughts
    rows: list[tuple[str, float | None, float]] = [
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
            float("inf"),
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
                results["append, durable, at 10 thoughts"].median / fastest.median,
                1.0,
            )
        )
    else:
        rows.append(("durable append / fastest durable peer", None, 1.0))
    restore = [name for name in results if name.startswith("restore, ")]
    restore_floor = [name for name in results if name.startswith("restore floor")]
    rows.append(("restore / raw floor", ratio(results, restore[0], restore_floor[0]), 1.5))
    scan = [name for name in results if name.startswith("cleanup scan, ")]
    scan_floor_name = [name for name in results if name.startswith("cleanup scan floor")]
    rows.append(("cleanup scan / raw floor", ratio(results, scan[0], scan_floor_name[0]), 1.5))
    rows.append(
        (
            "think / reference node",
            ratio(results, "think (in memory, validated)", "reference (node): parse + processThought"),
            2.5,
        )
    )
    memory = results.get("memory per stored thought, beyond its text")
    rows.append(("bytes per stored thought beyond its text", memory.median if memory else None, 150.0))
    capped = [name for name in results if name.startswith("tool peak RSS after ")]
    peak = [name for name in results if name.startswith("tool peak RSS, ")]
    if capped and peak:
        rows.append(
            (
                "tool peak RSS at the end / once the live cap is reached",
                ratio(results, peak[0], capped[0]),
                1.05,
            )
        )
    return [
        {"target": name, "ratio": value, "limit": limit, "met": None if value is None else value <= limit}
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

    table = [result.as_json() for result in results.values()]
    checks = targets(results, sizes) if not args.only else []
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
            print(f"{check['target']:<80} {value:>8} {check['limit']:>6}  {check['met']}")
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
