"""SequentialThinkingTool: the two dialects in, the reference's result out, sessions kept.

Behaviour tests run against every store (memory, filesystem) and both colours
(call, acall); the argument rules are also tested on the pure parser directly,
with a property test that no input makes it raise anything but ToolInputError.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import math
import multiprocessing
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqthink import FileSystemStore, MemoryStore, SessionStore, Thought
from seqthink._arguments import parse_call
from seqthink.errors import (
    InvalidArgumentError,
    InvalidSessionIdError,
    SeqthinkError,
    StoreError,
    ToolInputError,
)
from seqthink.tool import DESCRIPTION, SequentialThinkingTool, mcp_error, mcp_result

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

REFERENCE_KEYS = ["thoughtNumber", "totalThoughts", "nextThoughtNeeded", "branches", "thoughtHistoryLength"]


def args(
    number: int = 1, total: int = 3, *, more: bool = True, text: str | None = None, **extra: object
) -> dict[str, object]:
    """A valid camelCase call; ``extra`` adds or overrides arguments."""
    call: dict[str, object] = {
        "thought": text or f"thought {number}",
        "thoughtNumber": number,
        "totalThoughts": total,
        "nextThoughtNeeded": more,
    }
    call.update(extra)
    return call


class Tool:
    """A tool and one way of calling it: ``call`` or ``acall``."""

    def __init__(self, tool: SequentialThinkingTool, colour: str) -> None:
        self.tool = tool
        self.colour = colour

    def __call__(self, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        if self.colour == "sync":
            return self.tool.call(arguments)  # type: ignore[arg-type]  # None is tested too
        return asyncio.run(self.tool.acall(arguments))  # type: ignore[arg-type]

    def mcp(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        if self.colour == "sync":
            return self.tool.call_mcp(arguments)
        return asyncio.run(self.tool.acall_mcp(arguments))

    def cleanup(self, older_than: timedelta, **kwargs: Any) -> list[str]:
        if self.colour == "sync":
            return self.tool.cleanup(older_than, **kwargs)
        return asyncio.run(self.tool.acleanup(older_than, **kwargs))

    def texts(self, session_id: str = "default") -> list[str]:
        store = self.tool.store
        if not store.exists(session_id):
            return []
        return [t.thought for t in store.restore(session_id).thought_history]


@pytest.fixture(params=["memory", "filesystem"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], SessionStore]:
    """A factory of store handles on one shared place: a second call is a 'restarted' store."""
    if request.param == "memory":
        store = MemoryStore()
        return lambda: store
    return lambda: FileSystemStore(tmp_path / "sessions", durable=False)


@pytest.fixture(params=["sync", "async"])
def colour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def tool(make_store: Callable[[], SessionStore], colour: str) -> Tool:
    return Tool(SequentialThinkingTool(make_store()), colour)


# --- what a framework lists -------------------------------------------------


def test_the_definition_tells_the_truth() -> None:
    """Name, description within 1,024 characters, schemas that are valid draft 2020-12, honest annotations."""
    tool = SequentialThinkingTool(MemoryStore())
    assert "sequentialthinking" == tool.name
    assert len(tool.description) <= 1024
    for word in (
        "thoughtNumber",
        "isRevision",
        "revisesThought",
        "branchFromThought",
        "branchId",
        "sessionId",
    ):
        assert word in tool.description
    for schema in (tool.input_schema, tool.output_schema):
        assert "https://json-schema.org/draft/2020-12/schema" == schema["$schema"]
        jsonschema.Draft202012Validator.check_schema(schema)
    assert {
        "readOnlyHint": False,
        "idempotentHint": False,
        "destructiveHint": False,
        "openWorldHint": False,
    } == {k: v for k, v in tool.annotations.items() if k.endswith("Hint")}
    definition = tool.definition()
    assert (tool.name, DESCRIPTION, tool.input_schema, tool.output_schema) == (
        definition["name"],
        definition["description"],
        definition["inputSchema"],
        definition["outputSchema"],
    )
    assert ["thought", "nextThoughtNeeded", "thoughtNumber", "totalThoughts"] == tool.input_schema["required"]


def test_the_schemas_describe_real_calls() -> None:
    """A call the input schema accepts is accepted, and every result fits the output schema."""
    tool = SequentialThinkingTool(MemoryStore())
    calls = [
        args(1, 2),
        args(2, 2, isRevision=True, revisesThought=1),
        args(3, 3, branchFromThought=1, branchId="alt", sessionId="s-1"),
        args(4, 3, revisesThought=9),  # a dangling reference: recorded with a warning
    ]
    for call in calls:
        jsonschema.validate(call, tool.input_schema)
        jsonschema.validate(tool.call(call), tool.output_schema)


def test_the_tool_name_is_configurable_and_checked() -> None:
    assert "sequential_thinking" == SequentialThinkingTool(MemoryStore(), name="sequential_thinking").name
    for bad in ("", "has space", "x" * 129, 3):
        with pytest.raises(InvalidArgumentError, match="name"):
            SequentialThinkingTool(MemoryStore(), name=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_live_sessions", 0),
        ("max_live_sessions", True),
        ("max_live_sessions", 1.5),
        ("strict", "yes"),
        ("max_thought_length", 0),
        ("on_thought", "print"),
    ],
)
def test_bad_options_are_refused_by_name(option: str, value: object) -> None:
    options: dict[str, Any] = {option: value}
    with pytest.raises(InvalidArgumentError, match=option):
        SequentialThinkingTool(MemoryStore(), **options)


def test_a_bad_default_session_or_store_is_refused() -> None:
    with pytest.raises(InvalidSessionIdError):
        SequentialThinkingTool(MemoryStore(), default_session_id="../up")
    with pytest.raises(InvalidArgumentError, match="store"):
        SequentialThinkingTool({})  # type: ignore[arg-type]


def test_without_a_store_the_tool_uses_the_default_filesystem_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEQTHINK_SESSIONS_DIR", str(tmp_path / "state"))
    tool = SequentialThinkingTool()
    assert isinstance(tool.store, FileSystemStore)
    tool.call(args())
    assert (tmp_path / "state" / "default" / "thought1.json").is_file()


# --- calls: both dialects, the reference's result ---------------------------


def test_the_result_has_the_reference_fields_in_order_then_the_session(tool: Tool) -> None:
    result = tool(args(1, 3))
    assert [*REFERENCE_KEYS, "sessionId"] == list(result)
    assert (1, 3, True, [], 1, "default") == tuple(result.values())
    json.dumps(result)  # plain JSON values only


def test_the_total_is_raised_to_the_thought_number(tool: Tool) -> None:
    assert 5 == tool(args(5, 2))["totalThoughts"]


def test_camel_and_snake_case_record_the_same_thought(tool: Tool) -> None:
    tool(args(1, 2, sessionId="camel", isRevision=False))
    tool(
        {
            "thought": "thought 1",
            "thought_number": 1,
            "total_thoughts": 2,
            "next_thought_needed": True,
            "is_revision": False,
            "session_id": "snake",
        }
    )
    store = tool.tool.store
    assert store.restore("camel").thought_history == store.restore("snake").thought_history


def test_branches_and_history_length_follow_the_reference(tool: Tool) -> None:
    tool(args(1, 3))
    tool(args(2, 3, branchFromThought=1, branchId="b"))
    tool(args(3, 3, branchFromThought=1, branchId="a"))
    tool(args(4, 4, branchFromThought=1, branchId="b"))
    result = tool(args(5, 5, branchId="no-origin"))  # a branch id alone makes no branch
    assert (["b", "a"], 5) == (result["branches"], result["thoughtHistoryLength"])


def test_an_empty_branch_id_means_no_branch(tool: Tool) -> None:
    tool(args(1, 2))
    result = tool(args(2, 2, branchFromThought=1, branchId=""))
    assert [] == result["branches"]
    assert tool.tool.store.restore("default").thought_history[-1].branch_id is None


def test_warnings_come_last_and_only_when_there_are_any(tool: Tool) -> None:
    assert "warnings" not in tool(args(1, 2))
    result = tool(args(2, 2, isRevision=True, revisesThought=7))
    assert [*REFERENCE_KEYS, "sessionId", "warnings"] == list(result)
    assert any("thought 7" in w for w in result["warnings"])


def test_unknown_arguments_are_ignored(tool: Tool) -> None:
    result = tool(args(1, 1, more=False, mood="curious", thoughtNumberr=9, extra={"a": 1}))
    assert (1, 1) == (result["thoughtNumber"], result["thoughtHistoryLength"])


@pytest.mark.parametrize(
    ("given", "field", "taken"),
    [
        ({"thoughtNumber": "2"}, "thought_number", 2),
        ({"thoughtNumber": " 12 "}, "thought_number", 12),
        ({"thoughtNumber": 3.0}, "thought_number", 3),
        ({"totalThoughts": "7"}, "total_thoughts", 7),
        ({"nextThoughtNeeded": "false"}, "next_thought_needed", False),
        ({"nextThoughtNeeded": "TRUE"}, "next_thought_needed", True),
        ({"nextThoughtNeeded": "False"}, "next_thought_needed", False),
        ({"isRevision": "tRuE", "revisesThought": "1"}, "revises_thought", 1),
        ({"needsMoreThoughts": "true"}, "needs_more_thoughts", True),
        ({"isRevision": None}, "is_revision", None),
        ({"branchId": None, "branchFromThought": None}, "branch_id", None),
        ({"thought_number": "2", "thoughtNumber": 2}, "thought_number", 2),
        ({"next_thought_needed": "true", "nextThoughtNeeded": True}, "next_thought_needed", True),
    ],
)
def test_what_llm_clients_send_is_taken(given: dict[str, object], field: str, taken: object) -> None:
    """Digit strings become integers, "true"/"false" in any case booleans, null means absent."""
    call = args(2, 3)
    call.update(given)
    assert taken == getattr(parse_call(call).thought, field)


BAD_CALLS: list[tuple[dict[str, object], str, object]] = [
    ({"thoughtNumber": True}, "thoughtNumber", True),
    ({"thoughtNumber": False}, "thoughtNumber", False),
    ({"thoughtNumber": 1.5}, "thoughtNumber", 1.5),
    ({"thoughtNumber": ""}, "thoughtNumber", ""),
    ({"thoughtNumber": None}, "thoughtNumber", None),
    ({"thoughtNumber": "abc"}, "thoughtNumber", "abc"),
    ({"thoughtNumber": "1.5"}, "thoughtNumber", "1.5"),
    ({"thoughtNumber": "-1"}, "thoughtNumber", "-1"),
    ({"thoughtNumber": "1e3"}, "thoughtNumber", "1e3"),
    ({"thoughtNumber": 0}, "thoughtNumber", 0),
    ({"thoughtNumber": 2**32}, "thoughtNumber", 2**32),
    ({"thoughtNumber": "9" * 5000}, "thoughtNumber", "9" * 5000),
    ({"thoughtNumber": math.nan}, "thoughtNumber", math.nan),
    ({"thoughtNumber": math.inf}, "thoughtNumber", math.inf),
    ({"thoughtNumber": [1]}, "thoughtNumber", [1]),
    ({"totalThoughts": None}, "totalThoughts", None),
    ({"revisesThought": True}, "revisesThought", True),
    ({"revisesThought": "x"}, "revisesThought", "x"),
    ({"nextThoughtNeeded": "yes"}, "nextThoughtNeeded", "yes"),
    ({"nextThoughtNeeded": "1"}, "nextThoughtNeeded", "1"),
    ({"nextThoughtNeeded": ""}, "nextThoughtNeeded", ""),
    ({"nextThoughtNeeded": 1}, "nextThoughtNeeded", 1),
    ({"nextThoughtNeeded": 0}, "nextThoughtNeeded", 0),
    ({"nextThoughtNeeded": None}, "nextThoughtNeeded", None),
    ({"nextThoughtNeeded": " true"}, "nextThoughtNeeded", " true"),
    ({"isRevision": "no"}, "isRevision", "no"),
    ({"needsMoreThoughts": 1}, "needsMoreThoughts", 1),
    ({"thought": 42}, "thought", 42),
    ({"thought": ""}, "thought", ""),
    ({"thought": "  \n"}, "thought", "  \n"),
    ({"thought": None}, "thought", None),
    ({"thought": "\ud800"}, "thought", "\ud800"),
    ({"branchId": 7, "branchFromThought": 1}, "branchId", 7),
    ({"branchId": "x" * 257, "branchFromThought": 1}, "branchId", "x" * 257),
    ({"branchId": "a\nb", "branchFromThought": 1}, "branchId", "a\nb"),
    ({"sessionId": 5}, "sessionId", 5),
    ({"sessionId": ""}, "sessionId", ""),
    ({"sessionId": "../etc"}, "sessionId", "../etc"),
    ({"session_id": "a/b"}, "session_id", "a/b"),
    ({"thought_number": "2"}, "thoughtNumber", 1),  # both spellings, different values
    ({"next_thought_needed": False}, "nextThoughtNeeded", True),
]


@pytest.mark.parametrize(("given", "name", "value"), BAD_CALLS, ids=[repr(c[0])[:40] for c in BAD_CALLS])
def test_a_bad_argument_is_named_with_its_value_and_changes_nothing(
    tool: Tool, given: dict[str, object], name: str, value: object
) -> None:
    tool(args(1, 3))
    before = tool.texts()
    call = args(1, 3)
    call.update(given)
    with pytest.raises(ToolInputError) as caught:
        tool(call)
    assert isinstance(caught.value, SeqthinkError)
    assert isinstance(caught.value, ValueError)
    assert [name] == [p[0] for p in caught.value.problems]
    problem_value = caught.value.problems[0][1]
    assert problem_value is value or problem_value == value
    assert name in str(caught.value)
    assert repr(value)[:20] in str(caught.value)
    assert before == tool.texts()
    assert ["default"] == [m.session_id for m in tool.tool.store.list_sessions()]


def test_every_bad_field_is_named_at_once(tool: Tool) -> None:
    call = {
        "thought": 3,
        "thoughtNumber": True,
        "totalThoughts": "many",
        "nextThoughtNeeded": "yes",
        "sessionId": "",
    }
    with pytest.raises(ToolInputError) as caught:
        tool(call)
    assert {"thought", "thoughtNumber", "totalThoughts", "nextThoughtNeeded", "sessionId"} == {
        p[0] for p in caught.value.problems
    }
    message = str(caught.value)
    for shown in ("3", "True", "'many'", "'yes'", "''"):
        assert shown in message


def test_missing_required_arguments_are_named(tool: Tool) -> None:
    with pytest.raises(ToolInputError) as caught:
        tool({})
    assert ["thought", "nextThoughtNeeded", "thoughtNumber", "totalThoughts"] == [
        p[0] for p in caught.value.problems
    ]
    assert "is required" in str(caught.value)
    assert not tool.tool.store.exists("default")


@pytest.mark.parametrize("arguments", [None, [], "thought", 3])
def test_arguments_that_are_not_an_object(tool: Tool, arguments: Any) -> None:
    if arguments is None:  # MCP allows a call with no arguments: every required one is missing
        with pytest.raises(ToolInputError, match="thought: is required"):
            tool(arguments)
        return
    with pytest.raises(ToolInputError, match="arguments: must be a JSON object"):
        tool(arguments)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "thought",
                "thoughtNumber",
                "thought_number",
                "totalThoughts",
                "nextThoughtNeeded",
                "next_thought_needed",
                "isRevision",
                "revisesThought",
                "branchFromThought",
                "branchId",
                "branch_id",
                "sessionId",
                "session_id",
                "needsMoreThoughts",
                "other",
            ]
        ),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-5, 2**33),
            st.floats(),
            st.text(max_size=12),
            st.sampled_from(["1", "2", "true", "FALSE", " 3 ", "x"]),
            st.lists(st.integers(), max_size=2),
        ),
    )
)
def test_the_parser_returns_a_thought_or_raises_tool_input_error(arguments: dict[str, object]) -> None:
    """Whatever a client sends, parsing ends in a valid Thought or one ToolInputError, nothing else."""
    outcome: object
    try:
        outcome = parse_call(arguments)
    except ToolInputError as exc:
        outcome = exc
    if isinstance(outcome, ToolInputError):
        required = {"thought", "thoughtNumber", "totalThoughts", "nextThoughtNeeded"}
        assert outcome.problems
        assert all(name in arguments or name in required for name, _, _ in outcome.problems)
    else:
        assert isinstance(getattr(outcome, "thought", None), Thought)


# --- the session's rules, through the tool -----------------------------------


def test_strict_refusals_name_the_field_as_the_caller_spelled_it(
    make_store: Callable[[], SessionStore], colour: str
) -> None:
    tool = Tool(SequentialThinkingTool(make_store(), strict=True), colour)
    tool(args(1, 3))
    for spelling in ("revisesThought", "revises_thought"):
        with pytest.raises(ToolInputError) as caught:
            tool({**args(2, 3, isRevision=True), spelling: 9})
        assert [(spelling, 9)] == [p[:2] for p in caught.value.problems]
    assert ["thought 1"] == tool.texts()


def test_a_thought_over_the_length_limit_is_refused(
    make_store: Callable[[], SessionStore], colour: str
) -> None:
    tool = Tool(SequentialThinkingTool(make_store(), max_thought_length=10), colour)
    with pytest.raises(ToolInputError, match="thought: is 11 characters long"):
        tool(args(1, 1, text="x" * 11))
    assert [] == tool.texts()


# --- sessions ---------------------------------------------------------------


def test_calls_without_a_session_id_share_the_default_session(tool: Tool) -> None:
    for n in (1, 2, 3):
        assert n == tool(args(n, 3))["thoughtHistoryLength"]
    assert ("default",) == tool.tool.live_sessions


def test_the_default_session_id_is_configurable(make_store: Callable[[], SessionStore], colour: str) -> None:
    tool = Tool(SequentialThinkingTool(make_store(), default_session_id="main"), colour)
    assert "main" == tool(args())["sessionId"]
    assert ["thought 1"] == tool.texts("main")


def test_named_sessions_are_kept_apart(tool: Tool) -> None:
    tool(args(1, 2, sessionId="a"))
    tool(args(1, 2, sessionId="b", text="other"))
    assert 2 == tool(args(2, 2, sessionId="a"))["thoughtHistoryLength"]
    assert (["thought 1", "thought 2"], ["other"]) == (tool.texts("a"), tool.texts("b"))


def test_a_stored_session_is_continued_after_a_restart(
    make_store: Callable[[], SessionStore], colour: str
) -> None:
    first = Tool(SequentialThinkingTool(make_store()), colour)
    first(args(1, 3, sessionId="task"))
    first(args(2, 3, sessionId="task"))
    restarted = Tool(SequentialThinkingTool(make_store()), colour)
    result = restarted(args(3, 3, more=False, sessionId="task"))
    assert 3 == result["thoughtHistoryLength"]
    assert ["thought 1", "thought 2", "thought 3"] == restarted.texts("task")


def test_at_most_max_live_sessions_are_kept_and_eviction_loses_nothing(
    make_store: Callable[[], SessionStore], colour: str
) -> None:
    tool = Tool(SequentialThinkingTool(make_store(), max_live_sessions=2), colour)
    for sid in ("a", "b", "c"):
        tool(args(1, 2, sessionId=sid))
    assert ("b", "c") == tool.tool.live_sessions
    tool(args(1, 2, sessionId="b", text="again"))
    assert ("c", "b") == tool.tool.live_sessions
    assert 2 == tool(args(2, 2, sessionId="a"))["thoughtHistoryLength"]  # evicted, then continued
    assert ("b", "a") == tool.tool.live_sessions


class FakeClock:
    def __init__(self) -> None:
        self.ns = 1_700_000_000 * 10**9

    def __call__(self) -> int:
        return self.ns

    def advance(self, delta: timedelta) -> None:
        self.ns += int(delta.total_seconds() * 10**9)

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.ns / 10**9, tz=timezone.utc)


def test_evict_idle_forgets_idle_sessions_and_keeps_their_thoughts(
    make_store: Callable[[], SessionStore], colour: str
) -> None:
    clock = FakeClock()
    tool = Tool(SequentialThinkingTool(make_store(), clock=clock), colour)
    tool(args(1, 2, sessionId="old"))
    clock.advance(timedelta(minutes=30))
    tool(args(1, 2, sessionId="new"))
    assert [] == tool.tool.evict_idle(timedelta(hours=1))
    assert ["old"] == tool.tool.evict_idle(timedelta(minutes=10))
    assert ("new",) == tool.tool.live_sessions
    assert ["new"] == tool.tool.evict_idle(timedelta(0), now=clock.now + timedelta(seconds=1))
    assert ["thought 1"] == tool.texts("old")
    with pytest.raises(InvalidArgumentError, match="older_than"):
        tool.tool.evict_idle(5)  # type: ignore[arg-type]


def test_cleanup_deletes_old_sessions_from_the_store_and_the_live_set(tool: Tool) -> None:
    tool(args(1, 2, sessionId="a"))
    tool(args(1, 2, sessionId="b"))
    later = datetime.now(timezone.utc) + timedelta(days=2)
    assert [] == tool.cleanup(timedelta(days=3), now=later)
    deleted = tool.cleanup(timedelta(days=1), now=later, limit=1)
    assert 1 == len(deleted)
    assert deleted[0] not in tool.tool.live_sessions
    assert not tool.tool.store.exists(deleted[0])
    assert sorted(["a", "b"]) == sorted([*deleted, *tool.cleanup(timedelta(days=1), now=later)])
    assert () == tool.tool.live_sessions


# --- the listener, MCP shapes and store failures -----------------------------


def test_the_listener_hears_each_accepted_thought_as_recorded(
    make_store: Callable[[], SessionStore], colour: str
) -> None:
    heard: list[tuple[str, Thought, int]] = []
    tool = Tool(
        SequentialThinkingTool(
            make_store(), on_thought=lambda sid, t, r: heard.append((sid, t, r.thought_history_length))
        ),
        colour,
    )
    tool(args(4, 2, sessionId="s"))
    with pytest.raises(ToolInputError):
        tool(args(0, 2))
    assert [("s", Thought("thought 4", 4, 4, True), 1)] == heard


def test_a_failing_listener_does_not_fail_the_call(
    make_store: Callable[[], SessionStore], colour: str, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise BrokenPipeError

    tool = Tool(SequentialThinkingTool(make_store(), on_thought=broken), colour)
    with caplog.at_level(logging.ERROR, logger="seqthink"):
        assert 1 == tool(args())["thoughtHistoryLength"]
    assert "on_thought listener failed" in caplog.text
    assert ["thought 1"] == tool.texts()


def test_mcp_shapes(tool: Tool) -> None:
    ok = tool.mcp(args(1, 2, text="naïve café ☕"))
    assert (False, ok["structuredContent"]) == (ok["isError"], json.loads(ok["content"][0]["text"]))
    assert [
        {"type": "text", "text": json.dumps(ok["structuredContent"], indent=2, ensure_ascii=False)}
    ] == ok["content"]
    bad = tool.mcp(args(2, 2, nextThoughtNeeded="maybe"))
    assert True is bad["isError"]
    assert "structuredContent" not in bad
    payload = json.loads(bad["content"][0]["text"])
    assert "failed" == payload["status"]
    assert "nextThoughtNeeded" in payload["error"]
    assert "'maybe'" in payload["error"]
    assert 1 == len(tool.texts())


def test_mcp_helpers_directly() -> None:
    shaped = mcp_result({"thoughtNumber": 1, "note": "ü"})
    assert '"ü"' in shaped["content"][0]["text"]
    assert '{\n  "thoughtNumber": 1,' in shaped["content"][0]["text"]
    assert {"error": "boom", "status": "failed"} == json.loads(mcp_error("boom")["content"][0]["text"])
    assert {"error": "x: y", "status": "failed"} == json.loads(
        mcp_error(ValueError("x: y"))["content"][0]["text"]
    )


class FailingStore(MemoryStore):
    def _append(self, *args: Any, **kwargs: Any) -> Any:
        raise StoreError("disk on fire")


def test_a_store_failure_raises_from_call_and_is_an_error_result_for_mcp(colour: str) -> None:
    tool = Tool(SequentialThinkingTool(FailingStore()), colour)
    with pytest.raises(StoreError, match="disk on fire"):
        tool(args())
    result = tool.mcp(args())
    assert result["isError"]
    assert "disk on fire" in json.loads(result["content"][0]["text"])["error"]
    assert () == tool.tool.live_sessions


# --- several server processes on one store ------------------------------------

PROCESSES, CALLS = 4, 100


def _serve(root: str, writer: int, start: Any, results: Any) -> None:
    """One 'server process': its own tool on the shared root, CALLS calls to one session."""
    tool = SequentialThinkingTool(FileSystemStore(root, durable=False))
    start.wait()
    lengths = []
    try:
        for step in range(CALLS):
            call = args(step + 1, CALLS, text=f"process {writer} call {step}", sessionId="shared")
            lengths.append(tool.call(call)["thoughtHistoryLength"])
    except Exception as exc:  # reported to the test, which fails on it
        results.put((writer, lengths, repr(exc)))
        return
    results.put((writer, lengths, ""))


def test_processes_sharing_a_store_record_every_call_exactly_once(tmp_path: Path) -> None:
    """4 processes x 100 calls on one session id: 400 thoughts, each once; the lengths
    returned are distinct, 1 to 400, and rise within each process.
    """
    context = multiprocessing.get_context("fork")
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=_serve, args=(str(tmp_path), w, start, results)) for w in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [""] * PROCESSES == [error for _, _, error in outcomes]
    lengths = [n for _, ns, _ in outcomes for n in ns]
    assert list(range(1, PROCESSES * CALLS + 1)) == sorted(lengths)
    for _, ns, _ in outcomes:
        assert ns == sorted(ns)
    texts = [t.thought for t in FileSystemStore(tmp_path).restore("shared").thought_history]
    assert sorted(f"process {w} call {s}" for w in range(PROCESSES) for s in range(CALLS)) == sorted(texts)
    for writer in range(PROCESSES):  # each process's thoughts in the order it sent them
        own = [t for t in texts if t.startswith(f"process {writer} ")]
        assert [f"process {writer} call {s}" for s in range(CALLS)] == own


def test_concurrent_calls_in_one_process_record_each_thought_once(
    make_store: Callable[[], SessionStore],
) -> None:
    """8 threads calling and 40 coroutines awaiting acall on one session at the same time."""
    tool = SequentialThinkingTool(make_store())

    def in_thread(worker: int) -> list[int]:
        return [
            tool.call(args(step + 1, 5, text=f"thread {worker} step {step}"))["thoughtHistoryLength"]
            for step in range(5)
        ]

    async def in_loop() -> list[int]:
        calls = [tool.acall(args(1, 1, text=f"coroutine {k}")) for k in range(40)]
        return [result["thoughtHistoryLength"] for result in await asyncio.gather(*calls)]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        threads = pool.map(in_thread, range(8))
        from_loop = asyncio.run(in_loop())
        lengths = [n for ns in threads for n in ns] + from_loop
    assert list(range(1, 81)) == sorted(lengths)
    texts = [t.thought for t in tool.store.restore("default").thought_history]
    assert 80 == len(set(texts)) == len(texts)
