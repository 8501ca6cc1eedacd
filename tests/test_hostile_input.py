"""Hostile bytes and hostile file kinds inside a stored session, driven through the store.

Issue 3, point 4. Each check damages one file of a stored session ("sample") that sits
beside an intact, newer session ("other"), then calls the store the way a user would:
restore, exists, list_sessions, save over it, append to it, cleanup. What must hold:

* restore gives back exactly what the files hold (no value coerced on the way) or raises
  CorruptSessionError; it never raises anything else and never hangs;
* restore, exists and list_sessions change nothing on disk;
* list_sessions and cleanup skip a session whose session.json cannot be read, without
  raising and without deleting it; save and append refuse to write over a damaged session.

tests/test_format.py checks the decoder on its own; these tests go through the store,
where file kinds (folders, FIFOs, links), sizes and the interplay of the files matter.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqthink import FileSystemStore, ThinkingSession, Thought
from seqthink._format import (
    FormatError,
    branch_file_name,
    decode_session,
    encode_session,
    encode_thought,
    thought_file_name,
)
from seqthink.errors import CorruptSessionError, SeqthinkError
from seqthink.testing import sample_session

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "setitimer") or not hasattr(os, "mkfifo"), reason="POSIX timers and FIFOs"
)

SAMPLE, OTHER = "sample", "other"
SESSION, THOUGHT, BRANCH = "session.json", "thought3.json", "branch_alt_thought1.json"
PLACES = (SESSION, THOUGHT, BRANCH)
#: Seconds any single store call may take before it counts as a hang.
TIMEOUT = 20.0
T0 = sample_session().created_at
#: With cleanup(older_than=OLDER_THAN, now=NOW), "sample" is old and "other" is not.
NOW, OLDER_THAN = T0 + timedelta(days=1), timedelta(hours=12)
MIB = 1024 * 1024

#: The bytes of the sample's session.json and of its thought 3 (a thought of branch "alt",
#: so thought3.json and branch_alt_thought1.json hold the same bytes).
SESSION_BYTES = encode_session(sample_session()._snapshot())
THOUGHT_BYTES = encode_thought(sample_session().thought_history[2])
ORIGINAL = {SESSION: SESSION_BYTES, THOUGHT: THOUGHT_BYTES, BRANCH: THOUGHT_BYTES}
OPTIONAL_KEYS = ("is_revision", "revises_thought", "branch_from_thought", "branch_id", "needs_more_thoughts")


# --- helpers -------------------------------------------------------------------


class Hang(BaseException):
    """Raised by the alarm when a store call runs for more than TIMEOUT seconds."""


def _alarm(signum: int, frame: object) -> None:
    raise Hang


def guarded(call: Callable[[], object]) -> object:
    """What ``call()`` returned or raised (any BaseException); fail if it runs over TIMEOUT.

    An interval timer interrupts even a blocking system call (an open() of a FIFO, say):
    the signal handler raises, so Python does not retry the call.
    """
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        return call()
    except Hang:
        pytest.fail(f"a store call hung for more than {TIMEOUT} s")
    except BaseException as exc:  # every exception is an outcome to judge
        return exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(top: Path) -> dict[str, tuple[int, int, int, bytes]]:
    """Every entry under ``top`` (links and FIFOs not followed or opened): mode, inode, mtime, bytes."""
    paths = [top]
    for folder, dirs, files in os.walk(top):
        paths += [Path(folder, name) for name in dirs + files]
    result = {}
    for path in paths:
        info = path.lstat()
        data = path.read_bytes() if stat.S_ISREG(info.st_mode) else b""
        result[str(path)] = (info.st_mode, info.st_ino, info.st_mtime_ns, data)
    return result


class _Object(list[tuple[str, Any]]):
    """A JSON object as the (key, value) pairs it was written with, duplicates and all."""


def typed(value: Any) -> Any:
    """A parsed JSON value with every type kept, so that 1, 1.0, True, "1", [] and {} all differ."""
    if isinstance(value, _Object):
        return ("object", tuple(sorted((k, typed(v)) for k, v in value)))
    if isinstance(value, list):
        return ("array", tuple(typed(v) for v in value))
    return (type(value).__name__, value)


def meaning(data: bytes, name: str) -> Any:
    """What a file says, with types kept; the differences the format allows are evened out.

    The seed treats a missing optional thought key as null, and wrote branch_ids in
    random order (a HashMap), so neither counts as a difference.
    """
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_Object)
    except ValueError:
        pytest.fail(f"restore accepted {name}, which is not plain UTF-8 JSON: {data[:80]!r}")
    if not isinstance(doc, _Object):
        return typed(doc)
    if name == SESSION:
        doc = _Object((k, sorted(v) if k == "branch_ids" and isinstance(v, list) else v) for k, v in doc)
    else:
        doc = _Object((k, _fill_optional(v) if k == "thought_data" else v) for k, v in doc)
    return typed(doc)


def _fill_optional(value: Any) -> Any:
    if not isinstance(value, _Object):
        return value
    present = {k for k, _ in value}
    return _Object([*value, *((k, None) for k in OPTIONAL_KEYS if k not in present)])


def assert_faithful(folder: Path, restored: ThinkingSession) -> None:
    """Every file the restored session would be written as says what the file on disk says."""
    record = restored._snapshot()
    expected = {SESSION: encode_session(record)}
    for position, thought in enumerate(record.thoughts, 1):
        expected[thought_file_name(position)] = encode_thought(thought)
    for branch, thoughts in record.branches.items():
        for position, thought in enumerate(thoughts, 1):
            expected[branch_file_name(branch, position)] = encode_thought(thought)
    for name, data in expected.items():
        assert meaning(data, name) == meaning((folder / name).read_bytes(), name), f"{name} was coerced"


def header_readable(place: str, content: bytes | str) -> bool:
    """Whether session.json still names "sample" in a readable way after ``content`` is planted."""
    if place != SESSION:
        return True
    if not isinstance(content, bytes):
        return False
    try:
        return SAMPLE == decode_session(content).session_id
    except FormatError:
        return False


class Bench:
    """A root holding "sample", to be damaged, and "other", newer and intact."""

    def __init__(self, base: Path) -> None:
        self.root = base / "sessions"
        self.folder = self.root / SAMPLE
        self.elsewhere = base / "elsewhere"
        self.elsewhere.mkdir()
        for place, data in ORIGINAL.items():
            (self.elsewhere / place).write_bytes(data)  # valid copies outside the root, for links
        FileSystemStore(self.root, durable=False).save(sample_session(OTHER, start=T0 + timedelta(days=2)))
        #: The file the last check damaged and its bytes, while the rest of "sample" is as saved.
        self.damaged: tuple[str, bytes] | None = None

    def plant(self, place: str, content: bytes | str) -> None:
        """A fresh "sample", then ``content`` at ``place``: bytes, or "directory", "fifo", "symlink".

        When the last check finished with "sample" still there, only the file it damaged is
        put back; otherwise "sample" is saved again from scratch.
        """
        if self.damaged is None or not self.folder.is_dir():
            if self.folder.exists():
                shutil.rmtree(self.folder)
            FileSystemStore(self.root, durable=False).save(sample_session(SAMPLE))
        else:
            old = self.folder / self.damaged[0]
            if old.is_dir() and not old.is_symlink():
                old.rmdir()
            else:
                old.unlink()
            old.write_bytes(self.damaged[1])
        path = self.folder / place
        self.damaged = (place, path.read_bytes())
        path.unlink()
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content == "directory":
            path.mkdir()
        elif content == "fifo":
            os.mkfifo(path)
        elif content == "symlink":
            path.symlink_to(self.elsewhere / place)  # a valid file, but not the store's to read
        else:
            raise AssertionError(content)

    def check(self, place: str, content: bytes | str, *, cleanup: bool = True) -> str:
        """Drive every store call over "sample" damaged by ``content`` at ``place``.

        Returns "restored" or "corrupt", how restore ended; fails on anything else.
        """
        self.plant(place, content)
        damaged = self.damaged
        self.damaged = None  # until this check has finished
        store = FileSystemStore(self.root, durable=False)
        readable = header_readable(place, content)

        before = snapshot(self.root)
        restored = guarded(lambda: store.restore(SAMPLE))
        exists = guarded(lambda: store.exists(SAMPLE))
        listed = guarded(store.list_sessions)
        assert before == snapshot(self.root), "restore, exists or list_sessions changed the disk"

        if isinstance(restored, CorruptSessionError):
            outcome = "corrupt"
        elif isinstance(restored, ThinkingSession):
            assert_faithful(self.folder, restored)
            outcome = "restored"
        else:
            pytest.fail(f"restore raised {restored!r}")
        assert isinstance(exists, bool), f"exists raised {exists!r}"
        assert isinstance(listed, list), f"list_sessions raised {listed!r}"
        # A session is listed when its session.json can be read, whatever its thought files hold
        # (list_sessions reads no thought file).
        assert ({SAMPLE, OTHER} if readable else {OTHER}) == {m.session_id for m in listed}

        inside = snapshot(self.folder)
        saved = guarded(lambda: store.save(sample_session(SAMPLE)))
        assert saved is None or isinstance(saved, SeqthinkError), f"save raised {saved!r}"
        if outcome == "corrupt":
            appended = guarded(lambda: store.append(SAMPLE, Thought("More.", 8, 8, next_thought_needed=True)))
            assert isinstance(appended, SeqthinkError), f"append to a damaged session gave {appended!r}"
        assert inside == snapshot(self.folder), "save or append wrote over a damaged session"

        if not cleanup:
            self.damaged = damaged
            return outcome
        deleted = guarded(lambda: store.cleanup(OLDER_THAN, now=NOW))
        assert isinstance(deleted, list), f"cleanup raised {deleted!r}"
        # DECISION (lead to confirm): cleanup decides from session.json alone, so an old
        # session whose session.json is readable is deleted even when a thought or branch
        # file is damaged (restore would raise CorruptSessionError). One whose session.json
        # cannot be read is skipped and left exactly as it was.
        assert ([SAMPLE] if readable else []) == deleted
        if not readable:
            assert inside == snapshot(self.folder), "cleanup touched a session it cannot read"
            self.damaged = damaged
        return outcome


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Bench:
    return Bench(tmp_path_factory.mktemp("hostile"))


# --- building hostile files ------------------------------------------------------


def edited(data: bytes, path: tuple[str, ...], value: object) -> bytes:
    """``data`` with the JSON value at ``path`` replaced by ``value`` (or removed, for ``...``)."""
    doc = json.loads(data)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")


def raw(data: bytes, old: bytes, new: bytes) -> bytes:
    """``data`` with the bytes ``old`` (which must occur) replaced by ``new``."""
    assert old in data
    return data.replace(old, new, 1)


T, S = THOUGHT_BYTES, SESSION_BYTES
TEXT = b'"Alternative: 24 * 15 = 240 + 120."'
KINDS = {"a directory": "directory", "a FIFO": "fifo", "a link to a valid copy outside": "symlink"}

#: Hostile thought files (used at thought3.json and at branch_alt_thought1.json): name -> bytes.
THOUGHT_CASES: dict[str, bytes | str] = {
    "next_thought_needed is the string false": edited(T, ("thought_data", "next_thought_needed"), "false"),
    "is_revision is the string true": edited(T, ("thought_data", "is_revision"), "true"),
    "thought_number is the string 3": edited(T, ("thought_number",), "3"),
    "thought_data.thought_number is the string 3": edited(T, ("thought_data", "thought_number"), "3"),
    "thought_number is true": edited(T, ("thought_data", "thought_number"), True),
    "total_thoughts is true": edited(T, ("thought_data", "total_thoughts"), True),
    "branch_from_thought is true (== 1 in Python)": edited(T, ("thought_data", "branch_from_thought"), True),
    "branch_from_thought is 1.0": edited(T, ("thought_data", "branch_from_thought"), 1.0),
    "thought_number is 3.0": edited(T, ("thought_data", "thought_number"), 3.0),
    "both thought_numbers are 3.0": edited(
        edited(T, ("thought_number",), 3.0), ("thought_data", "thought_number"), 3.0
    ),
    "total_thoughts is 4.5": edited(T, ("thought_data", "total_thoughts"), 4.5),
    "next_thought_needed is 1": edited(T, ("thought_data", "next_thought_needed"), 1),
    "next_thought_needed is null": edited(T, ("thought_data", "next_thought_needed"), None),
    "thought is a number": edited(T, ("thought_data", "thought"), 3),
    "thought is null": edited(T, ("thought_data", "thought"), None),
    "thought is a list": edited(T, ("thought_data", "thought"), ["Alternative"]),
    "thought is blank": edited(T, ("thought_data", "thought"), "   "),
    "branch_id is a number": edited(T, ("thought_data", "branch_id"), 1),
    "branch_id is false": edited(T, ("thought_data", "branch_id"), False),
    "thought_number is 0": edited(T, ("thought_data", "thought_number"), 0),
    "thought_number is -3": edited(T, ("thought_data", "thought_number"), -3),
    "total_thoughts is 2**32": edited(T, ("thought_data", "total_thoughts"), 2**32),
    "total_thoughts is 10**400": edited(T, ("thought_data", "total_thoughts"), 10**400),
    "total_thoughts has 5000 digits": raw(T, b'"total_thoughts": 4', b'"total_thoughts": ' + b"9" * 5000),
    "total_thoughts is NaN": raw(T, b'"total_thoughts": 4', b'"total_thoughts": NaN'),
    "total_thoughts is Infinity": raw(T, b'"total_thoughts": 4', b'"total_thoughts": Infinity'),
    "total_thoughts is -Infinity": raw(T, b'"total_thoughts": 4', b'"total_thoughts": -Infinity'),
    "total_thoughts is 1e999": raw(T, b'"total_thoughts": 4', b'"total_thoughts": 1e999'),
    "thought_data is null": edited(T, ("thought_data",), None),
    "thought_data is a list": edited(T, ("thought_data",), []),
    "thought_data is a string": edited(T, ("thought_data",), "thought"),
    "an extra key at the top": edited(T, ("extra",), None),
    "an extra key in thought_data": edited(T, ("thought_data", "extra"), None),
    "the thought key is missing": edited(T, ("thought_data", "thought"), ...),
    "a key appears twice": raw(T, b'"thought_number": 3,', b'"thought_number": 3,\n  "thought_number": 3,'),
    "a UTF-8 BOM": b"\xef\xbb\xbf" + T,
    "UTF-16": T.decode().encode("utf-16"),
    "a Latin-1 byte": raw(T, b"Alternative", b"Alternativ\xe9"),
    "an encoded surrogate": raw(T, b"Alternative", b"Alternative\xed\xa0\x80"),
    "an overlong slash": raw(T, b"Alternative", b"Alternative\xc0\xaf"),
    "a lone surrogate escape": raw(T, b"Alternative", b"Alternative \\ud800"),
    "a raw NUL in a string": raw(T, b"Alternative", b"Alternative\x00"),
    "100,000 nested arrays": raw(T, TEXT, b"[" * 100_000 + b"]" * 100_000),
    "50,000 nested objects": raw(T, TEXT, b'{"a": ' * 50_000 + b"1" + b"}" * 50_000),
    "a million open brackets": b"[" * 1_000_000,
    "an empty file": b"",
    "only white space": b" \n\t ",
    "null": b"null",
    "an empty object": b"{}",
    "an empty list": b"[]",
    "a number": b"3",
    "a string": b'"thought"',
    "trailing garbage": T + b"x",
    "two documents": T + T,
    "another valid thought": edited(T, ("thought_data", "thought"), "Something else."),
    "another thought's file": encode_thought(sample_session().thought_history[0]),
    **KINDS,
}
#: The thought-file contents that are valid and mean the same thought: restore must accept them.
VALID_THOUGHT_CASES: dict[str, bytes | str] = {
    "a trailing newline": T + b"\n",
    "compact JSON": json.dumps(json.loads(T), separators=(",", ":")).encode(),
    "reordered keys": json.dumps(dict(reversed(json.loads(T).items())), indent=2).encode(),
    "non-ASCII written as \\u escapes": raw(T, b"Alternative", b"Alternativ\\u0065"),
    "the optional keys left out": json.dumps(
        {"thought_number": 3, "thought_data": {k: v for k, v in json.loads(T)["thought_data"].items() if v}}
    ).encode(),
}

#: Hostile session.json files: name -> bytes.
SESSION_CASES: dict[str, bytes | str] = {
    "total_thoughts is the string 7": edited(S, ("total_thoughts",), "7"),
    "total_thoughts is true": edited(S, ("total_thoughts",), True),
    "total_thoughts is 7.0": edited(S, ("total_thoughts",), 7.0),
    "total_thoughts is null": edited(S, ("total_thoughts",), None),
    "total_thoughts is -1": edited(S, ("total_thoughts",), -1),
    "total_thoughts is 8": edited(S, ("total_thoughts",), 8),
    "total_thoughts is 2**64 - 1": edited(S, ("total_thoughts",), 2**64 - 1),
    "total_thoughts is 2**64": edited(S, ("total_thoughts",), 2**64),
    "total_thoughts is 10**400": edited(S, ("total_thoughts",), 10**400),
    "total_thoughts has 5000 digits": raw(S, b'"total_thoughts": 7', b'"total_thoughts": ' + b"7" * 5000),
    "total_thoughts is NaN": raw(S, b'"total_thoughts": 7', b'"total_thoughts": NaN'),
    "total_thoughts is Infinity": raw(S, b'"total_thoughts": 7', b'"total_thoughts": Infinity'),
    "total_thoughts is 1e999": raw(S, b'"total_thoughts": 7', b'"total_thoughts": 1e999'),
    "total_thoughts is missing": edited(S, ("total_thoughts",), ...),
    "session_id is a number": edited(S, ("session_id",), 3),
    "session_id is null": edited(S, ("session_id",), None),
    "session_id names another session": edited(S, ("session_id",), OTHER),
    "session_id is a case twin": edited(S, ("session_id",), "SAMPLE"),
    "session_id has a lone surrogate": raw(S, b'"sample"', b'"sample\\ud800"'),
    "session_id has a Latin-1 byte": raw(S, b'"sample"', b'"sampl\xe9"'),
    "created_at is a number": edited(S, ("created_at",), 1767323045),
    "created_at is null": edited(S, ("created_at",), None),
    "created_at is a list": edited(S, ("created_at",), []),
    "created_at is empty": edited(S, ("created_at",), {}),
    "created_at.secs_since_epoch is a string": edited(S, ("created_at", "secs_since_epoch"), "1767323045"),
    "created_at.secs_since_epoch is true": edited(S, ("created_at", "secs_since_epoch"), True),
    "created_at.secs_since_epoch is a float": edited(S, ("created_at", "secs_since_epoch"), 1767323045.0),
    "created_at.secs_since_epoch is -1": edited(S, ("created_at", "secs_since_epoch"), -1),
    "created_at.secs_since_epoch is 2**63": edited(S, ("created_at", "secs_since_epoch"), 2**63),
    "created_at.nanos_since_epoch is 10**9": edited(S, ("created_at", "nanos_since_epoch"), 10**9),
    "created_at.nanos_since_epoch is -1": edited(S, ("created_at", "nanos_since_epoch"), -1),
    "created_at.nanos_since_epoch is missing": edited(S, ("created_at", "nanos_since_epoch"), ...),
    "last_activity.secs_since_epoch is false": edited(S, ("last_activity", "secs_since_epoch"), False),
    "last_activity.nanos_since_epoch is 0.5": edited(S, ("last_activity", "nanos_since_epoch"), 0.5),
    "branch_ids is a string": edited(S, ("branch_ids",), "alt"),
    "branch_ids is null": edited(S, ("branch_ids",), None),
    "branch_ids is an object": edited(S, ("branch_ids",), {"alt": 1, "halve": 2}),
    "branch_ids holds a number": edited(S, ("branch_ids",), ["alt", 1]),
    "branch_ids lists an id twice": edited(S, ("branch_ids",), ["alt", "alt", "halve"]),
    "branch_ids lacks a branch": edited(S, ("branch_ids",), ["alt"]),
    "branch_ids has a ghost": edited(S, ("branch_ids",), ["alt", "halve", "ghost"]),
    "branch_ids is empty": edited(S, ("branch_ids",), []),
    "an extra key at the top": edited(S, ("format",), 1),
    "an extra key in created_at": edited(S, ("created_at", "extra"), 0),
    "a key appears twice": raw(S, b'"total_thoughts": 7,', b'"total_thoughts": 7,\n  "total_thoughts": 7,'),
    "a UTF-8 BOM": b"\xef\xbb\xbf" + S,
    "UTF-16": S.decode().encode("utf-16"),
    "100,000 nested arrays": raw(S, b'"alt",', b"[" * 100_000 + b"]" * 100_000 + b","),
    "10 MiB of open brackets": b"[" * (10 * MIB),
    "an empty file": b"",
    "null": b"null",
    "an empty object": b"{}",
    "an empty list": b"[]",
    "trailing garbage": S + b"}",
    **KINDS,
}
#: session.json contents that are valid: restore must accept them and give exactly what they say.
VALID_SESSION_CASES: dict[str, bytes | str] = {
    "branch_ids in another order (the seed's HashMap order)": edited(S, ("branch_ids",), ["halve", "alt"]),
    "a smaller count (an older commit; the later files are leftovers)": edited(S, ("total_thoughts",), 6),
    "a trailing newline": S + b"\n",
    "1 MiB of trailing white space": S + b" " * MIB,
}


# --- tests -------------------------------------------------------------------------


@pytest.mark.parametrize("place", [THOUGHT, BRANCH])
@pytest.mark.parametrize("case", list(THOUGHT_CASES))
def test_a_hostile_thought_or_branch_file_is_reported_as_corrupt(bench: Bench, place: str, case: str) -> None:
    """Wrong types, bad numbers, bad encodings, nesting, extra keys, wrong file kinds: CorruptSessionError."""
    assert "corrupt" == bench.check(place, THOUGHT_CASES[case])


@pytest.mark.parametrize("place", [THOUGHT, BRANCH])
@pytest.mark.parametrize("case", list(VALID_THOUGHT_CASES))
def test_a_valid_variant_of_a_thought_file_restores_exactly(bench: Bench, place: str, case: str) -> None:
    """Other spellings of the same thought are read, and read as exactly that thought."""
    assert "restored" == bench.check(place, VALID_THOUGHT_CASES[case])


@pytest.mark.parametrize("case", list(SESSION_CASES))
def test_a_hostile_session_json_is_reported_as_corrupt(bench: Bench, case: str) -> None:
    """A session.json that is damaged, mistyped, huge or not a regular file: CorruptSessionError."""
    assert "corrupt" == bench.check(SESSION, SESSION_CASES[case])


@pytest.mark.parametrize("case", list(VALID_SESSION_CASES))
def test_a_valid_variant_of_session_json_restores_exactly(bench: Bench, case: str) -> None:
    """Valid session.json files other than seqthink's own bytes restore to exactly what they say."""
    assert "restored" == bench.check(SESSION, VALID_SESSION_CASES[case])


