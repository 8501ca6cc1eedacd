"""The seed's on-disk format: golden files, strict decoding and branch file names."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import seqthink
from seqthink import FileSystemStore, SessionRecord, Thought, _format
from seqthink._format import (
    FormatError,
    SessionHeader,
    branch_file_name,
    decode_compact_thought,
    decode_session,
    decode_thought,
    encode_compact_thought,
    encode_session,
    encode_thought,
)

if TYPE_CHECKING:
    from collections.abc import Callable

SID = "6f1d2c1e-8a4b-4c9e-9d53-2b7f0e5a91c4"
FIXTURE = Path(__file__).parent / "fixtures" / "seed" / SID
CREATED_NS = 1_765_339_200_123_456_789
LAST_NS = 1_765_339_815_987_654_321
MAX_SECS = 253_402_300_799  # 9999-12-31T23:59:59Z

# The examples of the format document (FORMAT.md), verbatim, and the second thought of the same
# session in the same form: the fixtures must hold exactly these bytes.
SESSION_JSON = b"""{
  "session_id": "6f1d2c1e-8a4b-4c9e-9d53-2b7f0e5a91c4",
  "created_at": {
    "secs_since_epoch": 1765339200,
    "nanos_since_epoch": 123456789
  },
  "last_activity": {
    "secs_since_epoch": 1765339815,
    "nanos_since_epoch": 987654321
  },
  "total_thoughts": 3,
  "branch_ids": [
    "alt"
  ]
}"""
THOUGHT1_JSON = b"""{
  "thought_number": 1,
  "thought_data": {
    "thought": "I need to calculate 15 * 24 step by step",
    "thought_number": 1,
    "total_thoughts": 3,
    "next_thought_needed": true,
    "is_revision": null,
    "revises_thought": null,
    "branch_from_thought": null,
    "branch_id": null,
    "needs_more_thoughts": null
  }
}"""
BRANCH_JSON = b"""{
  "thought_number": 3,
  "thought_data": {
    "thought": "Alternative: 24 * 15 = 24 * 10 + 24 * 5",
    "thought_number": 3,
    "total_thoughts": 3,
    "next_thought_needed": true,
    "is_revision": null,
    "revises_thought": null,
    "branch_from_thought": 1,
    "branch_id": "alt",
    "needs_more_thoughts": null
  }
}"""
THOUGHT2_JSON = b"""{
  "thought_number": 2,
  "thought_data": {
    "thought": "15 * 24 = 15 * 20 + 15 * 4 = 300 + 60 = 360",
    "thought_number": 2,
    "total_thoughts": 3,
    "next_thought_needed": true,
    "is_revision": null,
    "revises_thought": null,
    "branch_from_thought": null,
    "branch_id": null,
    "needs_more_thoughts": null
  }
}"""

T1 = Thought("I need to calculate 15 * 24 step by step", 1, 3, next_thought_needed=True)
T2 = Thought("15 * 24 = 15 * 20 + 15 * 4 = 300 + 60 = 360", 2, 3, next_thought_needed=True)
T3 = Thought(
    "Alternative: 24 * 15 = 24 * 10 + 24 * 5",
    3,
    3,
    next_thought_needed=True,
    branch_from_thought=1,
    branch_id="alt",
)
FILES = {
    "session.json": SESSION_JSON,
    "thought1.json": THOUGHT1_JSON,
    "thought2.json": THOUGHT2_JSON,
    "thought3.json": BRANCH_JSON,
    "branch_alt_thought1.json": BRANCH_JSON,
}


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def stats(folder: Path) -> dict[str, tuple[int, int, int]]:
    """(inode, size, mtime_ns) of every entry under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def seed_root(tmp_path: Path) -> Path:
    """A sessions root holding a copy of the seed-written fixture session."""
    root = tmp_path / "seed"
    root.mkdir()
    shutil.copytree(FIXTURE, root / SID)
    return root


# --- golden files --------------------------------------------------------------


def test_fixtures_hold_the_format_examples() -> None:
    """The fixture folder is exactly the documented session: these five files, these bytes."""
    assert FILES == read_tree(FIXTURE)


def test_encode_thought_matches_the_golden_files() -> None:
    """encode_thought writes each fixture thought byte for byte."""
    assert [THOUGHT1_JSON, THOUGHT2_JSON, BRANCH_JSON] == [encode_thought(t) for t in (T1, T2, T3)]


def test_encode_session_matches_the_golden_file() -> None:
    """encode_session writes the fixture session.json byte for byte, nanoseconds included."""
    record = SessionRecord.from_thoughts(SID, CREATED_NS, LAST_NS, (T1, T2, T3))

    assert SESSION_JSON == encode_session(record)


def test_golden_files_decode_to_the_expected_values() -> None:
    """decode_thought and decode_session read the fixtures back to the values they encode."""
    assert [T1, T2, T3, T3] == [
        decode_thought(FILES[name])
        for name in ("thought1.json", "thought2.json", "thought3.json", "branch_alt_thought1.json")
    ]
    assert SessionHeader(SID, CREATED_NS, LAST_NS, 3, ("alt",)) == decode_session(SESSION_JSON)


