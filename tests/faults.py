"""Fault injection for the filesystem store: stop, fail or trace its file-system calls.

This module holds no tests. It gives the crash and I/O-error tests (and any
later ones, e.g. for ``append``) four tools:

:class:`Faults`
    A context manager that interposes on the os-level calls made on paths
    under one folder, the *scope*: ``os.open``, ``os.close``, ``os.read``,
    ``os.write``, ``os.fsync``, ``os.fdatasync``, ``os.ftruncate``,
    ``os.fstat``, ``os.stat``, ``os.lstat``, ``os.scandir``, ``os.mkdir``,
    ``os.rmdir``, ``os.unlink``, ``os.remove``, ``os.rename``, ``os.replace``,
    ``os.chmod``, ``os.fchmod`` and ``fcntl.flock`` (which the store's
    ``_flock`` calls). Python-level helpers are covered through the calls
    they make, each of which counts:
    ``os.makedirs`` (``os.stat``, ``os.mkdir``), ``shutil.rmtree`` (``os.lstat``,
    ``os.open``, ``os.fstat``, ``os.scandir``, ``os.unlink``, ``os.rmdir``,
    ``os.close``, on descriptors and with ``dir_fd``), ``os.path.lexists``/
    ``isdir``/``exists`` (``os.lstat``/``os.stat``) and the store's
    ``_fsync_dir`` (``os.open`` + ``os.fsync`` + ``os.close`` of the folder).
    A helper is not a call of its own, since no fault can strike it apart
    from the system calls it makes. Calls on file descriptors count when the
    descriptor was opened on a path in scope. Calls outside the scope
    (pytest's, the interpreter's) pass through untouched and uncounted.

    The calls in scope are numbered 1, 2, 3 ... in the order they start.
    At call N the context can

    * ``kill_at=N``: SIGKILL the process before call N runs, so no
      ``finally`` or ``except`` clause runs. Allowed only in a child made by
      :func:`fork_child`, so a mistake cannot kill the test runner;
    * ``halt_at=N``: a kill simulated in process. Call N and every later call
      in scope raise :class:`Halted` (a BaseException) and have no effect,
      so ``except``/``finally`` clauses run but cannot touch the disk.
      (``close`` does release the descriptor, as the kernel would.)
    * ``fail_at=N, errno=E``: raise ``OSError(E)`` instead of running call N
      (``persistent=False``), or instead of running every call from N on
      (``persistent=True``, e.g. a disk that stays full). A failing ``close``
      still releases the descriptor, as on Linux.

    ``sync=False`` skips the real ``fsync``/``fdatasync`` of calls in scope
    (they are still counted, traced, and can fail): for tests that ask what
    a process crash or an error does, or that judge durability with
    :class:`Disk` rather than the real disk, it makes durable mode as fast as
    the other.

    Every call in scope is recorded in :attr:`Faults.trace` as a :class:`Call`
    (paths made absolute, flags, the bytes written, the new descriptor, the
    errno of a failure), and :meth:`Faults.mark` puts labels between calls
    (e.g. "step 1 returned").

:class:`Disk`
    A power-loss simulator. It starts from a real folder, all of it taken as
    durable, replays a trace call by call, and tracks what a conservative
    POSIX file system has made durable, after the rules RELIABILITY.md and
    "All File Systems Are Not Created Equal" (OSDI'14) describe:

    * file data is durable only once ``fsync``/``fdatasync`` of that file
      succeeded;
    * a directory entry change (create, mkdir, rename, unlink, rmdir) is
      durable only once an ``fsync`` of that directory succeeded; a rename is
      atomic (all or nothing) but may be lost; a rename between two folders
      is durable in each folder once that folder is fsynced;
    * a failed ``fsync`` makes nothing durable, and (``poison_files`` and
      ``poison_dirs``, both on by default, after Linux's behaviour on
      write-back errors, "fsyncgate") the changes it should have flushed are
      lost for good: a later successful fsync of the same file or folder does
      not save them. Only making them again does. With ``poison_dirs=False``
      a failed fsync of a folder is taken as if it had not happened, and a
      later successful one persists the folder's pending changes.

    :meth:`Disk.images` then lists every durable image the model allows at
    that point: file data of unsynced files lost (new files empty), zeroed
    (size kept, bytes zero) or kept, combined with unsynced directory changes
    persisted as none, every prefix in time order, each one alone or all but
    one. :func:`materialize` writes an image into a fresh folder.

:func:`fork_child`
    Runs a function in a forked child that reports lines through a pipe,
    optionally SIGKILLed some seconds after its first report.

Workloads (the last section)
    Named, deterministic scenarios for seqthink's FileSystemStore: a
    :class:`Workload` holds sessions with fixed clocks, a ``setup`` that
    commits the starting state, and :class:`Step` s (in-memory thinking, then
    one store call). :func:`expected_states` runs a workload on a MemoryStore
    to learn the committed state after each step.
"""

# ruff: noqa: PTH100, PTH103, PTH117, PTH118, PTH120, PTH123, PTH206, PTH208
# The harness works with os-level paths and calls on purpose, as the store does.

