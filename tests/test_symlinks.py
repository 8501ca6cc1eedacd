"""Symbolic links planted in the store, or swapped in while it works, are never followed.

Issue 3, point 6. A decoy folder outside the root holds a copy of a session, a lock-like
file, a folder of lock-like files and stale-looking names. Links to it are planted at every
place the store uses: the session folder, session.json, a thought file, a branch file,
the lock file, the ``.locks`` folder, a tomb (``.deleted-<id>-<hex>``) and leftover names.
Then every public call runs. Calls may raise a SeqthinkError, but nothing outside the root
may be read, written, re-moded or deleted: the decoy is snapshotted before and after
(names, kinds, modes, inodes, mtimes, bytes) and a spy records every path the os and shutil
calls reach, resolved through links, ``dir_fd`` and ``/proc/self/fd``.

The last tests swap a link in at every single os call inside one store call (a
deterministic sweep), to find the time-of-check-to-time-of-use windows a path-based store
would leave open: the store opens each session folder without following a link and reaches
its files relative to that open folder, so none is left.
"""

# The spy mirrors os-level calls and resolves their string paths as the os does.

from __future__ import annotations

import os
import secrets
import shutil
import stat
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pathspy import PathSpy, deadline

from seqthink import FileSystemStore, ThinkingSession, Thought
from seqthink.errors import CorruptSessionError, SeqthinkError
from seqthink.testing import sample_session

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the spy reads /proc/self/fd to see what was opened"
)

SID = "sample"
#: Every stored session is older than this, so cleanup(timedelta(0), now=LATER) deletes it.
LATER = datetime(2100, 1, 1, tzinfo=timezone.utc)
TOMB_HEX = "0badc0de"


# --- the spy (the same as in test_identifiers.py) ------------------------------------

# --- the decoy and the store ------------------------------------------------------------


def snapshot(top: Path) -> dict[str, tuple[int, int, int, bytes]]:
    """Every entry under ``top`` (links and FIFOs not followed or opened): mode, inode, mtime, bytes."""
    paths = [top]
    for folder, dirs, files in os.walk(top):
        paths += [Path(folder, name) for name in dirs + files]
    result = {}
    for path in paths:
        info = os.lstat(path)
        data = path.read_bytes() if stat.S_ISREG(info.st_mode) else b""
        result[str(path.relative_to(top))] = (info.st_mode, info.st_ino, info.st_mtime_ns, data)
    return result