def test_restore_reads_the_seed_session(seed_root: Path) -> None:
    """A seed-written session restores with its thoughts, its branch and its timestamps."""
    session = FileSystemStore(seed_root).restore(SID)

    assert SID == session.session_id
    assert (T1, T2, T3) == session.thought_history
    assert [("alt", (T3,))] == list(session.branches.items())
    assert datetime(2025, 12, 10, 4, 0, 0, 123456, tzinfo=timezone.utc) == session.created_at
    assert datetime(2025, 12, 10, 4, 10, 15, 987654, tzinfo=timezone.utc) == session.last_activity
    assert (3, ("alt",)) == (session.metadata.total_thoughts, session.metadata.branch_ids)


def test_restore_changes_nothing_on_disk(seed_root: Path) -> None:
    """Restoring (twice, and checking existence and listing) leaves every byte and file as it was."""
    before_bytes, before_stats = read_tree(seed_root), stats(seed_root)
    store = FileSystemStore(seed_root)

    store.restore(SID)
    store.restore(SID)
    store.exists(SID)
    store.list_sessions()

    assert before_bytes == read_tree(seed_root)
    assert before_stats == stats(seed_root)
    assert {f"{SID}/{name}": data for name, data in FILES.items()} == read_tree(seed_root)


def test_a_restored_session_saved_to_a_fresh_root_is_byte_identical(seed_root: Path, tmp_path: Path) -> None:
    """Saving the restored session elsewhere writes the same file set with the same bytes."""
    session = FileSystemStore(seed_root).restore(SID)
    fresh = tmp_path / "fresh"

    FileSystemStore(fresh).save(session)

    assert read_tree(seed_root / SID) == read_tree(fresh / SID)


def test_continuing_a_seed_session_appends_in_the_seed_format(seed_root: Path) -> None:
    """A thought added to a restored seed session is saved as thought4.json; old files are untouched."""
    store = FileSystemStore(seed_root)
    session = store.restore(SID)
    old = stats(seed_root / SID)
    session.add_thought(Thought("So the answer is 360.", 4, 4, next_thought_needed=False))

    store.save(session)

    tree = read_tree(seed_root / SID)
    assert {**FILES, "session.json": tree["session.json"], "thought4.json": tree["thought4.json"]} == tree
    assert {k: v for k, v in old.items() if k != "session.json"} == {
        k: v for k, v in stats(seed_root / SID).items() if k not in {"session.json", "thought4.json"}
    }
    assert Thought("So the answer is 360.", 4, 4, next_thought_needed=False) == decode_thought(
        tree["thought4.json"]
    )
    header = decode_session(tree["session.json"])
    assert (CREATED_NS, 4, ("alt",)) == (header.created_ns, header.total_thoughts, header.branch_ids)


def test_a_new_branch_thought_continues_the_seed_branch_files(seed_root: Path) -> None:
    """A thought added to the seed's branch "alt" is written as branch_alt_thought2.json."""
    store = FileSystemStore(seed_root)
    session = store.restore(SID)
    added = Thought(
        "24 * 15 = 240 + 120 = 360", 4, 4, next_thought_needed=False, branch_from_thought=1, branch_id="alt"
    )
    session.add_thought(added)

    store.save(session)

    tree = read_tree(seed_root / SID)
    assert BRANCH_JSON == tree["branch_alt_thought1.json"]
    assert encode_thought(added) == tree["branch_alt_thought2.json"] == tree["thought4.json"]


def test_continuing_a_seed_branch_with_a_non_plain_id_keeps_every_branch_file(seed_root: Path) -> None:
    """The seed wrote branch "my branch" as branch_my branch_thought1.json; after seqthink appends to
    that branch, every position of the branch still has a file (in the seed's or seqthink's naming)
    holding the right thought.
    """
    folder = seed_root / SID
    for name in ("session.json", "thought3.json", "branch_alt_thought1.json"):
        (folder / name).write_bytes((folder / name).read_bytes().replace(b'"alt"', b'"my branch"'))
    (folder / "branch_alt_thought1.json").rename(folder / "branch_my branch_thought1.json")
    store = FileSystemStore(seed_root)
    session = store.restore(SID)
    session.think("and more on it", branch_from_thought=1, branch_id="my branch")

    store.save(session)

    branch = session.branches["my branch"]
    found = []
    for position, expected in enumerate(branch, 1):
        names = {f"branch_my branch_thought{position}.json", branch_file_name("my branch", position)}
        present = [folder / n for n in sorted(names) if (folder / n).exists()]
        found.append([decode_thought(p.read_bytes()) == expected for p in present])
    assert [[True], [True]] == found


def test_restore_rejects_a_truncated_branch_file(seed_root: Path) -> None:
    """An unreadable branch file is not skipped silently: restore raises CorruptSessionError naming it."""
    path = seed_root / SID / "branch_alt_thought1.json"
    path.write_bytes(BRANCH_JSON[:40])

    with pytest.raises(seqthink.errors.CorruptSessionError) as info:
        FileSystemStore(seed_root).restore(SID)

    assert "branch_alt_thought1.json" in str(info.value)


