"""The MCP server, through the official SDK's own client.

Most tests start ``python -m seqthink.mcp_server`` as a subprocess and talk to
it with the SDK's stdio client, exactly as an MCP host would; each server gets
its own sessions folder in the test's temporary folder. The rest check the
stderr logger and the server's handlers in-process. The whole module is
skipped when the ``mcp`` extra is not installed.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

pytest.importorskip("mcp")

import mcp_types
from mcp import Client, ClientSession, StdioServerParameters, stdio_client

import seqthink
from seqthink import FileSystemStore, MemoryStore
from seqthink.mcp_server import build_server, main, stderr_logger
from seqthink.tool import SequentialThinkingTool

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Mapping

ROOT = Path(__file__).resolve().parent.parent
#: Bounds every exchange with a server, so that a broken server fails a test instead of hanging it.
READ_TIMEOUT = 60.0
ESC = "\x1b"


def first(number: int = 1, total: int = 3, **extra: Any) -> dict[str, Any]:
    """Arguments of a plain thought in the reference's camelCase."""
    return {
        "thought": f"Thought number {number}.",
        "thoughtNumber": number,
        "totalThoughts": total,
        "nextThoughtNeeded": True,
        **extra,
    }


def run(work: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(work, timeout=5 * READ_TIMEOUT))


def server_params(
    sessions: Path, *options: str, env: Mapping[str, str] | None = None
) -> StdioServerParameters:
    """How to start the server on ``sessions``; the SDK adds only PATH, HOME, TERM and the like to ``env``."""
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "seqthink.mcp_server", "--sessions-dir", str(sessions), *options],
        env={"PYTHONPATH": pythonpath, "PYTHONIOENCODING": "utf-8", **(env or {})},
        cwd=str(sessions.parent),
    )


@asynccontextmanager
async def connected(params: StdioServerParameters, errlog: Any) -> AsyncIterator[ClientSession]:
    """A client session, initialised, with the server started from ``params``; the server stops on exit."""
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write, read_timeout_seconds=READ_TIMEOUT) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def serving(
    tmp_path: Path, *options: str, env: Mapping[str, str] | None = None, log: str = "stderr.txt"
) -> AsyncIterator[ClientSession]:
    """:func:`connected` to a server on ``tmp_path/sessions``, its stderr going to ``tmp_path/log``."""
    with (tmp_path / log).open("a", encoding="utf-8") as errlog:
        async with connected(server_params(tmp_path / "sessions", *options, env=env), errlog) as session:
            yield session


def text_of(result: mcp_types.CallToolResult) -> str:
    assert 1 == len(result.content)
    block = result.content[0]
    assert isinstance(block, mcp_types.TextContent)
    return block.text


def refusal(result: mcp_types.CallToolResult) -> str:
    """The error message of an ``isError`` result, checking its shape."""
    assert result.is_error is True
    assert result.structured_content is None
    body = json.loads(text_of(result))
    assert ["error", "status"] == sorted(body)
    assert "failed" == body["status"]
    assert isinstance(body["error"], str)
    return body["error"]


def success(result: mcp_types.CallToolResult) -> dict[str, Any]:
    """The structured content of a successful result, checking the text says the same."""
    assert result.is_error is False
    assert isinstance(result.structured_content, dict)
    assert result.structured_content == json.loads(text_of(result))
    return result.structured_content


def history(sessions: Path, session_id: str) -> list[str]:
    """The texts of the thoughts stored for ``session_id``, read with the library."""
    return [t.thought for t in FileSystemStore(sessions).restore(session_id).thought_history]


