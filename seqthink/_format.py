"""The seed's on-disk JSON format, byte for byte, read strictly.

This module alone knows how thoughts and session metadata look as bytes. It
writes what serde_json's ``to_string_pretty`` writes (2-space indent, keys in
field order, non-ASCII as UTF-8, no trailing newline) and reads with strict
hooks: no ``"false"`` taken as true, no ``"3"`` as 3, no unknown keys, no NaN,
no duplicate keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

import attrs
import cattrs
from cattrs.v import format_exception

from seqthink._thought import Thought
from seqthink.errors import SeqthinkError

if TYPE_CHECKING:
    from seqthink._session import SessionRecord

SESSION_FILE = "session.json"
#: The largest seconds value a Python datetime can hold (9999-12-31T23:59:59Z).
_MAX_SECS = 253_402_300_799
_MAX_USIZE = 2**64 - 1
_PLAIN_BRANCH = re.compile(r"[A-Za-z0-9_-]{1,200}")


class FormatError(Exception):
    """Bytes that are not a valid file of the seed's format; the message says why."""


@attrs.frozen
class _Instant:
    secs_since_epoch: int
    nanos_since_epoch: int


@attrs.frozen
class _SessionFile:
    session_id: str
    created_at: _Instant
    last_activity: _Instant
    total_thoughts: int
    branch_ids: list[str]


@attrs.frozen
class _ThoughtFile:
    thought_number: int
    thought_data: Thought


@attrs.frozen
class SessionHeader:
    """What session.json holds, decoded."""

    session_id: str
    created_ns: int
    last_activity_ns: int
    total_thoughts: int
    branch_ids: tuple[str, ...]


def _strict_int(value: object, _: type) -> int:
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _strict_bool(value: object, _: type) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def _strict_str(value: object, _: type) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _strict_str_list(value: object, _: type) -> list[str]:
    if type(value) is not list:
        raise TypeError(f"expected a list, got {value!r}")
    return [_strict_str(item, str) for item in value]


_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_structure_hook(int, _strict_int)
_converter.register_structure_hook(bool, _strict_bool)
_converter.register_structure_hook(str, _strict_str)
_converter.register_structure_hook_func(lambda type_: type_ == list[str], _strict_str_list)


# --- writing ---------------------------------------------------------------


def _dump(obj: object) -> bytes:
    """``json.dumps(obj, indent=2, ensure_ascii=False)`` as UTF-8, for the shapes written here.

    The standard library's encoder falls back to pure Python whenever an indent
    is asked for; this one leaves the strings, the costly part, to its C escaper.
    tests/test_format.py checks the two agree byte for byte.
    """
    return _pretty(obj, "\n").encode("utf-8")


def _pretty(value: object, newline: str) -> str:
    if value is None or value is True or value is False:
        return "null" if value is None else "true" if value else "false"
    kind = type(value)
    if kind is str:
        return _encode_string(value)  # type: ignore[arg-type]  # a str: its type was checked
    if kind is int:
        return int.__repr__(value)
    inner = newline + "  "
    if kind is dict:
        items = [f"{inner}{_encode_string(k)}: {_pretty(v, inner)}" for k, v in value.items()]  # type: ignore[attr-defined]
        return "{" + ",".join(items) + newline + "}" if items else "{}"
    if kind is list:
        items = [inner + _pretty(v, inner) for v in value]  # type: ignore[attr-defined]
        return "[" + ",".join(items) + newline + "]" if items else "[]"
    raise TypeError(f"cannot write {kind.__name__} values")  # pragma: no cover


_encode_string = json.encoder.encode_basestring  # the C escaper when available; keeps non-ASCII
_THOUGHT_FIELDS = tuple(field.name for field in attrs.fields(Thought))


def encode_thought(thought: Thought) -> bytes:
    """The bytes of ``thought{k}.json`` (or a branch file) for one thought."""
    data = {name: getattr(thought, name) for name in _THOUGHT_FIELDS}
    return _dump({"thought_number": thought.thought_number, "thought_data": data})


