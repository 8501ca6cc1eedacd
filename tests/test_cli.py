"""The ``seqthink`` command, run as a user runs it, and its pieces in-process.

Most tests start ``python -m seqthink`` in a subprocess with
SEQTHINK_SESSIONS_DIR pointing into the test's temporary folder, against
sessions made with the library (or a copy of the seed's fixture), and check
what it prints and how it exits. A few run a pseudo-terminal on stdout or
stderr to see the colours and the progress bar. The rest call
:func:`seqthink.cli.main` and the duration functions directly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from clirun import ROOT, clock_at, environment, fails, ok, seqthink
from hypothesis import given
from hypothesis import strategies as st

from seqthink import FileSystemStore, ThinkingSession
from seqthink.cli import format_duration, main, parse_duration

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

SEED = ROOT / "tests" / "fixtures" / "seed"
SEED_ID = "6f1d2c1e-8a4b-4c9e-9d53-2b7f0e5a91c4"
ESC = "\x1b"
COMMANDS = ["list", "show", "export", "import", "delete", "cleanup"]


# --- helpers ------------------------------------------------------------------------


def store_session(
    root: Path,
    session_id: str,
    *,
    ago: timedelta = timedelta(0),
    thoughts: int = 2,
    complete: bool = False,
    branch: str | None = None,
) -> ThinkingSession:
    """Save a session whose thoughts were recorded ``ago`` before now, in the folder ``root``."""
    session = ThinkingSession(session_id, clock=clock_at(datetime.now(timezone.utc) - ago))
    for n in range(1, thoughts + 1):
        last = n == thoughts
        session.think(f"{session_id}: thought {n}.", next_thought_needed=not (last and complete))
    if branch is not None:
        session.think(f"{session_id}: on {branch}.", branch_from_thought=1, branch_id=branch)
        if complete:
            session.think(f"{session_id}: done.", next_thought_needed=False)
    FileSystemStore(root, durable=False).save(session)
    return session


@pytest.fixture
def sessions(tmp_path: Path) -> Path:
    """The default sessions folder of the commands run by :func:`seqthink`, holding three sessions."""
    root = tmp_path / "sessions"
    store_session(root, "old-and-done", ago=timedelta(days=3), thoughts=3, complete=True)
    store_session(root, "yesterday", ago=timedelta(hours=30), thoughts=1, branch="alt")
    store_session(root, "fresh", ago=timedelta(minutes=1), thoughts=2)
    return root


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    """A copy of the sessions the seed wrote, in its folder layout."""
    folder = tmp_path / "kodegen" / "sequential_thinking"
    shutil.copytree(SEED, folder)
    return folder


def stored(root: Path) -> list[str]:
    return sorted(m.session_id for m in FileSystemStore(root).list_sessions())


def run_on_pty(
    tmp_path: Path, args: list[str], *, on: str, env: Mapping[str, str] | None = None
) -> tuple[int, str, str]:
    """Run the command with a pseudo-terminal as its ``on`` stream ("stdout" or "stderr").

    Returns the exit status, what reached the terminal, and the other stream's text.
    """
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    streams: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, on: slave}
    with subprocess.Popen(
        [sys.executable, "-m", "seqthink", *args],
        cwd=tmp_path,
        env=environment(tmp_path, env),
        stdin=subprocess.DEVNULL,
        **streams,
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
        other_pipe = process.stderr if on == "stdout" else process.stdout
        assert other_pipe is not None
        other = other_pipe.read().decode("utf-8")
        code = process.wait(timeout=120)
    return code, seen.decode("utf-8"), other


# --- help and usage ------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_has_an_example(tmp_path: Path, command: str | None) -> None:
    """``--help`` of the program and of every command exits 0 and shows an example command line."""
    out = ok(tmp_path, *([command] if command else []), "--help")
    assert "usage: seqthink" in out
    assert "example" in out
    assert re.search(r"^  seqthink \S", out, flags=re.MULTILINE)
    assert "--sessions-dir" in out


def test_version(tmp_path: Path) -> None:
    assert re.fullmatch(r"seqthink \d+\.\d+\.\d+\S*\n", ok(tmp_path, "--version"))


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ([], "COMMAND"),
        (["frobnicate"], "frobnicate"),
        (["show"], "ID"),
        (["list", "--bogus"], "--bogus"),
        (["cleanup"], "--older-than"),
        (["cleanup", "--older-than", "24x"], "'24x'"),
        (["cleanup", "--older-than", "1M"], "'1M'"),
        (["cleanup", "--older-than", "1d", "--limit", "0"], "--limit"),
        (["show", "x", "--format", "html"], "html"),
        (["show", "x", "--width", "5"], "--width"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], named: str) -> None:
    """A bad command line exits 2, names what is wrong, and touches nothing."""
    done = seqthink(tmp_path, *args)
    assert 2 == done.returncode
    assert "" == done.stdout
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("usage: seqthink")
    assert named in done.stderr.splitlines()[-1]
    assert not (tmp_path / "sessions").exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["show", "../etc"], "ID: must be 1-128 characters"),
        (["delete", "a/b"], "ID: must be"),
        (["export", "con"], "ID: must not be a name Windows reserves"),
        (["import", "x.json", "--as", "bad id"], "--as: must be"),
        (["show", "fresh", "--format", "json", "--width", "60"], "--width: applies to --format text only"),
        (["--sessions-dir", "", "list"], "--sessions-dir: must not be empty"),
    ],
)
def test_bad_values_exit_2_with_one_line(tmp_path: Path, args: list[str], named: str) -> None:
    line = fails(tmp_path, 2, *args)
    assert line.startswith("seqthink: error: ")
    assert named in line


def test_sessions_dir_that_is_a_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    line = fails(tmp_path, 2, "list", "--sessions-dir", str(tmp_path / "file"))
    assert "exists and is not a folder" in line


# --- list -----------------------------------------------------------------------------


def test_list_shows_a_table_newest_first(tmp_path: Path, sessions: Path) -> None:
    """One row per session, newest first, with counts, completeness and the last activity, aligned."""
    lines = ok(tmp_path, "list").splitlines()
    assert 4 == len(lines)
    header, *rows = lines
    assert header.split() == ["ID", "THOUGHTS", "BRANCHES", "COMPLETE", "LAST", "ACTIVITY", "(UTC)"]
    assert ["fresh", "yesterday", "old-and-done"] == [row.split()[0] for row in rows]
    assert [["2", "0", "no"], ["2", "1", "no"], ["3", "0", "yes"]] == [row.split()[1:4] for row in rows]
    # Numbers end where their header ends; the other columns start where their header starts.
    for row in rows:
        for name, value in (("THOUGHTS", row.split()[1]), ("BRANCHES", row.split()[2])):
            end = header.index(name) + len(name)
            assert value == row[end - len(value) : end]
            assert " " == row[end - len(value) - 1]
        for name, value in (("COMPLETE", row.split()[3]), ("LAST ACTIVITY", row.split()[4])):
            start = header.index(name)
            assert value == row[start : start + len(value)]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[header.index("LAST ACTIVITY") :])
    day = (datetime.now(timezone.utc) - timedelta(days=3)).strftime("%Y-%m-%d")
    assert day == rows[2].split()[4]


def test_list_json_for_scripts(tmp_path: Path, sessions: Path) -> None:
    listed = json.loads(ok(tmp_path, "list", "--json"))
    assert ["fresh", "yesterday", "old-and-done"] == [item["session_id"] for item in listed]
    keys = {"session_id", "created_at", "last_activity", "total_thoughts", "branch_ids", "complete", "error"}
    assert all(keys == set(item) for item in listed)
    yesterday = listed[1]
    assert (2, ["alt"], False, None) == (
        yesterday["total_thoughts"],
        yesterday["branch_ids"],
        yesterday["complete"],
        yesterday["error"],
    )
    assert listed[2]["complete"] is True
    moment = datetime.fromisoformat(yesterday["last_activity"])
    assert timedelta(hours=29) < datetime.now(timezone.utc) - moment < timedelta(hours=31)


def test_list_of_an_empty_or_missing_folder_exits_0(tmp_path: Path) -> None:
    """Nothing stored is a normal state, not a failure: a friendly line, or [] for scripts, and 0."""
    out = ok(tmp_path, "list")
    assert f"No sessions in {tmp_path / 'sessions'}\n" == out
    assert [] == json.loads(ok(tmp_path, "list", "--json"))
    assert not (tmp_path / "sessions").exists()  # listing creates nothing


def test_list_marks_unreadable_sessions(tmp_path: Path, sessions: Path) -> None:
    """A session that cannot be read is listed as unreadable, with the reason on stderr, and the exit is 0."""
    (sessions / "yesterday" / "thought1.json").write_text("{broken", encoding="utf-8")
    store_session(sessions, "headless", ago=timedelta(days=9))
    (sessions / "headless" / "session.json").write_text("[]", encoding="utf-8")
    done = seqthink(tmp_path, "list")
    assert 0 == done.returncode
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert ["fresh", "yesterday", "old-and-done", "headless"] == list(rows)
    assert ["2", "1", "unreadable"] == rows["yesterday"].split()[1:4]
    assert ["?", "?", "unreadable", "-"] == rows["headless"].split()[1:]
    assert "yes" == rows["old-and-done"].split()[3]
    warnings = done.stderr.splitlines()
    assert 2 == len(warnings)
    assert all(line.startswith("seqthink: warning: session ") for line in warnings)
    assert "thought1.json" in warnings[0]
    assert "session.json" in warnings[1]

    listed = {item["session_id"]: item for item in json.loads(seqthink(tmp_path, "list", "--json").stdout)}
    assert listed["yesterday"]["complete"] is None
    assert "thought1.json" in listed["yesterday"]["error"]
    assert (None, None, None) == (
        listed["headless"]["total_thoughts"],
        listed["headless"]["last_activity"],
        listed["headless"]["complete"],
    )
    assert listed["fresh"]["error"] is None


def test_sessions_dir_before_or_after_the_command(tmp_path: Path) -> None:
    """--sessions-dir works in either place, wins over SEQTHINK_SESSIONS_DIR, and expands a leading ~."""
    store_session(tmp_path / "elsewhere", "over-there")
    for args in (
        ["--sessions-dir", str(tmp_path / "elsewhere"), "list"],
        ["list", "--sessions-dir", str(tmp_path / "elsewhere")],
        ["--sessions-dir", "/nonexistent", "list", "--sessions-dir", str(tmp_path / "elsewhere")],
        ["list", "--sessions-dir", "~/elsewhere"],
    ):
        out = ok(tmp_path, *args, env={"HOME": str(tmp_path), "USERPROFILE": str(tmp_path)})
        assert "over-there" in out, args


def test_the_seed_folder_lists_and_shows(tmp_path: Path, seed: Path) -> None:
    """Pointed at a folder the seed wrote, list and show read its sessions."""
    lines = ok(tmp_path, "--sessions-dir", str(seed), "list").splitlines()
    assert 2 == len(lines)
    assert [SEED_ID, "3", "1", "no", "2025-12-10", "04:10:15"] == lines[1].split()
    text = ok(tmp_path, "--sessions-dir", str(seed), "show", SEED_ID, "--width", "70")
    assert "15 * 24 = 15 * 20 + 15 * 4 = 300 + 60 = 360" in text
    assert "alt" in text
    exported = json.loads(ok(tmp_path, "--sessions-dir", str(seed), "export", SEED_ID))
    assert SEED_ID in json.dumps(exported)


# --- show -------------------------------------------------------------------------------


def test_show_text_by_default(tmp_path: Path, sessions: Path) -> None:
    """Text draws the thoughts in boxes, 80 columns wide at most without a terminal, and uncoloured."""
    out = ok(tmp_path, "show", "yesterday")
    assert "yesterday: thought 1." in out
    assert "yesterday: on alt." in out
    assert "\u2502" in out  # a box's side
    assert ESC not in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_show_width(tmp_path: Path, sessions: Path) -> None:
    """--width sets the width of text; without it $COLUMNS is followed, up to 100 columns."""
    long_text = " ".join(["word"] * 80)
    wordy = ThinkingSession("wordy-2")
    wordy.think(long_text)
    FileSystemStore(tmp_path / "sessions", durable=False).save(wordy)
    for args, env, limit in (
        (["--width", "40"], {}, 40),
        ([], {"COLUMNS": "50"}, 50),
        ([], {"COLUMNS": "300"}, 100),
    ):
        out = ok(tmp_path, "show", "wordy-2", *args, env=env)
        widest = max(len(line) for line in out.splitlines())
        assert limit - 10 < widest <= limit, (args, env, widest)


def test_show_markdown(tmp_path: Path, sessions: Path) -> None:
    out = ok(tmp_path, "show", "yesterday", "--format", "markdown")
    assert "yesterday" in out
    assert "yesterday: thought 1." in out
    assert "yesterday: on alt." in out
    assert "\u2502" not in out


def test_show_mermaid(tmp_path: Path, sessions: Path) -> None:
    out = ok(tmp_path, "show", "yesterday", "--format", "mermaid")
    assert re.match(r"(flowchart|graph)\b", out.lstrip())
    assert "alt" in out


def test_show_json(tmp_path: Path, sessions: Path) -> None:
    data = json.loads(ok(tmp_path, "show", "old-and-done", "--format", "json"))
    assert "old-and-done: thought 3." in json.dumps(data)
    assert json.loads(ok(tmp_path, "export", "old-and-done")) == data


def test_show_of_a_missing_session_exits_1(tmp_path: Path, sessions: Path) -> None:
    line = fails(tmp_path, 1, "show", "nobody")
    assert f"seqthink: error: no session 'nobody' in {sessions}" == line


def test_show_of_an_unreadable_session_exits_1(tmp_path: Path, sessions: Path) -> None:
    (sessions / "fresh" / "thought2.json").unlink()
    line = fails(tmp_path, 1, "show", "fresh")
    assert "cannot be read" in line
    assert "thought2.json: missing" in line


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_show_colours_only_a_terminal_without_no_color(tmp_path: Path, sessions: Path) -> None:
    code, seen, errors = run_on_pty(tmp_path, ["show", "yesterday"], on="stdout")
    assert (0, "") == (code, errors)
    assert f"{ESC}[" in seen
    assert "yesterday: thought 1." in seen
    code, seen, errors = run_on_pty(tmp_path, ["show", "yesterday"], on="stdout", env={"NO_COLOR": "1"})
    assert (0, "") == (code, errors)
    assert ESC not in seen
    assert "yesterday: thought 1." in seen


# --- export and import ------------------------------------------------------------------


def test_export_to_a_file_refuses_to_overwrite_without_force(tmp_path: Path, sessions: Path) -> None:
    target = tmp_path / "out.json"
    out = ok(tmp_path, "export", "yesterday", "-o", str(target))
    assert f"exported session 'yesterday' (2 thoughts, 1 branch) to {target}\n" == out
    first = target.read_text(encoding="utf-8")
    assert first == ok(tmp_path, "export", "yesterday")
    assert "yesterday: on alt." in json.dumps(json.loads(first))
    line = fails(tmp_path, 1, "export", "fresh", "-o", str(target))
    assert "exists; add --force to overwrite it" in line
    assert first == target.read_text(encoding="utf-8")
    ok(tmp_path, "export", "fresh", "-o", str(target), "--force")
    assert "fresh: thought 2." in target.read_text(encoding="utf-8")
    assert ["out.json"] == [p.name for p in tmp_path.iterdir() if p.suffix in {".json", ".tmp"}]


def test_export_errors(tmp_path: Path, sessions: Path) -> None:
    assert "no session 'ghost'" in fails(tmp_path, 1, "export", "ghost")
    assert "is a folder" in fails(tmp_path, 2, "export", "fresh", "-o", str(tmp_path))
    assert "could not write" in fails(tmp_path, 1, "export", "fresh", "-o", str(tmp_path / "no" / "x.json"))


def test_export_import_round_trip(tmp_path: Path, sessions: Path) -> None:
    """import --as stores a copy; importing over a session is refused unless --replace."""
    ok(tmp_path, "export", "yesterday", "-o", "y.json")
    out = ok(tmp_path, "import", "y.json", "--as", "copy")
    assert "imported session 'copy' (2 thoughts, 1 branch) from y.json\n" == out
    store = FileSystemStore(sessions)
    original, copy = store.restore("yesterday"), store.restore("copy")
    assert original.thought_history == copy.thought_history
    assert (original.created_at, original.last_activity) == (copy.created_at, copy.last_activity)

    line = fails(tmp_path, 1, "import", "y.json")
    assert "session 'yesterday' already exists" in line
    assert "--replace" in line
    line = fails(tmp_path, 1, "import", "y.json", "--as", "fresh")
    assert "session 'fresh' already exists" in line
    assert 2 == len(store.restore("fresh"))  # untouched

    ok(tmp_path, "import", "y.json", "--as", "fresh", "--replace")
    assert original.thought_history == store.restore("fresh").thought_history
    assert ["copy", "fresh", "old-and-done", "yesterday"] == stored(sessions)


def test_import_from_stdin_into_another_folder(tmp_path: Path, sessions: Path) -> None:
    exported = ok(tmp_path, "export", "old-and-done")
    other = tmp_path / "other"
    out = ok(tmp_path, "--sessions-dir", str(other), "import", "-", stdin=exported)
    assert "imported session 'old-and-done' (3 thoughts) from stdin\n" == out
    assert FileSystemStore(other).restore("old-and-done").is_complete


def test_import_of_the_seed_session(tmp_path: Path, seed: Path) -> None:
    exported = ok(tmp_path, "--sessions-dir", str(seed), "export", SEED_ID)
    ok(tmp_path, "import", "-", "--as", "from-seed", stdin=exported)
    copy = FileSystemStore(tmp_path / "sessions").restore("from-seed")
    assert copy.thought_history == FileSystemStore(seed).restore(SEED_ID).thought_history
    assert ("alt",) == tuple(copy.branches)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"session_id": "x"}',
        "",
        "\udcff",
    ],
    ids=["syntax", "array", "missing-keys", "empty", "bad-utf8"],
)
def test_import_of_bad_input_exits_2(tmp_path: Path, content: str) -> None:
    """A file that is not an export exits 2 with one line naming the problem, and stores nothing."""
    (tmp_path / "bad.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    line = fails(tmp_path, 2, "import", "bad.json")
    assert line.startswith("seqthink: error: 'bad.json' is not a seqthink export: ")
    assert not (tmp_path / "sessions").exists()


def test_import_names_the_first_problem_and_counts_the_rest(tmp_path: Path, sessions: Path) -> None:
    data = json.loads(ok(tmp_path, "export", "old-and-done"))
    text = json.dumps(data)
    # Spoil two thought numbers wherever they are.
    spoilt = re.sub(r'"thought_number": [0-9]+', '"thought_number": "three"', text, count=2)
    assert spoilt != text
    line = fails(tmp_path, 2, "import", "-", "--as", "spoilt", stdin=spoilt)
    assert line.startswith("seqthink: error: stdin is not a seqthink export: $.thoughts[0].thought_number: ")
    assert line.endswith(" (and 1 more problem)")
    assert not FileSystemStore(sessions).exists("spoilt")


def test_import_of_a_missing_file_exits_1(tmp_path: Path) -> None:
    assert "'nothing.json': no such file" in fails(tmp_path, 1, "import", "nothing.json")
    assert "is a folder" in fails(tmp_path, 2, "import", str(tmp_path))


# --- delete ---------------------------------------------------------------------------------


def test_delete(tmp_path: Path, sessions: Path) -> None:
    assert "deleted session 'fresh'\n" == ok(tmp_path, "delete", "fresh")
    assert ["old-and-done", "yesterday"] == stored(sessions)
    line = fails(tmp_path, 1, "delete", "fresh")
    assert f"seqthink: error: no session 'fresh' in {sessions}" == line


# --- cleanup ----------------------------------------------------------------------------------


def test_cleanup_dry_run_deletes_nothing(tmp_path: Path, sessions: Path) -> None:
    done = seqthink(tmp_path, "cleanup", "--older-than", "1d", "--dry-run")
    assert 0 == done.returncode
    assert "old-and-done\nyesterday\n" == done.stdout  # oldest first
    assert "seqthink: would delete 2 sessions last active more than 1d ago (dry run)\n" == done.stderr
    assert ["fresh", "old-and-done", "yesterday"] == stored(sessions)


def test_cleanup_deletes_the_old_sessions(tmp_path: Path, sessions: Path) -> None:
    done = seqthink(tmp_path, "cleanup", "--older-than", "1d")
    assert (0, "old-and-done\nyesterday\n") == (done.returncode, done.stdout)
    assert "seqthink: deleted 2 sessions last active more than 1d ago\n" == done.stderr
    assert "\r" not in done.stderr
    assert ["fresh"] == stored(sessions)
    line = fails(tmp_path, 1, "cleanup", "--older-than", "1d", starts="seqthink: ")
    assert "nothing to delete" in line


def test_cleanup_limit_takes_the_oldest(tmp_path: Path, sessions: Path) -> None:
    done = seqthink(tmp_path, "cleanup", "--older-than", "1h30m", "--limit", "1")
    assert (0, "old-and-done\n") == (done.returncode, done.stdout)
    assert "deleted 1 session last active more than 1h30m ago" in done.stderr
    assert ["fresh", "yesterday"] == stored(sessions)
    done = seqthink(tmp_path, "cleanup", "--older-than", "2w", "--dry-run")
    assert 1 == done.returncode
    assert "" == done.stdout


def test_cleanup_of_an_empty_folder_exits_1(tmp_path: Path) -> None:
    line = fails(tmp_path, 1, "cleanup", "--older-than", "0s", starts="seqthink: ")
    assert "nothing to delete" in line


def test_cleanup_leaves_an_unreadable_session_and_warns_once(tmp_path: Path, sessions: Path) -> None:
    (sessions / "old-and-done" / "session.json").write_text("{}", encoding="utf-8")
    done = seqthink(tmp_path, "cleanup", "--older-than", "1d")
    assert (0, "yesterday\n") == (done.returncode, done.stdout)
    warning, summary = done.stderr.splitlines()
    assert warning.startswith("seqthink: warning: skipping unreadable session 'old-and-done': ")
    assert "seqthink: deleted 1 session last active more than 1d ago" == summary
    assert ["fresh"] == stored(sessions)
    assert (sessions / "old-and-done").is_dir()


def test_cleanup_that_cannot_delete_a_session_lists_the_others_and_fails(
    tmp_path: Path, sessions: Path
) -> None:
    """A session whose lock cannot be taken: the other old one is deleted and printed, the error
    names the one left, and the exit status is 1.
    """
    lock = sessions / ".locks" / "old-and-done.lock"
    lock.unlink()
    lock.mkdir()
    done = seqthink(tmp_path, "cleanup", "--older-than", "1d")
    assert (1, "yesterday\n") == (done.returncode, done.stdout)
    assert done.stderr.startswith("seqthink: error: cleanup deleted 1 session(s) but could not finish 1: ")
    assert "'old-and-done'" in done.stderr
    assert ["fresh", "old-and-done"] == stored(sessions)


def many_old_sessions(root: Path, count: int) -> list[str]:
    """``count`` one-thought sessions, idle for 2 to 3 days, in the order cleanup takes them."""
    store = FileSystemStore(root, durable=False)
    start = datetime.now(timezone.utc) - timedelta(days=3)
    ids = []
    for i in range(count):
        session = ThinkingSession(f"old-{i:04d}", clock=clock_at(start + timedelta(minutes=i)))
        session.think("An old thought.")
        store.save(session)
        ids.append(session.session_id)
    return ids


def test_cleanup_in_batches_without_a_terminal_draws_no_bar(tmp_path: Path) -> None:
    ids = many_old_sessions(tmp_path / "sessions", 120)
    done = seqthink(tmp_path, "cleanup", "--older-than", "1d", env={"SEQTHINK_PROGRESS_DELAY": "0"})
    assert 0 == done.returncode
    assert ids == done.stdout.splitlines()
    assert "seqthink: deleted 120 sessions last active more than 1d ago\n" == done.stderr
    assert [] == stored(tmp_path / "sessions")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_cleanup_draws_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal, a cleanup of more than one batch draws a bar with \\r, then wipes it.

    SEQTHINK_PROGRESS_DELAY=0 lets the bar appear at once, so the test needs no timing.
    """
    ids = many_old_sessions(tmp_path / "sessions", 120)
    code, seen, out = run_on_pty(
        tmp_path, ["cleanup", "--older-than", "1d"], on="stderr", env={"SEQTHINK_PROGRESS_DELAY": "0"}
    )
    assert 0 == code
    assert ids == out.splitlines()
    seen = seen.replace("\r\n", "\n")  # the terminal's own line endings
    bars = re.findall(r"\rseqthink cleanup \[([#.]+)\] (\d+)/120", seen)
    assert len(bars) >= 2
    assert [int(done) for _, done in bars] == sorted(int(done) for _, done in bars)
    assert "120" == bars[-1][1]
    assert set(bars[-1][0]) == {"#"}
    # The bar is wiped before the summary: spaces over it, then back to the start of the line.
    before, summary = seen.rsplit("\r", 1)
    assert re.search(r"\r +$", before)
    assert summary == "seqthink: deleted 120 sessions last active more than 1d ago\n"

    many_old_sessions(tmp_path / "sessions", 120)
    code, seen, out = run_on_pty(
        tmp_path, ["cleanup", "--older-than", "1d"], on="stderr", env={"SEQTHINK_PROGRESS_DELAY": "60"}
    )
    assert 0 == code
    assert "\r" not in seen.replace("\r\n", "\n")  # a fast cleanup draws no bar


