"""``seqthink migrate``: copying every session between sessions folders and Redis.

Like tests/test_cli.py, most tests run ``python -m seqthink`` in a subprocess,
as a user runs it, and check what it prints, how it exits and what the stores
hold afterwards. Redis is the server the ``redis_url`` fixture provides; each
test keeps its keys under its own ``redis_prefix``. A few tests call
:func:`seqthink.cli.main` in-process, to break a store on purpose.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
import redis
import redis_server
from clirun import ROOT, environment, fails, seqthink, state

from seqthink import FileSystemStore, RedisStore, ThinkingSession
from seqthink._session import SessionRecord
from seqthink.cli import main
from seqthink.errors import StoreConnectionError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from seqthink._store import SessionStore

#: Branch ids that are awkward for keys and file names: non-ASCII, and ':' (the key separator).
ODD_BRANCHES = ("bé:ta", "東京:2", "a:b:c")
#: A start time with nanoseconds that microsecond-precision times would lose.
START_NS = 1_762_000_000_123_456_789


# --- helpers ----------------------------------------------------------------------------------


def ticking_clock(start: int = START_NS) -> Any:
    """A clock that moves on by an odd number of nanoseconds at each reading."""
    counter = itertools.count()
    return lambda: start + next(counter) * 1_234_567_891


def make_sessions(root: Path) -> dict[str, ThinkingSession]:
    """Sessions with revisions, branches with awkward ids and no thoughts at all, saved in ``root``."""
    store = FileSystemStore(root, durable=False)
    plan = ThinkingSession("plan-release", clock=ticking_clock())
    plan.think("What is left before 2.0?", total_thoughts=4)
    plan.think("The docs, and the migration command.")
    plan.think("Try Redis first.", branch_from_thought=1, branch_id=ODD_BRANCHES[0])
    plan.think("Or keep the folder.", branch_from_thought=2, branch_id=ODD_BRANCHES[1])
    plan.think("Only the docs are left.", is_revision=True, revises_thought=2)
    plan.think("Redis it is, café ☕.", branch_from_thought=1, branch_id=ODD_BRANCHES[0])
    plan.think("Three levels.", branch_from_thought=3, branch_id=ODD_BRANCHES[2], needs_more_thoughts=True)
    plan.think("Ship on Thursday.", next_thought_needed=False)
    empty = ThinkingSession("empty-one", clock=ticking_clock(START_NS + 7))
    short = ThinkingSession("short", clock=ticking_clock(START_NS + 11))
    short.think("One thought, done.", next_thought_needed=False)
    made = {s.session_id: s for s in (plan, empty, short)}
    for session in made.values():
        store.save(session)
    return made


def states(store: SessionStore) -> dict[str, tuple[Any, ...]]:
    return {m.session_id: state(store.restore(m.session_id)) for m in store.list_sessions()}


def files(root: Path) -> dict[str, bytes]:
    """Every file of every session folder under ``root``, by its path relative to ``root``."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.parent != root
    }


@pytest.fixture
def redis_store(redis_url: str, redis_prefix: str) -> Iterator[RedisStore]:
    store = RedisStore(redis_url, prefix=redis_prefix)
    yield store
    store.close()


def redis_keys(redis_url: str, prefix: str) -> list[bytes]:
    client = redis.Redis.from_url(redis_url)
    try:
        return sorted(client.scan_iter(match=prefix.replace("*", "\\*") + "*"))
    finally:
        client.close()


def to_redis(redis_url: str, prefix: str) -> list[str]:
    return ["--to", redis_url, "--to-prefix", prefix]


def from_redis(redis_url: str, prefix: str) -> list[str]:
    return ["--from", redis_url, "--from-prefix", prefix]


# --- help and usage --------------------------------------------------------------------------


