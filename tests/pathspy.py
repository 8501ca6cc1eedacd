"""Spying on the paths the filesystem store touches, and failing a call that hangs.

Shared by the identifier and symlink tests. :class:`PathSpy` wraps the os and
shutil calls that take paths, resolves every path to where it really leads
(folders on the way, and for each open the file actually opened, read back
from ``/proc/self/fd``, so Linux only) and records ``(call, real path)``.
:func:`deadline` fails the test when a store call blocks for too long.
"""

# This module works on raw os-level paths and descriptors, as the store does.
# ruff: noqa: PTH109, PTH115, PTH117, PTH118

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_OS_CALLS = {
    "open": None,  # follows unless O_NOFOLLOW
    "stat": None,  # follows unless follow_symlinks=False
    "chmod": None,
    "lstat": False,
    "mkdir": False,
    "makedirs": False,
    "rmdir": False,
    "unlink": False,
    "remove": False,
    "rename": False,
    "replace": False,
    "link": False,
    "symlink": False,
    "mkfifo": False,
    "scandir": True,
    "listdir": True,
    "truncate": True,
    "utime": True,
    "chown": True,
    "access": True,
}


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


def _resolve(path: Any, dir_fd: int | None, follow: bool) -> str:
    """Where ``path`` (relative to ``dir_fd``) really leads: every folder on the way resolved."""
    if isinstance(path, int):
        return _fd_path(path)
    text = os.fsdecode(path)
    if "\x00" in text:
        return f"!NUL in {text!r}"
    if not os.path.isabs(text):
        text = os.path.join(_fd_path(dir_fd) if dir_fd is not None else os.getcwd(), text)
    head, tail = os.path.split(text.rstrip("/") or "/")
    if follow or tail in {"", ".", ".."}:
        return os.path.realpath(text)
    return os.path.join(os.path.realpath(head), tail)


class PathSpy:
    """Records ``(call, real path)`` for every path-based os/shutil call while watching.

    ``before_call``, when set, runs before each recorded call (with the spy switched off),
    so a test can change the disk between any two os calls of the store.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[str, str]] = []
        self.before_call: Callable[[str], None] | None = None
        self._watching = False
        self._busy = threading.local()
        for name in _OS_CALLS:
            if hasattr(os, name):
                monkeypatch.setattr(os, name, self._wrap(name, getattr(os, name)))
        monkeypatch.setattr(shutil, "rmtree", self._wrap("rmtree", shutil.rmtree))

    @contextlib.contextmanager
    def watch(self) -> Iterator[list[tuple[str, str]]]:
        self.events = []
        self._watching = True
        try:
            yield self.events
        finally:
            self._watching = False

    @contextlib.contextmanager
    def off(self) -> Iterator[None]:
        """Make os calls inside the block without recording them."""
        before, self._busy.on = getattr(self._busy, "on", False), True
        try:
            yield
        finally:
            self._busy.on = before

    def _targets(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
        if name in {"rename", "replace", "link", "symlink"}:
            first = _resolve(args[0], kwargs.get("src_dir_fd"), follow=name == "link")
            return [first, _resolve(args[1], kwargs.get("dst_dir_fd"), follow=False)]
        path = args[0] if args else kwargs.get("path", ".")
        if name == "open":
            flags = args[1] if len(args) > 1 else kwargs.get("flags", 0)
            follow = not flags & getattr(os, "O_NOFOLLOW", 0)
        elif name in {"stat", "chmod"}:
            follow = bool(kwargs.get("follow_symlinks", True))
        elif name == "rmtree":
            follow = False
        else:
            follow = bool(_OS_CALLS[name])
        return [_resolve(path, kwargs.get("dir_fd"), follow)]

    def _wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def spy(*args: Any, **kwargs: Any) -> Any:
            record = self._watching and not getattr(self._busy, "on", False)
            if record:
                with self.off():
                    if self.before_call is not None:
                        self.before_call(name)
                    self.events.extend((name, p) for p in self._targets(name, args, kwargs))
            result = real(*args, **kwargs)
            if record and name == "open":
                with self.off():
                    self.events.append(("opened", _fd_path(result)))
            return result

        return spy


#: Seconds one store call may take before it counts as a hang.
TIMEOUT = 10.0


class Hang(BaseException):
    """Raised by the alarm when a store call runs for more than TIMEOUT seconds."""


def _alarm(signum: int, frame: object) -> None:
    raise Hang


@contextlib.contextmanager
def deadline() -> Iterator[None]:
    """Fail the test if the block runs for more than TIMEOUT seconds (even in a blocking call)."""
    if threading.current_thread() is not threading.main_thread():  # signals go to the main thread
        yield
        return
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        yield
    except Hang:
        pytest.fail(f"a store call hung for more than {TIMEOUT} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
