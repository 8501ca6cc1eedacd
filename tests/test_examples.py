"""Every program in examples/ runs as a user would run it, and prints what it promises.

Each example runs in a subprocess with the current interpreter, from a scratch
folder, with SEQTHINK_SESSIONS_DIR pointing into the test's temporary folder, so
no test writes into the real user state directory.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
CHECKED = {
    "quickstart.py",
    "async_quickstart.py",
    "memory_and_cleanup.py",
    "strict_and_warnings.py",
    "mcp_server.py",
    "function_calling.py",
    "agent_loop.py",
    "inspect_sessions.py",
    "redis_store.py",
    "scheduled_cleanup.py",
}
#: Command-line arguments an example runs with here (one that serves stdio is told to test itself).
ARGUMENTS = {"mcp_server.py": ["--self-test"]}
#: Examples that need the MCP SDK (the ``mcp`` extra); they are skipped without it.
NEEDS_MCP = {"mcp_server.py"}
HAVE_MCP = importlib.util.find_spec("mcp") is not None
#: Examples that need a Redis server: they get the ``redis_url`` fixture's (tests/conftest.py).
NEEDS_REDIS = {"redis_store.py"}


def run(
    path: Path, tmp_path: Path, *python_flags: str, redis_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one example as a script, from a scratch folder, with the sessions folder in ``tmp_path``."""
    env = dict(os.environ)
    if redis_url is not None:
        env["SEQTHINK_REDIS_URL"] = redis_url
    env["SEQTHINK_SESSIONS_DIR"] = str(tmp_path / "sessions")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, *python_flags, str(path), *ARGUMENTS.get(path.name, [])],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def run_example(name: str, tmp_path: Path) -> str:
    """Run examples/<name> and return its stdout; fail with its stderr if it exits non-zero."""
    completed = run(ROOT / "examples" / name, tmp_path)
    assert 0 == completed.returncode, f"{name} exited {completed.returncode}:\n{completed.stderr}"
    return completed.stdout