def command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m seqthink.mcp_server`` with ``args`` and stdin closed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    env["SEQTHINK_SESSIONS_DIR"] = str(tmp_path / "env-sessions")
    return subprocess.run(
        [sys.executable, "-m", "seqthink.mcp_server", *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


# --- the protocol, through the SDK's stdio client -------------------------------------


def test_initialize_names_the_server_and_offers_tools(tmp_path: Path) -> None:
    async def body() -> mcp_types.InitializeResult:
        async with serving(tmp_path) as session:
            return await session.initialize()  # the handshake's result, kept by the session

    init = run(body())
    assert ("seqthink", seqthink.__version__) == (init.server_info.name, init.server_info.version)
    assert init.capabilities.tools is not None
    assert init.capabilities.resources is None
    assert init.capabilities.prompts is None


def test_lists_exactly_the_tool(tmp_path: Path) -> None:
    async def body() -> mcp_types.ListToolsResult:
        async with serving(tmp_path) as session:
            return await session.list_tools()

    listed = run(body())
    expected = SequentialThinkingTool(MemoryStore())
    assert 1 == len(listed.tools)
    tool = listed.tools[0]
    assert "sequentialthinking" == tool.name
    assert expected.description == tool.description
    assert expected.input_schema == tool.input_schema
    assert expected.output_schema == tool.output_schema
    assert tool.annotations is not None
    assert expected.annotations == tool.annotations.model_dump(by_alias=True, exclude_none=True)
    assert tool.annotations.read_only_hint is False
    assert tool.annotations.destructive_hint is False
    assert tool.annotations.idempotent_hint is False
    assert tool.annotations.open_world_hint is False


def test_a_camel_case_call_is_recorded(tmp_path: Path) -> None:
    async def body() -> list[mcp_types.CallToolResult]:
        async with serving(tmp_path) as session:
            one = await session.call_tool("sequentialthinking", first(1))
            two = await session.call_tool("sequentialthinking", first(2, sessionId="task-a"))
            return [one, two]

    one, two = (success(result) for result in run(body()))
    assert {
        "thoughtNumber": 1,
        "totalThoughts": 3,
        "nextThoughtNeeded": True,
        "branches": [],
        "thoughtHistoryLength": 1,
        "sessionId": "default",
    } == one
    assert (2, 1, "task-a") == (two["thoughtNumber"], two["thoughtHistoryLength"], two["sessionId"])
    assert ["Thought number 1."] == history(tmp_path / "sessions", "default")
    assert ["Thought number 2."] == history(tmp_path / "sessions", "task-a")


def test_snake_case_and_string_values_reach_the_tool_unchecked(tmp_path: Path) -> None:
    """The schema asks for integers and booleans; the SDK lets the strings through and the tool reads them."""

    async def body() -> mcp_types.CallToolResult:
        async with serving(tmp_path) as session:
            await session.call_tool("sequentialthinking", first(1, sessionId="snake"))
            arguments = {
                "thought": "Second, in the seed's dialect.",
                "thought_number": "2",
                "total_thoughts": "4",
                "next_thought_needed": "true",
                "branch_from_thought": "1",
                "branch_id": "alt",
                "session_id": "snake",
            }
            return await session.call_tool("sequentialthinking", arguments)

    result = success(run(body()))
    assert 2 == result["thoughtNumber"]
    assert 4 == result["totalThoughts"]
    assert result["nextThoughtNeeded"] is True
    assert ["alt"] == result["branches"]
    assert (2, "snake") == (result["thoughtHistoryLength"], result["sessionId"])


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (first(1, thoughtNumber="two"), "thoughtNumber"),
        (first(1, thoughtNumber=0), "thoughtNumber"),
        ({"thoughtNumber": 2, "totalThoughts": 3, "nextThoughtNeeded": True}, "thought"),
        (first(1, nextThoughtNeeded="perhaps"), "nextThoughtNeeded"),
        (first(1, sessionId="../outside"), "sessionId"),
        ({**first(1), "thought_number": 2}, "thought_number"),  # two spellings that disagree
    ],
)
def test_a_bad_call_is_an_error_result_and_changes_nothing(
    tmp_path: Path, arguments: dict[str, Any], named: str
) -> None:
    async def body() -> list[mcp_types.CallToolResult]:
        async with serving(tmp_path) as session:
            before = await session.call_tool("sequentialthinking", first(1))
            bad = await session.call_tool("sequentialthinking", arguments)
            after = await session.call_tool("sequentialthinking", first(2))
            return [before, bad, after]

    before, bad, after = run(body())
    assert 1 == success(before)["thoughtHistoryLength"]
    assert named in refusal(bad)
    assert 2 == success(after)["thoughtHistoryLength"]
    assert ["Thought number 1.", "Thought number 2."] == history(tmp_path / "sessions", "default")
    assert ["default"] == sorted(p.name for p in (tmp_path / "sessions").iterdir() if p.name[0] != ".")