def test_help_shows_the_options_and_an_example(tmp_path: Path) -> None:
    done = seqthink(tmp_path, "migrate", "--help")
    assert (0, "") == (done.returncode, done.stderr)
    for option in ("--from", "--to", "--from-prefix", "--to-prefix", "--dry-run", "--replace"):
        assert option in done.stdout
    assert re.search(r"^  seqthink migrate --\S", done.stdout, flags=re.MULTILINE)
    assert "migrate" in seqthink(tmp_path, "--help").stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ([], "give --from, --to or both"),
        (["--to", "http://example.com/x"], "is neither a sessions folder nor a Redis URL"),
        (["--to", "elsewhere", "--to-prefix", "p:"], "--to-prefix: applies to a Redis URL only"),
        (["--from", "elsewhere", "--from-prefix", "p:"], "--from-prefix: applies to a Redis URL only"),
        (
            ["--to", "redis://127.0.0.1:notaport/0"],
            "--to: redis://127.0.0.1:notaport/0 is not a usable Redis URL",
        ),
        (["--from", "", "--to", "x"], "--from: must not be empty"),
    ],
)
def test_bad_command_lines_exit_2(tmp_path: Path, args: list[str], named: str) -> None:
    make_sessions(tmp_path / "sessions")
    before = files(tmp_path / "sessions")
    line = fails(tmp_path, 2, "migrate", *args)
    assert named in line
    assert before == files(tmp_path / "sessions")
    assert not (tmp_path / "elsewhere").exists()


def test_a_file_as_the_target_exits_2(tmp_path: Path) -> None:
    make_sessions(tmp_path / "sessions")
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    line = fails(tmp_path, 2, "migrate", "--to", str(tmp_path / "file"))
    assert "--to: " in line
    assert "exists and is not a folder" in line


def test_the_same_folder_twice_is_refused(tmp_path: Path) -> None:
    """One folder, however it is spelt (a trailing slash, ~, a link to it), is not two stores."""
    make_sessions(tmp_path / "sessions")
    before = files(tmp_path / "sessions")
    (tmp_path / "link").symlink_to(tmp_path / "sessions", target_is_directory=True)
    home = {"HOME": str(tmp_path), "USERPROFILE": str(tmp_path)}
    for args in (
        ["--to", str(tmp_path / "sessions")],
        ["--from", str(tmp_path / "sessions") + "/", "--to", "sessions"],
        ["--from", "~/sessions", "--to", str(tmp_path / "link")],
        ["--sessions-dir", str(tmp_path / "link"), "--from", "sessions"],
    ):
        line = fails(tmp_path, 2, "migrate", *args, env=home)
        assert "--from and --to are the same store" in line, args
    assert before == files(tmp_path / "sessions")


def test_the_same_redis_store_twice_is_refused(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    line = fails(
        tmp_path,
        2,
        "migrate",
        *from_redis(redis_url, redis_prefix),
        *to_redis(redis_url.removesuffix("/0"), redis_prefix),
    )
    assert "--from and --to are the same store" in line
    assert [] == redis_keys(redis_url, redis_prefix)


def test_a_redis_url_without_redis_py_says_how_to_install_it(tmp_path: Path) -> None:
    """With the redis package missing, a URL is one line naming the extra to install, exit 2."""
    fake = tmp_path / "no-redis" / "redis"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        'raise ModuleNotFoundError("No module named \'redis\'", name="redis")\n', encoding="utf-8"
    )
    make_sessions(tmp_path / "sessions")
    path = os.pathsep.join([str(fake.parent), str(ROOT)])
    line = fails(tmp_path, 2, "migrate", "--to", "redis://127.0.0.1:6379/0", env={"PYTHONPATH": path})
    assert "pip install 'seqthink[redis]'" in line
    assert line.startswith("seqthink: error: --to: ")


# --- a server out of reach ------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["--from", "--to"])
def test_a_redis_server_out_of_reach_is_one_line_naming_it(tmp_path: Path, side: str) -> None:
    """A closed port: exit 1, one line naming the option and the URL (its password hidden)."""
    make_sessions(tmp_path / "sessions")
    before = files(tmp_path / "sessions")
    url = f"redis://:hunter2@127.0.0.1:{redis_server.free_port()}/0"
    line = fails(tmp_path, 1, "migrate", side, url)
    shown = url.replace("hunter2", "***")
    assert line.startswith(f"seqthink: error: {side}: could not reach {shown} (prefix 'seqthink:'): ")
    assert "hunter2" not in line
    assert before == files(tmp_path / "sessions")


# --- folder -> Redis -> folder ---------------------------------------------------------------------


