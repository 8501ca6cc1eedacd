"""An MCP server offering the sequential-thinking tool over stdio.

Run it as ``seqthink-mcp`` (or ``python -m seqthink.mcp_server``); see
``seqthink-mcp --help`` for the options and a client configuration. It is
built on the official MCP Python SDK, version 2, which the ``mcp`` extra
installs (``pip install "seqthink[mcp]"``).

:func:`build_server` gives the SDK's low-level ``Server`` serving one
:class:`~seqthink.tool.SequentialThinkingTool`, for programs that run their
own transport; :func:`stderr_logger` gives the listener that draws each
recorded thought on stderr; :func:`serve_stdio` serves a server on stdin and
stdout until stdin closes.

Arguments reach the tool exactly as the client sent them: the SDK's
low-level server does not check them against the tool's input schema, and
the tool does its own checking, which is more forgiving than the schema
(``"2"`` for ``2``, ``"true"`` for ``true``, snake_case names).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
from importlib import metadata
from typing import TYPE_CHECKING, Any, Final

import attrs

try:
    import mcp_types
    from mcp.server import Server, ServerRequestContext
    from mcp.server.stdio import stdio_server
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "seqthink.mcp_server needs version 2 of the MCP Python SDK; "
        'install it with: pip install "seqthink[mcp]"'
    ) from exc

from seqthink import __version__
from seqthink._box import colour_allowed, thought_box, thought_logging_disabled
from seqthink._filesystem import FileSystemStore, sessions_folder
from seqthink.errors import InvalidArgumentError, InvalidSessionIdError
from seqthink.tool import DEFAULT_NAME, SequentialThinkingTool, mcp_error

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import TextIO

    from seqthink._store import SessionStore
    from seqthink._thought import Thought, ThoughtResult

__all__ = ["SERVER_NAME", "build_server", "main", "serve_stdio", "stderr_logger"]

#: The name the server gives in its ``serverInfo``.
SERVER_NAME: Final = "seqthink"

_PROG: Final = "seqthink-mcp"
# C0 controls but tab and newline, DEL and C1 controls: what could steer a terminal.
_UNSAFE: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CARRIAGE_RETURN: Final = re.compile(r"\r\n?")


# --- the server -----------------------------------------------------------------


def build_server(tool: SequentialThinkingTool) -> Server[Any]:
    """The SDK's low-level server, serving ``tool`` as its one tool.

    ``tools/list`` returns ``tool.definition()``. ``tools/call`` hands the
    arguments, unchecked, to ``tool.acall_mcp`` and returns its result: the
    structured result and the same as JSON text, or an ``isError`` result
    whose text is ``{"error": ..., "status": "failed"}`` when the tool
    refuses the arguments or the store fails. A call naming another tool
    gets an ``isError`` result naming it.
    """

    async def list_tools(
        _ctx: ServerRequestContext[Any], _params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=[mcp_types.Tool.model_validate(tool.definition())])

    async def call_tool(
        _ctx: ServerRequestContext[Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        if params.name != tool.name:
            shaped = mcp_error(f"unknown tool {_short(params.name)}; this server has one tool, {tool.name!r}")
        else:
            shaped = await tool.acall_mcp(params.arguments)
        return mcp_types.CallToolResult.model_validate(shaped)

    return Server(
        SERVER_NAME,
        version=__version__,
        title="Sequential thinking",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(server: Server[Any]) -> None:
    """Serve ``server`` on this process's stdin and stdout until stdin closes."""
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- logging thoughts to stderr -----------------------------------------------------


def stderr_logger(
    stream: TextIO | None = None, environ: Mapping[str, str] | None = None, *, max_width: int = 80
) -> Callable[[str, Thought, ThoughtResult], None] | None:
    """An ``on_thought`` listener drawing each recorded thought as a box on ``stream``.

    ``stream`` defaults to ``sys.stderr`` and ``environ`` to ``os.environ``,
    both read now. Returns None when ``DISABLE_THOUGHT_LOGGING`` is ``true``
    in ``environ``, or when there is no stream (``sys.stderr`` is None).
    The box's header is coloured when ``stream`` is a terminal and neither
    ``NO_COLOR`` nor ``TERM=dumb`` says otherwise.

    The thought's text comes from the model, so it is made inert first:
    every control character but tab and newline (ESC, BEL, backspace, DEL,
    the C1 controls) is shown as a ``\\xNN`` escape, and carriage returns
    become newlines, so no escape sequence reaches the terminal. A failed
    write (a closed or broken stderr) is ignored: the thought is already
    stored, and the call must not fail because nobody is watching.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    if thought_logging_disabled(env):
        return None
    out: TextIO | None = sys.stderr if stream is None else stream
    if out is None:
        return None
    colour = colour_allowed(out, env)

    def log_thought(session_id: str, thought: Thought, _result: ThoughtResult) -> None:
        try:
            box = thought_box(_inert(thought), session_id=session_id, colour=colour, max_width=max_width)
            out.write(box + "\n")
            out.flush()
        except (OSError, ValueError):  # a broken pipe, a closed stream, an encoding error
            pass

    return log_thought


def _inert(thought: Thought) -> Thought:
    """``thought`` with its text made safe to print (see :func:`stderr_logger`).

    Branch ids cannot hold control characters and session ids are letters,
    digits and ``._-``, so the text is all that needs it.
    """
    text = _CARRIAGE_RETURN.sub("\n", thought.thought)
    text = _UNSAFE.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    return thought if text == thought.thought else attrs.evolve(thought, thought=text)


# --- the command line ---------------------------------------------------------------

_DESCRIPTION: Final = """\
Serve the sequential-thinking tool to an MCP client over stdio.