def test_a_call_naming_another_tool_is_an_error_result(tmp_path: Path) -> None:
    async def body() -> mcp_types.CallToolResult:
        async with serving(tmp_path) as session:
            return await session.call_tool("think_harder", first(1))

    message = refusal(run(body()))
    assert "think_harder" in message
    assert "sequentialthinking" in message
    assert not (tmp_path / "sessions").exists()


def test_a_new_server_continues_the_stored_session(tmp_path: Path) -> None:
    async def session_with(numbers: list[int]) -> list[dict[str, Any]]:
        async with serving(tmp_path) as session:
            return [
                success(await session.call_tool("sequentialthinking", first(n, sessionId="long-task")))
                for n in numbers
            ]

    earlier = run(session_with([1, 2]))
    later = run(session_with([3]))
    assert [1, 2] == [r["thoughtHistoryLength"] for r in earlier]
    assert (3, 3, "long-task") == (
        later[0]["thoughtNumber"],
        later[0]["thoughtHistoryLength"],
        later[0]["sessionId"],
    )
    assert 3 == len(history(tmp_path / "sessions", "long-task"))


def test_the_options_name_the_tool_and_the_default_session(tmp_path: Path) -> None:
    async def body() -> tuple[mcp_types.ListToolsResult, list[mcp_types.CallToolResult]]:
        async with serving(tmp_path, "--tool-name", "think", "--default-session", "mine") as session:
            listed = await session.list_tools()
            good = await session.call_tool("think", first(1))
            old_name = await session.call_tool("sequentialthinking", first(2))
            return listed, [good, old_name]

    listed, (good, old_name) = run(body())
    assert ["think"] == [tool.name for tool in listed.tools]
    assert "mine" == success(good)["sessionId"]
    assert "sequentialthinking" in refusal(old_name)
    assert ["Thought number 1."] == history(tmp_path / "sessions", "mine")


@pytest.mark.parametrize("strict", [False, True])
def test_strict_refuses_a_dangling_revision(tmp_path: Path, strict: bool) -> None:
    dangling = first(2, isRevision=True, revisesThought=9)

    async def body() -> mcp_types.CallToolResult:
        async with serving(tmp_path, *(["--strict"] if strict else [])) as session:
            await session.call_tool("sequentialthinking", first(1))
            return await session.call_tool("sequentialthinking", dangling)

    result = run(body())
    if strict:
        assert "revisesThought" in refusal(result)
        assert 1 == len(history(tmp_path / "sessions", "default"))
    else:
        assert any("revises thought 9" in w for w in success(result)["warnings"])
        assert 2 == len(history(tmp_path / "sessions", "default"))


def test_sessions_dir_defaults_to_the_environment_variable(tmp_path: Path) -> None:
    params = server_params(tmp_path / "unused", env={"SEQTHINK_SESSIONS_DIR": str(tmp_path / "from-env")})
    params.args = ["-m", "seqthink.mcp_server"]

    async def body() -> dict[str, Any]:
        with (tmp_path / "stderr.txt").open("w", encoding="utf-8") as errlog:
            async with connected(params, errlog) as session:
                return success(await session.call_tool("sequentialthinking", first(1)))

    assert "default" == run(body())["sessionId"]
    assert ["Thought number 1."] == history(tmp_path / "from-env", "default")
    assert not (tmp_path / "unused").exists()


