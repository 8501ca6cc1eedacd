"""The sequential-thinking tool for tool servers, in no framework's terms.

:class:`SequentialThinkingTool` is what an MCP server (or any function-calling
loop) exposes to a model: a name, a description, JSON Schemas for arguments
and result, and ``call``/``acall`` taking the JSON object the model sent. It
reads both dialects in use, the reference server's camelCase arguments and the
seed's snake_case ones, and answers in the reference's shape, so it replaces
either. Unlike the reference, thoughts are kept per session in a store and
survive restarts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Final

import attrs

from seqthink import _rules
from seqthink._arguments import ToolCall, parse_call
from seqthink._filesystem import FileSystemStore
from seqthink._session import check_options, ns_to_datetime
from seqthink._store import SessionStore, _cutoff
from seqthink.errors import InvalidArgumentError, InvalidThoughtError, SeqthinkError, ToolInputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from datetime import datetime, timedelta

    from seqthink._session import Clock
    from seqthink._thought import Thought, ThoughtResult

__all__ = [
    "DEFAULT_NAME",
    "DESCRIPTION",
    "SequentialThinkingTool",
    "mcp_error",
    "mcp_result",
]

#: The reference server's tool name; clients' prompts often mention it.
DEFAULT_NAME: Final = "sequentialthinking"

#: What the model reads about the tool. Clients cap descriptions at 1,024 characters.
DESCRIPTION: Final = (
    "Think through a problem one numbered thought at a time before acting. Call once per "
    "thought: put the thought in `thought`, its position in `thoughtNumber` (1, 2, 3, ...), "
    "your current estimate of how many thoughts it will take in `totalThoughts` (raise or "
    "lower it as you learn), and set `nextThoughtNeeded` to false only on the last one.\n"
    "- Revise: to correct an earlier thought, send a new one with `isRevision` true and "
    "`revisesThought` set to the number it corrects.\n"
    "- Branch: to explore an alternative, set `branchFromThought` to the thought you start "
    "from and `branchId` to a short name for the branch; keep the same `branchId` on its "
    "later thoughts.\n"
    "- Reaching the estimate but not done? Set `needsMoreThoughts` true and go on.\n"
    "- Sessions: thoughts are kept under `sessionId` (default: one shared session) and "
    "survive restarts. Use one id per task, reuse it to continue, a new one to start fresh.\n"
    "The result gives the numbers back, the branches so far and how many thoughts the "
    "session holds."
)

_log = logging.getLogger("seqthink")
_TOOL_NAME_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


def _input_schema() -> dict[str, Any]:
    positive = {"type": "integer", "minimum": 1, "maximum": _rules.MAX_NUMBER}
    flag = {"type": "boolean"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "thought": {"type": "string", "minLength": 1, "description": "This thinking step."},
            "nextThoughtNeeded": {**flag, "description": "False only when this is the last thought."},
            "thoughtNumber": {**positive, "description": "This thought's position, from 1."},
            "totalThoughts": {**positive, "description": "Current estimate of the thoughts needed."},
            "isRevision": {**flag, "description": "True when this thought corrects an earlier one."},
            "revisesThought": {**positive, "description": "The number of the thought being corrected."},
            "branchFromThought": {**positive, "description": "The thought a new branch starts from."},
            "branchId": {
                "type": "string",
                "maxLength": _rules.MAX_BRANCH_ID_LENGTH,
                "description": "A short name for the branch this thought belongs to.",
            },
            "needsMoreThoughts": {**flag, "description": "True when the estimate proved too low."},
            "sessionId": {
                "type": "string",
                "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
                "description": "Which line of thinking this belongs to; omit for the shared default.",
            },
        },
        "required": ["thought", "nextThoughtNeeded", "thoughtNumber", "totalThoughts"],
    }


def _output_schema() -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "thoughtNumber": {"type": "integer", "minimum": 1},
            "totalThoughts": {"type": "integer", "minimum": 1},
            "nextThoughtNeeded": {"type": "boolean"},
            "branches": {"type": "array", "items": {"type": "string"}},
            "thoughtHistoryLength": count,
            "sessionId": {"type": "string"},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
        "required": [
            "thoughtNumber",
            "totalThoughts",
            "nextThoughtNeeded",
            "branches",
            "thoughtHistoryLength",
            "sessionId",
        ],
    }


class SequentialThinkingTool:
    """The sequential-thinking tool over a session store.

    Every accepted thought is recorded through ``store.append`` before the call
    returns, so several processes may serve one store and a restart loses
    nothing. The tool itself keeps no thoughts: per session it remembers only
    when it last served it, for at most ``max_live_sessions`` sessions (least
    recently used out), which :attr:`live_sessions` and :meth:`evict_idle`
    report. ``on_thought`` is called after each accepted thought with the
    session id, the thought as recorded and the result (the MCP server logs
    from it). Nothing runs in the background.
    """

    def __init__(
        self,
        store: SessionStore | None = None,
        *,
        default_session_id: str = "default",
        max_live_sessions: int = 1024,
        name: str = DEFAULT_NAME,
        strict: bool = False,
        max_thought_length: int = _rules.DEFAULT_MAX_THOUGHT_LENGTH,
        on_thought: Callable[[str, Thought, ThoughtResult], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if store is not None and not isinstance(store, SessionStore):
            raise InvalidArgumentError("store", store, "must be a seqthink.SessionStore or None")
        _rules.check_session_id(default_session_id)
        if (
            not isinstance(max_live_sessions, int)
            or isinstance(max_live_sessions, bool)
            or max_live_sessions < 1
        ):
            raise InvalidArgumentError("max_live_sessions", max_live_sessions, "must be an integer >= 1")
        if not isinstance(name, str) or not 1 <= len(name) <= 128 or not set(name) <= _TOOL_NAME_CHARS:
            raise InvalidArgumentError(
                "name", name, "must be 1-128 characters of A-Z, a-z, 0-9, '_', '-' or '.'"
            )
        check_options(strict=strict, max_thought_length=max_thought_length)
        if on_thought is not None and not callable(on_thought):
            raise InvalidArgumentError("on_thought", on_thought, "must be callable or None")
        self._store = FileSystemStore() if store is None else store
        self._default_session_id = default_session_id
        self._max_live_sessions = max_live_sessions
        self._name = name
        self._strict = strict
        self._max_thought_length = max_thought_length
        self._on_thought = on_thought
        self._clock: Clock = time.time_ns if clock is None else clock
        self._lock = threading.Lock()
        self._live: OrderedDict[str, int] = OrderedDict()  # session id -> last served, ns

    # --- what a framework needs to list the tool ------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def description(self) -> str:
        return DESCRIPTION

    @property
    def input_schema(self) -> dict[str, Any]:
        """JSON Schema (draft 2020-12) of the arguments, with the reference's camelCase names.

        The snake_case names and string forms described in the docs are also
        accepted; the schema shows the one spelling models should use.
        """
        return _input_schema()

    @property
    def output_schema(self) -> dict[str, Any]:
        """JSON Schema (draft 2020-12) of what :meth:`call` returns."""
        return _output_schema()

    @property
    def annotations(self) -> dict[str, Any]:
        """MCP tool annotations, truthfully: every call appends, nothing is destroyed."""
        return {
            "title": "Sequential thinking",
            "readOnlyHint": False,
            "destructiveHint": False,
            "idempotentHint": False,
            "openWorldHint": False,
        }

    def definition(self) -> dict[str, Any]:
        """The tool as an MCP ``tools/list`` entry."""
        return {
            "name": self._name,
            "description": DESCRIPTION,
            "inputSchema": _input_schema(),
            "outputSchema": _output_schema(),
            "annotations": self.annotations,
        }

    @property
    def store(self) -> SessionStore:
        return self._store

    @property
    def default_session_id(self) -> str:
        return self._default_session_id

    @property
    def max_live_sessions(self) -> int:
        return self._max_live_sessions

    # --- calls --------------------------------------------------------------

    def call(self, arguments: Mapping[str, object]) -> dict[str, Any]:
        """Record the thought in ``arguments`` and return the result object.

        Raises ToolInputError (nothing recorded) for bad arguments or a thought
        the session refuses, and a SeqthinkError such as StoreError when the
        store fails (nothing recorded either).
        """
        request = parse_call(arguments)
        session_id = request.session_id or self._default_session_id
        with _named_as_sent(request):
            result = self._store.append(
                session_id, request.thought, strict=self._strict, max_thought_length=self._max_thought_length
            )
        return self._done(session_id, request.thought, result)

    async def acall(self, arguments: Mapping[str, object]) -> dict[str, Any]:
        """:meth:`call`, without blocking the event loop."""
        request = parse_call(arguments)
        session_id = request.session_id or self._default_session_id
        with _named_as_sent(request):
            result = await self._store.aappend(
                session_id, request.thought, strict=self._strict, max_thought_length=self._max_thought_length
            )
        return self._done(session_id, request.thought, result)

    def call_mcp(self, arguments: Mapping[str, object] | None) -> dict[str, Any]:
        """:meth:`call`, shaped as an MCP CallToolResult; a refusal or store failure
        becomes an ``isError`` result the model can read instead of an exception.
        """
        try:
            return mcp_result(self.call(arguments or {}))
        except SeqthinkError as exc:
            return mcp_error(exc)

    async def acall_mcp(self, arguments: Mapping[str, object] | None) -> dict[str, Any]:
        """:meth:`call_mcp`, without blocking the event loop."""
        try:
            return mcp_result(await self.acall(arguments or {}))
        except SeqthinkError as exc:
            return mcp_error(exc)

    def _done(self, session_id: str, thought: Thought, result: ThoughtResult) -> dict[str, Any]:
        self._touch(session_id)
        if self._on_thought is not None:
            recorded = thought
            if result.total_thoughts != thought.total_thoughts:
                recorded = _with_total(thought, result.total_thoughts)
            try:
                self._on_thought(session_id, recorded, result)
            except Exception:  # noqa: BLE001  # the thought is stored: failing the call would invite a duplicate
                _log.exception("on_thought listener failed for session %r", session_id)
        shaped: dict[str, Any] = {
            "thoughtNumber": result.thought_number,
            "totalThoughts": result.total_thoughts,
            "nextThoughtNeeded": result.next_thought_needed,
            "branches": list(result.branches),
            "thoughtHistoryLength": result.thought_history_length,
            "sessionId": session_id,
        }
        if result.warnings:
            shaped["warnings"] = list(result.warnings)
        return shaped

    # --- the sessions the tool has served -------------------------------------

    @property
    def live_sessions(self) -> tuple[str, ...]:
        """Ids of the sessions served recently, least recently used first."""
        with self._lock:
            return tuple(self._live)

    def _touch(self, session_id: str) -> None:
        now = self._clock()
        with self._lock:
            self._live[session_id] = now
            self._live.move_to_end(session_id)
            while len(self._live) > self._max_live_sessions:
                self._live.popitem(last=False)

    def evict_idle(self, older_than: timedelta, *, now: datetime | None = None) -> list[str]:
        """Forget the sessions not served within ``older_than``; return their ids.

        Their thoughts stay in the store: the next call naming one carries on.
        """
        cutoff = _cutoff(older_than, now if now is not None else ns_to_datetime(self._clock()), None)
        with self._lock:
            idle = [sid for sid, last in self._live.items() if cutoff is not None and last < cutoff]
            for sid in idle:
                del self._live[sid]
        return idle

    def cleanup(
        self, older_than: timedelta, *, now: datetime | None = None, limit: int | None = None
    ) -> list[str]:
        """Delete stored sessions idle for ``older_than`` (``store.cleanup``); return their ids."""
        deleted = self._store.cleanup(older_than, now=now, limit=limit)
        self._forget(deleted)
        return deleted

    async def acleanup(
        self, older_than: timedelta, *, now: datetime | None = None, limit: int | None = None
    ) -> list[str]:
        """:meth:`cleanup`, without blocking the event loop."""
        deleted = await self._store.acleanup(older_than, now=now, limit=limit)
        self._forget(deleted)
        return deleted

    def _forget(self, session_ids: list[str]) -> None:
        with self._lock:
            for sid in session_ids:
                self._live.pop(sid, None)

    def __repr__(self) -> str:
        return f"<SequentialThinkingTool {self._name!r} on {self._store!r}>"


def mcp_result(result: Mapping[str, Any]) -> dict[str, Any]:
    """A successful call's result as an MCP CallToolResult: structured, plus the same as text."""
    return {
        "content": [{"type": "text", "text": json.dumps(result, indent=2, ensure_ascii=False)}],
        "structuredContent": dict(result),
        "isError": False,
    }


def mcp_error(error: BaseException | str) -> dict[str, Any]:
    """A refused or failed call as an MCP CallToolResult with ``isError`` set."""
    message = error if isinstance(error, str) else str(error)
    text = json.dumps({"error": message, "status": "failed"}, indent=2, ensure_ascii=False)
    return {"content": [{"type": "text", "text": text}], "isError": True}


@contextlib.contextmanager
def _named_as_sent(request: ToolCall) -> Iterator[None]:
    """Turn a session's refusal of the thought into a ToolInputError naming the
    field as the caller spelled it (``revisesThought`` or ``revises_thought``).
    """
    try:
        yield
    except InvalidThoughtError as exc:
        name = request.names.get(exc.field, exc.field)
        raise ToolInputError([(name, exc.value, exc.reason)]) from exc


def _with_total(thought: Thought, total: int) -> Thought:
    return attrs.evolve(thought, total_thoughts=total)