def test_restore_rejects_branch_ids_written_as_an_object(seed_root: Path) -> None:
    """A session.json whose branch_ids is an object, not a list, is corrupt and is not restored."""
    path = seed_root / SID / "session.json"
    path.write_bytes(SESSION_JSON.replace(b'[\n    "alt"\n  ]', b'{"alt": 1}'))

    with pytest.raises(seqthink.errors.CorruptSessionError):
        FileSystemStore(seed_root).restore(SID)


def test_non_ascii_text_is_raw_utf8() -> None:
    """Non-ASCII text is written as UTF-8 bytes, not as \\u escapes, and reads back the same."""
    text = "Überlegung: 15 \u00d7 24 = 360 ✓ 🧠 日本語 \u2028"
    thought = Thought(text, 1, 1, next_thought_needed=False, branch_from_thought=1, branch_id="zweig-ü")

    data = encode_thought(thought)

    assert text.encode("utf-8") in data
    assert b'"zweig-\xc3\xbc"' in data
    assert b"\\u" not in data
    assert thought == decode_thought(data)


def test_non_ascii_text_on_disk_is_raw_utf8(tmp_path: Path) -> None:
    """The filesystem store writes non-ASCII thoughts and branch ids as raw UTF-8 too."""
    session = seqthink.ThinkingSession("utf8")
    session.think("naïve café ☕")
    session.think("分岐", branch_from_thought=1, branch_id="枝")

    FileSystemStore(tmp_path).save(session)

    files = read_tree(tmp_path / "utf8")
    assert "naïve café ☕".encode() in files["thought1.json"]
    assert "分岐".encode() in files["thought2.json"]
    assert '"枝"'.encode() in files["session.json"]
    assert all(b"\\u" not in data for data in files.values())


def test_control_characters_are_escaped_like_serde_json() -> None:
    """Control characters get serde_json's escapes: short forms where it has them, else lowercase \\u00XX."""
    thought = Thought('tab\there\nnew \r \x08 \x0c \x01 \x1f "q" \\ \x7f /', 1, 1, next_thought_needed=True)

    data = encode_thought(thought)

    assert b'"thought": "tab\\there\\nnew \\r \\b \\f \\u0001 \\u001f \\"q\\" \\\\ \x7f /"' in data


@pytest.mark.parametrize(
    "data",
    [
        encode_thought(T1),
        encode_thought(Thought("ü", 1, 1, next_thought_needed=True)),
        encode_session(SessionRecord.from_thoughts("s", 0, 0, ())),
        SESSION_JSON,
    ],
)
def test_no_trailing_newline(data: bytes) -> None:
    """Encoded files end with the closing brace, as serde_json's to_string_pretty writes them."""
    assert b"}" == data[-1:]


def test_empty_containers_are_written_compactly() -> None:
    """A session without branches writes `"branch_ids": []` as serde_json does."""
    data = encode_session(SessionRecord.from_thoughts("s", 5, 1_000_000_007, ()))

    expected = (
        b'{\n  "session_id": "s",\n  "created_at": {\n    "secs_since_epoch": 0,\n'
        b'    "nanos_since_epoch": 5\n  },\n  "last_activity": {\n    "secs_since_epoch": 1,\n'
        b'    "nanos_since_epoch": 7\n  },\n  "total_thoughts": 0,\n  "branch_ids": []\n}'
    )
    assert expected == data


# --- strict decoding -----------------------------------------------------------


def thought_doc() -> dict[str, Any]:
    """A fresh, mutable copy of the thought1.json example."""
    doc: dict[str, Any] = json.loads(THOUGHT1_JSON)
    return doc


def session_doc() -> dict[str, Any]:
    """A fresh, mutable copy of the session.json example."""
    doc: dict[str, Any] = json.loads(SESSION_JSON)
    return doc


def dumps(doc: object) -> bytes:
    return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8")


def thought_with(change: Callable[[dict[str, Any]], object]) -> bytes:
    """thought1.json with ``change`` applied to its document."""
    doc = thought_doc()
    change(doc)
    return dumps(doc)


def session_with(change: Callable[[dict[str, Any]], object]) -> bytes:
    """session.json with ``change`` applied to its document."""
    doc = session_doc()
    change(doc)
    return dumps(doc)