from __future__ import annotations

import contextlib
import errno as errno_codes
import os
import random
import select
import signal
import stat
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NoReturn

from seqthink import FileSystemStore, MemoryStore, SessionStore, ThinkingSession, Thought
from seqthink._session import datetime_to_ns
from seqthink.errors import SessionNotFoundError
from seqthink.testing import sample_session

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from typing_extensions import Self

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, no fork; these tests are POSIX-only
    fcntl = None  # type: ignore[assignment]

# --- the recorded calls ----------------------------------------------------------

#: The ``os`` functions interposed on, by name.
OS_CALLS = (
    "open",
    "close",
    "read",
    "write",
    "fsync",
    "fdatasync",
    "ftruncate",
    "fstat",
    "stat",
    "lstat",
    "scandir",
    "mkdir",
    "rmdir",
    "unlink",
    "remove",
    "rename",
    "replace",
    "chmod",
    "fchmod",
)
#: Calls on a descriptor (first argument), not on a path.
FD_CALLS = frozenset(
    {"close", "read", "write", "fsync", "fdatasync", "ftruncate", "fstat", "fchmod", "flock"}
)
#: Exit code of a child that was told to kill itself and was still alive afterwards.
NOT_KILLED = 125


@dataclass(frozen=True)
class Call:
    """One file-system call in scope, as it ended.

    ``path`` is absolute; for a call on a descriptor it is the path the
    descriptor was opened at. ``target`` is the destination of a rename.
    ``result`` is the new descriptor of an ``open`` and the byte count of a
    ``write``. ``error`` is the errno of a failed call (``injected`` tells
    whether the failure was ours); ``halted`` marks a call stopped by
    ``halt_at`` (it had no effect).
    """

    index: int
    name: str
    path: str | None = None
    target: str | None = None
    fd: int | None = None
    flags: int = 0
    data: bytes = b""
    result: int | None = None
    error: int | None = None
    injected: bool = False
    halted: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.halted

    def __str__(self) -> str:
        where = self.path if self.target is None else f"{self.path} -> {self.target}"
        outcome = (
            ""
            if self.ok
            else (" (halted)" if self.halted else f" ({errno_codes.errorcode.get(self.error or 0)})")
        )
        return f"#{self.index} {self.name} {where}{outcome}"


class Halted(BaseException):
    """Raised by every call in scope from ``halt_at`` on: the simulated process is dead."""


_in_child = False  # set in children made by fork_child; kill_at is refused elsewhere