def test_folder_to_redis_to_folder_round_trip(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_store: RedisStore
) -> None:
    """Every session arrives whole, to the nanosecond; the folder written back is the first, byte for byte."""
    made = make_sessions(tmp_path / "sessions")
    done = seqthink(tmp_path, "migrate", *to_redis(redis_url, redis_prefix))
    assert 0 == done.returncode, done.stderr
    assert [
        "copied session 'empty-one' (0 thoughts)",
        "copied session 'plan-release' (8 thoughts, 3 branches)",
        "copied session 'short' (1 thought)",
    ] == done.stdout.splitlines()
    where = f"{tmp_path / 'sessions'} to {redis_url} (prefix {redis_prefix!r})"
    assert f"seqthink: 3 sessions from {where}: 3 copied\n" == done.stderr
    assert {sid: state(s) for sid, s in made.items()} == states(redis_store)
    assert list(ODD_BRANCHES) == list(redis_store.restore("plan-release").branches)

    back = tmp_path / "back"
    done = seqthink(tmp_path, "migrate", *from_redis(redis_url, redis_prefix), "--to", str(back))
    assert 0 == done.returncode, done.stderr
    assert 3 == len(done.stdout.splitlines())
    assert done.stderr.endswith(": 3 copied\n")
    original = files(tmp_path / "sessions")
    assert "plan-release/session.json" in original
    assert original == files(back)
    assert {sid: state(s) for sid, s in made.items()} == states(FileSystemStore(back))


def test_running_again_changes_nothing(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_store: RedisStore
) -> None:
    """A second run finds every session already there, exits 0 and writes nothing."""
    make_sessions(tmp_path / "sessions")
    assert 0 == seqthink(tmp_path, "migrate", *to_redis(redis_url, redis_prefix)).returncode
    client = redis.Redis.from_url(redis_url)
    try:
        dumped = {key: client.dump(key) for key in redis_keys(redis_url, redis_prefix)}
    finally:
        client.close()
    stored = states(redis_store)
    done = seqthink(tmp_path, "migrate", *to_redis(redis_url, redis_prefix))
    assert 0 == done.returncode, done.stderr
    assert [
        "already there: session 'empty-one' (0 thoughts)",
        "already there: session 'plan-release' (8 thoughts, 3 branches)",
        "already there: session 'short' (1 thought)",
    ] == done.stdout.splitlines()
    assert done.stderr.endswith(": 3 already there\n")
    assert stored == states(redis_store)
    client = redis.Redis.from_url(redis_url)
    try:
        assert dumped == {key: client.dump(key) for key in redis_keys(redis_url, redis_prefix)}
    finally:
        client.close()

    back = tmp_path / "back"
    assert (
        0 == seqthink(tmp_path, "migrate", *from_redis(redis_url, redis_prefix), "--to", str(back)).returncode
    )
    copied = files(back)
    done = seqthink(tmp_path, "migrate", *from_redis(redis_url, redis_prefix), "--to", str(back))
    assert (0, 3) == (done.returncode, done.stdout.count("already there: "))
    assert copied == files(back)


def test_the_default_sessions_folder_is_the_side_left_out(tmp_path: Path) -> None:
    """The side left out is the sessions folder (here $SEQTHINK_SESSIONS_DIR): source or target."""
    made = make_sessions(tmp_path / "sessions")
    done = seqthink(tmp_path, "migrate", "--to", "copy")
    assert (0, 3) == (done.returncode, done.stdout.count("copied session "))
    assert files(tmp_path / "sessions") == files(tmp_path / "copy")
    other = tmp_path / "other"
    done = seqthink(tmp_path, "migrate", "--from", "copy", env={"SEQTHINK_SESSIONS_DIR": str(other)})
    assert (0, 3) == (done.returncode, done.stdout.count("copied session "))
    assert {sid: state(s) for sid, s in made.items()} == states(FileSystemStore(other))


# --- conflicts ---------------------------------------------------------------------------------


def test_a_different_session_in_the_target_is_refused_then_replaced(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_store: RedisStore
) -> None:
    """Without --replace the target's session stays as it was, and the exit is 1; with it, it is replaced."""
    made = make_sessions(tmp_path / "sessions")
    theirs = ThinkingSession("short", clock=ticking_clock(START_NS + 99))
    theirs.think("Someone else's thought.", total_thoughts=2)
    theirs.think("And another.")
    redis_store.save(theirs)
    done = seqthink(tmp_path, "migrate", *to_redis(redis_url, redis_prefix))
    assert 1 == done.returncode
    assert [
        "copied session 'empty-one' (0 thoughts)",
        "copied session 'plan-release' (8 thoughts, 3 branches)",
    ] == done.stdout.splitlines()
    refusal, summary = done.stderr.splitlines()
    assert refusal.startswith("seqthink: error: refused to copy session 'short': ")
    assert "(there: 2 thoughts; in the source: 1 thought)" in refusal
    assert refusal.endswith("; add --replace to overwrite it")
    assert summary.endswith(": 2 copied, 1 refused")
    assert state(theirs) == state(redis_store.restore("short"))

    done = seqthink(tmp_path, "migrate", *to_redis(redis_url, redis_prefix), "--replace")
    assert 0 == done.returncode, done.stderr
    assert "replaced session 'short' (1 thought)" in done.stdout.splitlines()
    assert done.stderr.endswith(": 1 replaced, 2 already there\n")
    assert {sid: state(s) for sid, s in made.items()} == states(redis_store)