def test_a_leading_tilde_in_sessions_dir_is_the_home_folder(tmp_path: Path) -> None:
    """Client configurations are JSON: no shell expands the ~, so the server does."""
    home = tmp_path / "home"
    params = server_params(tmp_path / "unused", env={"HOME": str(home), "USERPROFILE": str(home)})
    params.args = ["-m", "seqthink.mcp_server", "--sessions-dir", "~/thinking"]

    async def body() -> dict[str, Any]:
        with (tmp_path / "stderr.txt").open("w", encoding="utf-8") as errlog:
            async with connected(params, errlog) as session:
                return success(await session.call_tool("sequentialthinking", first(1)))

    assert 1 == run(body())["thoughtHistoryLength"]
    assert ["Thought number 1."] == history(home / "thinking", "default")
    assert not (tmp_path / "~").exists()


def test_a_client_of_the_2026_protocol_is_served_too(tmp_path: Path) -> None:
    """The SDK's high-level Client negotiates the newest protocol it can (no initialize handshake)."""

    async def body() -> tuple[str, list[str], dict[str, Any]]:
        with (tmp_path / "stderr.txt").open("w", encoding="utf-8") as errlog:
            params = server_params(tmp_path / "sessions")
            # Client takes no errlog, so open the stdio transport here and hand it over.
            async with Client(
                stdio_client(params, errlog=errlog), read_timeout_seconds=READ_TIMEOUT
            ) as client:
                listed = await client.list_tools()
                result = await client.call_tool("sequentialthinking", first(1))
                return client.protocol_version, [t.name for t in listed.tools], success(result)

    version, names, result = run(body())
    assert version in mcp_types.version.MODERN_PROTOCOL_VERSIONS
    assert ["sequentialthinking"] == names
    assert 1 == result["thoughtHistoryLength"]


# --- stderr -----------------------------------------------------------------------------


def test_each_recorded_thought_is_drawn_on_stderr(tmp_path: Path) -> None:
    async def body() -> None:
        async with serving(tmp_path) as session:
            await session.call_tool("sequentialthinking", first(1, thought="Plan the migration."))
            await session.call_tool("sequentialthinking", first(2, thoughtNumber="zero"))  # refused: no box
            await session.call_tool(
                "sequentialthinking",
                first(2, thought="Go back: plan it per table.", isRevision=True, revisesThought=1),
            )

    run(body())
    err = (tmp_path / "stderr.txt").read_text(encoding="utf-8")
    assert ESC not in err  # stderr is a file: no colour
    assert "Traceback" not in err
    assert 2 == err.count("┌")
    assert re.search(r"^│ Thought 1/3  \[session default\] *│$", err, flags=re.MULTILINE)
    assert re.search(r"^│ Plan the migration\. *│$", err, flags=re.MULTILINE)
    assert re.search(r"^│ Revision of 1 · thought 2/3  \[session default\] *│$", err, flags=re.MULTILINE)


def test_disable_thought_logging_draws_nothing(tmp_path: Path) -> None:
    async def body() -> dict[str, Any]:
        async with serving(tmp_path, env={"DISABLE_THOUGHT_LOGGING": "TRUE"}) as session:
            return success(await session.call_tool("sequentialthinking", first(1, thought="Quietly.")))

    assert 1 == run(body())["thoughtHistoryLength"]
    err = (tmp_path / "stderr.txt").read_text(encoding="utf-8")
    assert "Quietly." not in err
    assert "┌" not in err
    assert "Thought 1/3" not in err


