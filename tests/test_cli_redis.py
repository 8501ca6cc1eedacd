"""``seqthink --redis-url URL``: every command on the sessions a RedisStore keeps.

As in tests/test_cli.py, most tests run ``python -m seqthink`` in a
subprocess and check what it prints, how it exits and what the server holds
afterwards. The server is the one the ``redis_url`` fixture provides; each
test keeps its keys under its own ``redis_prefix``. SEQTHINK_SESSIONS_DIR
points at a folder of the test's own, which a command given --redis-url must
never create. A few tests call :func:`seqthink.cli.main` in-process, to make
the connection fail on purpose part way through a command.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
import redis
import redis_server
from clirun import ROOT, clock_at, fails, ok, seqthink, state

from seqthink import FileSystemStore, RedisStore, ThinkingSession, render
from seqthink.cli import main
from seqthink.errors import StoreConnectionError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from seqthink._store import SessionStore

COMMANDS = ["list", "show", "export", "import", "delete", "cleanup", "migrate"]


# --- helpers ----------------------------------------------------------------------------------


def at(url: str, prefix: str) -> list[str]:
    """The options that point the command at the Redis store ``url`` and ``prefix`` name."""
    return ["--redis-url", url, "--redis-prefix", prefix]


def where(url: str, prefix: str) -> str:
    """How messages name that store."""
    return f"in Redis at {url} (prefix {prefix!r})"


def printed(text: str) -> str:
    """``text`` as the command prints it: ending in exactly the one newline it adds when missing."""
    return text if text.endswith("\n") else text + "\n"


def save_session(
    store: SessionStore,
    session_id: str,
    *,
    ago: timedelta = timedelta(0),
    thoughts: int = 2,
    complete: bool = False,
    branch: str | None = None,
) -> ThinkingSession:
    """Save in ``store`` a session whose thoughts were all recorded ``ago`` before now."""
    session = ThinkingSession(session_id, clock=clock_at(datetime.now(timezone.utc) - ago))
    for n in range(1, thoughts + 1):
        last = n == thoughts and branch is None
        session.think(f"{session_id}: thought {n}.", next_thought_needed=not (last and complete))
    if branch is not None:
        session.think(f"{session_id}: on {branch}.", branch_from_thought=1, branch_id=branch)
    store.save(session)
    return session


def stored(store: SessionStore) -> list[str]:
    return sorted(m.session_id for m in store.list_sessions())


def redis_keys(redis_url: str, pattern: str) -> list[bytes]:
    client = redis.Redis.from_url(redis_url)
    try:
        return sorted(client.scan_iter(match=pattern))
    finally:
        client.close()


def redis_command(redis_url: str, *command: Any) -> Any:
    client: Any = redis.Redis.from_url(redis_url)  # (execute_command is untyped)
    try:
        return client.execute_command(*command)
    finally:
        client.close()


def many_old_sessions(store: SessionStore, count: int) -> list[str]:
    """``count`` one-thought sessions idle for 2 to 3 days, in the order cleanup takes them."""
    start = datetime.now(timezone.utc) - timedelta(days=3)
    ids = []
    for i in range(count):
        session = ThinkingSession(f"old-{i:04d}", clock=clock_at(start + timedelta(minutes=i)))
        session.think("An old thought.")
        store.save(session)
        ids.append(session.session_id)
    return ids


def lost_connection(self: RedisStore, *_args: Any) -> NoReturn:
    """Stands in for a RedisStore operation when the server has gone away."""
    cause = redis.exceptions.ConnectionError("the server went away")
    raise StoreConnectionError(f"{self!r}: ConnectionError: the server went away") from cause


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> Iterator[RedisStore]:
    opened = RedisStore(redis_url, prefix=redis_prefix)
    yield opened
    opened.close()


@pytest.fixture
def sessions(store: RedisStore) -> RedisStore:
    """Three sessions in Redis, of different ages."""
    save_session(store, "old-and-done", ago=timedelta(days=3), thoughts=3, complete=True)
    save_session(store, "yesterday", ago=timedelta(hours=30), thoughts=1, branch="alt")
    save_session(store, "fresh", ago=timedelta(minutes=1), thoughts=2)
    return store


# --- help and the options ----------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_names_the_redis_options(tmp_path: Path, command: str | None) -> None:
    out = ok(tmp_path, *([command] if command else []), "--help")
    assert "--redis-url URL" in out
    assert "--redis-prefix PREFIX" in out


def test_the_options_go_before_or_after_the_command(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    """--redis-url and --redis-prefix work in either place, and win over SEQTHINK_SESSIONS_DIR."""
    save_session(FileSystemStore(tmp_path / "folder", durable=False), "in-the-folder")
    env = {"SEQTHINK_SESSIONS_DIR": str(tmp_path / "folder")}
    for args in (
        [*at(redis_url, redis_prefix), "list"],
        ["list", *at(redis_url, redis_prefix)],
        ["--redis-url", redis_url, "list", "--redis-prefix", redis_prefix],
        ["--redis-prefix", redis_prefix, "list", "--redis-url", redis_url],
    ):
        out = ok(tmp_path, *args, env=env)
        assert ["fresh", "yesterday", "old-and-done"] == [line.split()[0] for line in out.splitlines()[1:]]
    # The default prefix is not this test's: nothing of it is listed there.
    assert "fresh" not in ok(tmp_path, "--redis-url", redis_url, "list", "--json", env=env)


@pytest.mark.parametrize(
    "args",
    [
        ["--sessions-dir", "elsewhere", "--redis-url", "URL", "list"],
        ["--redis-url", "URL", "list", "--sessions-dir", "elsewhere"],
        ["list", "--sessions-dir", "elsewhere", "--redis-url", "URL"],
        ["--sessions-dir", "elsewhere", "cleanup", "--older-than", "0s", "--redis-url", "URL"],
        ["--sessions-dir", "elsewhere", "--redis-url", "URL", "migrate", "--from", "a", "--to", "b"],
    ],
)
def test_sessions_dir_and_redis_url_together_exit_2(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str, args: list[str]
) -> None:
    save_session(FileSystemStore(tmp_path / "elsewhere", durable=False), "fresh", ago=timedelta(days=9))
    args = [redis_url if arg == "URL" else arg for arg in args]
    line = fails(tmp_path, 2, *args, "--redis-prefix", redis_prefix)
    assert "seqthink: error: --sessions-dir and --redis-url: give one of them, not both" == line
    assert ["fresh", "old-and-done", "yesterday"] == stored(sessions)
    assert ["fresh"] == stored(FileSystemStore(tmp_path / "elsewhere"))
    assert not (tmp_path / "b").exists()


def test_redis_prefix_without_redis_url_exits_2(tmp_path: Path) -> None:
    """--redis-prefix alone would work on the folder while naming Redis: refused, nothing done."""
    save_session(FileSystemStore(tmp_path / "sessions", durable=False), "old", ago=timedelta(days=9))
    for args in (
        ["--redis-prefix", "team-a:", "cleanup", "--older-than", "1d"],
        ["cleanup", "--older-than", "1d", "--redis-prefix", "team-a:"],
    ):
        line = fails(tmp_path, 2, *args)
        assert "seqthink: error: --redis-prefix: applies with --redis-url only" == line
    assert ["old"] == stored(FileSystemStore(tmp_path / "sessions"))


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://example.com/0", "--redis-url: 'http://example.com/0' is not a Redis URL"),
        ("", "--redis-url: '' is not a Redis URL"),
        ("sessions", "--redis-url: 'sessions' is not a Redis URL"),
        (
            "redis://127.0.0.1:notaport/0",
            "--redis-url: redis://127.0.0.1:notaport/0 is not a usable Redis URL",
        ),
    ],
)
def test_a_bad_redis_url_exits_2(tmp_path: Path, url: str, named: str) -> None:
    line = fails(tmp_path, 2, "--redis-url", url, "list")
    assert line.startswith(f"seqthink: error: {named}")
    assert not (tmp_path / "sessions").exists()


def test_a_bad_redis_prefix_exits_2(tmp_path: Path, redis_url: str) -> None:
    line = fails(tmp_path, 2, "--redis-url", redis_url, "--redis-prefix", "a\nb", "list")
    assert line.startswith("seqthink: error: --redis-prefix: must be a string without NUL")


def test_a_redis_url_without_redis_py_says_how_to_install_it(tmp_path: Path) -> None:
    """With the redis package missing: exit 2, one line naming the extra to install."""
    fake = tmp_path / "no-redis" / "redis"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        'raise ModuleNotFoundError("No module named \'redis\'", name="redis")\n', encoding="utf-8"
    )
    path = os.pathsep.join([str(fake.parent), str(ROOT)])
    line = fails(tmp_path, 2, "--redis-url", "redis://127.0.0.1:6379/0", "list", env={"PYTHONPATH": path})
    assert line.startswith("seqthink: error: --redis-url: ")
    assert "pip install 'seqthink[redis]'" in line


# --- a server out of reach -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["list", "--json"],
        ["show", "fresh"],
        ["export", "fresh", "-o", "out.json"],
        ["import", "fresh.json"],
        ["delete", "fresh"],
        ["cleanup", "--older-than", "1d", "--dry-run"],
        ["migrate", "--to", "copy"],
    ],
    ids=lambda args: "-".join(a.lstrip("-") for a in args[:2]),
)
def test_a_server_out_of_reach_is_one_line_naming_it(tmp_path: Path, args: list[str]) -> None:
    """A closed port: exit 1, one line naming --redis-url and the URL, its password hidden."""
    session = ThinkingSession("fresh")
    session.think("A thought.")
    (tmp_path / "fresh.json").write_text(render.to_json(session), encoding="utf-8")
    url = f"redis://:hunter2@127.0.0.1:{redis_server.free_port()}/0"
    line = fails(tmp_path, 1, "--redis-url", url, *args)
    shown = url.replace("hunter2", "***")
    assert line.startswith(f"seqthink: error: --redis-url: could not reach {shown} (prefix 'seqthink:'): ")
    assert "hunter2" not in line
    assert not (tmp_path / "sessions").exists()
    assert not (tmp_path / "out.json").exists()
    assert not (tmp_path / "copy").exists()


# --- list -----------------------------------------------------------------------------------------


def test_list_shows_a_table_and_json(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    lines = ok(tmp_path, *at(redis_url, redis_prefix), "list").splitlines()
    assert ["ID", "THOUGHTS", "BRANCHES", "COMPLETE", "LAST", "ACTIVITY", "(UTC)"] == lines[0].split()
    rows = [line.split() for line in lines[1:]]
    assert [
        ["fresh", "2", "0", "no"],
        ["yesterday", "2", "1", "no"],
        ["old-and-done", "3", "0", "yes"],
    ] == [row[:4] for row in rows]
    day = (datetime.now(timezone.utc) - timedelta(days=3)).strftime("%Y-%m-%d")
    assert day == rows[2][4]

    listed = json.loads(ok(tmp_path, *at(redis_url, redis_prefix), "list", "--json"))
    assert ["fresh", "yesterday", "old-and-done"] == [item["session_id"] for item in listed]
    yesterday = listed[1]
    assert (2, ["alt"], False, None) == (
        yesterday["total_thoughts"],
        yesterday["branch_ids"],
        yesterday["complete"],
        yesterday["error"],
    )
    assert listed[2]["complete"] is True
    restored = sessions.restore("yesterday")
    assert restored.created_at == datetime.fromisoformat(yesterday["created_at"])
    assert restored.last_activity == datetime.fromisoformat(yesterday["last_activity"])
    assert not (tmp_path / "sessions").exists()


def test_list_of_a_prefix_without_sessions_exits_0(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    assert f"No sessions {where(redis_url, redis_prefix)}\n" == ok(
        tmp_path, *at(redis_url, redis_prefix), "list"
    )
    assert [] == json.loads(ok(tmp_path, *at(redis_url, redis_prefix), "list", "--json"))
    assert [] == redis_keys(redis_url, redis_prefix + "*")  # listing writes nothing
    assert not (tmp_path / "sessions").exists()


def test_list_marks_unreadable_sessions(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    """A spoilt thought and a spoilt meta hash: each listed as unreadable with a warning; exit 0.

    The store's listing skips a session whose meta hash is spoilt; its own
    warning names it, so the command still lists it, last, with its counts unknown.
    """
    redis_command(redis_url, "LSET", f"{redis_prefix}s:yesterday:thoughts", 0, "{broken")
    redis_command(redis_url, "HSET", f"{redis_prefix}s:old-and-done:meta", "count", "many")
    redis_command(redis_url, "ZADD", f"{redis_prefix}index", 1, "not an id!")
    done = seqthink(tmp_path, *at(redis_url, redis_prefix), "list")
    assert 0 == done.returncode, done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[1:]}
    assert ["fresh", "yesterday", "old-and-done"] == list(rows)
    assert ["2", "1", "unreadable"] == rows["yesterday"][:3]
    assert ["?", "?", "unreadable", "-"] == rows["old-and-done"]
    assert "no" == rows["fresh"][2]
    warnings = done.stderr.splitlines()
    assert 3 == len(warnings), done.stderr
    assert all(line.startswith("seqthink: warning: ") for line in warnings)
    assert "'not an id!'" in warnings[0]
    assert "not a session id" in warnings[0]
    assert warnings[1].startswith("seqthink: warning: session 'yesterday' cannot be read: ")
    assert "thoughts[0]" in warnings[1]
    assert warnings[2].startswith("seqthink: warning: session 'old-and-done' cannot be read: ")
    assert "count is b'many'" in warnings[2]

    listed = json.loads(seqthink(tmp_path, *at(redis_url, redis_prefix), "list", "--json").stdout)
    by_id = {item["session_id"]: item for item in listed}
    assert by_id["yesterday"]["complete"] is None
    assert "thoughts[0]" in by_id["yesterday"]["error"]
    assert (None, None, None) == (
        by_id["old-and-done"]["total_thoughts"],
        by_id["old-and-done"]["last_activity"],
        by_id["old-and-done"]["complete"],
    )
    assert by_id["fresh"]["error"] is None


# --- show -----------------------------------------------------------------------------------------


def test_show_in_each_format(tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str) -> None:
    session = sessions.restore("yesterday")
    text = ok(tmp_path, *at(redis_url, redis_prefix), "show", "yesterday", "--width", "60")
    assert printed(render.to_text(session, width=60, colour=False)) == text
    assert "yesterday: on alt." in text
    for form, draw in (
        ("markdown", render.to_markdown),
        ("mermaid", render.to_mermaid),
        ("json", render.to_json),
    ):
        out = ok(tmp_path, *at(redis_url, redis_prefix), "show", "yesterday", "--format", form)
        assert printed(draw(session)) == out, form
    assert re.match(r"flowchart\b", render.to_mermaid(session))
    assert "yesterday: on alt." in json.dumps(json.loads(render.to_json(session)))


def test_show_export_and_delete_of_a_missing_session_exit_1(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    expected = f"seqthink: error: no session 'nobody' {where(redis_url, redis_prefix)}"
    for command in ("show", "export", "delete"):
        assert expected == fails(tmp_path, 1, *at(redis_url, redis_prefix), command, "nobody")
    assert ["fresh", "old-and-done", "yesterday"] == stored(sessions)


def test_show_of_an_unreadable_session_exits_1(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    redis_command(redis_url, "LSET", f"{redis_prefix}s:fresh:thoughts", 1, "[]")
    line = fails(tmp_path, 1, *at(redis_url, redis_prefix), "show", "fresh")
    assert line.startswith("seqthink: error: session 'fresh' cannot be read: ")
    assert "thoughts[1]" in line


# --- export and import -----------------------------------------------------------------------------


def test_export_import_round_trip(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    """Export to a file and import it back under another id; importing over a session needs --replace."""
    opts = at(redis_url, redis_prefix)
    out = ok(tmp_path, *opts, "export", "yesterday", "-o", "y.json")
    assert "exported session 'yesterday' (2 thoughts, 1 branch) to y.json\n" == out
    exported = (tmp_path / "y.json").read_text("utf-8")
    assert printed(render.to_json(sessions.restore("yesterday"))) == exported
    assert exported == ok(tmp_path, *opts, "export", "yesterday")

    out = ok(tmp_path, *opts, "import", "y.json", "--as", "copy")
    assert "imported session 'copy' (2 thoughts, 1 branch) from y.json\n" == out
    original, copy = sessions.restore("yesterday"), sessions.restore("copy")
    assert state(original)[1:] == state(copy)[1:]

    line = fails(tmp_path, 1, *opts, "import", "y.json")
    assert line == (
        f"seqthink: error: session 'yesterday' already exists {where(redis_url, redis_prefix)}; "
        "add --replace to overwrite it, or --as ID to import it under another id"
    )
    line = fails(tmp_path, 1, *opts, "import", "y.json", "--as", "fresh")
    assert "session 'fresh' already exists in Redis at " in line
    assert 2 == len(sessions.restore("fresh"))  # left as it was
    assert "fresh: thought 2." == sessions.restore("fresh").thought_history[-1].thought

    ok(tmp_path, *opts, "import", "y.json", "--as", "fresh", "--replace")
    assert state(original)[1:] == state(sessions.restore("fresh"))[1:]
    assert ["copy", "fresh", "old-and-done", "yesterday"] == stored(sessions)
    assert not (tmp_path / "sessions").exists()


def test_export_and_import_between_a_folder_and_redis_through_a_pipe(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    folder = FileSystemStore(tmp_path / "folder", durable=False)
    from_folder = save_session(folder, "from-folder", ago=timedelta(hours=2), thoughts=2, branch="b")
    exported = ok(tmp_path, "--sessions-dir", str(tmp_path / "folder"), "export", "from-folder")
    out = ok(tmp_path, *at(redis_url, redis_prefix), "import", "-", stdin=exported)
    assert "imported session 'from-folder' (3 thoughts, 1 branch) from stdin\n" == out
    assert state(from_folder) == state(sessions.restore("from-folder"))

    exported = ok(tmp_path, *at(redis_url, redis_prefix), "export", "old-and-done")
    ok(tmp_path, "--sessions-dir", str(tmp_path / "folder"), "import", "-", stdin=exported)
    assert state(sessions.restore("old-and-done")) == state(folder.restore("old-and-done"))


def test_import_of_bad_input_stores_nothing(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    (tmp_path / "bad.json").write_text('{"session_id": "x"}', encoding="utf-8")
    line = fails(tmp_path, 2, *at(redis_url, redis_prefix), "import", "bad.json")
    assert line.startswith("seqthink: error: 'bad.json' is not a seqthink export: ")
    assert [] == redis_keys(redis_url, redis_prefix + "*")


# --- delete ----------------------------------------------------------------------------------------


def test_delete_removes_every_key_of_the_session(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    assert redis_keys(redis_url, f"{redis_prefix}s:yesterday:*")
    assert "deleted session 'yesterday'\n" == ok(
        tmp_path, *at(redis_url, redis_prefix), "delete", "yesterday"
    )
    assert [] == redis_keys(redis_url, f"{redis_prefix}s:yesterday:*")
    assert ["fresh", "old-and-done"] == stored(sessions)
    line = fails(tmp_path, 1, *at(redis_url, redis_prefix), "delete", "yesterday")
    assert f"seqthink: error: no session 'yesterday' {where(redis_url, redis_prefix)}" == line


# --- cleanup ---------------------------------------------------------------------------------------


def test_cleanup_dry_run_limit_and_delete(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    opts = at(redis_url, redis_prefix)
    done = seqthink(tmp_path, *opts, "cleanup", "--older-than", "1d", "--dry-run")
    assert (0, "old-and-done\nyesterday\n") == (done.returncode, done.stdout)
    assert "seqthink: would delete 2 sessions last active more than 1d ago (dry run)\n" == done.stderr
    assert ["fresh", "old-and-done", "yesterday"] == stored(sessions)

    done = seqthink(tmp_path, *opts, "cleanup", "--older-than", "1h30m", "--limit", "1")
    assert (0, "old-and-done\n") == (done.returncode, done.stdout)
    assert "seqthink: deleted 1 session last active more than 1h30m ago\n" == done.stderr
    assert ["fresh", "yesterday"] == stored(sessions)
    assert [] == redis_keys(redis_url, f"{redis_prefix}s:old-and-done:*")

    done = seqthink(tmp_path, *opts, "cleanup", "--older-than", "1d")
    assert (0, "yesterday\n") == (done.returncode, done.stdout)
    assert ["fresh"] == stored(sessions)

    done = seqthink(tmp_path, *opts, "cleanup", "--older-than", "1d")
    assert (1, "") == (done.returncode, done.stdout)
    assert (
        f"seqthink: no session {where(redis_url, redis_prefix)} was last active more than 1d ago; "
        "nothing to delete\n" == done.stderr
    )
    assert ["fresh"] == stored(sessions)
    assert not (tmp_path / "sessions").exists()


def test_cleanup_leaves_an_unreadable_session_with_a_warning(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    """The store's own warnings about a session it cannot read reach stderr as warning lines."""
    redis_command(redis_url, "HSET", f"{redis_prefix}s:old-and-done:meta", "last_activity_ns", "soon")
    done = seqthink(tmp_path, *at(redis_url, redis_prefix), "cleanup", "--older-than", "1d")
    assert (0, "yesterday\n") == (done.returncode, done.stdout)
    *warnings, summary = done.stderr.splitlines()
    assert warnings
    assert all(
        line.startswith("seqthink: warning: skipping unreadable session 'old-and-done'") for line in warnings
    )
    assert "seqthink: deleted 1 session last active more than 1d ago" == summary
    assert ["fresh"] == stored(sessions)
    assert redis_keys(redis_url, f"{redis_prefix}s:old-and-done:meta")


