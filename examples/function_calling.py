"""The tool in a function-calling loop, without MCP and without a network.

The schema is offered to a model as an OpenAI-style function definition; the
model's replies are canned here (a real loop would get them from the chat API).
Each tool call is dispatched to SequentialThinkingTool and its result sent back
as the tool message. One reply is malformed on purpose: the tool refuses it with
a message naming the bad argument, the model reads it and corrects itself, and
nothing was recorded in between.

Run: python examples/function_calling.py
"""

from __future__ import annotations

import json
from typing import Any

from seqthink import MemoryStore
from seqthink.tool import SequentialThinkingTool


def function_definition(tool: SequentialThinkingTool) -> dict[str, Any]:
    """The tool as a chat-completions ``tools`` entry (the `$schema` key left out)."""
    parameters = {k: v for k, v in tool.input_schema.items() if k != "$schema"}
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": parameters},
    }


def tool_call(call_id: str, **arguments: object) -> dict[str, Any]:
    """A tool call as the chat API returns it: the arguments arrive as a JSON string."""
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "sequentialthinking", "arguments": json.dumps(arguments)},
    }


# What the model "says" on each turn. Turn 2 sends snake_case names and strings,
# as some clients do; turn 3 sends a boolean the tool cannot read.
CANNED_REPLIES: list[list[dict[str, Any]]] = [
    [
        tool_call(
            "c1",
            thought="List what the migration touches: schema, code, data.",
            thoughtNumber=1,
            totalThoughts=3,
            nextThoughtNeeded=True,
            sessionId="migration",
        )
    ],
    [
        tool_call(
            "c2",
            thought="Data first: backfill the new column in batches.",
            thought_number="2",
            total_thoughts="3",
            next_thought_needed="true",
            session_id="migration",
        )
    ],
    [
        tool_call(
            "c3",
            thought="Then switch reads to the new column.",
            thoughtNumber=3,
            totalThoughts=3,
            nextThoughtNeeded="maybe",
            sessionId="migration",
        )
    ],
    [
        tool_call(
            "c4",
            thought="Then switch reads to the new column, and drop the old one a release later.",
            thoughtNumber=3,
            totalThoughts=3,
            nextThoughtNeeded=False,
            sessionId="migration",
        )
    ],
]


def dispatch(tool: SequentialThinkingTool, call: dict[str, Any]) -> dict[str, str]:
    """Run one tool call; the reply is the tool message the model reads next."""
    if call["function"]["name"] != tool.name:
        content = json.dumps({"error": f"unknown tool {call['function']['name']!r}", "status": "failed"})
    else:
        outcome = tool.call_mcp(json.loads(call["function"]["arguments"]))
        content = outcome["content"][0]["text"]  # the same JSON either way: a result or an error
    return {"role": "tool", "tool_call_id": call["id"], "content": content}


def main() -> None:
    tool = SequentialThinkingTool(MemoryStore())
    definition = function_definition(tool)
    print(
        f"Offered: {definition['function']['name']} "
        f"({len(definition['function']['description'])} characters of description, "
        f"required {definition['function']['parameters']['required']})"
    )
    for turn, calls in enumerate(CANNED_REPLIES, start=1):
        for call in calls:
            reply = json.loads(dispatch(tool, call)["content"])
            if "error" in reply:
                print(f"turn {turn}: refused: {reply['error']}")
            else:
                print(
                    f"turn {turn}: recorded thought {reply['thoughtNumber']}/{reply['totalThoughts']}, "
                    f"history {reply['thoughtHistoryLength']}, next needed: {reply['nextThoughtNeeded']}"
                )
    session = tool.store.restore("migration")
    print(f"Session {session.session_id}: {len(session)} thoughts, complete: {session.is_complete}")
    for thought in session.thought_history:
        print(f"  {thought.thought_number}. {thought.thought}")


if __name__ == "__main__":
    main()
