"""Session ids and branch ids, fuzzed through every public store call.

Issue 3, point 5. Every call either refuses an id (InvalidSessionIdError or
InvalidThoughtError, touching nothing) or touches only what belongs to that session:

* ``root/<session_id>`` and everything in it,
* ``root/.locks`` and ``root/.locks/<session_id>.lock`` (the session's lock),
* ``root/.deleted-<session_id>-<hex>`` (a deleted session on its way out),
* the root itself.

list_sessions and cleanup may touch those of any session. A spy on the os and shutil
calls resolves every path an operation passes (through symbolic links and ``dir_fd``)
and every file it actually opens (through ``/proc/self/fd``).

The last tests document what the current id rule, ``[A-Za-z0-9][A-Za-z0-9._-]{0,127}``,
does with names that are harmless on Linux but not on Windows or macOS. Assertions that
encode a choice the lead should confirm are marked ``DECISION``.
"""

# The spy mirrors os-level calls and resolves their string paths as the os does.
# ruff: noqa: PTH206

from __future__ import annotations

import ntpath
import os
import re
import shutil
import stat
import sys
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pathspy import PathSpy, deadline

from seqthink import FileSystemStore, ThinkingSession, Thought
from seqthink._format import branch_file_name, branch_file_names
from seqthink.errors import InvalidSessionIdError, InvalidThoughtError, SessionNotFoundError
from seqthink.testing import sample_session

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the spy reads /proc/self/fd to see what was opened"
)

NEIGHBOUR = "zz-neighbour"
#: The neighbour is active long after this, so cleanup(timedelta(0), now=CUTOFF) keeps it.
CUTOFF = datetime(2100, 1, 1, tzinfo=timezone.utc)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


# --- the spy ---------------------------------------------------------------------


#: os functions that take paths, and whether each follows a link in the last component.
def session_paths(root: str, session_id: str) -> Callable[[str], bool]:
    """Whether a real path belongs to ``session_id``'s part of the store."""
    tomb = re.compile(rf"\.deleted-{re.escape(session_id)}-[0-9a-f]+")

    def allowed(path: str) -> bool:
        if path == root:
            return True
        if not path.startswith(root + os.sep):
            return False
        parts = path[len(root) + 1 :].split(os.sep)
        if parts[0] == ".locks":
            return parts[1:] in ([], [f"{session_id}.lock"])
        return parts[0] == session_id or tomb.fullmatch(parts[0]) is not None

    return allowed


def any_session_paths(root: str) -> Callable[[str], bool]:
    """Whether a real path belongs to some session's part of the store (for list and cleanup)."""

    def allowed(path: str) -> bool:
        if path == root:
            return True
        if not path.startswith(root + os.sep):
            return False
        parts = path[len(root) + 1 :].split(os.sep)
        if parts[0] == ".locks":
            return len(parts) == 1 or (
                len(parts) == 2 and parts[1].endswith(".lock") and _ID.fullmatch(parts[1][:-5]) is not None
            )
        return _ID.fullmatch(parts[0]) is not None or parts[0].startswith(".deleted-")

    return allowed


def strays(events: list[tuple[str, str]], allowed: Callable[[str], bool], root: str) -> list[tuple[str, str]]:
    """The calls outside the allowed paths. Opening the folder that holds the root is allowed
    too: a first durable commit opens that folder, and nothing in it, to fsync the root's entry.
    """
    parent = str(Path(root).parent)
    return [
        (call, path)
        for call, path in events
        if not allowed(path) and not (call in {"open", "opened"} and path == parent)
    ]