def test_cleanup_in_batches_deletes_every_key(
    tmp_path: Path, store: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    ids = many_old_sessions(store, 120)
    done = seqthink(tmp_path, *at(redis_url, redis_prefix), "cleanup", "--older-than", "1d")
    assert 0 == done.returncode, done.stderr
    assert ids == done.stdout.splitlines()
    assert "seqthink: deleted 120 sessions last active more than 1d ago\n" == done.stderr
    assert [] == redis_keys(redis_url, redis_prefix + "*")


# --- the password -------------------------------------------------------------------------------


def test_a_password_in_the_url_is_never_printed(
    tmp_path: Path, sessions: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    """A user with a password of its own (the server's default user is left alone): shown as ***."""
    user, password = f"seqthink-test-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    redis_command(redis_url, "ACL", "SETUSER", user, "on", f">{password}", "~*", "+@all")
    try:
        parts = urllib.parse.urlsplit(redis_url)
        netloc = f"{user}:{password}@{parts.hostname}:{parts.port or 6379}"
        url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        shown = url.replace(password, "***")
        assert shown != url
        session = ThinkingSession("imported")
        session.think("A thought.")
        (tmp_path / "imported.json").write_text(render.to_json(session), encoding="utf-8")
        runs = [
            seqthink(tmp_path, *at(url, redis_prefix), *args)
            for args in (
                ["list"],
                ["list", "--json"],
                ["show", "fresh"],
                ["show", "nobody"],
                ["export", "fresh", "-o", "fresh.json"],
                ["import", "imported.json"],
                ["import", "imported.json"],
                ["delete", "nobody"],
                ["cleanup", "--older-than", "1d", "--dry-run"],
                ["cleanup", "--older-than", "2w"],
                ["migrate", "--to", "copy"],
                ["migrate", "--to", url, "--to-prefix", redis_prefix],
            )
        ]
        assert [0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 2] == [run.returncode for run in runs]
        for run in runs:
            assert password not in run.stdout + run.stderr, run.args
        messages = "".join(run.stderr for run in runs)
        assert f"no session 'nobody' in Redis at {shown} (prefix {redis_prefix!r})" in messages
        assert f"already exists in Redis at {shown} (prefix {redis_prefix!r})" in messages
        assert f"from {shown} (prefix {redis_prefix!r}) to {tmp_path / 'copy'}: 4 copied" in messages
        assert ["fresh", "imported", "old-and-done", "yesterday"] == stored(sessions)
    finally:
        redis_command(redis_url, "ACL", "DELUSER", user)


# --- migrate -----------------------------------------------------------------------------------


def test_migrate_takes_the_redis_store_as_the_side_left_out(
    tmp_path: Path, store: RedisStore, redis_url: str, redis_prefix: str
) -> None:
    """With --redis-url, the side migrate leaves out is that Redis store, not the sessions folder."""
    folder = FileSystemStore(tmp_path / "folder", durable=False)
    made = [save_session(folder, name, ago=timedelta(hours=n)) for n, name in enumerate(["a", "b"], 1)]
    opts = at(redis_url, redis_prefix)
    done = seqthink(tmp_path, *opts, "migrate", "--from", "folder")
    assert 0 == done.returncode, done.stderr
    assert ["copied session 'a' (2 thoughts)", "copied session 'b' (2 thoughts)"] == done.stdout.splitlines()
    shown = f"{redis_url} (prefix {redis_prefix!r})"
    assert f"seqthink: 2 sessions from {tmp_path / 'folder'} to {shown}: 2 copied\n" == done.stderr
    assert [state(s) for s in made] == [state(store.restore(s.session_id)) for s in made]

    done = seqthink(tmp_path, "migrate", "--to", "back", *opts)
    assert 0 == done.returncode, done.stderr
    assert f"seqthink: 2 sessions from {shown} to {tmp_path / 'back'}: 2 copied\n" == done.stderr
    back = FileSystemStore(tmp_path / "back")
    assert [state(s) for s in made] == [state(back.restore(s.session_id)) for s in made]
    assert not (tmp_path / "sessions").exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ([], "give --from, --to or both (the one left out is --redis-url's store)"),
        (
            ["--from", "folder", "--to-prefix", "other:"],
            (
                "--to-prefix: applies to a Redis URL given with --to; "
                "the prefix of --redis-url's store is --redis-prefix"
            ),
        ),
        (["--to", "folder", "--to-prefix", "other:"], "--to-prefix: applies to a Redis URL only"),
        (["--to", "{url}", "--to-prefix", "{prefix}"], "--from and --to are the same store: {shown}"),
    ],
)
def test_migrate_with_redis_url_refuses_what_makes_no_sense(
    tmp_path: Path, store: RedisStore, redis_url: str, redis_prefix: str, args: list[str], named: str
) -> None:
    save_session(FileSystemStore(tmp_path / "folder", durable=False), "a")
    names = {"url": redis_url, "prefix": redis_prefix, "shown": f"{redis_url} (prefix {redis_prefix!r})"}
    args = [arg.format(**names) for arg in args]
    line = fails(tmp_path, 2, *at(redis_url, redis_prefix), "migrate", *args)
    assert named.format(**names) in line
    assert [] == redis_keys(redis_url, redis_prefix + "*")
    assert not (tmp_path / "sessions").exists()


