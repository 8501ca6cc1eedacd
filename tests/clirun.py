"""Running the ``seqthink`` command in a subprocess, as the command-line tests do, and the
helpers those tests share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqthink._session import datetime_to_ns

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    from seqthink import ThinkingSession

ROOT = Path(__file__).resolve().parent.parent


def environment(tmp_path: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test run's environment, the sessions folder in ``tmp_path``, no terminal settings."""
    env = {k: v for k, v in os.environ.items() if k not in {"COLUMNS", "LINES", "NO_COLOR", "TERM"}}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    env["SEQTHINK_SESSIONS_DIR"] = str(tmp_path / "sessions")
    env.update(extra or {})
    return env


def seqthink(
    tmp_path: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m seqthink`` with ``args`` from ``tmp_path``."""
    return subprocess.run(
        [sys.executable, "-m", "seqthink", *args],
        cwd=tmp_path,
        env=environment(tmp_path, env),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def ok(tmp_path: Path, *args: str, **options: Any) -> str:
    """Run the command, expect exit 0 and nothing on stderr; return stdout."""
    done = seqthink(tmp_path, *args, **options)
    assert (0, "") == (done.returncode, done.stderr), done.stderr
    return done.stdout


def fails(tmp_path: Path, code: int, *args: str, starts: str = "seqthink: error: ", **options: Any) -> str:
    """Run the command, expect exit ``code``, one line on stderr beginning with ``starts``,
    and nothing on stdout; return the line.
    """
    done = seqthink(tmp_path, *args, **options)
    assert code == done.returncode, (done.stdout, done.stderr)
    assert "" == done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert 1 == len(lines), done.stderr
    assert lines[0].startswith(starts)
    return lines[0]


def clock_at(moment: datetime) -> Callable[[], int]:
    """A clock that always reads ``moment``."""
    ns = datetime_to_ns(moment)
    return lambda: ns


def state(session: ThinkingSession) -> tuple[Any, ...]:
    """All a session holds: id, times to the nanosecond, thoughts, branches in order."""
    return (
        session.session_id,
        session._created_ns,
        session._last_activity_ns,
        session.thought_history,
        list(session.branches.items()),
    )