class Bench:
    """A store whose root holds one session, the neighbour, that no per-session call may touch."""

    def __init__(self, base: Path, monkeypatch: pytest.MonkeyPatch, *, durable: bool = False) -> None:
        self.store = FileSystemStore(base / "sessions", durable=durable)
        self.store.save(sample_session(NEIGHBOUR, start=CUTOFF + timedelta(days=365)))
        self.root = str(self.store.root)
        self.neighbour = self.snapshot(Path(self.root, NEIGHBOUR))
        self.spy = PathSpy(monkeypatch)

    @staticmethod
    def snapshot(top: Path) -> dict[str, tuple[int, int, bytes]]:
        result = {}
        for path in [top, *sorted(top.iterdir())]:
            info = path.lstat()
            data = path.read_bytes() if stat.S_ISREG(info.st_mode) else b""
            result[path.name] = (info.st_ino, info.st_mtime_ns, data)
        return result

    def call(
        self,
        session_id: str | None,
        what: str,
        action: Callable[[], object],
        raises: type[Exception] | None = None,
    ) -> object:
        """``action()`` (which must raise ``raises`` if given), checking that every path it
        touched belongs to ``session_id`` (None: to any session).
        """
        allowed = any_session_paths(self.root) if session_id is None else session_paths(self.root, session_id)
        result: object = None
        with self.spy.watch() as events, deadline():
            if raises is None:
                result = action()
            else:
                with pytest.raises(raises):
                    action()
        assert [] == strays(events, allowed, self.root), f"{what} for {session_id!r} touched other paths"
        return result

    def refused(self, action: Callable[[], object], error: type[Exception]) -> None:
        """``action()`` raises ``error`` and touches no path at all."""
        with self.spy.watch() as events, deadline(), pytest.raises(error):
            action()
        assert [] == events

    def check_left_alone(self) -> None:
        """Only the neighbour (untouched) and the lock folder are left in the root."""
        assert {NEIGHBOUR, ".locks"} == {p.name for p in Path(self.root).iterdir()}
        assert self.neighbour == self.snapshot(Path(self.root, NEIGHBOUR))


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bench:
    return Bench(tmp_path, monkeypatch)


# --- the ids to try ------------------------------------------------------------------

DEVICES = ["CON", "PRN", "AUX", "NUL", "COM1", "COM9", "COM0", "LPT1", "LPT9", "CONIN$", "CONOUT$", "CLOCK$"]
device_names = st.tuples(
    st.sampled_from(DEVICES),
    st.sampled_from(["", ".txt", ".tar.gz", ".", "..", " ", ":", ":stream"]),
    st.sampled_from([str.upper, str.lower, str.title]),
).map(lambda t: t[2](t[0]) + t[1])
SPECIAL_IDS = [
    "",
    ".",
    "..",
    "...",
    "/",
    "\\",
    "a/b",
    "a\\b",
    "../x",
    "..\\x",
    "x/..",
    "/etc",
    "C:\\x",
    "C:",
    "x:y",
    "\x00",
    "x\x00",
    "x\x00/../../y",
    ".hidden",
    ".locks",
    ".deleted-x-0badc0de",
    "-x",
    "_x",
    "x.",
    "x..",
    "x ",
    " x",
    "x\n",
    "x\t",
    "abc",
    "Abc",
    "ABC",
    "\u00e9",
    "e\u0301",
    "caf\u00e9",
    "cafe\u0301",
    "\ufeffabc",
    "\uff41\uff42\uff43",  # fullwidth abc
    "abc\u200b",
    "\u212a",  # Kelvin sign, a case twin of "k" under Unicode folding
    "\u0130",
    "\ud800",
    "a..b",
    "a.b.c",
    NEIGHBOUR + "-",
    NEIGHBOUR.upper(),
]
#: Names around the 128-character id limit and the 255-byte file-name limit (an "é" is 2 bytes).
LONG_NAMES = [
    name
    for n in (1, 2, 127, 128, 129, 255, 256, 300)
    for name in ("a" * n, "a" * (n - 1) + ".", "\u00e9" * (n // 2), "1" + "-" * (n - 1))
]
long_names = st.sampled_from(LONG_NAMES)
session_ids = st.one_of(
    st.text(),
    st.text(alphabet="aZ09._-/\\\x00 :\u00e9", max_size=12),
    st.sampled_from(SPECIAL_IDS),
    device_names,
    long_names,
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", fullmatch=True),
)


def _exercise_session_id(bench: Bench, session_id: str) -> None:
    store = bench.store
    try:
        session = ThinkingSession(session_id)
    except InvalidSessionIdError:
        bench.refused(lambda: store.restore(session_id), InvalidSessionIdError)
        bench.refused(lambda: store.exists(session_id), InvalidSessionIdError)
        bench.refused(lambda: store.delete(session_id), InvalidSessionIdError)
        bench.refused(lambda: store.append(session_id, Thought("x", 1, 1, True)), InvalidSessionIdError)
        return
    assert _ID.fullmatch(session_id) is not None  # the current rule; see the tests at the end
    session.think("First.")
    call = bench.call
    call(session_id, "save", lambda: store.save(session))
    assert call(session_id, "exists", lambda: store.exists(session_id))
    restored = call(session_id, "restore", lambda: store.restore(session_id))
    assert isinstance(restored, ThinkingSession)
    assert session.thought_history == restored.thought_history
    call(session_id, "append", lambda: store.append(session_id, Thought("Second.", 2, 2, True)))
    listed = call(None, "list_sessions", store.list_sessions)
    assert isinstance(listed, list)
    assert {NEIGHBOUR, session_id} == {m.session_id for m in listed}
    assert call(session_id, "delete", lambda: store.delete(session_id))
    assert not call(session_id, "exists", lambda: store.exists(session_id))
    call(session_id, "restore", lambda: store.restore(session_id), raises=SessionNotFoundError)
    call(session_id, "append", lambda: store.append(session_id, Thought("Anew.", 1, 1, True)))
    assert [session_id] == call(None, "cleanup", lambda: store.cleanup(timedelta(0), now=CUTOFF))
    assert not call(session_id, "delete", lambda: store.delete(session_id))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(session_id=session_ids)
def test_any_session_id_is_refused_or_stays_in_its_own_folder(bench: Bench, session_id: str) -> None:
    """save, exists, restore, append, list, delete and cleanup, for any id: refused, or confined.

    A refused id touches no path at all; an accepted one touches only its own folder, lock
    and tomb, and leaves the neighbouring session exactly as it was.
    """
    assume(session_id != NEIGHBOUR)
    _exercise_session_id(bench, session_id)
    bench.check_left_alone()


@pytest.mark.parametrize("session_id", SPECIAL_IDS)
def test_special_session_ids_are_refused_or_stay_in_their_own_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, session_id: str
) -> None:
    """The hand-picked ids (separators, dots, NUL, device names, twins), each tried for sure,
    with a durable store (whose fsyncs open the folders too).
    """
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # the durable code paths, without the wait
    bench = Bench(tmp_path, monkeypatch, durable=True)
    _exercise_session_id(bench, session_id)
    bench.check_left_alone()


branch_ids = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="aZ._-/\\\x00 :~\u00e9", max_size=12),
    st.sampled_from(
        [*SPECIAL_IDS, "~", "~~", "~abc", "branch_x_thought1.json", "x_thought1", "a" * 256, "a" * 257]
    ),
    device_names,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(branch_id=branch_ids)