def encode_session(record: SessionRecord) -> bytes:
    """The bytes of ``session.json`` for a committed record."""
    return _dump(
        {
            "session_id": record.session_id,
            "created_at": _instant(record.created_ns),
            "last_activity": _instant(record.last_activity_ns),
            "total_thoughts": len(record.thoughts),
            "branch_ids": list(record.branches),
        }
    )


def _instant(ns: int) -> dict[str, int]:
    secs, nanos = divmod(ns, 1_000_000_000)
    return {"secs_since_epoch": secs, "nanos_since_epoch": nanos}


def thought_file_name(position: int) -> str:
    """File name of the thought at 1-based ``position`` in the history."""
    return f"thought{position}.json"


def branch_file_name(branch_id: str, position: int) -> str:
    """File name of the thought at 1-based ``position`` inside a branch.

    Plain ids (``[A-Za-z0-9_-]``, up to 200 characters) are used as they are,
    as the seed does. Any other id is written as ``~`` and the lowercase
    base32 of its UTF-8 bytes, which reverses exactly, or, when that would
    make the name too long for a file system, as ``~~`` and its SHA-256 in
    hex. ``~`` never occurs in a plain id, so no two ids share a name, and the
    full id is always inside the file.
    """
    if _PLAIN_BRANCH.fullmatch(branch_id):
        name = branch_id
    else:
        raw = branch_id.encode("utf-8")
        encoded = base64.b32encode(raw).decode("ascii").rstrip("=").lower()
        name = "~" + encoded if len(encoded) <= 199 else "~~" + hashlib.sha256(raw).hexdigest()
    return f"branch_{name}_thought{position}.json"


def branch_file_names(branch_id: str, position: int) -> tuple[str, ...]:
    """Every name a branch thought may be stored under, seqthink's first.

    The seed joined the raw id into the name. Where that differs from
    seqthink's name and is still one usable file name, it is accepted too,
    so branches the seed wrote are read and kept.
    """
    ours = branch_file_name(branch_id, position)
    seeds = f"branch_{branch_id}_thought{position}.json"
    usable = not any(c in seeds for c in "/\\:\x00") and len(seeds.encode("utf-8", "replace")) <= 255
    return (ours, seeds) if usable and seeds != ours else (ours,)


# --- reading ---------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise FormatError(f"{name} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise FormatError(f"key {key!r} appears twice")
            seen.add(key)
    return result


# One decoder for every file: json.loads would build a new one per call.
_decoder = json.JSONDecoder(parse_constant=_no_constant, object_pairs_hook=_no_duplicates)