Every thought the model records is stored at once under its session id
(sessionId, or the default session) in a folder of JSON files, so a session
survives restarts and several servers may share one folder. Each recorded
thought is also drawn on stderr, unless DISABLE_THOUGHT_LOGGING=true; colour
is used only on a terminal and never with NO_COLOR set.
"""

_EPILOG: Final = f"""\
example client configuration (Claude Desktop, Claude Code, Cursor; other hosts
take the same command and args):

  {{
    "mcpServers": {{
      "sequential-thinking": {{
        "command": "{_PROG}",
        "args": ["--sessions-dir", "/home/me/thinking", "--default-session", "main"],
        "env": {{"DISABLE_THOUGHT_LOGGING": "false"}}
      }}
    }}
  }}

environment:
  SEQTHINK_SESSIONS_DIR    the sessions folder when --sessions-dir is not given
  DISABLE_THOUGHT_LOGGING  "true" to draw nothing on stderr
  NO_COLOR                 set and not empty for no colour on stderr
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sessions-dir",
        metavar="DIR",
        help="the folder sessions are stored in, created when needed; a leading ~ is "
        "expanded (default: $SEQTHINK_SESSIONS_DIR, else the per-user state folder of seqthink)",
    )
    parser.add_argument(
        "--redis-url",
        metavar="URL",
        help="keep sessions in Redis at this URL (redis://, rediss:// or unix://) instead of a "
        "folder, so several servers can share them; needs seqthink[redis]",
    )
    parser.add_argument(
        "--redis-prefix",
        metavar="PREFIX",
        help="with --redis-url: the prefix of every key (default: seqthink:)",
    )
    parser.add_argument(
        "--default-session",
        metavar="ID",
        default="default",
        help="the session for calls that give no sessionId (default: %(default)s)",
    )
    parser.add_argument(
        "--tool-name",
        metavar="NAME",
        default=DEFAULT_NAME,
        help="the name the tool is listed under (default: %(default)s)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse a revision or branch naming a thought the session does not have "
        "(default: record it with a warning)",
    )
    parser.add_argument("--version", action="version", version=_version())
    return parser


def _version() -> str:
    try:
        sdk = metadata.version("mcp")
    except metadata.PackageNotFoundError:  # pragma: no cover - an SDK not installed as a distribution
        sdk = "unknown"
    return f"{_PROG} (seqthink {__version__}, mcp {sdk})"


class _UsageError(Exception):
    """A bad option value; the message is one line naming the option."""


def _store_from(args: argparse.Namespace) -> SessionStore:
    if args.redis_prefix is not None and args.redis_url is None:
        raise _UsageError("--redis-prefix: applies only with --redis-url")
    if args.redis_url is not None:
        if args.sessions_dir is not None:
            raise _UsageError("--sessions-dir and --redis-url: give one of them, not both")
        try:
            from seqthink._redis import RedisStore  # noqa: PLC0415 - needs the optional redis extra
        except ImportError as exc:
            raise _UsageError(f"--redis-url: {exc}") from exc
        try:
            return RedisStore(
                args.redis_url, prefix="seqthink:" if args.redis_prefix is None else args.redis_prefix
            )
        except InvalidArgumentError as exc:
            option = "--redis-prefix" if exc.name == "prefix" else "--redis-url"
            raise _UsageError(f"{option}: {exc.reason} (got {_short(exc.value)})") from exc
    sessions_dir: str | None = args.sessions_dir
    if sessions_dir is not None:
        try:
            sessions_dir = str(sessions_folder(sessions_dir))
        except ValueError as exc:
            raise _UsageError(f"--sessions-dir: {exc}") from exc
    return FileSystemStore(sessions_dir)


def _tool_from(args: argparse.Namespace) -> SequentialThinkingTool:
    store = _store_from(args)
    try:
        return SequentialThinkingTool(
            store,
            default_session_id=args.default_session,
            name=args.tool_name,
            strict=args.strict,
            on_thought=stderr_logger(),
        )
    except InvalidSessionIdError as exc:
        raise _UsageError(f"--default-session: {exc.reason} (got {_short(exc.session_id)})") from exc
    except InvalidArgumentError as exc:
        option = {"name": "--tool-name", "root": "--sessions-dir"}.get(exc.name, exc.name)
        raise _UsageError(f"{option}: {exc.reason} (got {_short(exc.value)})") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """The ``seqthink-mcp`` command: serve the tool on stdio until stdin closes.

    Returns the exit status: 0 after stdin closed, 2 for a bad option value
    (after one line on stderr), 130 on Ctrl-C.
    """
    args = _parser().parse_args(argv)
    try:
        tool = _tool_from(args)
    except _UsageError as exc:
        sys.stderr.write(f"{_PROG}: error: {exc}\n")
        return 2
    store = tool.store
    where: object = store.root if isinstance(store, FileSystemStore) else store
    if args.redis_url is not None:
        where = f"Redis: {store!r}"  # (the URL without its password)
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no stderr is no reason not to serve
        sys.stderr.write(f"{_PROG}: serving tool {tool.name!r} on stdio; sessions in {where}\n")
        sys.stderr.flush()
    try:
        asyncio.run(serve_stdio(build_server(tool)))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