def test_every_example_is_checked_here() -> None:
    """A new example cannot slip in untested: each file in examples/ has its own test below."""
    assert CHECKED == {path.name for path in EXAMPLES}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            p, id=p.name, marks=pytest.mark.skipif(p.name in NEEDS_MCP and not HAVE_MCP, reason="needs mcp")
        )
        for p in EXAMPLES
    ],
)
def test_example_runs_cleanly(path: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Each example exits 0, prints something, and writes nothing on standard error."""
    url = request.getfixturevalue("redis_url") if path.name in NEEDS_REDIS else None
    completed = run(path, tmp_path, "-W", "error", redis_url=url)
    assert (0, "") == (completed.returncode, completed.stderr)
    assert completed.stdout.strip()


def test_quickstart_prints_the_restored_session(tmp_path: Path) -> None:
    """The quickstart shows each thought as number/total, the revision and branch marks, and the branches."""
    out = run_example("quickstart.py", tmp_path)
    assert "Session seqthink-quickstart: 5 thoughts, complete" in out
    numbered = re.findall(r"^\s+\[(\d+)/(\d+)\]", out, flags=re.MULTILINE)
    assert [("1", "4"), ("2", "4"), ("3", "4"), ("4", "4"), ("5", "5")] == numbered
    assert "(revises #2)" in out
    assert "(branch 'round-up' from #1)" in out
    assert "(final)" in out
    assert re.search(r"^Branches:\n  round-up: #4$", out, flags=re.MULTILINE)


def test_quickstart_stores_in_the_default_store(tmp_path: Path) -> None:
    """The session lands in $SEQTHINK_SESSIONS_DIR in the seed's layout, and the output says where."""
    sessions = tmp_path / "sessions"
    out = run_example("quickstart.py", tmp_path)
    folder = sessions / "seqthink-quickstart"
    assert f"Stored in: {folder}" in out
    expected = {"session.json", "branch_round-up_thought1.json", *(f"thought{k}.json" for k in range(1, 6))}
    assert expected == {p.name for p in folder.iterdir()}
    metadata = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    assert (5, ["round-up"]) == (metadata["total_thoughts"], metadata["branch_ids"])


def test_quickstart_runs_again(tmp_path: Path) -> None:
    """A second run replaces the first run's session instead of failing with a conflict."""
    first = run_example("quickstart.py", tmp_path)
    second = run_example("quickstart.py", tmp_path)
    assert "previous run" not in first
    assert "Removed the session left by the previous run" in second
    assert first.splitlines() == second.splitlines()[1:]
    sessions = [p.name for p in (tmp_path / "sessions").iterdir() if not p.name.startswith(".")]
    assert ["seqthink-quickstart"] == sessions


def test_async_quickstart_prints_the_restored_session(tmp_path: Path) -> None:
    """The async quickstart saves, restores and lists with the a-methods while the loop keeps ticking."""
    out = run_example("async_quickstart.py", tmp_path)
    assert "Session seqthink-async-quickstart: 5 thoughts, complete" in out
    assert "(revises #2)" in out
    assert "(branch 'ratio' from #1)" in out
    assert "Listed: True, exists: True" in out
    ticks = re.search(r"The event loop ran (\d+) ticker steps", out)
    assert ticks is not None
    assert int(ticks.group(1)) > 0
    assert (tmp_path / "sessions" / "seqthink-async-quickstart" / "session.json").is_file()


def test_async_quickstart_runs_again(tmp_path: Path) -> None:
    """The async quickstart can also be run repeatedly against the same store."""
    run_example("async_quickstart.py", tmp_path)
    second = run_example("async_quickstart.py", tmp_path)
    assert "Removed the session left by the previous run" in second
    assert "5 thoughts, complete" in second


def test_memory_and_cleanup_ages_sessions_out(tmp_path: Path) -> None:
    """Cleanup at an explicit now deletes by age; delete reports True once; the disk is never touched."""
    out = run_example("memory_and_cleanup.py", tmp_path)
    listed = re.findall(r"^  (\S+)\s+(\d+) thoughts", out, flags=re.MULTILINE)
    assert [("just-now", "3"), ("yesterday", "2"), ("last-week", "4"), ("just-now", "3")] == listed
    assert "Restored copy has 4 thoughts; the store still has 3" in out
    assert "cleanup(older than 1 day) deleted: ['last-week']" in out
    assert "cleanup(older than 1 hour) deleted: ['yesterday']" in out
    assert "cleanup again deleted: []" in out
    assert "delete('just-now') -> True" in out
    assert "delete('just-now') again -> False" in out
    assert "sessions left: 0" in out
    assert not (tmp_path / "sessions").exists()


def test_strict_and_warnings_shows_both_modes(tmp_path: Path) -> None:
    """Lenient mode records each doubtful thought with a warning; strict mode refuses it, changing nothing."""
    out = run_example("strict_and_warnings.py", tmp_path)
    lenient, rest = out.split("Strict session:")
    strict, invalid = rest.split("Invalid values")
    assert 5 == lenient.count("recorded as #3, 1 warning(s)")
    assert "warning: thought 3 revises thought 9, which is not in this session (it has 1-2)" in lenient
    assert 5 == strict.count("session unchanged: True")
    assert "refused (revises_thought=9)" in strict
    assert "refused (branch_from_thought=7)" in strict
    assert "thought_number: must be an integer (got '3')" in invalid
    assert "is 81 characters long; the limit is 80" in invalid
    assert "session unchanged after all of them: True (2 thoughts)" in invalid


@pytest.mark.skipif(not HAVE_MCP, reason="needs the mcp extra")
def test_mcp_server_example_talks_to_itself(tmp_path: Path) -> None:
    """The custom server lists its tool as 'think' and records two thoughts in its scratchpad session."""
    out = run_example("mcp_server.py", tmp_path)
    assert "Connected to seqthink " in out
    assert "Tool 'think', required arguments: thought, nextThoughtNeeded, thoughtNumber, totalThoughts" in out
    results = [json.loads(line.split(": ", 1)[1]) for line in out.splitlines() if line.startswith("Call ")]
    assert [(1, 1, True), (2, 2, False)] == [
        (r["thoughtNumber"], r["thoughtHistoryLength"], r["nextThoughtNeeded"]) for r in results
    ]
    assert {"scratchpad"} == {r["sessionId"] for r in results}
    assert "│ Thought 2/2  [session scratchpad] │" in out
    assert not (tmp_path / "sessions").exists()  # thoughts were kept in memory only


def test_function_calling_refuses_the_bad_reply_and_records_the_rest(tmp_path: Path) -> None:
    """Four canned replies: three recorded (one in snake_case strings), one refused by name."""
    out = run_example("function_calling.py", tmp_path)
    assert "Offered: sequentialthinking (" in out
    recorded = re.findall(r"^turn (\d): recorded thought (\d)/3, history (\d)", out, flags=re.MULTILINE)
    assert [("1", "1", "1"), ("2", "2", "2"), ("4", "3", "3")] == recorded
    assert re.search(r"^turn 3: refused: .*nextThoughtNeeded.*'maybe'", out, flags=re.MULTILINE)
    assert "Session migration: 3 thoughts, complete: True" in out
    assert not (tmp_path / "sessions").exists()  # a MemoryStore: nothing on disk


def test_agent_loop_resumes_a_saved_session(tmp_path: Path) -> None:
    """The second run restores the first run's three thoughts and adds a revision, a branch and the end."""
    out = run_example("agent_loop.py", tmp_path)
    first, second = out.split("Second run")
    assert "saved after 3 thoughts; complete: False" in first
    assert "restored 3 thoughts, last activity kept: True" in second
    assert "[4/6] revises #3:" in second
    assert "[5/6] branch 'locking' from #3:" in second
    assert "branches: locking (1)" in second
    assert "Stored: 6 thoughts, 1 branch, same as in memory: True" in second
    leftover = [p.name for p in (tmp_path / "sessions").iterdir() if not p.name.startswith(".")]
    assert [] == leftover  # the example deletes its session at the end


def test_inspect_sessions_drives_the_command_line(tmp_path: Path) -> None:
    """List, show as Markdown, export, import --as, a refused import, a dry-run cleanup, with statuses."""
    out = run_example("inspect_sessions.py", tmp_path)
    commands = re.findall(r"^\$ seqthink --sessions-dir \S+ (.*)$", out, flags=re.MULTILINE)
    assert ["list", "show", "export", "import", "import", "cleanup", "list"] == [
        c.split()[0] for c in commands
    ]
    assert ["0", "0", "0", "0", "1", "0", "0"] == re.findall(r"^\(exit (\d+)\)$", out, flags=re.MULTILINE)
    rows = re.findall(r"^(\S+) +(\d+) +(\d+) +(yes|no) +\d{4}-", out, flags=re.MULTILINE)
    assert [
        ("debug-flaky-test", "4", "1", "no"),
        ("plan-release", "3", "0", "yes"),
        ("old-notes", "2", "0", "yes"),
    ] == rows
    assert "# Session `debug-flaky-test`" in out
    assert "imported session 'debug-flaky-test-copy' (4 thoughts, 1 branch)" in out
    assert "seqthink: error: session 'debug-flaky-test' already exists" in out
    assert "old-notes\nseqthink: would delete 1 session last active more than 2w ago (dry run)" in out
    listed = json.loads(out[out.rindex("list --json\n") + len("list --json\n") : out.rindex("(exit")])
    assert ["debug-flaky-test", "debug-flaky-test-copy", "plan-release", "old-notes"] == [
        item["session_id"] for item in listed
    ]
    assert not (tmp_path / "sessions").exists()  # the example keeps to its scratch folder


def test_redis_store_shares_one_session_between_replicas(tmp_path: Path, redis_url: str) -> None:
    """Two stores append to one session, the other reads it back, and it is aged out and gone."""
    completed = run(ROOT / "examples" / "redis_store.py", tmp_path, redis_url=redis_url)
    assert 0 == completed.returncode, completed.stderr
    out = completed.stdout
    assert "history length 3, branches ['bulk']" in out
    assert "  2. Copy sessions one by one, checking each." in out
    assert "thoughts after the async append: 4" in out
    assert "listed: [('plan', 4, ('bulk',))]" in out
    assert "cleanup of sessions idle for a day: []" in out
    assert "cleanup of sessions idle for any time: ['plan']" in out
    assert "still there: False" in out


def test_scheduled_cleanup_goes_on_past_a_failing_session_and_reports_it(tmp_path: Path) -> None:
    """The cleanup job deletes old sessions in rounds, reports the one whose lock fails while
    deleting the others, gets it on the next run, and keeps the recent session.
    """
    out = run_example("scheduled_cleanup.py", tmp_path)
    assert [
        "first run deleted ['old-0', 'old-1', 'old-2', 'old-3', 'old-4']",
        "  could not clean up stale-1: IsADirectoryError",
        "second run deleted ['stale-0', 'stale-2']",
        "third run deleted ['stale-1']",
        "left: ['recent']",
    ] == out.splitlines()