def test_escape_sequences_from_the_model_never_reach_stderr(tmp_path: Path) -> None:
    hostile = "Title\x1b]0;pwned\x07 clear\x1b[2J\x1b[31mred\x9b0m bell\x07 back\x08 del\x7f end\r\nnext"

    async def body() -> dict[str, Any]:
        async with serving(tmp_path) as session:
            return success(await session.call_tool("sequentialthinking", first(1, thought=hostile)))

    assert 1 == run(body())["thoughtHistoryLength"]
    err = (tmp_path / "stderr.txt").read_text(encoding="utf-8")
    assert not set(err) & {ESC, "\x07", "\x08", "\x7f", "\x9b", "\r"}
    assert "Title\\x1b]0;pwned\\x07 clear\\x1b[2J\\x1b[31mred\\x9b0m" in err
    assert re.search(r"^│ next *│$", err, flags=re.MULTILINE)
    assert [hostile] == history(tmp_path / "sessions", "default")  # stored as sent


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize(("no_color", "coloured"), [("", True), ("1", False)])
def test_colour_only_on_a_terminal_without_no_color(tmp_path: Path, no_color: str, coloured: bool) -> None:
    """With stderr on a pseudo-terminal the title is blue, unless NO_COLOR is set."""
    main, child = os.openpty()
    received: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(main, 4096)
            except OSError:  # EIO once every copy of the other end is closed
                return
            if not data:
                return
            received.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()

    async def body() -> None:
        with os.fdopen(child, "w", encoding="utf-8") as errlog:
            env = {"NO_COLOR": no_color, "TERM": "xterm-256color"}
            async with connected(server_params(tmp_path / "sessions", env=env), errlog) as session:
                await session.call_tool("sequentialthinking", first(1, thought="On a terminal."))

    try:
        run(body())
        reader.join(timeout=READ_TIMEOUT)
    finally:
        os.close(main)
    err = b"".join(received).decode("utf-8")
    assert "On a terminal." in err
    assert ("\x1b[34mThought 1/3" in err) is coloured
    assert (ESC in err) is coloured


# --- the command line -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [("--default-session", "../etc"), ("--tool-name", "bad name!"), ("--sessions-dir", "")],
)
def test_a_bad_option_value_exits_2_with_one_line(tmp_path: Path, option: str, value: str) -> None:
    completed = command(tmp_path, "--sessions-dir", str(tmp_path / "sessions"), option, value)
    assert (2, "") == (completed.returncode, completed.stdout)
    lines = completed.stderr.splitlines()
    assert 1 == len(lines), completed.stderr
    assert lines[0].startswith(f"seqthink-mcp: error: {option}: ")
    assert not (tmp_path / "sessions").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--default-session", "a/b"], "--default-session: must be 1-128 characters"),
        (["--default-session", ""], "--default-session: must be 1-128 characters"),
        (["--default-session", "x."], "--default-session: must not end with '.'"),
        (["--default-session", "CON"], "--default-session: must not be a name Windows reserves"),
        (["--tool-name", ""], "--tool-name: must be 1-128 characters"),
        (["--tool-name", "a b"], "--tool-name: must be 1-128 characters"),
        (["--tool-name", "x" * 129], "--tool-name: must be 1-128 characters"),
    ],
)
def test_main_refuses_a_bad_option_value_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    assert 2 == main(["--sessions-dir", str(tmp_path / "sessions"), *options])
    out, err = capsys.readouterr()
    assert "" == out
    assert err.startswith(f"seqthink-mcp: error: {message}")
    assert 1 == err.count("\n")
    assert err.endswith("\n")


def test_a_sessions_dir_that_is_a_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    completed = command(tmp_path, "--sessions-dir", str(tmp_path / "file"))
    assert 2 == completed.returncode
    assert ["seqthink-mcp: error: --sessions-dir: "] == [
        line[: len("seqthink-mcp: error: --sessions-dir: ")] for line in completed.stderr.splitlines()
    ]


def test_the_server_stops_when_stdin_closes(tmp_path: Path) -> None:
    completed = command(tmp_path, "--sessions-dir", str(tmp_path / "sessions"))
    assert (0, "") == (completed.returncode, completed.stdout)
    assert "Traceback" not in completed.stderr


def test_help_shows_a_client_configuration(tmp_path: Path) -> None:
    completed = command(tmp_path, "--help")
    assert 0 == completed.returncode
    out = completed.stdout
    for option in ["--sessions-dir", "--default-session", "--tool-name", "--strict", "--version"]:
        assert option in out
    block = re.search(r"^  \{$.*?^  \}$", out, flags=re.MULTILINE | re.DOTALL)
    assert block is not None
    config = json.loads(block.group())
    server = config["mcpServers"]["sequential-thinking"]
    assert "seqthink-mcp" == server["command"]
    assert "--sessions-dir" in server["args"]