def data_set(key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda doc: doc["thought_data"].__setitem__(key, value)


def data_del(key: str) -> Callable[[dict[str, Any]], object]:
    return lambda doc: doc["thought_data"].pop(key)


def top_set(key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda doc: doc.__setitem__(key, value)


def top_del(key: str) -> Callable[[dict[str, Any]], object]:
    return lambda doc: doc.pop(key)


def instant_set(which: str, key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda doc: doc[which].__setitem__(key, value)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


BAD_THOUGHTS = {
    "string false for a bool": thought_with(data_set("next_thought_needed", "false")),
    "string true for an optional bool": thought_with(data_set("is_revision", "true")),
    "1 for a bool": thought_with(data_set("next_thought_needed", 1)),
    "0 for an optional bool": thought_with(data_set("needs_more_thoughts", 0)),
    "null for a required bool": thought_with(data_set("next_thought_needed", None)),
    "string 3 for an int": thought_with(data_set("total_thoughts", "3")),
    "string 1 for the top-level int": thought_with(top_set("thought_number", "1")),
    "true for an int": thought_with(data_set("thought_number", value=True)),
    "true for the top-level int": thought_with(top_set("thought_number", value=True)),
    "2.0 for an int": thought_with(data_set("total_thoughts", 2.0)),
    "1.0 for the top-level int": thought_with(top_set("thought_number", 1.0)),
    "1.5 for an optional int": thought_with(data_set("revises_thought", 1.5)),
    "string for an optional int": thought_with(data_set("branch_from_thought", "1")),
    "null for a required int": thought_with(data_set("total_thoughts", None)),
    "0 for a number": thought_with(data_set("total_thoughts", 0)),
    "negative number": thought_with(data_set("revises_thought", -1)),
    "number over u32": thought_with(data_set("total_thoughts", 2**32)),
    "number over u64": thought_with(data_set("total_thoughts", 2**64)),
    "null for the text": thought_with(data_set("thought", None)),
    "number for the text": thought_with(data_set("thought", 5)),
    "empty text": thought_with(data_set("thought", "")),
    "blank text": thought_with(data_set("thought", " \n ")),
    "lone surrogate in text": THOUGHT1_JSON.replace(b"step by step", b"step \\ud800 by step"),
    "empty branch id": thought_with(data_set("branch_id", "")),
    "control character in branch id": thought_with(data_set("branch_id", "a\u0001b")),
    "branch id over 256 characters": thought_with(data_set("branch_id", "b" * 257)),
    "number for a branch id": thought_with(data_set("branch_id", 7)),
    "extra top-level key": thought_with(top_set("format_version", 2)),
    "extra thought_data key": thought_with(data_set("confidence", 0.5)),
    "missing thought": thought_with(data_del("thought")),
    "missing thought_data.thought_number": thought_with(data_del("thought_number")),
    "missing total_thoughts": thought_with(data_del("total_thoughts")),
    "missing next_thought_needed": thought_with(data_del("next_thought_needed")),
    "missing top-level thought_number": thought_with(top_del("thought_number")),
    "missing thought_data": thought_with(top_del("thought_data")),
    "thought_data is a string": thought_with(top_set("thought_data", "I need to")),
    "thought_data is a list": thought_with(top_set("thought_data", [1])),
    "thought_data is null": thought_with(top_set("thought_data", None)),
    "top-level list": b"[]",
    "top-level number": b"1",
    "top-level string": b'"thought"',
    "top-level null": b"null",
    "numbers differ": thought_with(top_set("thought_number", 2)),
    "NaN": THOUGHT1_JSON.replace(b'"total_thoughts": 3', b'"total_thoughts": NaN'),
    "Infinity": THOUGHT1_JSON.replace(b'"total_thoughts": 3', b'"total_thoughts": Infinity'),
    "-Infinity": THOUGHT1_JSON.replace(b'"revises_thought": null', b'"revises_thought": -Infinity'),
    "1e400": THOUGHT1_JSON.replace(b'"total_thoughts": 3', b'"total_thoughts": 1e400'),
    "duplicate top-level key": THOUGHT1_JSON.replace(b"{\n", b'{\n  "thought_number": 1,\n', 1),
    "duplicate thought_data key": THOUGHT1_JSON.replace(
        b'"is_revision": null,', b'"is_revision": null,\n    "is_revision": true,'
    ),
    "duplicate key with equal values": THOUGHT1_JSON.replace(
        b'"branch_id": null,', b'"branch_id": null,\n    "branch_id": null,'
    ),
    "byte order mark": b"\xef\xbb\xbf" + THOUGHT1_JSON,
    "invalid UTF-8": THOUGHT1_JSON.replace(b"step by", b"step \xff by"),
    "overlong UTF-8": THOUGHT1_JSON.replace(b"step by", b"step \xc0\xaf by"),
    "UTF-8 encoded surrogate": THOUGHT1_JSON.replace(b"step by", b"step \xed\xa0\x80 by"),
    "UTF-16": THOUGHT1_JSON.decode().encode("utf-16"),
    "empty file": b"",
    "white space only": b" \n\t",
    "trailing garbage": THOUGHT1_JSON + b"x",
    "two documents": THOUGHT1_JSON + THOUGHT1_JSON,
    "deep nesting": nested(100_000),
    "deep nesting in a field": THOUGHT1_JSON.replace(
        b'"is_revision": null', b'"is_revision": ' + nested(100_000)
    ),
    "5000-digit integer": THOUGHT1_JSON.replace(b'"total_thoughts": 3', b'"total_thoughts": ' + b"9" * 5000),
    "5000-digit top-level integer": THOUGHT1_JSON.replace(
        b'"thought_number": 1,', b'"thought_number": 1' + b"0" * 4999 + b","
    ),
    "single quotes": THOUGHT1_JSON.replace(b'"branch_id": null', b"'branch_id': null"),
    "trailing comma": THOUGHT1_JSON.replace(b'"needs_more_thoughts": null', b'"needs_more_thoughts": null,'),
    "comment": THOUGHT1_JSON.replace(b"{\n", b"{ // seed\n", 1),
}


@pytest.mark.parametrize("data", BAD_THOUGHTS.values(), ids=BAD_THOUGHTS.keys())
def test_bad_thought_files_raise_format_error(data: bytes) -> None:
    """Every malformed or non-strict thought file raises FormatError, never another exception."""
    with pytest.raises(FormatError) as info:
        decode_thought(data)

    assert str(info.value)


def timestamp(secs: int, nanos: int) -> Callable[[dict[str, Any]], object]:
    return top_set("created_at", {"secs_since_epoch": secs, "nanos_since_epoch": nanos})


BAD_SESSIONS = {
    "negative secs": session_with(timestamp(-1, 0)),
    "negative nanos": session_with(timestamp(1, -1)),
    "nanos of a full second": session_with(timestamp(1, 1_000_000_000)),
    "nanos far too big": session_with(instant_set("last_activity", "nanos_since_epoch", 2**32)),
    "secs after 9999": session_with(timestamp(MAX_SECS + 1, 0)),
    "secs at u64 max": session_with(instant_set("last_activity", "secs_since_epoch", 2**64 - 1)),
    "secs over u64": session_with(timestamp(2**64, 0)),
    "string secs": session_with(timestamp("1765339200", 0)),  # type: ignore[arg-type]
    "true for nanos": session_with(timestamp(1765339200, nanos=True)),
    "float secs": session_with(timestamp(1765339200.5, 0)),  # type: ignore[arg-type]
    "null timestamp": session_with(top_set("created_at", None)),
    "list timestamp": session_with(top_set("created_at", [1765339200, 0])),
    "number timestamp": session_with(top_set("last_activity", 1765339815)),
    "missing secs": session_with(lambda doc: doc["created_at"].pop("secs_since_epoch")),
    "missing nanos": session_with(lambda doc: doc["last_activity"].pop("nanos_since_epoch")),
    "extra timestamp key": session_with(instant_set("created_at", "tz", "UTC")),
    "missing session_id": session_with(top_del("session_id")),
    "missing created_at": session_with(top_del("created_at")),
    "missing last_activity": session_with(top_del("last_activity")),
    "missing total_thoughts": session_with(top_del("total_thoughts")),
    "missing branch_ids": session_with(top_del("branch_ids")),
    "extra key": session_with(top_set("owner", "me")),
    "number for session_id": session_with(top_set("session_id", 6)),
    "null session_id": session_with(top_set("session_id", None)),
    "negative total": session_with(top_set("total_thoughts", -1)),
    "string total": session_with(top_set("total_thoughts", "3")),
    "true total": session_with(top_set("total_thoughts", value=True)),
    "float total": session_with(top_set("total_thoughts", 3.0)),
    "null branch_ids": session_with(top_set("branch_ids", None)),
    "number in branch_ids": session_with(top_set("branch_ids", [1])),
    "null in branch_ids": session_with(top_set("branch_ids", ["alt", None])),
    "duplicate branch id": session_with(top_set("branch_ids", ["alt", "alt"])),
    "string for branch_ids": session_with(top_set("branch_ids", "alt")),
    "object for branch_ids": session_with(top_set("branch_ids", {"alt": 1})),
    "NaN": SESSION_JSON.replace(b'"total_thoughts": 3', b'"total_thoughts": NaN'),
    "Infinity": SESSION_JSON.replace(b"1765339815", b"Infinity"),
    "duplicate key": SESSION_JSON.replace(
        b'"total_thoughts": 3', b'"total_thoughts": 3,\n  "total_thoughts": 4'
    ),
    "duplicate timestamp key": SESSION_JSON.replace(
        b'"secs_since_epoch": 1765339200', b'"secs_since_epoch": 1,\n    "secs_since_epoch": 1765339200'
    ),
    "byte order mark": b"\xef\xbb\xbf" + SESSION_JSON,
    "invalid UTF-8": SESSION_JSON.replace(b'"alt"', b'"a\xfelt"'),
    "empty file": b"",
    "top-level list": b"[]",
    "deep nesting": nested(100_000),
    "5000-digit integer": SESSION_JSON.replace(b'"total_thoughts": 3', b'"total_thoughts": ' + b"1" * 5000),
    "5000-digit secs": SESSION_JSON.replace(b"1765339200", b"1" * 5000),
}


@pytest.mark.parametrize("data", BAD_SESSIONS.values(), ids=BAD_SESSIONS.keys())
def test_bad_session_files_raise_format_error(data: bytes) -> None:
    """Every malformed or non-strict session.json raises FormatError, never another exception."""
    with pytest.raises(FormatError) as info:
        decode_session(data)

    assert str(info.value)


@pytest.mark.parametrize(
    "key", ["is_revision", "revises_thought", "branch_from_thought", "branch_id", "needs_more_thoughts"]
)
def test_a_missing_optional_key_reads_as_none(key: str) -> None:
    """As in the seed, an optional thought_data key that is absent is read as null."""
    assert T1 == decode_thought(thought_with(data_del(key)))


def test_all_optional_keys_missing_read_as_none() -> None:
    """A thought file with only the four required thought_data keys decodes with every optional None."""
    doc = thought_doc()
    doc["thought_data"] = {k: v for k, v in doc["thought_data"].items() if v is not None}

    assert T1 == decode_thought(dumps(doc))


def test_compact_and_reordered_json_is_accepted() -> None:
    """Layout and key order do not matter when reading: compact, reordered JSON decodes the same."""
    doc = thought_doc()
    reordered = {"thought_data": dict(reversed(doc["thought_data"].items())), "thought_number": 1}

    assert T1 == decode_thought(json.dumps(reordered, separators=(",", ":")).encode())


def test_a_trailing_newline_is_tolerated_when_reading() -> None:
    """A file an editor saved with a final newline still reads (serde_json accepts trailing white space)."""
    assert T1 == decode_thought(THOUGHT1_JSON + b"\n")


@pytest.mark.parametrize(
    ("secs", "nanos"), [(0, 0), (0, 999_999_999), (MAX_SECS, 0), (MAX_SECS, 999_999_999)]
)
def test_timestamps_at_the_bounds_are_accepted(secs: int, nanos: int) -> None:
    """The epoch and the last nanosecond of year 9999 are valid timestamps."""
    header = decode_session(session_with(timestamp(secs, nanos)))

    assert secs * 1_000_000_000 + nanos == header.created_ns


def test_a_session_without_branches_decodes() -> None:
    """An empty branch_ids list and a zero count are valid."""
    header = decode_session(session_with(lambda doc: doc.update(total_thoughts=0, branch_ids=[])))

    assert (0, ()) == (header.total_thoughts, header.branch_ids)


NON_ASCII_BRANCH = encode_thought(
    Thought(
        "Alternativ: 24 \u00d7 15 🧮",
        3,
        3,
        next_thought_needed=True,
        branch_from_thought=1,
        branch_id="zweig-ü",
    )
)


def decode_outcome(decode: Callable[[bytes], object], data: bytes) -> str | None:
    """None if ``decode(data)`` raises FormatError, else what happened instead."""
    try:
        decode(data)
    except FormatError:
        return None
    except Exception as exc:
        return repr(exc)
    return "accepted"


@pytest.mark.parametrize(
    ("name", "decode", "data"),
    [
        ("thought1.json", decode_thought, THOUGHT1_JSON),
        ("branch_alt_thought1.json", decode_thought, BRANCH_JSON),
        ("non-ASCII thought", decode_thought, NON_ASCII_BRANCH),
        ("session.json", decode_session, SESSION_JSON),
    ],
)
def test_every_truncation_raises_format_error(
    name: str, decode: Callable[[bytes], object], data: bytes
) -> None:
    """Every proper prefix of a valid file (cut anywhere, even inside a character) raises FormatError."""
    decode(data)  # the whole file is valid

    failures = [(cut, outcome) for cut in range(len(data)) if (outcome := decode_outcome(decode, data[:cut]))]

    assert [] == failures, name


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
THOUGHT_PATHS = [("thought_number",), ("thought_data",)] + [
    ("thought_data", k) for k in thought_doc()["thought_data"]
]
SESSION_PATHS = [(k,) for k in session_doc()] + [
    (t, k) for t in ("created_at", "last_activity") for k in ("secs_since_epoch", "nanos_since_epoch")
]


def replaced(doc: dict[str, Any], path: tuple[str, ...], value: object) -> bytes:
    """``doc`` with the value at ``path`` replaced, as bytes."""
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return dumps(doc)


@settings(max_examples=300)
@given(path=st.sampled_from(THOUGHT_PATHS), value=json_values)
def test_any_value_in_any_thought_field_decodes_or_raises_format_error(
    path: tuple[str, ...], value: object
) -> None:
    """Any JSON value in any place of a thought file gives a Thought or a FormatError, nothing else."""
    data = replaced(thought_doc(), path, value)
    try:
        thought = decode_thought(data)
    except FormatError:
        return
    assert data == encode_thought(thought)  # whatever is accepted is exactly what would be written


@settings(max_examples=300)
@given(path=st.sampled_from(SESSION_PATHS), value=json_values)
def test_any_value_in_any_session_field_decodes_or_raises_format_error(
    path: tuple[str, ...], value: object
) -> None:
    """Any JSON value in any place of session.json gives a header or a FormatError, nothing else."""
    doc = session_doc()
    data = replaced(doc, path, value)
    try:
        header = decode_session(data)
    except FormatError:
        return
    assert isinstance(header.session_id, str)
    assert all(isinstance(b, str) for b in header.branch_ids)
    assert list(header.branch_ids) == doc["branch_ids"]


@settings(max_examples=300)
@given(
    data=st.binary(max_size=200)
    | st.sampled_from([THOUGHT1_JSON, SESSION_JSON]).flatmap(
        lambda base: st.tuples(st.integers(0, len(base) - 1), st.binary(min_size=1, max_size=4)).map(
            lambda edit: base[: edit[0]] + edit[1] + base[edit[0] + len(edit[1]) :]
        )
    )
)
def test_any_bytes_decode_or_raise_format_error(data: bytes) -> None:
    """Random bytes, and valid files with a few bytes overwritten, never raise anything but FormatError."""
    for decode in (decode_thought, decode_session):
        with contextlib.suppress(FormatError):
            decode(data)


# --- branch file names ---------------------------------------------------------

SAFE_MAX_BYTES = 255


def assert_safe(name: str) -> None:
    """``name`` is one harmless path component of at most 255 UTF-8 bytes."""
    assert "/" not in name
    assert "\\" not in name
    assert "\x00" not in name
    assert name not in {".", "..", ""}
    assert len(name.encode("utf-8")) <= SAFE_MAX_BYTES
    assert Path(name).name == name
    assert name.startswith("branch_")
    assert name.endswith(".json")


def middle(name: str, position: int) -> str:
    """The part of a branch file name between ``branch_`` and ``_thought{position}.json``."""
    suffix = f"_thought{position}.json"
    assert name.endswith(suffix)
    return name[len("branch_") : -len(suffix)]


def decoded_id(name: str, position: int) -> str | None:
    """The branch id a name encodes, when it uses the plain or the base32 form (None for a hash)."""
    part = middle(name, position)
    if part.startswith("~~"):
        return None
    if part.startswith("~"):
        encoded = part[1:].upper()
        return base64.b32decode(encoded + "=" * (-len(encoded) % 8)).decode("utf-8")
    return part


@pytest.mark.parametrize(
    "branch_id", ["alt", "A", "x", "main-2", "under_score", "ABC-def_123", "a_thought1", "z" * 200]
)
def test_plain_branch_ids_are_used_as_the_seed_uses_them(branch_id: str) -> None:
    """Ids of A-Z a-z 0-9 _ - appear in the name unchanged, as the seed names branch files."""
    assert f"branch_{branch_id}_thought1.json" == branch_file_name(branch_id, 1)
    assert f"branch_{branch_id}_thought12.json" == branch_file_name(branch_id, 12)


def test_the_fixture_branch_file_name() -> None:
    """The fixture's branch file is named as the seed named it."""
    assert "branch_alt_thought1.json" == branch_file_name("alt", 1)


UNPLAIN = [
    "with space",
    "a.b",
    ".",
    "..",
    "../../etc",
    "a/b",
    "/abs",
    "a\\b",
    "C:",
    "über",
    "日本語",
    "🧠",
    "~",
    "~abc",
    "~~",
    "z" * 201,
    "x" * 256,
    "日" * 256,
    "🧠" * 256,
]


@pytest.mark.parametrize("branch_id", UNPLAIN)
def test_other_branch_ids_become_one_safe_component(branch_id: str) -> None:
    """Any other valid id gives one safe path component that decodes back to the id where it can."""
    name = branch_file_name(branch_id, 1)

    assert_safe(name)
    assert decoded_id(name, 1) in {branch_id, None}
    if len(branch_id.encode()) <= 100:
        assert branch_id == decoded_id(name, 1)


def test_all_sample_ids_have_distinct_names() -> None:
    """The sample ids, plain and not, never share a file name."""
    ids = [*UNPLAIN, "alt", "A", "a", "abc", "z" * 200]

    names = {branch_file_name(b, 1) for b in ids}

    assert len(ids) == len(names)


branch_ids = st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=256)
positions = st.integers(min_value=1, max_value=10**6)


@settings(max_examples=300)
@given(branch_id=branch_ids, position=positions)
def test_any_branch_id_gives_a_safe_name(branch_id: str, position: int) -> None:
    """For every valid branch id, the file name is safe and, unless hashed, decodes back to the id."""
    name = branch_file_name(branch_id, position)

    assert_safe(name)
    assert decoded_id(name, position) in {branch_id, None}


@settings(max_examples=300)
@given(
    first=branch_ids | st.sampled_from(UNPLAIN),
    second=branch_ids | st.sampled_from(UNPLAIN),
    positions=st.tuples(positions, positions),
)
def test_distinct_branch_ids_get_distinct_names(first: str, second: str, positions: tuple[int, int]) -> None:
    """Two different (id, position) pairs never get the same file name."""
    names = (branch_file_name(first, positions[0]), branch_file_name(second, positions[1]))

    assert ((first, positions[0]) == (second, positions[1])) == (names[0] == names[1])


@settings(max_examples=100)
@given(branch_id=branch_ids)
def test_branch_ids_round_trip_through_the_filesystem_store(branch_id: str) -> None:
    """Any valid branch id is saved and restored exactly; its branch file lies in the session folder."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        session = seqthink.ThinkingSession("b")
        session.think("root")
        session.think("on the branch", branch_from_thought=1, branch_id=branch_id)
        FileSystemStore(root, durable=False).save(session)

        restored = FileSystemStore(root).restore("b")
        entries = {p.relative_to(root).as_posix() for p in root.rglob("*") if ".locks" not in p.parts}

    assert [branch_id] == list(restored.branches)
    assert session.thought_history == restored.thought_history
    assert {
        "b",
        "b/session.json",
        "b/thought1.json",
        "b/thought2.json",
        f"b/{branch_file_name(branch_id, 1)}",
    } == entries


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_json_values)
def test_the_fast_writer_matches_the_standard_library(value: object) -> None:
    """_dump is a faster json.dumps(indent=2, ensure_ascii=False): the bytes must be the same."""
    assert json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8") == _format._dump(value)


@pytest.mark.parametrize("decode", [decode_session, decode_thought, decode_compact_thought])
@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"[]", "an array"),
        (b"3", "a number"),
        (b"null", "null"),
        (b'"x"', "a string"),
        (b"false", "true or false"),
    ],
)
def test_a_file_that_is_not_a_json_object_says_what_it_holds(
    decode: Callable[[bytes], object], data: bytes, kind: str
) -> None:
    with pytest.raises(FormatError, match=f"^holds {kind}, not a JSON object$"):
        decode(data)


@given(
    st.builds(
        Thought,
        thought=st.text(min_size=1).filter(
            lambda t: t.strip() and t.encode("utf-8", "surrogatepass").decode("utf-8", "replace") == t
        ),
        thought_number=st.integers(1, 10**6),
        total_thoughts=st.integers(1, 10**6),
        next_thought_needed=st.booleans(),
        branch_from_thought=st.none() | st.integers(1, 10**6),
        branch_id=st.none() | st.text(min_size=1, max_size=20).filter(lambda b: b.isprintable()),
    )
)
def test_the_compact_form_round_trips(thought: Thought) -> None:
    """RedisStore's one-line JSON gives back exactly the thought written."""
    data = encode_compact_thought(thought)
    assert b"\n" not in data
    assert thought == decode_compact_thought(data)


# --- the canonical session.json reader agrees with the JSON reader ----------------------

_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True) | st.text(max_size=12)
_secs = st.integers(0, _format._MAX_SECS + 2) | st.sampled_from([0, 1, 10**19, 10**20])
_nanos = st.integers(0, 1_000_000_001)
_headers = st.fixed_dictionaries(
    {
        "session_id": _ids,
        "created_at": st.fixed_dictionaries({"secs_since_epoch": _secs, "nanos_since_epoch": _nanos}),
        "last_activity": st.fixed_dictionaries({"secs_since_epoch": _secs, "nanos_since_epoch": _nanos}),
        "total_thoughts": st.integers(0, 2**64 + 1),
        "branch_ids": st.lists(st.text(max_size=6), max_size=4),
    }
)


def _seed_layout(header: dict[str, Any]) -> bytearray:
    """The header as the seed writes it: its keys in the seed's order, pretty-printed."""

    def instant(value: dict[str, int]) -> dict[str, int]:
        return {key: value[key] for key in ("secs_since_epoch", "nanos_since_epoch")}

    ordered = {
        "session_id": header["session_id"],
        "created_at": instant(header["created_at"]),
        "last_activity": instant(header["last_activity"]),
        "total_thoughts": header["total_thoughts"],
        "branch_ids": header["branch_ids"],
    }
    return bytearray(json.dumps(ordered, indent=2, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _json_reading(data: bytes) -> object:
    try:
        return _format._decode_session_json(data)
    except FormatError:
        return "refused"


@settings(max_examples=400)
@given(header=_headers)
def test_the_canonical_reader_agrees_with_the_json_reader(header: dict[str, Any]) -> None:
    """Whatever the canonical (one regex) reader accepts, the JSON reader reads the same; and
    it accepts every ordinary header written in the seed's layout.
    """
    data = bytes(_seed_layout(header))
    fast = _format._session_header_canonical(data)
    assert fast is None or fast == _json_reading(data)
    ordinary = (
        _format._MAX_SECS
        >= max(header["created_at"]["secs_since_epoch"], header["last_activity"]["secs_since_epoch"])
        and 1_000_000_000
        > max(header["created_at"]["nanos_since_epoch"], header["last_activity"]["nanos_since_epoch"])
        and header["total_thoughts"] < 2**64
        and re.fullmatch(r"[A-Za-z0-9._-]{1,128}", header["session_id"]) is not None
        and len(set(header["branch_ids"])) == len(header["branch_ids"])
        and not any(c in '"\\' or c < " " for b in header["branch_ids"] for c in b)  # no escapes
    )
    assert (fast is not None) == ordinary


@settings(max_examples=400)
@given(
    header=_headers,
    cut=st.integers(0, 400),
    byte=st.integers(0, 255),
    how=st.sampled_from(["set", "insert", "drop"]),
)
def test_the_canonical_reader_never_accepts_what_the_json_reader_refuses_or_reads_otherwise(
    header: dict[str, Any], cut: int, byte: int, how: str
) -> None:
    """A header damaged by one byte changed, inserted or dropped: if the canonical reader still
    accepts it, the JSON reader reads exactly the same header.
    """
    data = _seed_layout(header)
    at = cut % (len(data) + 1)
    if how == "set" and at < len(data):
        data[at] = byte
    elif how == "insert":
        data.insert(at, byte)
    elif at < len(data):
        del data[at]
    fast = _format._session_header_canonical(bytes(data))
    assert fast is None or fast == _json_reading(bytes(data))