def test_any_branch_id_is_refused_or_stays_in_the_session_folder(bench: Bench, branch_id: str) -> None:
    """A branch thought recorded with think() and append(), saved, restored and deleted: confined.

    A refused branch id (InvalidThoughtError) records nothing; an accepted one is written
    only as files inside the session folder and restored exactly.
    """
    _exercise_branch_id(bench, branch_id)


@pytest.mark.parametrize(
    "name", LONG_NAMES, ids=[f"{k}-{len(name)}chars" for k, name in enumerate(LONG_NAMES)]
)
def test_long_ids_are_refused_or_confined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Every name around the 128-character and 255-byte limits, tried for sure (not only when
    hypothesis draws it) as a session id and as a branch id.
    """
    bench = Bench(tmp_path, monkeypatch)
    _exercise_session_id(bench, name)
    bench.check_left_alone()
    _exercise_branch_id(bench, name)


def _exercise_branch_id(bench: Bench, branch_id: str) -> None:
    store, sid = bench.store, "branchy"
    session = ThinkingSession(sid)
    session.think("Root.")
    try:
        session.think("On a branch.", branch_from_thought=1, branch_id=branch_id)
    except InvalidThoughtError:
        assert 1 == len(session)
        with pytest.raises(InvalidThoughtError):
            Thought("x", 2, 2, True, branch_from_thought=1, branch_id=branch_id)
        return
    bench.call(sid, "save", lambda: store.save(session))
    restored = bench.call(sid, "restore", lambda: store.restore(sid))
    assert isinstance(restored, ThinkingSession)
    assert (session.thought_history, [branch_id]) == (restored.thought_history, list(restored.branches))
    thought = Thought("Again.", 3, 3, True, branch_from_thought=2, branch_id=branch_id)
    bench.call(sid, "append", lambda: store.append(sid, thought))
    again = bench.call(sid, "restore", lambda: store.restore(sid))
    assert isinstance(again, ThinkingSession)
    assert 2 == len(again.branches[branch_id])
    names = {p.name for p in Path(bench.root, sid).iterdir()}
    assert {branch_file_name(branch_id, 1), branch_file_name(branch_id, 2)} <= names
    assert bench.call(sid, "delete", lambda: store.delete(sid))
    bench.check_left_alone()


def _creatable(name: str) -> bool:
    """Whether Linux lets a file in the root have this name."""
    if not name or name in {".", "..", ".locks", NEIGHBOUR} or "/" in name or "\x00" in name:
        return False
    try:
        return len(os.fsencode(name)) <= 255
    except UnicodeEncodeError:
        return False


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.text(min_size=1), st.sampled_from(SPECIAL_IDS), device_names).filter(_creatable))
def test_list_and_cleanup_leave_foreign_names_in_the_root_alone(bench: Bench, name: str) -> None:
    """A folder planted in the root under any name is not read unless the name is a session id,
    and is not deleted by cleanup unless it is a tomb (a ``.deleted-`` name, seqthink's own).

    The folder holds a session.json copied from another session, so even under a valid id it
    is not a readable session (it names another one) and cleanup must keep it.
    """
    planted = Path(bench.root, name)
    planted.mkdir()
    (planted / "session.json").write_bytes((Path(bench.root, NEIGHBOUR) / "session.json").read_bytes())
    try:
        with bench.spy.watch() as events, deadline():
            listed = bench.store.list_sessions()
            deleted = bench.store.cleanup(timedelta(0), now=CUTOFF)
        assert ([NEIGHBOUR], []) == ([m.session_id for m in listed], deleted)
        assert [] == strays(events, any_session_paths(bench.root), bench.root)
        touched = [e for e in events if e[1] == str(planted) or e[1].startswith(str(planted) + os.sep)]
        if _ID.fullmatch(name) is None and not name.startswith(".deleted-"):
            assert [] == touched
        assert (not name.startswith(".deleted-")) == planted.exists()
    finally:
        shutil.rmtree(planted, ignore_errors=True)
    bench.check_left_alone()


@pytest.mark.parametrize("forged", ["../escaped", "..", "", ".", ".locks", "<an absolute path>"])
def test_save_checks_the_id_of_the_session_it_is_given(bench: Bench, tmp_path: Path, forged: str) -> None:
    """A session whose id was changed after it was checked (here through the private attribute,
    as a subclass or a careless caller could) is refused by save, touching nothing.

    Without the check of record.session_id in save, FileSystemStore would join "../escaped"
    into paths and write root/../escaped/session.json and root/.locks/../escaped.lock,
    outside the root (an absolute path would write there), and an id with a "/" inside
    would make the lock's retry loop spin.
    """
    session = ThinkingSession("honest")
    session.think("First.")
    session._session_id = str(tmp_path / "elsewhere") if forged.startswith("<") else forged
    bench.refused(lambda: bench.store.save(session), InvalidSessionIdError)


# --- names other systems treat specially --------------------------------------------------


@pytest.mark.parametrize(
    "session_id", ["CON", "con", "Con.txt", "PRN", "AUX", "NUL", "nul.tar.gz", "COM1", "lpt9.log"]
)
def test_windows_device_names_are_refused(bench: Bench, session_id: str) -> None:
    """CON, NUL, COM1, LPT9... (any case, with an extension) are refused everywhere.

    On Windows these names denote devices, so ``root\\CON`` cannot be a folder and
    ``.locks\\NUL.lock`` would open the NUL device; an id must be usable on every system.
    """
    with pytest.raises(InvalidSessionIdError, match="device"):
        ThinkingSession(session_id)
    bench.refused(lambda: bench.store.restore(session_id), InvalidSessionIdError)
    bench.refused(lambda: bench.store.delete(session_id), InvalidSessionIdError)
    bench.refused(lambda: bench.store.exists(session_id), InvalidSessionIdError)


@pytest.mark.parametrize("session_id", ["console", "CONX", "com10", "nullable", "aux-1"])
def test_names_that_only_begin_like_a_device_are_accepted(bench: Bench, session_id: str) -> None:
    """Only the exact device names (with or without an extension) are refused."""
    session = ThinkingSession(session_id)
    session.think("Not a device.")
    bench.store.save(session)
    assert session.thought_history == bench.store.restore(session_id).thought_history


@pytest.mark.parametrize("session_id", ["x.", "x..", "x.y."])
def test_trailing_dots_are_refused(session_id: str) -> None:
    """Windows strips trailing dots from file names, so "x." and "x" would share a folder there."""
    with pytest.raises(InvalidSessionIdError, match="end with"):
        ThinkingSession(session_id)


@pytest.mark.parametrize("session_id", ["x ", " x", "x\u00a0", "\u00e9", "e\u0301", "x\u200b", "\u212a"])
def test_spaces_and_non_ascii_are_refused_as_session_ids(session_id: str) -> None:
    """Trailing or leading spaces (which Windows also strips) and any non-ASCII letter are refused,
    so Unicode-normalisation twins (NFC and NFD of "\u00e9") can never name two folders.
    """
    with pytest.raises(InvalidSessionIdError):
        ThinkingSession(session_id)


@pytest.mark.parametrize(
    ("length", "accepted"), [(127, True), (128, True), (129, False), (255, False), (256, False)]
)
def test_session_ids_longer_than_128_characters_are_refused(length: int, accepted: bool) -> None:
    """128 ASCII characters at most: the folder name and the lock file name ("<id>.lock") stay far
    below the 255-byte limit of common file systems.
    """
    session_id = "a" * length
    if accepted:
        assert session_id == ThinkingSession(session_id).session_id
    else:
        with pytest.raises(InvalidSessionIdError):
            ThinkingSession(session_id)


def test_case_twins_are_distinct_sessions_today(bench: Bench) -> None:
    """The ids "Abc" and "abc" are two sessions; deleting one leaves the other (case-sensitive disk).

    On a case-insensitive file system (macOS and Windows by default) they share one folder
    and one lock file: restore and save of the second raise CorruptSessionError (session.json
    names the first), and delete("abc") leaves the folder alone, since the session.json in it
    names "Abc" (tests/test_filesystem.py simulates it).
    """
    for session_id in ("Abc", "abc"):  # DECISION: accepted as distinct ids
        session = ThinkingSession(session_id)
        session.think(f"I am {session_id}.")
        bench.store.save(session)
    assert bench.store.delete("abc")
    assert ["I am Abc."] == [t.thought for t in bench.store.restore("Abc").thought_history]
    assert not bench.store.exists("abc")


def test_case_twin_branch_ids_get_distinct_files_today(bench: Bench) -> None:
    """Branches "Alt" and "alt" are stored as branch_Alt_... and branch_alt_..., as the seed named them.

    On a case-insensitive file system the second file replaces the first, and restore then
    reports the branch copy as holding a different thought (CorruptSessionError).
    """
    session = ThinkingSession("twins")
    session.think("Root.")
    for branch_id in ("Alt", "alt"):  # DECISION: plain ids keep the seed's names, case and all
        session.think(f"On {branch_id}.", branch_from_thought=1, branch_id=branch_id)
    bench.store.save(session)
    names = {p.name for p in Path(bench.root, "twins").iterdir()}
    assert {"branch_Alt_thought1.json", "branch_alt_thought1.json"} <= names
    assert ("Alt", "alt") == tuple(bench.store.restore("twins").branches)


def test_normalisation_twin_branch_ids_get_distinct_ascii_files(bench: Bench) -> None:
    """NFC and NFD spellings of "caf\u00e9" are two branches with two ASCII file names, so even a
    file system that normalises names (macOS HFS+) keeps them apart.
    """
    nfc, nfd = unicodedata.normalize("NFC", "caf\u00e9"), unicodedata.normalize("NFD", "caf\u00e9")
    assert nfc != nfd
    session = ThinkingSession("norm")
    session.think("Root.")
    for branch_id in (nfc, nfd):
        session.think(f"On {branch_id!a}.", branch_from_thought=1, branch_id=branch_id)
    bench.store.save(session)
    names = {p.name for p in Path(bench.root, "norm").iterdir() if p.name.startswith("branch_")}
    assert {branch_file_name(nfc, 1), branch_file_name(nfd, 1)} == names
    assert all(name.isascii() for name in names)
    assert (nfc, nfd) == tuple(bench.store.restore("norm").branches)


@pytest.mark.parametrize("branch_id", ["..\\..\\..\\..\\x", "a\\..\\..\\..\\..\\y", "..\\..\\x"])
def test_branch_file_names_stay_in_the_session_folder_on_windows(branch_id: str) -> None:
    """Every name restore may read a branch file under stays inside the session folder, with
    Windows path rules too, where a backslash separates folders.

    For branch ids that are not plain, branch_file_names also offers the seed's raw name,
    ``branch_{id}_thought{k}.json``, which restore reads when seqthink's own is missing. That
    name is screened for "\\" and ":" (an NTFS stream) as well as "/" and NUL; without it, on
    Windows a branch id like ``..\\..\\..\\..\\x`` would make restore open a file outside the
    session folder.
    """
    folder = "C:\\root\\session"
    escaped = [
        name
        for name in branch_file_names(branch_id, 1)
        if not ntpath.normpath(ntpath.join(folder, name)).startswith(folder + "\\")
    ]
    assert [] == escaped
