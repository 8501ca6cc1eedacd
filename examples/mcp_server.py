"""A custom MCP server for the thinking tool, on the official MCP Python SDK.

``seqthink-mcp`` serves the tool with sessions kept on disk. A program that
wants other choices builds its own server: this one keeps thoughts in memory
only (they are gone when it stops), lists the tool as "think", files calls
that give no sessionId under "scratchpad", and refuses a revision or branch
naming a thought that does not exist. ``build_server`` returns the SDK's
low-level ``Server`` with the tool registered; the SDK's stdio transport
serves it.

Run:
    python examples/mcp_server.py              serve MCP on stdin and stdout
    python examples/mcp_server.py --self-test  start this file as a server through
                                               the SDK's stdio client, list the tool,
                                               make two calls and print the results

Needs the MCP SDK: pip install "seqthink[mcp]".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from typing import TYPE_CHECKING

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.server.stdio import stdio_server

from seqthink import MemoryStore
from seqthink.mcp_server import build_server, stderr_logger
from seqthink.tool import SequentialThinkingTool

if TYPE_CHECKING:
    import mcp_types

TOOL_NAME = "think"


async def serve() -> None:
    """Serve the tool on stdin and stdout until the client closes stdin."""
    tool = SequentialThinkingTool(
        MemoryStore(),
        name=TOOL_NAME,
        default_session_id="scratchpad",
        strict=True,
        on_thought=stderr_logger(),  # draws each thought on stderr; DISABLE_THOUGHT_LOGGING=true for none
    )
    server = build_server(tool)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def show(label: str, result: mcp_types.CallToolResult) -> None:
    """Print a result: its structured content, or the error text of a refusal."""
    if result.is_error:
        print(f"{label}: refused: {' '.join(getattr(block, 'text', '') for block in result.content)}")
    else:
        print(f"{label}: {json.dumps(result.structured_content, sort_keys=True)}")


async def self_test() -> None:
    """Run this file as a server, the way an MCP host would, and use the tool twice."""
    server = StdioServerParameters(command=sys.executable, args=[__file__], env=dict(os.environ))
    # The server's stderr goes to a file, to be shown after the exchange.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as server_stderr:
        async with (
            stdio_client(server, errlog=server_stderr) as (read_stream, write_stream),
            ClientSession(read_stream, write_stream, read_timeout_seconds=60) as session,
        ):
            init = await session.initialize()
            print(f"Connected to {init.server_info.name} {init.server_info.version}")
            listed = await session.list_tools()
            for tool in listed.tools:
                required = ", ".join(tool.input_schema["required"])
                print(f"Tool {tool.name!r}, required arguments: {required}")
            first = await session.call_tool(
                TOOL_NAME,
                {
                    "thought": "Sum 1..100 by pairing ends.",
                    "thoughtNumber": 1,
                    "totalThoughts": 2,
                    "nextThoughtNeeded": True,
                },
            )
            show("Call 1", first)
            # The seed's snake_case names and string values are accepted too.
            second = await session.call_tool(
                TOOL_NAME,
                {
                    "thought": "50 pairs of 101 make 5050.",
                    "thought_number": "2",
                    "total_thoughts": "2",
                    "next_thought_needed": "false",
                    "session_id": "scratchpad",
                },
            )
            show("Call 2", second)
        server_stderr.seek(0)
        print("The server's stderr:")
        print(server_stderr.read().rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--self-test", action="store_true", help="start a server and call it")
    args = parser.parse_args()
    asyncio.run(self_test() if args.self_test else serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