def test_version(tmp_path: Path) -> None:
    completed = command(tmp_path, "--version")
    assert 0 == completed.returncode
    assert f"seqthink {seqthink.__version__}" in completed.stdout
    assert re.search(r"mcp 2\.[0-9]", completed.stdout)


def test_without_the_sdk_the_import_error_says_what_to_install(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    code = "import sys; sys.modules['mcp'] = None; import seqthink.mcp_server"
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 1 == completed.returncode
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: seqthink.mcp_server needs version 2 of the MCP Python SDK")
    assert last.endswith('pip install "seqthink[mcp]"')


# --- in-process: the stderr logger ------------------------------------------------------


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Broken(io.StringIO):
    """A stream whose writes or flushes fail as a closed pipe does."""

    def __init__(self, *, fail_on: str) -> None:
        super().__init__()
        self.fail_on = fail_on

    def write(self, text: str) -> int:
        if self.fail_on == "write":
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)

    def flush(self) -> None:
        if self.fail_on == "flush":
            raise OSError(5, "Input/output error")
        super().flush()


def logged(stream: io.StringIO, environ: Mapping[str, str], text: str, **options: Any) -> str:
    """What a tool with ``stderr_logger(stream, environ)`` writes when ``text`` is recorded."""
    listener = stderr_logger(stream, environ)
    assert listener is not None
    tool = SequentialThinkingTool(MemoryStore(), on_thought=listener)
    tool.call(first(1, thought=text, **options))
    return stream.getvalue()


@pytest.mark.parametrize("value", ["true", "TRUE", " true\n"])
def test_logger_is_none_when_logging_is_disabled(value: str) -> None:
    assert stderr_logger(io.StringIO(), {"DISABLE_THOUGHT_LOGGING": value}) is None


@pytest.mark.parametrize("value", ["", "false", "1", "yes"])
def test_logger_is_on_otherwise(value: str) -> None:
    assert stderr_logger(io.StringIO(), {"DISABLE_THOUGHT_LOGGING": value}) is not None


def test_logger_draws_the_box_and_a_newline() -> None:
    out = logged(io.StringIO(), {}, "One line.\nAnother\tline.")
    rows = out.split("\n")
    assert "" == rows[-1]
    assert rows[0].startswith("┌")
    assert rows[-2].startswith("└")
    assert "│ Thought 1/3  [session default] │" in rows
    assert any(re.fullmatch(r"│ One line\. *│", row) for row in rows)
    assert any(re.fullmatch(r"│ Another line\. *│", row) for row in rows)  # the tab became spaces


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\x1b[31mred", "a\\x1b[31mred"),
        ("osc\x1b]8;;http://x\x1b\\link", "osc\\x1b]8;;http://x\\x1b\\link"),
        ("bell\x07", "bell\\x07"),
        ("nul\x00byte", "nul\\x00byte"),
        ("back\x08space", "back\\x08space"),
        ("del\x7f", "del\\x7f"),
        ("c1 csi\x9b2J", "c1 csi\\x9b2J"),
        ("c1 nel\x85", "c1 nel\\x85"),
        ("vt\x0bff\x0c", "vt\\x0bff\\x0c"),
    ],
)
def test_logger_shows_control_characters_as_escapes(text: str, shown: str) -> None:
    for stream, environ in [(io.StringIO(), {}), (Terminal(), {"TERM": "xterm"})]:
        out = logged(stream, environ, text)
        assert shown in out
        uncoloured = out.replace(f"{ESC}[34m", "").replace(f"{ESC}[0m", "")
        assert not any(0x00 <= ord(c) < 0x20 and c != "\n" for c in uncoloured)
        assert not any(0x7F <= ord(c) <= 0x9F for c in out)