def test_an_unreadable_session_in_the_target_counts_as_different(tmp_path: Path) -> None:
    make_sessions(tmp_path / "sessions")
    assert 0 == seqthink(tmp_path, "migrate", "--to", "copy").returncode
    (tmp_path / "copy" / "short" / "thought1.json").write_text("{broken", encoding="utf-8")
    done = seqthink(tmp_path, "migrate", "--to", "copy")
    assert 1 == done.returncode
    refusal = done.stderr.splitlines()[0]
    assert refusal.startswith("seqthink: error: refused to copy session 'short': the one in ")
    assert "cannot be read" in refusal
    assert "{broken" == (tmp_path / "copy" / "short" / "thought1.json").read_text(encoding="utf-8")
    assert 0 == seqthink(tmp_path, "migrate", "--to", "copy", "--replace").returncode
    assert files(tmp_path / "sessions") == files(tmp_path / "copy")


# --- dry run -----------------------------------------------------------------------------------


def test_dry_run_writes_nothing(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_store: RedisStore
) -> None:
    make_sessions(tmp_path / "sessions")
    before = files(tmp_path / "sessions")
    done = seqthink(tmp_path, "migrate", *to_redis(redis_url, redis_prefix), "--dry-run")
    assert 0 == done.returncode, done.stderr
    assert [
        "would copy session 'empty-one' (0 thoughts)",
        "would copy session 'plan-release' (8 thoughts, 3 branches)",
        "would copy session 'short' (1 thought)",
    ] == done.stdout.splitlines()
    assert done.stderr.endswith(": 3 to copy (dry run)\n")
    assert [] == redis_keys(redis_url, redis_prefix)
    done = seqthink(tmp_path, "migrate", "--to", "folder", "--dry-run")
    assert 0 == done.returncode
    assert not (tmp_path / "folder").exists()
    assert before == files(tmp_path / "sessions")

    # With something in the target: what would be refused, replaced, left.
    theirs = ThinkingSession("short")
    theirs.think("Theirs.")
    redis_store.save(theirs)
    done = seqthink(tmp_path, "migrate", *to_redis(redis_url, redis_prefix), "--dry-run")
    assert 1 == done.returncode
    assert "seqthink: error: would refuse to copy session 'short': " in done.stderr
    assert done.stderr.endswith(": 2 to copy, 1 to refuse (dry run)\n")
    done = seqthink(tmp_path, "migrate", *to_redis(redis_url, redis_prefix), "--dry-run", "--replace")
    assert 0 == done.returncode
    assert "would replace session 'short' (1 thought)" in done.stdout.splitlines()
    assert ["short"] == [m.session_id for m in redis_store.list_sessions()]
    assert state(theirs) == state(redis_store.restore("short"))


# --- unreadable sessions --------------------------------------------------------------------------


def test_an_unreadable_source_session_is_reported_and_the_rest_copied(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_store: RedisStore
) -> None:
    """A bad thought file and a bad session.json: each named on stderr, the others copied, exit 1."""
    made = make_sessions(tmp_path / "sessions")
    (tmp_path / "sessions" / "short" / "thought1.json").write_text("{broken", encoding="utf-8")
    (tmp_path / "sessions" / "empty-one" / "session.json").write_text("[]", encoding="utf-8")
    done = seqthink(tmp_path, "migrate", *to_redis(redis_url, redis_prefix))
    assert 1 == done.returncode
    assert ["copied session 'plan-release' (8 thoughts, 3 branches)"] == done.stdout.splitlines()
    empty, short, summary = done.stderr.splitlines()
    assert empty.startswith("seqthink: error: could not copy session 'empty-one': ")
    assert "session.json" in empty
    assert short.startswith("seqthink: error: could not copy session 'short': ")
    assert "thought1.json" in short
    assert summary.endswith(": 1 copied, 2 failed")
    assert {"plan-release": state(made["plan-release"])} == states(redis_store)