class Bench:
    """A store holding a saved session, and a decoy folder outside its root."""

    def __init__(self, base: Path, spy: PathSpy) -> None:
        self.spy = spy
        self.store = FileSystemStore(base / "root", durable=True)
        self.root = self.store.root
        self.folder = self.root / SID
        self.decoy = base / "decoy"
        #: The session as saved; it then gets one more thought, which a save would write.
        self.session = sample_session(SID)
        self.store.save(self.session)
        self.session.think("One more, for the next save.")
        shutil.copytree(self.folder, self.decoy / SID)  # the session's own files, outside
        (self.decoy / "sample.lock").write_bytes(b"not a lock")
        (self.decoy / "locks").mkdir()
        (self.decoy / "locks" / "sample.lock").write_bytes(b"")
        (self.decoy / "thought99.json").write_bytes(b"stale-looking")
        (self.decoy / ".x.tmp").write_bytes(b"temp-looking")
        for path in [self.decoy, *self.decoy.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # so that a chmod to 0o600/0o700 shows
        self.before = snapshot(self.decoy)

    def link(self, at: Path, to: Path) -> None:
        """Replace whatever is at ``at`` by a symbolic link to ``to``."""
        with self.spy.off():
            if at.is_symlink() or at.is_file():
                at.unlink()
            elif at.exists():
                shutil.rmtree(at)
            at.symlink_to(to)

    def outside(self, events: list[tuple[str, str]]) -> list[tuple[str, str]]:
        decoy = str(self.decoy)
        return [(call, path) for call, path in events if path == decoy or path.startswith(decoy + os.sep)]

    def operations(self) -> dict[str, Callable[[], object]]:
        """Every public call the store has, on this session."""
        store = self.store
        fresh = ThinkingSession("fresh")
        fresh.think("A new session.")
        return {
            "restore": lambda: store.restore(SID),
            "exists": lambda: store.exists(SID),
            "list_sessions": store.list_sessions,
            "save": lambda: store.save(self.session),
            "append": lambda: store.append(SID, Thought("Appended.", 9, 9, True)),
            "cleanup": lambda: store.cleanup(timedelta(0), now=LATER),
            "delete": lambda: store.delete(SID),
            "save new": lambda: store.save(fresh),
            "append new": lambda: store.append("fresh", Thought("New.", 1, 1, True)),
        }

    def run(self, operation: str) -> tuple[object, list[tuple[str, str]]]:
        """Run one operation; what it returned or raised, and the paths it reached outside.

        An interval timer fails the test if the operation takes more than TIMEOUT seconds
        (a blocked open, or a lock loop that never settles).
        """
        action = self.operations()[operation]
        with self.spy.watch() as events, deadline():
            try:
                outcome: object = action()
            except Exception as exc:  # judged below
                outcome = exc
        return outcome, self.outside(events)

    def check(self, operation: str) -> None:
        outcome, outside = self.run(operation)
        assert not isinstance(outcome, Exception) or isinstance(outcome, SeqthinkError), repr(outcome)
        assert [] == outside, f"{operation} reached outside the root"
        assert self.before == snapshot(self.decoy), f"{operation} changed the decoy"


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> PathSpy:
    # The durable store's code paths run (folders are opened to be fsynced), without the wait.
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    return PathSpy(monkeypatch)


@pytest.fixture
def bench(tmp_path: Path, spy: PathSpy) -> Bench:
    return Bench(tmp_path, spy)


def _plant_tomb(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link where delete will rename the folder (the random part made predictable)."""
    real = secrets.token_hex  # the store draws the tomb's name with secrets.token_hex(4)
    monkeypatch.setattr(secrets, "token_hex", lambda n=None: TOMB_HEX if n == 4 else real(n))
    bench.link(bench.root / f".deleted-{SID}-{TOMB_HEX}", bench.decoy / SID)


def _plant_in_old_tomb(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    """A half-removed tomb (left by an interrupted delete) holding a link to the decoy."""
    tomb = bench.root / ".deleted-gone-12345678"
    tomb.mkdir()
    bench.link(tomb / "escape", bench.decoy / SID)
    bench.link(bench.root / ".deleted-other-12345678", bench.decoy / SID)


def _plant_leftovers(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    """Links under names a store sweeps away (a temp file, a file past the commit)."""
    bench.link(bench.folder / "thought99.json", bench.decoy / "thought99.json")
    bench.link(bench.folder / ".thought8.json.0123456789ab.tmp", bench.decoy / ".x.tmp")


PLANTS: dict[str, Callable[[Bench, pytest.MonkeyPatch], None]] = {
    "session folder": lambda b, m: b.link(b.folder, b.decoy / SID),
    "session.json": lambda b, m: b.link(b.folder / "session.json", b.decoy / SID / "session.json"),
    "thought file": lambda b, m: b.link(b.folder / "thought3.json", b.decoy / SID / "thought3.json"),
    "branch file": lambda b, m: b.link(
        b.folder / "branch_alt_thought1.json", b.decoy / SID / "branch_alt_thought1.json"
    ),
    "lock file": lambda b, m: b.link(b.root / ".locks" / f"{SID}.lock", b.decoy / "sample.lock"),
    "dangling lock file": lambda b, m: b.link(b.root / ".locks" / f"{SID}.lock", b.decoy / "new.lock"),
    "lock folder": lambda b, m: b.link(b.root / ".locks", b.decoy / "locks"),
    "dangling lock folder": lambda b, m: b.link(b.root / ".locks", b.decoy / "missing"),
    "tomb": _plant_tomb,
    "old tomb": _plant_in_old_tomb,
    "leftover names": _plant_leftovers,
}
OPERATIONS = ["restore", "exists", "list_sessions", "save", "append", "cleanup", "delete"]


#: A dangling link at .locks makes _locked() loop for ever, so only two calls try it: each
#: costs TIMEOUT seconds while the loop is there.
_SKIPPED = {("dangling lock folder", o) for o in ("restore", "exists", "list_sessions", "append", "cleanup")}


@pytest.mark.parametrize(
    ("plant", "operation"),
    [pytest.param(p, o, id=f"{p}-{o}") for p in PLANTS for o in OPERATIONS if (p, o) not in _SKIPPED],
)
def test_a_planted_link_is_not_followed(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, plant: str, operation: str
) -> None:
    """After a save, a link to the decoy replaces one thing the store uses; one public call runs.

    It may raise a SeqthinkError, but reaches nothing outside the root and changes nothing
    there. This is also the "swapped in between calls" case: the session folder link points
    to a copy of the session's own files, which the saved session object would continue.
    """
    PLANTS[plant](bench, monkeypatch)
    bench.check(operation)


def test_a_link_at_the_session_folder_is_reported_listed_and_deleted_as_a_link(bench: Bench) -> None:
    """What each call does with a linked session folder: corrupt, absent, unlisted, refused, unlinked."""
    PLANTS["session folder"](bench, pytest.MonkeyPatch())
    outcomes = {name: bench.run(name)[0] for name in OPERATIONS}
    kinds = {
        name: ("refused" if isinstance(o, SeqthinkError) else repr(o)) if isinstance(o, Exception) else o
        for name, o in outcomes.items()
    }
    assert {
        "restore": "refused",
        "exists": False,
        "list_sessions": [],
        "save": "refused",
        "append": "refused",
        "cleanup": [],
        "delete": True,  # the link itself is removed
    } == kinds
    assert isinstance(outcomes["restore"], CorruptSessionError)
    assert not os.path.lexists(bench.folder)
    assert bench.before == snapshot(bench.decoy)


def test_cleanup_removes_links_inside_a_tomb_but_not_what_they_point_to(bench: Bench) -> None:
    """An interrupted delete's tomb holding a link is swept; the decoy stays; a linked tomb stays."""
    _plant_in_old_tomb(bench, pytest.MonkeyPatch())
    bench.store.cleanup(timedelta(days=36500), now=LATER)
    assert not (bench.root / ".deleted-gone-12345678").exists()
    assert (bench.root / ".deleted-other-12345678").is_symlink()
    assert bench.before == snapshot(bench.decoy)


# --- a swap between two os calls inside one store call -------------------------------------

#: What a sweep swaps for a link: (the path in the root, what the link points to in the decoy).
TARGETS = {
    "session folder": (SID, SID),
    "new session folder": ("fresh", SID),
    "lock folder": (".locks", "locks"),
    "new lock folder": (".locks", "locks"),
}


class Swapper:
    """Swaps a link to the decoy in just before the k-th recorded os call of an operation."""

    def __init__(self, bench: Bench, target: str, k: int) -> None:
        self.bench, self.k = bench, k
        at, to = TARGETS[target]
        self.at, self.to = bench.root / at, bench.decoy / to
        self.count = 0
        self.swapped_before = ""

    def __call__(self, name: str) -> None:
        self.count += 1
        if self.count != self.k + 1:
            return
        self.swapped_before = name
        if os.path.lexists(self.at):  # moved aside inside the root: a held descriptor may write there
            self.at.rename(self.bench.root / ".aside")
        self.at.symlink_to(self.to)


def _sweep(tmp_path: Path, spy: PathSpy, operation: str, target: str) -> list[str]:
    """For k = 0, 1, ...: a fresh store, the swap before the k-th os call; what went wrong."""
    failures: list[str] = []
    k = 0
    while True:
        bench = Bench(tmp_path / f"k{k}", spy)
        if target == "new lock folder":
            shutil.rmtree(bench.root / ".locks")
        swapper = Swapper(bench, target, k)
        spy.before_call = swapper
        try:
            outcome, outside = bench.run(operation)
        finally:
            spy.before_call = None
        changed = snapshot(bench.decoy)
        shutil.rmtree(tmp_path / f"k{k}")
        if not swapper.swapped_before:
            return failures  # the operation made fewer than k + 1 calls: every moment was tried
        problems = []
        if isinstance(outcome, Exception) and not isinstance(outcome, SeqthinkError):
            problems.append(f"raised {outcome!r}")
        if outside:
            problems.append(f"reached {list(dict.fromkeys(outside))[:4]}")
        if bench.before != changed:
            problems.append("changed the decoy")
        if problems:
            failures.append(f"swap before call {k} ({swapper.swapped_before}): {'; '.join(problems)}")
        k += 1


SWEEPS = [
    pytest.param(target, operation, id=f"{target}-{operation}")
    for target, operations in (
        ("session folder", ("restore", "exists", "list_sessions", "save", "append", "cleanup", "delete")),
        ("new session folder", ("save new", "append new")),
        ("lock folder", ("save", "append", "delete", "cleanup")),
        ("new lock folder", ("save",)),
    )
    for operation in operations
]


@pytest.mark.parametrize(("target", "operation"), SWEEPS)
def test_a_link_swapped_in_at_any_moment_of_a_call_is_not_followed(
    tmp_path: Path, spy: PathSpy, target: str, operation: str
) -> None:
    """A folder the store uses is replaced by a link to the decoy just before the k-th os call of
    one operation, for every k: nothing outside the root is reached or changed.
    """
    assert [] == _sweep(tmp_path, spy, operation, target)


def test_delete_does_not_hang_on_a_link_to_a_fifo_swapped_in_before_the_rename(
    tmp_path: Path, spy: PathSpy
) -> None:
    """A link to a FIFO outside the root, swapped in for the session folder just before delete renames
    it: delete returns (or raises a SeqthinkError) promptly instead of waiting for a writer.

    (shutil.rmtree(tomb) would os.open() the FIFO, O_RDONLY and blocking, before finding that
    the tomb is a link.)
    """
    bench = Bench(tmp_path, spy)
    fifo = bench.decoy / "fifo"
    os.mkfifo(fifo)
    swapped: list[str] = []

    def swap(name: str) -> None:
        if name in {"rename", "replace"} and not swapped:
            swapped.append("rename")
            bench.folder.rename(bench.root / ".aside")
            bench.folder.symlink_to(fifo)

    outcome: list[object] = []

    def delete() -> None:
        with spy.watch():
            try:
                outcome.append(bench.store.delete(SID))
            except Exception as exc:  # judged below
                outcome.append(exc)

    spy.before_call = swap
    thread = threading.Thread(target=delete, daemon=True)
    thread.start()
    thread.join(1)
    hung = thread.is_alive()
    if hung:  # let it go: a writer opening the FIFO releases the blocked open
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
    spy.before_call = None
    assert (["rename"], False) == (swapped, hung)
    assert [True] == outcome or isinstance(outcome[0], SeqthinkError)
