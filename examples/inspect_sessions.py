"""The ``seqthink`` command line, driven from Python.

Makes a scratch sessions folder holding three sessions recorded with the
library, then runs the command's ``main(argv)`` in-process, as a shell would
run ``seqthink ...``: list the sessions, show one as Markdown, export it to a
file, import the file under another id, and ask what a cleanup would delete
without deleting it. Each command line is printed before what it printed,
and its exit status after. What the command writes on stderr (the cleanup's
summary line) is shown inline too. The scratch folder is removed at the end.

    python examples/inspect_sessions.py
"""

from __future__ import annotations

import contextlib
import shlex
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import seqthink
from seqthink.cli import main

NANOS_PER_SECOND = 1_000_000_000


def clock_ago(ago: timedelta) -> seqthink.Clock:
    """A clock stopped ``ago`` before now: the session looks as idle as that."""
    ns = time.time_ns() - int(ago.total_seconds()) * NANOS_PER_SECOND
    return lambda: ns


def record_sessions(store: seqthink.SessionStore) -> None:
    """Three sessions: finished last month, finished last week, and still going."""
    notes = seqthink.ThinkingSession("old-notes", clock=clock_ago(timedelta(days=30)))
    notes.think("Which of the three caches is worth keeping?", total_thoughts=2)
    notes.think("Only the DNS cache; drop the other two.", next_thought_needed=False)
    store.save(notes)

    release = seqthink.ThinkingSession("plan-release", clock=clock_ago(timedelta(days=6)))
    release.think("Release 2.0: list what is left to do.", total_thoughts=3)
    release.think("Docs and the changelog; the code is done.")
    release.think("Ship on Thursday.", next_thought_needed=False)
    store.save(release)

    flaky = seqthink.ThinkingSession("debug-flaky-test", clock=clock_ago(timedelta(minutes=5)))
    flaky.think("test_upload fails one run in twenty.", total_thoughts=4)
    flaky.think("It only fails when two workers share a temp folder.")
    flaky.think("Maybe a clock issue instead?", branch_from_thought=1, branch_id="clock")
    flaky.think("No: it is the shared folder. Give each worker its own.", is_revision=True, revises_thought=2)
    store.save(flaky)


def seqthink_command(*args: str) -> int:
    """Run ``seqthink args...`` in-process, printing the command line, its output and its exit status."""
    print(f"$ seqthink {shlex.join(args)}")
    with contextlib.redirect_stderr(sys.stdout):  # show the command's notes in line with its output
        status = main(list(args))
    print(f"(exit {status})\n")
    return status


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="seqthink-cli-") as scratch:
        folder = Path(scratch) / "sessions"
        record_sessions(seqthink.FileSystemStore(folder))
        where = ["--sessions-dir", str(folder)]
        print(f"Sessions folder: {folder}\n")

        seqthink_command(*where, "list")
        seqthink_command(*where, "show", "debug-flaky-test", "--format", "markdown")

        exported = Path(scratch) / "debug-flaky-test.json"
        seqthink_command(*where, "export", "debug-flaky-test", "-o", str(exported))
        seqthink_command(*where, "import", str(exported), "--as", "debug-flaky-test-copy")
        # The same file again, without --as: the session exists, so it is refused (exit 1).
        seqthink_command(*where, "import", str(exported))

        seqthink_command(*where, "cleanup", "--older-than", "2w", "--dry-run")
        seqthink_command(*where, "list", "--json")


if __name__ == "__main__":
    run()