# --- pipes and errors -------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="SIGPIPE semantics")
def test_a_closed_pipe_on_stdout_ends_quietly(tmp_path: Path) -> None:
    """``seqthink export big | head -c 1`` and the like: no traceback, no message, exit 0."""
    session = ThinkingSession("big")
    for _ in range(20):
        session.think("x" * 20_000)
    FileSystemStore(tmp_path / "sessions", durable=False).save(session)
    with subprocess.Popen(
        [sys.executable, "-m", "seqthink", "export", "big"],
        cwd=tmp_path,
        env=environment(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.read(1)
        process.stdout.close()
        errors = process.stderr.read().decode("utf-8")
        code = process.wait(timeout=120)
    assert (0, "") == (code, errors)


def test_store_errors_are_one_line(tmp_path: Path, sessions: Path) -> None:
    """An unreadable sessions folder (here: a file where the folder should be) is one line, exit 1."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "fresh").write_text("not a folder", encoding="utf-8")
    line = fails(tmp_path, 1, "--sessions-dir", str(broken), "show", "fresh")
    assert line.startswith("seqthink: error: session 'fresh' cannot be read")


# --- in-process -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("0s", timedelta(0)),
        ("90m", timedelta(minutes=90)),
        ("007d", timedelta(days=7)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert expected == parse_duration(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "24",
        "h",
        "24x",
        "1M",
        "1H",
        "30m1h",
        "1h1h",
        "1.5h",
        "-1h",
        " 1h",
        "1h ",
        "1 h",
        "\u0661h",
        "1d+1h",
    ],
)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration") as caught:
        parse_duration(text)
    assert repr(text) in str(caught.value)


def test_parse_duration_refuses_what_timedelta_cannot_hold() -> None:
    with pytest.raises(ValueError, match="too long a duration"):
        parse_duration("999999999999w")
    with pytest.raises(ValueError, match="too long a duration"):
        parse_duration("9" * 5000 + "s")


def test_format_duration() -> None:
    assert "1h30m" == format_duration(timedelta(minutes=90))
    assert "0s" == format_duration(timedelta(milliseconds=999))
    assert "2w3d" == format_duration(timedelta(days=17))
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))


@given(st.integers(min_value=0, max_value=999_999_999 * 86_400))
def test_durations_round_trip(seconds: int) -> None:
    duration = timedelta(seconds=seconds)
    assert duration == parse_duration(format_duration(duration))


@given(
    st.lists(st.sampled_from(["w", "d", "h", "m", "s"]), unique=True, min_size=1).map(
        lambda units: sorted(units, key="wdhms".index)
    ),
    st.data(),
)
def test_parse_duration_adds_up_its_parts(units: list[str], data: st.DataObject) -> None:
    seconds = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
    counts = [data.draw(st.integers(0, 10_000)) for _ in units]
    text = "".join(f"{count}{unit}" for count, unit in zip(counts, units, strict=True))
    assert timedelta(seconds=sum(c * seconds[u] for c, u in zip(counts, units, strict=True))) == (
        parse_duration(text)
    )


@given(st.text(max_size=30))
def test_parse_duration_fails_only_with_value_error(text: str) -> None:
    try:
        duration = parse_duration(text)
    except ValueError:
        return
    assert duration >= timedelta(0)


def test_main_returns_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "in-process"
    store_session(root, "here", complete=True, thoughts=1)
    where = ["--sessions-dir", str(root)]
    assert 0 == main([*where, "list"])
    assert "here" in capsys.readouterr().out
    assert 0 == main(["--help"])
    assert 2 == main(["bogus"])
    assert 2 == main([*where, "show", "../up"])
    assert 1 == main([*where, "show", "nobody"])
    assert 1 == main([*where, "cleanup", "--older-than", "1d"])
    assert 0 == main([*where, "cleanup", "--older-than", "0s", "--dry-run"])
    assert ["here"] == stored(root)
    assert 0 == main([*where, "delete", "here"])
    assert 1 == main([*where, "delete", "here"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "seqthink: error: no session 'nobody'" in captured.err


def test_main_takes_the_sessions_folder_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store_session(tmp_path / "env", "from-env")
    monkeypatch.setenv("SEQTHINK_SESSIONS_DIR", str(tmp_path / "env"))
    assert 0 == main(["list", "--json"])
    assert ["from-env"] == [item["session_id"] for item in json.loads(capsys.readouterr().out)]
