"""Peers of seqthink, timed recording the same thoughts through their own code.

Each function records the given thoughts (dicts with the reference server's camelCase
keys) in order, one call per thought, into one fresh session, and returns the wall-clock
seconds of each call (``time.perf_counter`` around the call and nothing else), or a
string saying why the peer was skipped or could not record them. A missing peer is never
an exception. The peers are imported lazily, so this module imports without them.

mcp-sequential-thinking 0.7.0 (SQLite)
    The storage layer its ``process_thought`` MCP tool calls:
    ``LegacyAdapter(SessionRepository(folder)).record_thought(**fields)``, set up the way
    its ``server.main()`` does for a file-backed store (``ThoughtStorage(folder)`` first,
    whose only effect on a new folder is the folder and a lock file). ``fields`` are the
    keyword arguments ``process_thought`` passes: the thought, its numbers, the revision
    and branch fields, ``stage=ThoughtStage.ANALYSIS`` (the peer requires a stage; the
    reference has none, so every thought gets the same one and raises no stage warning)
    and empty tags, axioms and assumptions. One call opens a new SQLite connection to
    ``worklog.sqlite3`` (WAL journal, ``PRAGMA synchronous=FULL`` set by the package on
    every connection), runs ``BEGIN IMMEDIATE``, reads back and re-validates every
    thought already in the session (pydantic), so a call costs O(thoughts so far), then
    inserts one ``steps`` row (the text, plus the whole thought as JSON in its ``legacy``
    column: ~0.45 kB for a 210-character thought), bumps the session's version, commits
    and closes. As that connection is the only one, closing it checkpoints the WAL into
    the database and deletes the WAL, so every call also creates a new WAL file and
    copies the pages it changed (about six 4 kB pages) twice: into the WAL, then into
    the database. The analysis ``process_thought`` then does on the result is not timed.
    It refuses some thoughts the reference takes (``thoughtNumber`` above
    ``totalThoughts``, a number already used on the same line, a revision or branch of a
    thought it does not hold); the function then returns the refusal as its string.

    ``durable=True`` is the package's own behaviour (WAL, ``synchronous=FULL``); strace
    shows five fdatasyncs per thought: the new WAL's header, the folder (new file), the
    commit, the checkpoint's WAL sync and the database. ``durable=False`` sets
    ``PRAGMA synchronous=OFF`` on each of its connections, right after the package's own
    pragmas (the peer has no setting for it): no fsync at all in a call, still atomic
    against a crash of the process, as ``FileSystemStore(durable=False)`` is.

deepthinking 0.2.4 (one JSON file per session)
    The storage layer its ``sequential_thinking`` MCP tool calls:
    ``StorageManager(folder).add_thought(session_id, Thought(...))``, after
    ``create_session`` made the session as the tool does on first use. The timed call
    builds the peer's ``Thought`` model (pydantic validation; ``type`` is "revision" or
    "branch" as the tool derives it) and calls ``add_thought``, which reads and re-parses
    the whole session file, appends the thought, copies the previous file to
    ``.backups/sessions/`` (``shutil.copy2``), writes the whole session again as indented
    JSON to a temporary file, fsyncs it and renames it over ``sessions/<id>.json``, then
    reads and rewrites ``sessions/.index.json`` in place. Every call rewrites the whole
    session, so it costs O(thoughts so far) in CPU and bytes written: ~0.85 kB of
    indented JSON per 210-character thought, written twice (the backup and the new file),
    so ~1.7 MB per call at the 1,000th thought.

    deepthinking offers no durability setting. It always fsyncs the new session file,
    once per thought (strace: one fsync, one rename), but never the folder after the
    rename, nor the backup, nor the index it rewrites in place.
    So ``durable=True`` and ``durable=False`` run the same code as it is; nothing is added
    to or removed from the peer. Through its MCP tool, 1,000 thoughts would also need
    ``DEEP_THINKING_MAX_THOUGHTS`` raised (the tool rejects ``totalThoughts`` above 50 by
    default); the storage layer has no such cap.

The reference TypeScript server (npm ``@modelcontextprotocol/server-sequential-thinking``)
    Runs ``node benchmarks/node_reference.mjs`` on an npm install of the pinned package in
    ``benchmarks/.node/`` (installed there with npm when absent). Per thought it times the
    SDK's own input parse (``McpServer.validateToolInput`` with the tool's zod schema, as
    registered by the package) plus ``SequentialThinkingServer.processThought`` with
    ``DISABLE_THOUGHT_LOGGING=true``, in memory (the reference keeps nothing on disk), after
    an untimed warm-up; see that script for the details. Skipped, with the reason, when
    node or npm is absent or the install fails.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "DEEPTHINKING_VERSION",
    "MCP_SEQUENTIAL_THINKING_VERSION",
    "NODE_PACKAGES",
    "NODE_PREFIX",
    "deepthinking",
    "mcp_sequential_thinking",
    "node_reference",
]

#: A thought as the reference server's tool takes it: ``thought``, ``thoughtNumber``,
#: ``totalThoughts``, ``nextThoughtNeeded`` and optionally ``isRevision``,
#: ``revisesThought``, ``branchFromThought``, ``branchId``.
Thought: TypeAlias = dict[str, Any]

MCP_SEQUENTIAL_THINKING_VERSION: Final = "0.7.0"
DEEPTHINKING_VERSION: Final = "0.2.4"

#: The reference server and, pinned too, the SDK that parses its input and the zod it uses.
NODE_PACKAGES: Final = {
    "@modelcontextprotocol/server-sequential-thinking": "2026.8.31",
    "@modelcontextprotocol/sdk": "1.32.2",
    "zod": "4.6.7",
}
_HERE: Final = Path(__file__).resolve().parent
#: Where ``node_reference`` installs the npm packages (not under version control).
NODE_PREFIX: Final = _HERE / ".node"
NODE_SCRIPT: Final = _HERE / "node_reference.mjs"

_REQUIREMENTS: Final = "pip install -r benchmarks/requirements-peers.txt"
_NPM_TIMEOUT: Final = 600.0
_NODE_TIMEOUT: Final = 600.0
_ERROR_TAIL: Final = 800


def _not_installed(distribution: str, version: str) -> str | None:
    """Why ``distribution==version`` cannot be benchmarked, or None when it can."""
    try:
        found = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return f"{distribution} is not installed ({_REQUIREMENTS})"
    if found != version:
        return f"{distribution} {found} is installed; these measurements are written for {version}"
    return None


@contextlib.contextmanager
def _root_logging_kept() -> Iterator[None]:
    """Undo what importing a peer does to the root logger.

    mcp-sequential-thinking calls ``logging.basicConfig(level=INFO)`` at import, which
    would otherwise change logging for everything measured after it in this process.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def _fresh_folder(workdir: Path, name: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _ERROR_TAIL else "..." + text[-_ERROR_TAIL:]


# --- mcp-sequential-thinking -----------------------------------------------------------


def _without_sync(repository: Any) -> None:
    """Make each of the repository's connections run with ``PRAGMA synchronous=OFF``.

    The package opens a connection per operation in ``_connection`` and sets
    ``synchronous=FULL`` there; this wraps that method on the instance and sets OFF after
    it, before any transaction begins.
    """
    opened = repository._connection  # noqa: SLF001 - the peer has no public setting

    @contextlib.contextmanager
    def connection() -> Iterator[Any]:
        with opened() as connected:
            connected.execute("PRAGMA synchronous=OFF")
            yield connected

    repository._connection = connection  # noqa: SLF001


def _mcp_fields(item: Thought, stage: Any) -> dict[str, Any]:
    """``process_thought``'s keyword arguments to ``record_thought`` for one thought."""
    return {
        "strict_stages": False,
        "thought": item["thought"],
        "thought_number": item["thoughtNumber"],
        "total_thoughts": item["totalThoughts"],
        "next_thought_needed": item["nextThoughtNeeded"],
        "stage": stage,
        "tags": [],
        "axioms_used": [],
        "assumptions_challenged": [],
        "is_revision": bool(item.get("isRevision", False)),
        "revises_thought_number": item.get("revisesThought"),
        "branch_from_thought": item.get("branchFromThought"),
        "branch_id": item.get("branchId"),
    }


def mcp_sequential_thinking(workdir: Path, thoughts: list[Thought], *, durable: bool) -> list[float] | str:
    """Seconds per ``LegacyAdapter.record_thought`` of mcp-sequential-thinking 0.7.0 (SQLite).

    Records into a new folder under ``workdir``. See the module docstring for what a call
    does and writes; ``durable=True`` is the package's default (WAL, synchronous=FULL),
    ``durable=False`` the same with synchronous=OFF.
    """
    reason = _not_installed("mcp-sequential-thinking", MCP_SEQUENTIAL_THINKING_VERSION)
    if reason is not None:
        return reason
    with _root_logging_kept():
        legacy = importlib.import_module("mcp_sequential_thinking.legacy")
        models = importlib.import_module("mcp_sequential_thinking.models")
        sessions = importlib.import_module("mcp_sequential_thinking.sessions")
        storage = importlib.import_module("mcp_sequential_thinking.storage")

    folder = _fresh_folder(workdir, "mcp-sequential-thinking")
    # As server.main() sets up a file-backed store (minus its startup lock).
    storage.ThoughtStorage(str(folder))
    repository = sessions.SessionRepository(str(folder))
    if not durable:
        _without_sync(repository)
    adapter = legacy.LegacyAdapter(repository)
    stage = models.ThoughtStage.ANALYSIS
    seconds: list[float] = []
    try:
        for index, item in enumerate(thoughts, 1):
            fields = _mcp_fields(item, stage)
            start = time.perf_counter()
            try:
                adapter.record_thought(**fields)
            except Exception as error:  # noqa: BLE001 - any refusal is reported, not raised
                return f"mcp-sequential-thinking refused thought {index}: {type(error).__name__}: {error}"
            seconds.append(time.perf_counter() - start)
    finally:
        adapter.close()
        repository.close()
    return seconds


# --- deepthinking ----------------------------------------------------------------------

_DEEPTHINKING_SESSION: Final = "default"  # the tool's default session_id


def _deepthinking_fields(item: Thought) -> dict[str, Any]:
    """The ``Thought`` model's fields, as the ``sequential_thinking`` tool builds them."""
    is_revision = bool(item.get("isRevision", False))
    branch_from = item.get("branchFromThought")
    kind = "revision" if is_revision else "branch" if branch_from is not None else "regular"
    return {
        "thought_number": item["thoughtNumber"],
        "content": item["thought"],
        "type": kind,
        "is_revision": is_revision,
        "revises_thought": item.get("revisesThought"),
        "branch_from_thought": branch_from,
        "branch_id": item.get("branchId"),
        "phase": "thinking",  # what the tool infers when no tool calls are given
    }


def deepthinking(workdir: Path, thoughts: list[Thought], *, durable: bool) -> list[float] | str:
    """Seconds per ``Thought(...)`` + ``StorageManager.add_thought`` of deepthinking 0.2.4.

    Records into a new folder under ``workdir``, one JSON file for the session. The peer
    offers no durable mode and no non-durable one: it always fsyncs the session file it
    writes (not the folder, backup or index), so ``durable`` changes nothing here; it is
    accepted so that every peer is called alike.
    """
    del durable  # the same code path either way: see the docstring
    reason = _not_installed("deepthinking", DEEPTHINKING_VERSION)
    if reason is not None:
        return reason
    with _root_logging_kept():
        manager_module = importlib.import_module("deep_thinking.storage.storage_manager")
        thought_module = importlib.import_module("deep_thinking.models.thought")
    model = thought_module.Thought

    manager = manager_module.StorageManager(_fresh_folder(workdir, "deepthinking"))
    manager.create_session(
        name="benchmark",
        metadata={"session_type": "sequential_thinking"},
        session_id=_DEEPTHINKING_SESSION,
    )
    seconds: list[float] = []
    for index, item in enumerate(thoughts, 1):
        fields = _deepthinking_fields(item)
        start = time.perf_counter()
        try:
            added = manager.add_thought(
                _DEEPTHINKING_SESSION,
                model(**fields, tool_calls=[], timestamp=datetime.now(timezone.utc)),
            )
        except Exception as error:  # noqa: BLE001 - any refusal is reported, not raised
            return f"deepthinking refused thought {index}: {type(error).__name__}: {error}"
        seconds.append(time.perf_counter() - start)
        if not added:
            return f"deepthinking lost its session at thought {index}"
    return seconds


# --- the reference server, with node ---------------------------------------------------


def _node_packages_missing() -> list[str]:
    """The pinned npm packages not installed, as ``name@version``, in ``NODE_PREFIX``."""
    missing = []
    for name, version in NODE_PACKAGES.items():
        manifest = NODE_PREFIX / "node_modules" / name / "package.json"
        try:
            found = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            found = None
        if found != version:
            missing.append(f"{name}@{version}")
    return missing


def _npm_install(npm: str, packages: list[str]) -> str | None:
    """Install ``packages`` into ``NODE_PREFIX``; the reason it failed, or None."""
    NODE_PREFIX.mkdir(parents=True, exist_ok=True)
    command = [
        npm,
        "install",
        "--prefix",
        str(NODE_PREFIX),
        "--save-exact",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        *packages,
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_NPM_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"npm install failed: {error}"
    if done.returncode != 0:
        return f"npm install failed (exit {done.returncode}): {_tail(done.stderr or done.stdout)}"
    still = _node_packages_missing()
    if still:
        return f"npm install did not install {', '.join(still)}"
    return None


def _run_node(node: str, thoughts: list[Thought]) -> list[float] | str:
    """Run ``node_reference.mjs`` on ``thoughts``: its timings, or why it failed."""
    try:
        done = subprocess.run(
            [node, str(NODE_SCRIPT), str(NODE_PREFIX)],
            input=json.dumps(thoughts),
            capture_output=True,
            text=True,
            env={**os.environ, "DISABLE_THOUGHT_LOGGING": "true"},
            timeout=_NODE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"node failed: {error}"
    if done.returncode != 0:
        return f"node_reference.mjs failed (exit {done.returncode}): {_tail(done.stderr)}"
    try:
        seconds = json.loads(done.stdout)
    except ValueError:
        return f"node_reference.mjs printed no JSON: {_tail(done.stdout)}"
    if (
        not isinstance(seconds, list)
        or len(seconds) != len(thoughts)
        or not all(isinstance(value, (int, float)) for value in seconds)
    ):
        return f"node_reference.mjs did not print {len(thoughts)} timings"
    return [float(value) for value in seconds]


def node_reference(thoughts: list[Thought]) -> list[float] | str:
    """Seconds per schema parse + ``processThought`` of the reference server, run by node.

    Installs the pinned npm packages into ``benchmarks/.node/`` first if they are not
    there. Returns why it was skipped when node or npm is absent or the install fails.
    """
    if not thoughts:
        return []
    node = shutil.which("node")
    if node is None:
        return "node is not installed (the reference server is TypeScript, run with node)"
    missing = _node_packages_missing()
    if missing:
        npm = shutil.which("npm")
        if npm is None:
            return f"npm is not installed, so {', '.join(missing)} cannot be installed"
        failure = _npm_install(npm, missing)
        if failure is not None:
            return failure
    return _run_node(node, thoughts)