def test_an_unreadable_redis_session_is_reported_and_the_rest_copied(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_store: RedisStore
) -> None:
    """A session listing skips (its meta hash spoilt) is still named, as a failure."""
    make_sessions(tmp_path / "sessions")
    assert 0 == seqthink(tmp_path, "migrate", *to_redis(redis_url, redis_prefix)).returncode
    client = redis.Redis.from_url(redis_url)
    try:
        client.hset(f"{redis_prefix}s:short:meta", "count", "many")
    finally:
        client.close()
    back = tmp_path / "back"
    done = seqthink(tmp_path, "migrate", *from_redis(redis_url, redis_prefix), "--to", str(back))
    assert 1 == done.returncode
    assert 2 == len(done.stdout.splitlines())
    failure, summary = done.stderr.splitlines()
    assert failure.startswith(
        "seqthink: error: could not copy session 'short': session 'short' cannot be read"
    )
    assert summary.endswith(": 2 copied, 1 failed")
    assert ["empty-one", "plan-release"] == sorted(
        m.session_id for m in FileSystemStore(back).list_sessions()
    )


def test_an_empty_source_has_nothing_to_copy(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    done = seqthink(tmp_path, "migrate", "--from", "nowhere", *to_redis(redis_url, redis_prefix))
    assert (1, "") == (done.returncode, done.stdout)
    assert (
        f"seqthink: no sessions in {tmp_path / 'nowhere'} (no such folder); nothing to copy\n" == done.stderr
    )
    done = seqthink(tmp_path, "migrate", *from_redis(redis_url, redis_prefix), "--to", "back")
    assert 1 == done.returncode
    assert "nothing to copy" in done.stderr
    assert not (tmp_path / "back").exists()


# --- verification, in-process ----------------------------------------------------------------------


def test_a_copy_that_reads_back_different_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A target that loses a thought on the way is caught by reading the copy back; the source is intact."""
    make_sessions(tmp_path / "sessions")
    before = files(tmp_path / "sessions")
    target = tmp_path / "lossy"
    real_load = FileSystemStore._load

    def lossy_load(self: FileSystemStore, session_id: str) -> SessionRecord:
        record = real_load(self, session_id)
        if self.root != target or not record.thoughts:
            return record
        return SessionRecord.from_thoughts(
            record.session_id, record.created_ns, record.last_activity_ns, record.thoughts[:-1]
        )

    monkeypatch.setattr(FileSystemStore, "_load", lossy_load)
    assert 1 == main(["--sessions-dir", str(tmp_path / "sessions"), "migrate", "--to", str(target)])
    captured = capsys.readouterr()
    assert ["copied session 'empty-one' (0 thoughts)"] == captured.out.splitlines()
    errors = captured.err.splitlines()
    assert errors[0].startswith(
        "seqthink: error: could not verify session 'plan-release': the copy read back"
    )
    assert errors[1].startswith("seqthink: error: could not verify session 'short': ")
    assert errors[2].endswith(": 1 copied, 2 failed")
    assert before == files(tmp_path / "sessions")


def test_a_connection_lost_part_way_stops_the_run_with_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The target's server goes away after the first save: no more tries, a summary, exit 1."""
    make_sessions(tmp_path / "sessions")
    target = tmp_path / "remote"
    real_save = FileSystemStore._save
    saves: list[str] = []

    def failing_save(self: FileSystemStore, record: SessionRecord, known: Any) -> None:
        if self.root == target:
            saves.append(record.session_id)
            if len(saves) > 1:
                raise StoreConnectionError("FileSystemStore: ConnectionError: the server went away")
        real_save(self, record, known)

    monkeypatch.setattr(FileSystemStore, "_save", failing_save)
    assert 1 == main(["--sessions-dir", str(tmp_path / "sessions"), "migrate", "--to", str(target)])
    captured = capsys.readouterr()
    assert ["copied session 'empty-one' (0 thoughts)"] == captured.out.splitlines()
    lost, summary = captured.err.splitlines()
    assert lost.startswith(f"seqthink: error: --to: lost {target}: ")
    assert "the server went away" in lost
    assert summary.startswith("seqthink: stopped after 1 of 3 sessions from ")
    assert summary.endswith(": 1 copied")
    assert ["empty-one", "plan-release"] == saves  # nothing tried after the connection was lost
    assert ["empty-one"] == [m.session_id for m in FileSystemStore(target).list_sessions()]


def test_ctrl_c_stops_between_sessions_with_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_sessions(tmp_path / "sessions")
    target = tmp_path / "copy"
    real_load = FileSystemStore._load
    loads: list[str] = []

    def interrupted_load(self: FileSystemStore, session_id: str) -> SessionRecord:
        if self.root != target:
            loads.append(session_id)
            if len(loads) == 2:
                raise KeyboardInterrupt
        return real_load(self, session_id)

    monkeypatch.setattr(FileSystemStore, "_load", interrupted_load)
    assert 130 == main(["--sessions-dir", str(tmp_path / "sessions"), "migrate", "--to", str(target)])
    captured = capsys.readouterr()
    assert ["copied session 'empty-one' (0 thoughts)"] == captured.out.splitlines()
    assert captured.err.startswith("seqthink: interrupted; stopped after 1 of 3 sessions from ")
    assert ["empty-one"] == [m.session_id for m in FileSystemStore(target).list_sessions()]


def test_main_returns_the_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_sessions(tmp_path / "a")
    assert 0 == main(["migrate", "--from", str(tmp_path / "a"), "--to", str(tmp_path / "b")])
    assert 0 == main(["migrate", "--from", str(tmp_path / "a"), "--to", str(tmp_path / "b")])
    assert 2 == main(["migrate", "--from", str(tmp_path / "a"), "--to", str(tmp_path / "a")])
    assert 1 == main(["migrate", "--from", str(tmp_path / "c"), "--to", str(tmp_path / "b")])
    assert 2 == main(["migrate", "--from", str(tmp_path / "a"), "--to", "ftp://x"])
    assert "Traceback" not in capsys.readouterr().err
    assert files(tmp_path / "a") == files(tmp_path / "b")


# --- the progress bar ----------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_progress_bar_on_a_terminal_is_wiped_before_the_summary(tmp_path: Path) -> None:
    pty = pytest.importorskip("pty")
    make_sessions(tmp_path / "sessions")
    master, slave = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "seqthink", "migrate", "--to", "copy"],
        cwd=tmp_path,
        env=environment(tmp_path, {"SEQTHINK_PROGRESS_DELAY": "0"}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    ) as process:
        os.close(slave)
        seen = bytearray()
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            seen += chunk
        os.close(master)
        assert process.stdout is not None
        out = process.stdout.read().decode("utf-8")
        code = process.wait(timeout=120)
    assert 0 == code
    assert 3 == len(out.splitlines())
    shown = seen.decode("utf-8").replace("\r\n", "\n")
    bars = re.findall(r"\rseqthink migrate \[([#.]+)\] (\d)/3", shown)
    assert ["1", "2", "3"] == [done for _, done in bars]
    before, summary = shown.rsplit("\r", 1)
    assert re.search(r"\r +$", before)
    assert summary.startswith("seqthink: 3 sessions from ")
    assert summary.endswith(": 3 copied\n")

    done = seqthink(tmp_path, "migrate", "--to", "copy", env={"SEQTHINK_PROGRESS_DELAY": "0"})
    assert "\r" not in done.stderr  # not a terminal: no bar


@pytest.mark.parametrize("which", ["created", "last activity"])
def test_a_session_one_nanosecond_apart_is_not_the_same(
    tmp_path: Path, redis_url: str, redis_prefix: str, redis_store: RedisStore, which: str
) -> None:
    """Same id and thoughts, one time a nanosecond off: refused as different, not taken as already there."""
    made = make_sessions(tmp_path / "sessions")
    created, last = made["short"]._created_ns, made["short"]._last_activity_ns
    readings = iter([created + 1, last] if which == "created" else [created, last + 1])
    near = ThinkingSession("short", clock=lambda: next(readings))
    near.think("One thought, done.", next_thought_needed=False)
    assert made["short"].thought_history == near.thought_history
    redis_store.save(near)
    done = seqthink(tmp_path, "migrate", *to_redis(redis_url, redis_prefix))
    assert 1 == done.returncode
    assert "seqthink: error: refused to copy session 'short': " in done.stderr
    assert state(near) == state(redis_store.restore("short"))