def test_a_10_mib_thought_file_is_read_in_full(bench: Bench) -> None:
    """A valid thought file of 10 MiB (a 10 MiB thought text) restores exactly, without hanging.

    The limit on a thought's length applies to new thoughts, not to what is stored.
    """
    last = encode_thought(sample_session().thought_history[6])
    huge = edited(last, ("thought_data", "thought"), "x" * (10 * MIB))
    assert "restored" == bench.check(thought_file_name(7), huge)


@pytest.mark.parametrize("place", PLACES)
def test_every_truncation_is_reported_as_corrupt(bench: Bench, place: str) -> None:
    """Every proper prefix of session.json, a thought file and a branch file, through the store.

    (For the thought and branch files, cleanup is left out: it would delete the old session,
    whose session.json is fine, every time; the cases above cover it.)
    """
    data = ORIGINAL[place]
    outcomes = {cut: bench.check(place, data[:cut], cleanup=place == SESSION) for cut in range(len(data))}
    assert dict.fromkeys(range(len(data)), "corrupt") == outcomes
    assert "restored" == bench.check(place, data)  # the whole file is fine


def _overwritten(base: bytes) -> st.SearchStrategy[bytes]:
    """``base`` with a few bytes somewhere overwritten or inserted."""
    return st.tuples(st.integers(0, len(base)), st.binary(min_size=1, max_size=4), st.booleans()).map(
        lambda e: base[: e[0]] + e[1] + base[e[0] + (len(e[1]) if e[2] else 0) :]
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(place=st.sampled_from(PLACES), data=st.data())
def test_random_bytes_restore_exactly_or_are_corrupt(bench: Bench, place: str, data: st.DataObject) -> None:
    """Random bytes, or a valid file with a few bytes changed: faithful restore or CorruptSessionError."""
    content = data.draw(st.binary(max_size=600) | _overwritten(ORIGINAL[place]), label="content")
    assert bench.check(place, content) in {"restored", "corrupt"}