class Faults:
    """Count, trace, stop or fail the file-system calls made under ``scope``.

    Use as ``with Faults(scope, fail_at=3, errno=errno.ENOSPC) as faults:``.
    Patches are global (``os``, ``fcntl``) while the block runs, so use it
    from one thread at a time and do not nest two. See the module docstring.
    """

    def __init__(
        self,
        scope: str | os.PathLike[str],
        *,
        kill_at: int | None = None,
        halt_at: int | None = None,
        fail_at: int | None = None,
        errno: int = errno_codes.EIO,
        persistent: bool = False,
        sync: bool = True,
    ) -> None:
        self.scope = os.path.abspath(os.fspath(scope))
        self.kill_at = kill_at
        self.halt_at = halt_at
        self.fail_at = fail_at
        self.errno = errno
        self.persistent = persistent
        self.sync = sync
        #: How many calls in scope have started.
        self.calls = 0
        #: Every call in scope, in the order they ended (which is the order they started).
        self.trace: list[Call] = []
        #: (label, number of calls started before the label was set).
        self.marks: list[tuple[str, int]] = []
        #: The numbers of the calls an error was injected into.
        self.injected: list[int] = []
        self._fds: dict[int, str] = {}
        self._saved: list[tuple[Any, str, Any]] = []

    # --- public ---

    def mark(self, label: str) -> None:
        """Record ``label`` after the calls made so far."""
        self.marks.append((label, self.calls))

    def __enter__(self) -> Self:
        if self.kill_at is not None and not _in_child:
            raise RuntimeError("kill_at is only allowed in a child made by fork_child()")
        for name in OS_CALLS:
            self._patch(os, name, name)
        if fcntl is not None:
            self._patch(fcntl, "flock", "flock")
        return self

    def __exit__(self, *exc: object) -> None:
        while self._saved:
            module, attribute, original = self._saved.pop()
            setattr(module, attribute, original)

    # --- interposing ---

    def _patch(self, module: Any, attribute: str, name: str) -> None:
        real = getattr(module, attribute, None)
        if real is None:  # e.g. os.fdatasync on macOS
            return

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return self._call(name, real, args, kwargs)

        self._saved.append((module, attribute, real))
        setattr(module, attribute, wrapper)

    def _resolve(self, path: Any, dir_fd: Any = None) -> str | None:
        """The absolute path a call names, or None when it is outside the scope."""
        if path is None:
            return None
        if isinstance(path, int):
            return self._fds.get(path)
        text = os.fsdecode(os.fspath(path))
        if dir_fd is not None and not os.path.isabs(text):
            base = self._fds.get(dir_fd)
            if base is None:
                return None
            text = os.path.join(base, text)
        text = os.path.normpath(os.path.abspath(text))
        inside = text == self.scope or text.startswith(self.scope + os.sep)
        return text if inside else None

    def _describe(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
        """What the call would do, as a Call numbered 0, or None when it is out of scope."""
        first = (
            args[0] if args else kwargs.get("path", kwargs.get("fd", kwargs.get("name", kwargs.get("src"))))
        )
        if name in FD_CALLS:
            if not isinstance(first, int) or first not in self._fds:
                return None
            data = b""
            if name == "write":
                data = bytes(memoryview(args[1] if len(args) > 1 else kwargs["data"]))
            return Call(0, name, path=self._fds[first], fd=first, data=data)
        if name in {"rename", "replace"}:
            src = self._resolve(first, kwargs.get("src_dir_fd"))
            dst = self._resolve(args[1] if len(args) > 1 else kwargs.get("dst"), kwargs.get("dst_dir_fd"))
            if src is None and dst is None:
                return None
            return Call(0, name, path=src, target=dst)
        if name == "scandir" and first is None:
            first = "."
        path = self._resolve(first, kwargs.get("dir_fd"))
        if path is None:
            return None
        flags = 0
        if name == "open":
            flags = args[1] if len(args) > 1 else kwargs["flags"]
        return Call(0, name, path=path, fd=first if isinstance(first, int) else None, flags=flags)

    def _call(
        self, name: str, real: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        call = self._describe(name, args, kwargs)
        if call is None:
            return real(*args, **kwargs)
        self.calls += 1
        call = _evolve(call, index=self.calls)
        if call.index == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
            os._exit(NOT_KILLED)  # not reached: SIGKILL to oneself ends the process at once
        stop = self._stop(call)
        if stop is not None:
            if name == "close":  # the descriptor is released even when close fails
                with contextlib.suppress(OSError):
                    real(*args, **kwargs)
                self._forget(call.fd)
            raise stop
        if not self.sync and name in {"fsync", "fdatasync"}:
            self.trace.append(call)  # a success, as far as the caller and the trace can tell
            return None
        try:
            result = real(*args, **kwargs)
        except OSError as exc:
            if name == "close":
                self._forget(call.fd)
            self.trace.append(_evolve(call, error=exc.errno or 0))
            raise
        if name == "open":
            self._fds[result] = call.path or ""
            call = _evolve(call, result=result)
        elif name == "close":
            self._forget(call.fd)
        elif name == "write":
            call = _evolve(call, data=call.data[:result], result=result)
        self.trace.append(call)
        return result

    def _stop(self, call: Call) -> BaseException | None:
        """What call ``call.index`` raises instead of running (recorded in the trace), if anything."""
        index = call.index
        if self.halt_at is not None and index >= self.halt_at:
            self.trace.append(_evolve(call, halted=True))
            return Halted(f"halted at call {index}: {call}")
        if self.fail_at is not None and (index == self.fail_at or (self.persistent and index > self.fail_at)):
            self.trace.append(_evolve(call, error=self.errno, injected=True))
            self.injected.append(index)
            return OSError(self.errno, os.strerror(self.errno), call.path)
        return None

    def _forget(self, fd: int | None) -> None:
        if fd is not None:
            self._fds.pop(fd, None)


def _evolve(call: Call, **changes: Any) -> Call:
    values = {**call.__dict__, **changes}
    return Call(**values)


# --- power loss ------------------------------------------------------------------

#: A durable image: (path relative to the top, file bytes or None for a folder), sorted.
Image = tuple[tuple[str, bytes | None], ...]


class ModelError(AssertionError):
    """The trace does not fit the model (a call succeeded that the model says could not)."""


@dataclass
class _Node:
    is_dir: bool
    data: bytearray = field(default_factory=bytearray)  # a file's current bytes
    synced: bytes = b""  # a file's durable bytes
    dirty: bool = False  # a file has bytes not yet synced
    poisoned: bool = False  # a file's fsync failed: its unsynced bytes never become durable
    entries: dict[str, int] = field(default_factory=dict)  # a folder's current entries
    synced_entries: dict[str, int] = field(default_factory=dict)  # a folder's durable entries
    pending: list[tuple[int, str, int | None]] = field(default_factory=list)  # (change, name, node)


class Disk:
    """What a file system holds, and what of it would survive a power loss now.

    Build it with :meth:`scan` before the traced calls run, then feed it the
    trace with :meth:`apply`; :meth:`images` lists the possible durable
    states at that point. See the module docstring for the rules.
    """

    def __init__(self, top: str, *, poison_files: bool = True, poison_dirs: bool = True) -> None:
        self.top = os.path.abspath(top)
        self.poison_files = poison_files
        self.poison_dirs = poison_dirs
        self._nodes: dict[int, _Node] = {0: _Node(is_dir=True)}
        self._fds: dict[int, list[int]] = {}  # descriptor -> [node, offset]
        self._change = 0

    @classmethod
    def scan(
        cls, top: str | os.PathLike[str], *, poison_files: bool = True, poison_dirs: bool = True
    ) -> Disk:
        """A model of the folder ``top`` as it is now, all of it durable (call outside Faults)."""
        disk = cls(os.fspath(top), poison_files=poison_files, poison_dirs=poison_dirs)
        disk._scan(disk.top, 0)
        return disk

    def _scan(self, path: str, node_id: int) -> None:
        node = self._nodes[node_id]
        with os.scandir(path) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                child = self._new(is_dir=stat.S_ISDIR(info.st_mode))
                if stat.S_ISDIR(info.st_mode):
                    self._scan(entry.path, child)
                elif stat.S_ISREG(info.st_mode):
                    with open(entry.path, "rb") as file:
                        content = file.read()
                    self._nodes[child].data = bytearray(content)
                    self._nodes[child].synced = content
                else:
                    raise ModelError(f"{entry.path}: only files and folders are modelled")
                node.entries[entry.name] = node.synced_entries[entry.name] = child

    def _new(self, *, is_dir: bool) -> int:
        node_id = len(self._nodes)
        self._nodes[node_id] = _Node(is_dir=is_dir)
        return node_id

    def _parts(self, path: str | None) -> list[str]:
        if path is None:
            raise ModelError("a call without a path")
        relative = os.path.relpath(path, self.top)
        if relative == ".":
            return []
        if relative.startswith(".."):
            raise ModelError(f"{path} is outside {self.top}")
        return relative.split(os.sep)

    def _lookup(self, path: str | None) -> int | None:
        node_id = 0
        for part in self._parts(path):
            found = self._nodes[node_id].entries.get(part)
            if found is None:
                return None
            node_id = found
        return node_id

    def _parent(self, path: str | None) -> tuple[int, str]:
        parts = self._parts(path)
        if not parts:
            raise ModelError("the top folder has no parent in the model")
        parent = self._lookup(os.path.join(self.top, *parts[:-1]))
        if parent is None or not self._nodes[parent].is_dir:
            raise ModelError(f"{path}: its folder is not in the model")
        return parent, parts[-1]

    def _link(self, change: int, folder: int, name: str, node: int | None) -> None:
        entries = self._nodes[folder].entries
        if node is None:
            entries.pop(name, None)
        else:
            entries[name] = node
        self._nodes[folder].pending.append((change, name, node))

    def _next_change(self) -> int:
        self._change += 1
        return self._change

    def apply(self, call: Call) -> None:
        """Replay one call of a trace."""
        if call.halted:
            return
        if call.error is not None:
            if call.name in {"fsync", "fdatasync"} and call.fd in self._fds:
                self._fsync_failed(self._fds[call.fd][0])
            if call.name == "close":
                self._fds.pop(-1 if call.fd is None else call.fd, None)
            return
        handler = getattr(self, f"_do_{call.name}", None)
        if handler is not None:
            handler(call)

    def replay(self, calls: Iterable[Call]) -> None:
        for call in calls:
            self.apply(call)

    def _do_open(self, call: Call) -> None:
        node_id = self._lookup(call.path)
        if node_id is None:
            if not call.flags & os.O_CREAT:
                raise ModelError(f"{call}: opened a file the model does not have")
            folder, name = self._parent(call.path)
            node_id = self._new(is_dir=False)
            self._link(self._next_change(), folder, name, node_id)
        elif call.flags & os.O_TRUNC and not self._nodes[node_id].is_dir:
            self._nodes[node_id].data = bytearray()
            self._nodes[node_id].dirty = True
        self._fds[call.result if call.result is not None else -1] = [node_id, 0]

    def _do_write(self, call: Call) -> None:
        node_id, offset = self._fds[call.fd if call.fd is not None else -1]
        node = self._nodes[node_id]
        node.data[offset : offset + len(call.data)] = call.data
        node.dirty = True
        self._fds[call.fd if call.fd is not None else -1][1] = offset + len(call.data)

    def _do_ftruncate(self, call: Call) -> None:  # pragma: no cover - the store does not truncate
        node = self._nodes[self._fds[call.fd if call.fd is not None else -1][0]]
        node.data = bytearray()
        node.dirty = True

    def _do_fsync(self, call: Call) -> None:
        node = self._nodes[self._fds[call.fd if call.fd is not None else -1][0]]
        if node.is_dir:
            for _, name, target in node.pending:
                if target is None:
                    node.synced_entries.pop(name, None)
                else:
                    node.synced_entries[name] = target
            node.pending.clear()
        elif not node.poisoned:
            node.synced = bytes(node.data)
            node.dirty = False

    _do_fdatasync = _do_fsync

    def _fsync_failed(self, node_id: int) -> None:
        node = self._nodes[node_id]
        if node.is_dir and self.poison_dirs:
            node.pending.clear()  # those entry changes will never be made durable
        elif not node.is_dir and self.poison_files:
            node.poisoned = True

    def _do_close(self, call: Call) -> None:
        self._fds.pop(call.fd if call.fd is not None else -1, None)

    def _do_mkdir(self, call: Call) -> None:
        folder, name = self._parent(call.path)
        self._link(self._next_change(), folder, name, self._new(is_dir=True))

    def _do_unlink(self, call: Call) -> None:
        folder, name = self._parent(call.path)
        if name not in self._nodes[folder].entries:
            raise ModelError(f"{call}: removed a name the model does not have")
        self._link(self._next_change(), folder, name, None)

    _do_remove = _do_unlink
    _do_rmdir = _do_unlink

    def _do_rename(self, call: Call) -> None:
        source, name = self._parent(call.path)
        node_id = self._nodes[source].entries.get(name)
        if node_id is None:
            raise ModelError(f"{call}: renamed a name the model does not have")
        folder, new_name = self._parent(call.target)
        change = self._next_change()
        self._link(change, source, name, None)
        self._link(change, folder, new_name, node_id)

    _do_replace = _do_rename

    # --- durable images ---

    def pending_changes(self) -> list[int]:
        """The entry changes not yet durable, in the order they were made."""
        return sorted({change for node in self._nodes.values() for change, _, _ in node.pending})

    def images(self) -> dict[Image, str]:
        """Every durable image the model allows now, each with one policy that gives it."""
        pending = self.pending_changes()
        subsets: list[tuple[str, frozenset[int]]] = [
            (f"first {k} of {len(pending)} entry changes", frozenset(pending[:k]))
            for k in range(len(pending) + 1)
        ]
        if len(pending) > 1:
            subsets += [(f"only entry change {c}", frozenset({c})) for c in pending]
            subsets += [(f"all entry changes but {c}", frozenset(pending) - {c}) for c in pending]
        found: dict[Image, str] = {}
        for data in ("lost", "zeroed", "kept"):
            for label, persisted in subsets:
                image = self.image(data, persisted)
                found.setdefault(image, f"unsynced file data {data}, {label}")
        return found

    def image(self, data: str, persisted: frozenset[int]) -> Image:
        """The durable image when unsynced file data is ``data`` and the changes ``persisted`` made it."""
        out: list[tuple[str, bytes | None]] = []
        self._image(0, "", data, persisted, out, depth=0)
        return tuple(sorted(out))

    def _image(
        self,
        node_id: int,
        prefix: str,
        data: str,
        persisted: frozenset[int],
        out: list[tuple[str, bytes | None]],
        depth: int,
    ) -> None:
        if depth > 64:
            raise ModelError("folders nested too deep: a cycle in the model")
        node = self._nodes[node_id]
        entries = dict(node.synced_entries)
        for change, name, target in node.pending:
            if change in persisted:
                if target is None:
                    entries.pop(name, None)
                else:
                    entries[name] = target
        for name, child_id in entries.items():
            path = f"{prefix}{name}"
            child = self._nodes[child_id]
            if child.is_dir:
                out.append((path, None))
                self._image(child_id, f"{path}/", data, persisted, out, depth + 1)
            elif not child.dirty or child.poisoned or data == "lost":
                out.append((path, child.synced))
            elif data == "zeroed":
                out.append((path, bytes(len(child.data))))
            else:
                out.append((path, bytes(child.data)))


def materialize(image: Image, destination: str | os.PathLike[str]) -> None:
    """Write ``image`` into the (new) folder ``destination``."""
    top = os.fspath(destination)
    os.makedirs(top, exist_ok=True)
    for relative, content in image:
        path = os.path.join(top, *relative.split("/"))
        if content is None:
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as file:
                file.write(content)


# --- forked children ---------------------------------------------------------------


@dataclass
class ChildResult:
    """How a child made by :func:`fork_child` ended, and the lines it reported."""

    killed: bool
    exit_code: int | None
    lines: list[str]


def fork_child(
    body: Callable[[Callable[[str], None]], object],
    *,
    kill_after: float | None = None,
    timeout: float = 60.0,
) -> ChildResult:
    """Run ``body(report)`` in a forked child; ``report(line)`` sends a line to the parent.

    The child ends with ``os._exit`` (0, or 1 after an exception, which it
    reports as ``"error: ..."``), never returning into the test runner.
    With ``kill_after``, the parent waits for the child's first line, then
    sleeps ``kill_after`` seconds and SIGKILLs it. A child still running
    after ``timeout`` seconds is killed and AssertionError raised.
    """
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+: fork() with threads alive
        pid = os.fork()
    if pid == 0:
        _child(body, read_end, write_end)
    os.close(write_end)
    buffer = bytearray()
    reaped = False
    deadline = time.monotonic() + timeout
    try:
        if kill_after is not None:
            while b"\n" not in buffer and _read_some(read_end, buffer, deadline):
                pass
            time.sleep(kill_after)
            os.kill(pid, signal.SIGKILL)
        while _read_some(read_end, buffer, deadline):
            pass
        _, status = os.waitpid(pid, 0)
        reaped = True
    finally:
        os.close(read_end)
        if not reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    lines = buffer.decode("utf-8", "replace").splitlines()
    if os.WIFSIGNALED(status):
        return ChildResult(killed=os.WTERMSIG(status) == signal.SIGKILL, exit_code=None, lines=lines)
    return ChildResult(killed=False, exit_code=os.WEXITSTATUS(status), lines=lines)


def _read_some(fd: int, buffer: bytearray, deadline: float) -> bool:
    """Read what the child wrote; False at end of file. AssertionError after the deadline."""
    remaining = deadline - time.monotonic()
    ready, _, _ = select.select([fd], [], [], max(remaining, 0))
    if not ready:
        raise AssertionError("the child did not finish in time")
    chunk = os.read(fd, 65536)
    buffer.extend(chunk)
    return bool(chunk)


def _child(body: Callable[[Callable[[str], None]], object], read_end: int, write_end: int) -> NoReturn:
    global _in_child  # noqa: PLW0603 - a process-wide fact about this process
    code = 1
    try:
        os.close(read_end)
        _in_child = True

        def report(line: str) -> None:
            os.write(write_end, (line + "\n").encode())

        body(report)
        code = 0
    except BaseException as exc:  # a child reports everything and exits
        with contextlib.suppress(BaseException):
            os.write(write_end, f"error: {exc!r}\n".encode())
    finally:
        os._exit(code)


# --- workloads for seqthink's FileSystemStore -----------------------------------------

#: A session as stored: (history, created_at, last_activity); None when absent.
State = tuple[tuple[Thought, ...], datetime, datetime]
#: What a check saw: a State, None (absent) or a string describing an error.
Seen = State | None | str

#: "now" for cleanup in the workloads: the old sessions are months older, the young ones days.
NOW = datetime(2026, 1, 10, tzinfo=timezone.utc)
OLDER_THAN = timedelta(days=30)
OLD_START = datetime(2025, 6, 1, tzinfo=timezone.utc)
YOUNG_START = datetime(2026, 1, 2, tzinfo=timezone.utc)


class Tick:
    """A session clock: ns since the epoch, 1 ms later at every reading."""

    def __init__(self, start: datetime) -> None:
        self.ns = datetime_to_ns(start) + 321

    def __call__(self) -> int:
        self.ns += 1_000_000
        return self.ns


def small_session(session_id: str, start: datetime = YOUNG_START, thoughts: int = 3) -> ThinkingSession:
    """A session of ``thoughts`` thoughts with a fixed clock (a branch from the third on)."""
    session = ThinkingSession(session_id, clock=Tick(start))
    grow(session, thoughts)
    return session


def grow(session: ThinkingSession, count: int) -> None:
    """Record ``count`` more thoughts: plain, branch (new and existing ids), revision, non-ASCII."""
    for _ in range(count):
        n = len(session) + 1
        kind = n % 4
        if kind == 1 or n == 1:
            session.think(f"Thought {n}: plain.")
        elif kind == 2:
            session.think(f"Thought {n}: a revision of {n - 1}.", is_revision=True, revises_thought=n - 1)
        elif kind == 3:
            session.think(f"Thought {n}: a branch.", branch_from_thought=1, branch_id=f"b{n % 5}")
        else:
            session.think(f"Thought {n}: ünïcödé ✓ and “quotes”.")


def _nothing() -> None:
    """No in-memory change before the store call."""


@dataclass
class Step:
    """One step of a workload: in-memory changes (no I/O), then one store call."""

    label: str
    call: Callable[[SessionStore], object]
    think: Callable[[], object] = _nothing


@dataclass
class Workload:
    """Sessions with fixed clocks, a setup committing the start, and steps to run on a store."""

    name: str
    session_ids: tuple[str, ...]
    sessions: dict[str, ThinkingSession]
    setup: Callable[[SessionStore], None]
    steps: list[Step]

    def run(self, store: SessionStore, mark: Callable[[str], object] = lambda _: None) -> None:
        """Run every step on ``store``, calling ``mark`` after each returns."""
        for number, step in enumerate(self.steps, 1):
            step.think()
            step.call(store)
            mark(f"step {number}")


def state_of(session: ThinkingSession) -> State:
    return (session.thought_history, session.created_at, session.last_activity)


def stored_states(store: SessionStore, session_ids: Iterable[str]) -> dict[str, Seen]:
    """What ``store`` restores for each id: a State, None when absent, or a string naming the error."""
    return {session_id: _stored_state(store, session_id) for session_id in session_ids}


def _stored_state(store: SessionStore, session_id: str) -> Seen:
    try:
        return state_of(store.restore(session_id))
    except SessionNotFoundError:
        return None
    except Exception as exc:  # the checks report every error by name
        return f"{type(exc).__name__}: {exc}"


def stored_on_disk(root: str | os.PathLike[str], session_ids: Iterable[str]) -> dict[str, Seen]:
    """:func:`stored_states` of a fresh FileSystemStore on ``root``, as another process would see it."""
    return stored_states(FileSystemStore(root, durable=False), session_ids)


def expected_states(factory: Callable[[], Workload]) -> list[dict[str, Seen]]:
    """The committed state before the first step and after each step, from a MemoryStore run."""
    workload = factory()
    store = MemoryStore()
    workload.setup(store)
    states = [stored_states(store, workload.session_ids)]
    for step in workload.steps:
        step.think()
        step.call(store)
        states.append(stored_states(store, workload.session_ids))
    return states


def describe(seen: Seen, states: list[dict[str, Seen]] | None = None, session_id: str = "") -> str:
    """A short description of what a check saw, naming the step when it matches one."""
    if states is not None:
        for number, state in enumerate(states):
            if state.get(session_id, "?") == seen:
                return f"the state after step {number}" if number else "the state before step 1"
    if seen is None:
        return "absent"
    if isinstance(seen, str):
        return seen
    return f"{len(seen[0])} thoughts, last activity {seen[2].isoformat()}"


def temp_files(root: str | os.PathLike[str]) -> list[str]:
    """Leftover temp files (".*.tmp") anywhere under ``root``."""
    found = []
    for folder, _, files in os.walk(root):
        found += [os.path.join(folder, f) for f in files if f.startswith(".") and f.endswith(".tmp")]
    return sorted(found)


def tombs(root: str | os.PathLike[str]) -> list[str]:
    """Folders of interrupted deletes (".deleted-*") directly in ``root``."""
    try:
        return sorted(n for n in os.listdir(root) if n.startswith(".deleted-"))
    except FileNotFoundError:
        return []


def _save(session: ThinkingSession) -> Callable[[SessionStore], object]:
    return lambda store: store.save(session)


def _delete(session_id: str) -> Callable[[SessionStore], object]:
    return lambda store: store.delete(session_id)


def _grow_and_save(session: ThinkingSession, count: int) -> Step:
    return Step(
        f"save {count} more thoughts of {session.session_id}", _save(session), lambda: grow(session, count)
    )


def _save_all(*sessions: ThinkingSession) -> Callable[[SessionStore], None]:
    def setup(store: SessionStore) -> None:
        for session in sessions:
            store.save(session)

    return setup


def save_new() -> Workload:
    """Save four new thoughts (a plain one, a new branch, an existing branch, a revision) into s1."""
    s1, s2 = small_session("s1", thoughts=3), small_session("s2", thoughts=1)

    def think() -> None:
        s1.think("Another plain thought.")
        s1.think("A new branch from 2.", branch_from_thought=2, branch_id="fresh")
        s1.think("More on b3.", branch_from_thought=1, branch_id="b3")
        s1.think("Revising 2.", is_revision=True, revises_thought=2)

    return Workload(
        "save_new", ("s1", "s2"), {"s1": s1, "s2": s2}, _save_all(s1, s2), [Step("save", _save(s1), think)]
    )


def first_save() -> Workload:
    """The first save of s1 (seven thoughts, two branches) beside a stored s2."""
    s1, s2 = sample_session("s1"), small_session("s2", thoughts=1)
    return Workload(
        "first_save", ("s1", "s2"), {"s1": s1, "s2": s2}, _save_all(s2), [Step("save", _save(s1))]
    )


def first_save_new_root() -> Workload:
    """The first save of s1 into a store whose root folder does not exist yet."""
    s1 = sample_session("s1")
    return Workload("first_save_new_root", ("s1",), {"s1": s1}, _save_all(), [Step("save", _save(s1))])


def delete() -> Workload:
    """Delete s1 (three thoughts, one in a branch) beside a stored s2."""
    s1, s2 = small_session("s1", thoughts=3), small_session("s2", thoughts=1)
    return Workload(
        "delete",
        ("s1", "s2"),
        {"s1": s1, "s2": s2},
        _save_all(s1, s2),
        [Step("delete", lambda st: st.delete("s1"))],
    )


def cleanup() -> Workload:
    """Cleanup deleting two old sessions, keeping a young one, and removing an earlier delete's leftover."""
    o1, o2 = small_session("o1", OLD_START, 3), small_session("o2", OLD_START + timedelta(days=1), 1)
    y = small_session("y", YOUNG_START, 1)

    def setup(store: SessionStore) -> None:
        _save_all(o1, o2, y)(store)
        if isinstance(store, FileSystemStore):  # a delete killed after its rename left this
            tomb = store.root / ".deleted-gone-0123abcd"
            tomb.mkdir()
            (tomb / "thought1.json").write_bytes(b"{}")
            (tomb / "session.json").write_bytes(b"{}")

    step = Step("cleanup", lambda st: st.cleanup(OLDER_THAN, now=NOW))
    return Workload("cleanup", ("o1", "o2", "y"), {"o1": o1, "o2": o2, "y": y}, setup, [step])


def restore() -> Workload:
    """Restore s1 (seven thoughts, two branches); nothing changes."""
    s1 = sample_session("s1")
    return Workload(
        "restore", ("s1",), {"s1": s1}, _save_all(s1), [Step("restore", lambda st: st.restore("s1"))]
    )


def _append_at(when: datetime, session_id: str, thought: Thought) -> Callable[[SessionStore], object]:
    """store.append of ``thought``, stamped ``when``: the store's session reads the clock then."""
    stamp = datetime_to_ns(when)

    def call(store: SessionStore) -> object:
        real = time.time_ns
        time.time_ns = lambda: stamp
        try:
            return store.append(session_id, thought)
        finally:
            time.time_ns = real

    return call


def append() -> Workload:
    """Append one thought to the stored s1 (three thoughts) beside a stored s2, as a tool server does."""
    s1, s2 = small_session("s1", thoughts=3), small_session("s2", thoughts=1)
    thought = Thought("Appended.", 4, 4, True, branch_from_thought=1, branch_id="b3")
    return Workload(
        "append",
        ("s1", "s2"),
        {"s1": s1, "s2": s2},
        _save_all(s1, s2),
        [Step("append", _append_at(YOUNG_START + timedelta(days=1), "s1", thought))],
    )


def append_new() -> Workload:
    """Append the first thought of s1, which the store does not hold yet, beside a stored s2."""
    s2 = small_session("s2", thoughts=1)
    thought = Thought("The first.", 1, 2, True)
    return Workload(
        "append_new",
        ("s1", "s2"),
        {"s2": s2},
        _save_all(s2),
        [Step("append", _append_at(YOUNG_START, "s1", thought))],
    )


def listing() -> Workload:
    """List the sessions of a store holding s1, s2 and s3; nothing changes."""
    sessions = {sid: small_session(sid, thoughts=2) for sid in ("s1", "s2", "s3")}
    return Workload(
        "list",
        tuple(sessions),
        sessions,
        _save_all(*sessions.values()),
        [Step("list", lambda st: sorted(m.session_id for m in st.list_sessions()))],
    )


def exists() -> Workload:
    """Ask whether s1 exists; nothing changes."""
    s1 = small_session("s1", thoughts=2)
    return Workload(
        "exists", ("s1",), {"s1": s1}, _save_all(s1), [Step("exists", lambda st: st.exists("s1"))]
    )


def three_saves() -> Workload:
    """Three saves in a row into s1, each adding thoughts (some in branches)."""
    s1 = small_session("s1", thoughts=3)
    steps = [_grow_and_save(s1, 2), _grow_and_save(s1, 3), _grow_and_save(s1, 1)]
    return Workload("three_saves", ("s1",), {"s1": s1}, _save_all(s1), steps)


#: The named single-purpose workloads.
SCENARIOS: dict[str, Callable[[], Workload]] = {
    "save_new": save_new,
    "first_save": first_save,
    "first_save_new_root": first_save_new_root,
    "delete": delete,
    "cleanup": cleanup,
    "restore": restore,
    "three_saves": three_saves,
    "append": append,
    "append_new": append_new,
    "list": listing,
    "exists": exists,
}


def mixed(seed: int, steps: int = 8) -> Workload:
    """A seeded random mix of saves (with branches), first saves, appends, deletes and cleanups.

    Four sessions start committed: s1 and s2 (young), o1 and o2 (old enough
    for cleanup). A deleted session saved again is stored anew. a1 is only
    ever appended to (as a tool server does), so it is created by its first
    append, and again after a delete.
    """
    rng = random.Random(seed)
    sessions = {
        "s1": small_session("s1", YOUNG_START, 4),
        "s2": small_session("s2", YOUNG_START + timedelta(hours=1), 2),
        "o1": small_session("o1", OLD_START, 3),
        "o2": small_session("o2", OLD_START + timedelta(days=1), 2),
        "n1": small_session("n1", YOUNG_START + timedelta(hours=2), 0),
    }
    plan: list[Step] = []
    for number in range(1, steps + 1):
        roll = rng.random()
        session_id = rng.choice(["s1", "s1", "s2", "o1", "n1"])
        if roll < 0.55:
            plan.append(_grow_and_save(sessions[session_id], rng.randint(1, 3)))
        elif roll < 0.7:
            thought = Thought(f"Appended in step {number}.", number, number, True)
            when = YOUNG_START + timedelta(hours=3, minutes=number)
            plan.append(Step("append to a1", _append_at(when, "a1", thought)))
        elif roll < 0.85:
            session_id = rng.choice([session_id, "a1"])
            plan.append(Step(f"delete {session_id}", _delete(session_id)))
        else:
            plan.append(Step("cleanup", lambda st: st.cleanup(OLDER_THAN, now=NOW)))
    setup = _save_all(*(s for sid, s in sessions.items() if sid != "n1"))
    return Workload(f"mixed({seed})", (*sessions, "a1"), sessions, setup, plan)


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its causes and contexts, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


__all__ = [
    "NOT_KILLED",
    "SCENARIOS",
    "Call",
    "ChildResult",
    "Disk",
    "Faults",
    "Halted",
    "Image",
    "ModelError",
    "Seen",
    "State",
    "Step",
    "Tick",
    "Workload",
    "chain",
    "describe",
    "expected_states",
    "fork_child",
    "grow",
    "materialize",
    "mixed",
    "small_session",
    "state_of",
    "stored_on_disk",
    "stored_states",
    "temp_files",
    "tombs",
]