# --- a connection lost part way, in-process ---------------------------------------------------------


@pytest.mark.parametrize("command", [["list"], ["list", "--json"], ["show", "fresh"], ["export", "fresh"]])
def test_a_connection_lost_while_reading_ends_the_command(
    sessions: RedisStore,
    redis_url: str,
    redis_prefix: str,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Not every session marked unreadable: one line naming the server, exit 1."""
    monkeypatch.setattr(RedisStore, "_load", lost_connection)
    assert 1 == main([*at(redis_url, redis_prefix), *command])
    captured = capsys.readouterr()
    assert "" == captured.out
    shown = f"{redis_url} (prefix {redis_prefix!r})"
    assert (
        f"seqthink: error: --redis-url: lost {shown}: ConnectionError: the server went away\n" == captured.err
    )


def test_a_connection_lost_part_way_through_a_cleanup_prints_what_was_deleted(
    store: RedisStore,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = many_old_sessions(store, 120)
    real_cleanup = RedisStore._cleanup
    calls: list[int | None] = []

    def failing_cleanup(self: RedisStore, cutoff_ns: int, limit: int | None) -> list[str]:
        calls.append(limit)
        if len(calls) > 1:
            lost_connection(self)
        return real_cleanup(self, cutoff_ns, limit)

    monkeypatch.setattr(RedisStore, "_cleanup", failing_cleanup)
    assert 1 == main([*at(redis_url, redis_prefix), "cleanup", "--older-than", "1d"])
    captured = capsys.readouterr()
    first = calls[0]
    assert first is not None
    assert ids[:first] == captured.out.splitlines()
    assert captured.err.startswith(f"seqthink: error: --redis-url: lost {redis_url} (prefix ")
    assert 1 == len(captured.err.splitlines())
    assert ids[first:] == stored(store)


def test_main_closes_the_connection_it_opened(
    sessions: RedisStore, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[str] = []
    real_close = RedisStore.close

    def close(self: RedisStore) -> None:
        closed.append(self.prefix)
        real_close(self)

    monkeypatch.setattr(RedisStore, "close", close)
    assert 0 == main([*at(redis_url, redis_prefix), "list", "--json"])
    assert 1 == main([*at(redis_url, redis_prefix), "show", "nobody"])
    assert [redis_prefix, redis_prefix] == closed