def _parse(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not text:
        raise FormatError("the file is empty")
    if text.startswith("\ufeff"):  # (json.loads refuses it; the decoder alone would not say why)
        raise FormatError("not valid JSON (Unexpected UTF-8 BOM at the start)")
    try:
        return _decoder.decode(text)
    except FormatError:
        raise
    except RecursionError:
        raise FormatError("JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and int() over its digit limit
        raise FormatError(f"not valid JSON ({exc})") from None


def _describe(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, SeqthinkError):  # keep the message of a Thought field's own check
        return str(exc)
    return format_exception(exc, type_)


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false"}


def _structure(obj: Any, cls: type[Any]) -> Any:
    if attrs.has(cls) and type(obj) is not dict:  # (the converter would say "no attribute 'keys'")
        raise FormatError(f"holds {_JSON_KINDS.get(type(obj), 'null')}, not a JSON object")
    try:
        return _converter.structure(obj, cls)
    except cattrs.BaseValidationError as exc:
        raise FormatError("; ".join(cattrs.transform_error(exc, format_exception=_describe))) from None
    except SeqthinkError as exc:  # a Thought field failed its own check
        raise FormatError(str(exc)) from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise FormatError(str(exc)) from None


def decode_thought(data: bytes) -> Thought:
    """The thought in a thought file, or FormatError saying what is wrong."""
    obj = _parse(data)
    fast = _thought_file_fast(obj)
    if fast is not None:
        return fast
    parsed: _ThoughtFile = _structure(obj, _ThoughtFile)  # something is off: the converter says what
    if parsed.thought_number != parsed.thought_data.thought_number:
        raise FormatError(
            f"thought_number {parsed.thought_number} differs from "
            f"thought_data.thought_number {parsed.thought_data.thought_number}"
        )
    return parsed.thought_data


def decode_session(data: bytes) -> SessionHeader:
    """The metadata in a session.json, or FormatError saying what is wrong."""
    header = _session_header_canonical(data)
    return header if header is not None else _decode_session_json(data)


_UINT = rb"(0|[1-9][0-9]{0,19})"
_INSTANT = rb'\{\n    "secs_since_epoch": ' + _UINT + rb',\n    "nanos_since_epoch": ' + _UINT + rb"\n  \}"
_PLAIN_STRING = rb'"[^"\\\x00-\x1f]*"'  # a JSON string with no escape in it
#: session.json exactly as seqthink (and the seed) lay it out, with an id of the allowed
#: characters and branch ids free of escapes: every text this matches is valid JSON with
#: unique keys of the right types, so it is read without the JSON decoder.
_CANONICAL_SESSION = re.compile(
    rb'\{\n  "session_id": "([A-Za-z0-9._-]{1,128})",\n'
    rb'  "created_at": ' + _INSTANT + rb",\n"
    rb'  "last_activity": ' + _INSTANT + rb",\n"
    rb'  "total_thoughts": ' + _UINT + rb",\n"
    rb'  "branch_ids": (\[\]|\[\n    ' + _PLAIN_STRING + rb"(?:,\n    " + _PLAIN_STRING + rb")*\n  \])\n\}"
)
_CANONICAL_BRANCH = re.compile(rb'"([^"\\\x00-\x1f]*)"')


def _session_header_canonical(data: bytes) -> SessionHeader | None:
    """The header of a session.json in the canonical layout, read by one regex match
    (the common case, and several times faster); None for anything else, which the
    JSON reader then reads, or refuses naming the problem.
    """
    match = _CANONICAL_SESSION.fullmatch(data)
    if match is None:
        return None
    session_id, created_s, created_n, last_s, last_n, total, listed = match.groups()
    created_secs, created_nanos, last_secs, last_nanos = (
        int(created_s),
        int(created_n),
        int(last_s),
        int(last_n),
    )
    count = int(total)
    if not (
        created_secs <= _MAX_SECS
        and last_secs <= _MAX_SECS
        and created_nanos < 1_000_000_000
        and last_nanos < 1_000_000_000
        and count <= _MAX_USIZE
    ):
        return None
    branch_ids: tuple[str, ...] = ()
    if listed != b"[]":
        try:
            branch_ids = tuple(raw.decode("utf-8") for raw in _CANONICAL_BRANCH.findall(listed))
        except UnicodeDecodeError:
            return None
        if len(set(branch_ids)) != len(branch_ids):
            return None
    return SessionHeader(
        session_id.decode("ascii"),
        created_secs * 1_000_000_000 + created_nanos,
        last_secs * 1_000_000_000 + last_nanos,
        count,
        branch_ids,
    )


def _decode_session_json(data: bytes) -> SessionHeader:
    """decode_session through the JSON decoder: any layout, and a message for what is wrong."""
    obj = _parse(data)
    fast = _session_header_fast(obj)
    if fast is not None:
        return fast
    parsed: _SessionFile = _structure(obj, _SessionFile)  # something is off: the converter says what
    if not 0 <= parsed.total_thoughts <= _MAX_USIZE:
        raise FormatError(f"total_thoughts {parsed.total_thoughts} is out of range")
    if len(set(parsed.branch_ids)) != len(parsed.branch_ids):
        raise FormatError("branch_ids lists an id twice")
    return SessionHeader(
        session_id=parsed.session_id,
        created_ns=_instant_ns("created_at", parsed.created_at),
        last_activity_ns=_instant_ns("last_activity", parsed.last_activity),
        total_thoughts=parsed.total_thoughts,
        branch_ids=tuple(parsed.branch_ids),
    )


_THOUGHT_FILE_KEYS = ("thought_number", "thought_data")


def _thought_file_fast(obj: object) -> Thought | None:
    """The thought read without the converter, when the file's keys are the seed's, in the
    seed's order, the Thought accepts every value (its own checks are strict) and the two
    numbers agree; None otherwise (the converter then reads it again and names the problem).
    """
    if type(obj) is not dict or tuple(obj) != _THOUGHT_FILE_KEYS:
        return None
    data = obj["thought_data"]
    if type(data) is not dict or tuple(data) != _THOUGHT_FIELDS:
        return None
    number = obj["thought_number"]
    if type(number) is not int or number != data["thought_number"]:
        return None
    try:
        return Thought(*data.values())
    except SeqthinkError:
        return None


def encode_compact_thought(thought: Thought) -> bytes:
    """One thought as one line of JSON, the seed's field names in order: the form the
    Redis store keeps (no file around it, so no thought_number wrapper).
    """
    data = {name: getattr(thought, name) for name in _THOUGHT_FIELDS}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_compact_thought(data: bytes) -> Thought:
    """The thought :func:`encode_compact_thought` wrote, or FormatError saying what is wrong."""
    obj = _parse(data)
    if type(obj) is dict and tuple(obj) == _THOUGHT_FIELDS:
        try:
            return Thought(*obj.values())
        except SeqthinkError:
            pass  # the converter says what
    thought: Thought = _structure(obj, Thought)
    return thought


_SESSION_KEYS = ("session_id", "created_at", "last_activity", "total_thoughts", "branch_ids")
_INSTANT_KEYS = ("secs_since_epoch", "nanos_since_epoch")


def _session_header_fast(obj: object) -> SessionHeader | None:
    """The header read without the converter, when every key, type and range is right;
    None otherwise (the converter then reads it again and names the problem).
    """
    if type(obj) is not dict or tuple(obj) != _SESSION_KEYS:
        return None
    session_id, total, ids = obj["session_id"], obj["total_thoughts"], obj["branch_ids"]
    if type(session_id) is not str or type(total) is not int or not 0 <= total <= _MAX_USIZE:
        return None
    if type(ids) is not list or (ids and (any(type(i) is not str for i in ids) or len(set(ids)) != len(ids))):
        return None
    created, last = _instant_fast(obj["created_at"]), _instant_fast(obj["last_activity"])
    if created is None or last is None:
        return None
    return SessionHeader(session_id, created, last, total, tuple(ids))


def _instant_fast(instant: object) -> int | None:
    """A {secs_since_epoch, nanos_since_epoch} pair in ns, or None if anything is off."""
    if type(instant) is not dict or tuple(instant) != _INSTANT_KEYS:
        return None
    secs, nanos = instant["secs_since_epoch"], instant["nanos_since_epoch"]
    if type(secs) is not int or type(nanos) is not int:
        return None
    if not (0 <= secs <= _MAX_SECS and 0 <= nanos < 1_000_000_000):
        return None
    return secs * 1_000_000_000 + nanos


def _instant_ns(name: str, instant: _Instant) -> int:
    if not 0 <= instant.secs_since_epoch <= _MAX_SECS:
        raise FormatError(f"{name}.secs_since_epoch {instant.secs_since_epoch} is out of range")
    if not 0 <= instant.nanos_since_epoch < 1_000_000_000:
        raise FormatError(f"{name}.nanos_since_epoch {instant.nanos_since_epoch} is out of range")
    return instant.secs_since_epoch * 1_000_000_000 + instant.nanos_since_epoch