def test_logger_turns_carriage_returns_into_line_breaks() -> None:
    out = logged(io.StringIO(), {}, "one\r\ntwo\rthree")
    assert "\r" not in out
    for word in ["one", "two", "three"]:
        assert re.search(rf"^│ {word} *│$", out, flags=re.MULTILINE)


def test_logger_colours_only_the_title_on_a_terminal() -> None:
    out = logged(Terminal(), {"TERM": "xterm"}, "Plain \x1b[1mbold?")
    assert f"{ESC}[34mThought 1/3  [session default]{ESC}[0m" in out
    assert 2 == out.count(ESC)
    assert "Plain \\x1b[1mbold?" in out


@pytest.mark.parametrize("environ", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_logger_does_not_colour_when_told_not_to(environ: dict[str, str]) -> None:
    assert ESC not in logged(Terminal(), environ, "No colour.")


def test_logger_keeps_a_thought_without_control_characters_as_it_is() -> None:
    text = "Ünïcödé, 漢字 and emoji 🎉 stay; so do tabs\tand\nnewlines."
    out = logged(io.StringIO(), {}, text)
    assert "Ünïcödé, 漢字 and emoji 🎉 stay; so do tabs" in out
    assert "\\x" not in out


@pytest.mark.parametrize("fail_on", ["write", "flush"])
def test_logger_ignores_a_broken_stream(fail_on: str, caplog: pytest.LogCaptureFixture) -> None:
    stream = Broken(fail_on=fail_on)
    listener = stderr_logger(stream, {})
    assert listener is not None
    tool = SequentialThinkingTool(MemoryStore(), on_thought=listener)
    with caplog.at_level("DEBUG"):
        assert 1 == tool.call(first(1))["thoughtHistoryLength"]
        assert 2 == tool.call(first(2))["thoughtHistoryLength"]
    assert [] == caplog.records  # the listener raised nothing for the tool to log


def test_logger_ignores_a_closed_stream(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    listener = stderr_logger(stream, {})
    assert listener is not None
    stream.close()
    tool = SequentialThinkingTool(MemoryStore(), on_thought=listener)
    with caplog.at_level("DEBUG"):
        assert 1 == tool.call(first(1))["thoughtHistoryLength"]
    assert [] == caplog.records


def test_logger_defaults_to_sys_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = io.StringIO()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.delenv("DISABLE_THOUGHT_LOGGING", raising=False)
    listener = stderr_logger()
    assert listener is not None
    SequentialThinkingTool(MemoryStore(), on_thought=listener).call(first(1, thought="To stderr."))
    assert "To stderr." in fake.getvalue()


def test_no_logger_without_a_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", None)  # as under pythonw on Windows
    assert stderr_logger(environ={}) is None


def test_the_stored_thought_keeps_its_control_characters() -> None:
    store = MemoryStore()
    listener = stderr_logger(io.StringIO(), {})
    SequentialThinkingTool(store, on_thought=listener).call(first(1, thought="keep \x1b[31m this"))
    assert ["keep \x1b[31m this"] == [t.thought for t in store.restore("default").thought_history]


# --- in-process: the server's handlers --------------------------------------------------


async def call_handler(tool: SequentialThinkingTool, name: str, arguments: Any) -> mcp_types.CallToolResult:
    """Call build_server's tools/call handler directly, as the SDK does after parsing the request."""
    entry = build_server(tool).get_request_handler("tools/call")
    assert entry is not None
    params = entry.params_type.model_validate({"name": name, "arguments": arguments})
    result = await entry.handler(cast("Any", None), params)  # the handler does not use the context
    assert isinstance(result, mcp_types.CallToolResult)
    return result


def test_call_handler_returns_the_structured_result() -> None:
    tool = SequentialThinkingTool(MemoryStore(), default_session_id="direct")
    result = success(run(call_handler(tool, "sequentialthinking", first(1))))
    assert (1, "direct") == (result["thoughtHistoryLength"], result["sessionId"])


def test_call_handler_passes_no_arguments_as_empty() -> None:
    tool = SequentialThinkingTool(MemoryStore())
    assert "thought" in refusal(run(call_handler(tool, "sequentialthinking", None)))


def test_call_handler_refuses_another_tool_name() -> None:
    store = MemoryStore()
    tool = SequentialThinkingTool(store, name="think")
    message = refusal(run(call_handler(tool, "sequentialthinking", first(1))))
    assert "'sequentialthinking'" in message
    assert "'think'" in message
    assert [] == store.list_sessions()


def test_list_handler_lists_the_definition() -> None:
    tool = SequentialThinkingTool(MemoryStore(), name="think")
    entry = build_server(tool).get_request_handler("tools/list")
    assert entry is not None
    listed = run(entry.handler(cast("Any", None), None))
    assert isinstance(listed, mcp_types.ListToolsResult)
    assert [tool.definition()] == [t.model_dump(by_alias=True, exclude_none=True) for t in listed.tools]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_in_process_client(mode: str) -> None:
    """The SDK's Client drives the server in-process, with the handshake (legacy) or without (auto)."""
    store = MemoryStore()
    tool = SequentialThinkingTool(store)

    async def body() -> tuple[list[str], dict[str, Any], str]:
        async with Client(build_server(tool), mode=mode) as client:
            listed = await client.list_tools()
            good = await client.call_tool("sequentialthinking", first(1))
            bad = await client.call_tool("sequentialthinking", first(2, totalThoughts=-1))
            return [t.name for t in listed.tools], success(good), refusal(bad)

    names, good, bad = run(body())
    assert ["sequentialthinking"] == names
    assert 1 == good["thoughtHistoryLength"]
    assert "totalThoughts" in bad
    assert 1 == len(store.restore("default").thought_history)


# --- sessions in Redis ----------------------------------------------------------------


def redis_params(tmp_path: Path, url: str, prefix: str) -> StdioServerParameters:
    params = server_params(tmp_path / "unused")
    params.args = ["-m", "seqthink.mcp_server", "--redis-url", url, "--redis-prefix", prefix]
    return params


def test_two_servers_on_one_redis_share_a_session(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    """Two server processes, as two replicas: thoughts sent to either go into one session."""

    async def body() -> list[int]:
        lengths = []
        with (tmp_path / "stderr.txt").open("w", encoding="utf-8") as errlog:
            async with (
                connected(redis_params(tmp_path, redis_url, redis_prefix), errlog) as one,
                connected(redis_params(tmp_path, redis_url, redis_prefix), errlog) as two,
            ):
                for number, server in enumerate([one, two, one, two], 1):
                    reply = success(
                        await server.call_tool("sequentialthinking", first(number, 4, sessionId="shared"))
                    )
                    lengths.append(reply["thoughtHistoryLength"])
        return lengths

    assert [1, 2, 3, 4] == run(body())
    from seqthink import RedisStore

    store = RedisStore(redis_url, prefix=redis_prefix)
    assert [f"Thought number {n}." for n in range(1, 5)] == [
        t.thought for t in store.restore("shared").thought_history
    ]
    assert not (tmp_path / "unused").exists()
    assert f"prefix={redis_prefix!r}" in (tmp_path / "stderr.txt").read_text(encoding="utf-8")
    store.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--sessions-dir", "x", "--redis-url", "redis://localhost/0"],
            "--sessions-dir and --redis-url: give one",
        ),
        (["--redis-url", "http://localhost/0"], "--redis-url: is not a usable Redis URL"),
        (
            ["--redis-url", "redis://localhost/0", "--redis-prefix", "a\nb"],
            "--redis-prefix: must be a string",
        ),
        (["--redis-prefix", "team:"], "--redis-prefix: applies only with --redis-url"),
    ],
)
def test_bad_redis_options_exit_2_in_one_line(
    capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    assert 2 == main(options)
    out, err = capsys.readouterr()
    assert ("", 1) == (out, err.count("\n"))
    assert err.startswith(f"seqthink-mcp: error: {message}"), err
