"""The ``seqthink`` command: look after the sessions a store keeps, in a folder or in Redis.

Run it as ``seqthink`` or ``python -m seqthink``. Its subcommands list the
stored sessions, show one (as text, Markdown, a Mermaid diagram or JSON),
export a session to a JSON file and import it back (under another id if you
like), delete a session, delete the sessions idle for longer than a given
time, and copy every session between sessions folders and Redis servers
(``migrate``, which reads each copy back to verify it). Every subcommand takes
``--sessions-dir DIR``; without it, the library's default folder is used
(``$SEQTHINK_SESSIONS_DIR`` when set). ``--redis-url URL`` (with
``--redis-prefix PREFIX``) makes them work on a RedisStore instead, as
``seqthink-mcp --redis-url`` keeps sessions; it cannot be combined with
``--sessions-dir``.

Exit status: 0 when the command did what was asked; 1 when it found nothing
to act on or could not do it (no such session, nothing old enough to clean
up, a file or session that would be overwritten, an unreadable session, an
I/O error, a Redis server out of reach, a session ``migrate`` refused or
failed to copy); 2 for a bad command line or bad input (an unknown option, a bad
session id or duration, a file that is not a seqthink export). Every error is
one line on stderr, without a traceback.

:func:`main` runs the command in-process and returns the exit status;
:func:`parse_duration` and :func:`format_duration` read and write the
durations ``cleanup --older-than`` takes (``30s``, ``15m``, ``24h``, ``7d``,
``2w``, ``1h30m``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from seqthink import __version__, render
from seqthink._box import colour_allowed, display_width, pad
from seqthink._filesystem import FileSystemStore, sessions_folder
from seqthink._rules import check_session_id, is_session_id
from seqthink._url import redact_url
from seqthink.errors import (
    CleanupError,
    ConflictError,
    CorruptSessionError,
    InvalidArgumentError,
    InvalidExportError,
    InvalidSessionIdError,
    SeqthinkError,
    SessionNotFoundError,
    StoreConnectionError,
    StoreError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import TextIO

    from seqthink._session import SessionMetadata, ThinkingSession
    from seqthink._store import SessionStore

__all__ = ["EXIT_NOTHING", "EXIT_OK", "EXIT_USAGE", "format_duration", "main", "parse_duration"]

#: The command did what was asked.
EXIT_OK: Final = 0
#: Nothing to act on, or it could not be done: not found, nothing to clean up, refused, unreadable, I/O.
EXIT_NOTHING: Final = 1
#: A bad command line or bad input.
EXIT_USAGE: Final = 2
#: The status after Ctrl-C, as a shell reports a process ended by SIGINT.
_EXIT_INTERRUPTED: Final = 130

_PROG: Final = "seqthink"
#: ``show`` draws text no wider than this by default, whatever the terminal's width.
MAX_DEFAULT_WIDTH: Final = 100
#: The narrowest ``show --width`` accepted.
MIN_WIDTH: Final = 20
#: ``cleanup`` deletes at least this many sessions per call to the store ...
_MIN_BATCH: Final = 50
#: ... and in at most about this many calls (each one reads every session.json).
_MAX_BATCHES: Final = 20
#: Seconds a cleanup of more than one batch runs before its progress bar appears.
_PROGRESS_DELAY: Final = 0.5
#: Overrides :data:`_PROGRESS_DELAY`, for tests (a float number of seconds).
PROGRESS_DELAY_ENV: Final = "SEQTHINK_PROGRESS_DELAY"

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
# C0 controls, DEL and C1 controls: kept out of the one-line messages.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class _Failure(Exception):  # noqa: N818 - not an error the user made; how a command ends
    """Ends a command with ``code`` after one line on stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- durations ------------------------------------------------------------------

_UNIT_SECONDS: Final = {"w": 7 * 86_400, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION: Final = re.compile(
    r"(?:(?P<w>[0-9]+)w)?(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?"
)
_DURATION_HELP: Final = (
    "use whole numbers with units s, m, h, d or w, largest first, such as 30m, 24h, 7d or 1h30m"
)


def parse_duration(text: str) -> timedelta:
    """The duration ``text`` spells, such as ``30s``, ``15m``, ``24h``, ``7d``, ``2w`` or ``1h30m``.

    A duration is one or more whole numbers, each followed by its unit:
    ``w`` (weeks), ``d`` (days), ``h`` (hours), ``m`` (minutes) or ``s``
    (seconds), largest unit first, each unit at most once, with nothing in
    between. Units are lower case only, so that ``1M`` cannot be mistaken for
    a month. ``0s`` is a valid duration.

    Raises:
        ValueError: ``text`` is not a duration, or is longer than a
            :class:`~datetime.timedelta` can hold; the message quotes it.
    """
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"{_short(text)} is not a duration; {_DURATION_HELP}")
    try:
        seconds = sum(int(value) * _UNIT_SECONDS[unit] for unit, value in match.groupdict().items() if value)
        return timedelta(seconds=seconds)
    except (OverflowError, ValueError):  # more days than timedelta holds, or digits past int's limit
        raise ValueError(f"{_short(text)} is too long a duration") from None


def _short(value: str, limit: int = 40) -> str:
    """``value`` quoted, cut short when long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def format_duration(duration: timedelta) -> str:
    """``duration`` in the form :func:`parse_duration` reads, largest units first (``1h30m``).

    Fractions of a second are dropped; a duration under one second is ``0s``.

    Raises:
        ValueError: ``duration`` is negative.
    """
    if duration < timedelta(0):
        raise ValueError(f"a duration must not be negative, got {duration}")
    left = duration.days * 86_400 + duration.seconds
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _duration_argument(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count_argument(text: str) -> int:
    if re.fullmatch(r"[0-9]{1,18}", text) is None or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _width_argument(text: str) -> int:
    if re.fullmatch(r"[0-9]{1,9}", text) is None or int(text) < MIN_WIDTH:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least {MIN_WIDTH}")
    return int(text)


# --- output -----------------------------------------------------------------------


def _one_line(text: str) -> str:
    """``text`` with every control character shown as a ``\\xNN`` escape."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _say(text: str) -> None:
    """Write ``text`` and a newline to stdout (looked up now: tests and docs redirect it)."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _note(text: str) -> None:
    """One line on stderr, prefixed with the program's name; a broken stderr is ignored."""
    stream = sys.stderr
    if stream is None:
        return
    with contextlib.suppress(OSError, ValueError):
        stream.write(f"{_PROG}: {_one_line(text)}\n")
        stream.flush()


def _isatty(stream: TextIO | None) -> bool:
    if stream is None:
        return False
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False


class _LibraryWarnings(logging.Handler):
    """Shows the library's warnings (a session skipped while listing) as one line each on stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.muted = False
        # A cleanup reads the folder once per batch: each warning is shown once.
        self._shown: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if self.muted:
            return
        with contextlib.suppress(Exception):
            message = record.getMessage()
            if message not in self._shown:
                self._shown.add(message)
                _note(f"warning: {message}")


@contextlib.contextmanager
def _library_warnings() -> Iterator[_LibraryWarnings]:
    logger = logging.getLogger("seqthink")
    handler = _LibraryWarnings()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


class _Collected(logging.Handler):
    """Keeps the library's warnings (sessions skipped while listing) instead of showing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _collected_warnings(warnings: _LibraryWarnings) -> Iterator[list[logging.LogRecord]]:
    """The library's warnings while the block runs, kept for the caller instead of shown."""
    logger = logging.getLogger("seqthink")
    collected = _Collected()
    level = logger.level
    logger.addHandler(collected)
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    warnings.muted = True
    try:
        yield collected.records
    finally:
        warnings.muted = False
        logger.setLevel(level)
        logger.removeHandler(collected)


def _skipped(records: Sequence[logging.LogRecord], url: str | None) -> tuple[set[str], list[str]]:
    """The ids of the sessions a listing's warnings say it skipped, and the other warnings' text.

    A store's listing names a session it cannot read as the first argument of
    its warning; every other warning is kept as one line, ``url`` in it shown
    without its password.
    """
    named: set[str] = set()
    notes = []
    for record in records:
        first = record.args[0] if isinstance(record.args, tuple) and record.args else None
        if isinstance(first, str) and is_session_id(first):
            named.add(first)
        else:
            notes.append(_scrub(record.getMessage(), url))
    return named, notes


# --- the store ----------------------------------------------------------------------

#: The key prefix of a Redis store when no prefix option is given (RedisStore's default).
_DEFAULT_PREFIX: Final = "seqthink:"


class _Target(NamedTuple):
    """The store a command works on: the sessions folder, or the Redis store ``--redis-url`` names."""

    store: SessionStore
    shown: str  # the folder, or the URL without its password and the key prefix
    url: str | None = None  # a Redis URL as given, kept out of every message
    identity: tuple[object, ...] = ()  # for a Redis store: what makes two stores one
    option: str = "--sessions-dir"  # the option that names the store, in error messages

    @property
    def where(self) -> str:
        """Where the sessions are, for messages: ``in DIR``, or ``in Redis at URL (prefix 'P')``."""
        return f"in {self.shown}" if self.url is None else f"in Redis at {self.shown}"


def _check_store_options(args: argparse.Namespace) -> None:
    """Refuse the options that name a store when they contradict each other."""
    if args.redis_url is None:
        if args.redis_prefix is not None:
            raise _Failure(EXIT_USAGE, "--redis-prefix: applies with --redis-url only")
    elif args.sessions_dir is not None:
        raise _Failure(EXIT_USAGE, "--sessions-dir and --redis-url: give one of them, not both")


def _store(args: argparse.Namespace) -> _Target:
    """The store ``--sessions-dir`` or ``--redis-url`` names (unopened: nothing is asked of a server)."""
    url: str | None = args.redis_url
    if url is None:
        store = _folder_store(args)
        return _Target(store, str(store.root))
    match = _SCHEME.match(url)
    if match is None or match.group(1).lower() not in _REDIS_SCHEMES:
        raise _Failure(
            EXIT_USAGE,
            f"--redis-url: {redact_url(url)!r} is not a Redis URL (redis://, rediss:// or unix://)",
        )
    prefix: str | None = args.redis_prefix
    end = _redis_end("--redis-url", url, _DEFAULT_PREFIX if prefix is None else prefix, "--redis-prefix")
    return _Target(end.store, end.shown, url, end.identity, "--redis-url")


def _folder_store(args: argparse.Namespace) -> FileSystemStore:
    """The sessions folder: ``--sessions-dir``, else the library's default folder."""
    raw: str | None = args.sessions_dir
    if raw is None:
        return FileSystemStore()
    try:
        return FileSystemStore(sessions_folder(raw))
    except ValueError as exc:
        raise _Failure(EXIT_USAGE, f"--sessions-dir: {exc}") from None


@contextlib.contextmanager
def _opened(args: argparse.Namespace) -> Iterator[_Target]:
    """The store a command works on, its server checked first and its connections closed after.

    A server lost while the command runs ends it with one line naming the option and the URL.
    """
    target = _store(args)
    try:
        _check_reachable(target)
        yield target
    except StoreConnectionError as exc:
        raise _Failure(
            EXIT_NOTHING, f"{target.option}: lost {target.shown}: {_reason(exc, target)}"
        ) from None
    finally:
        _close(target)


def _session_id(value: str, option: str = "ID") -> str:
    try:
        return check_session_id(value)
    except InvalidSessionIdError as exc:
        raise _Failure(EXIT_USAGE, f"{option}: {exc.reason} (got {value!r})") from None


def _restore(target: _Target, session_id: str) -> ThinkingSession:
    try:
        return target.store.restore(session_id)
    except SessionNotFoundError:
        raise _Failure(EXIT_NOTHING, f"no session {session_id!r} {target.where}") from None


# --- list ---------------------------------------------------------------------------


class _Row(NamedTuple):
    """One listed session; the fields other than the id are None when it cannot be read."""

    session_id: str
    created_at: datetime | None
    last_activity: datetime | None
    total_thoughts: int | None
    branch_ids: tuple[str, ...] | None
    complete: bool | None
    error: str | None

    @classmethod
    def of(cls, meta: SessionMetadata, complete: bool | None, error: str | None = None) -> _Row:
        return cls(
            meta.session_id,
            meta.created_at,
            meta.last_activity,
            meta.total_thoughts,
            meta.branch_ids,
            complete,
            error,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "last_activity": None if self.last_activity is None else self.last_activity.isoformat(),
            "total_thoughts": self.total_thoughts,
            "branch_ids": None if self.branch_ids is None else list(self.branch_ids),
            "complete": self.complete,
            "error": self.error,
        }


def _read_row(store: SessionStore, session_id: str, meta: SessionMetadata | None) -> _Row | None:
    """The row of one session, restored to learn whether it is complete; None when it is gone."""
    try:
        session = store.restore(session_id)
    except SessionNotFoundError:
        return None  # deleted since it was listed
    except StoreConnectionError:
        raise  # the server, not the session: the command ends
    except (CorruptSessionError, StoreError) as exc:
        message = _one_line(str(exc))
        _note(f"warning: {message}")
        if meta is None:
            return _Row(session_id, None, None, None, None, None, message)
        return _Row.of(meta, None, message)
    return _Row.of(session.metadata, session.is_complete)


def _unlisted(store: FileSystemStore, listed: set[str]) -> list[str]:
    """Ids of the stored sessions that listing skipped because their session.json cannot be read."""
    try:
        with os.scandir(store.root) as entries:
            names = sorted(
                e.name for e in entries if e.name not in listed and e.is_dir(follow_symlinks=False)
            )
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        try:
            check_session_id(name)
        except InvalidSessionIdError:
            continue  # the lock folder, a deleted session's remains, a stranger's folder
        # A folder without a commit record holds no session (a first save that did not finish).
        if _maybe_stored(store, name):
            found.append(name)
    return found


def _maybe_stored(store: FileSystemStore, session_id: str) -> bool:
    try:
        return store.exists(session_id)
    except StoreError:
        return True  # restoring it will say what is wrong


def _rows(target: _Target, warnings: _LibraryWarnings) -> list[_Row]:
    store = target.store
    if isinstance(store, FileSystemStore):
        warnings.muted = True  # the rows say which sessions cannot be read, and why
        try:
            listed = store.list_sessions()
        finally:
            warnings.muted = False
        rows = [_read_row(store, meta.session_id, meta) for meta in listed]
        rows += [_read_row(store, name, None) for name in _unlisted(store, {m.session_id for m in listed})]
    else:
        # No folder to look in: the listing's own warnings name the sessions it skipped.
        with _collected_warnings(warnings) as records:
            listed = store.list_sessions()
        named, notes = _skipped(records, target.url)
        for note in notes:
            _note(f"warning: {note}")
        rows = [_read_row(store, meta.session_id, meta) for meta in listed]
        rows += [_read_row(store, name, None) for name in sorted(named - {m.session_id for m in listed})]
    found = [row for row in rows if row is not None]
    # Newest first, as listed; a session without a readable last activity goes last.
    found.sort(key=lambda row: row.session_id)
    found.sort(key=lambda row: (row.last_activity is not None, row.last_activity or _EPOCH), reverse=True)
    return found


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _table(rows: Sequence[_Row]) -> str:
    """The rows as columns aligned by display width, under a header line."""
    header = ("ID", "THOUGHTS", "BRANCHES", "COMPLETE", "LAST ACTIVITY (UTC)")
    right = (False, True, True, False, False)
    cells = [header]
    for row in rows:
        complete = "unreadable" if row.error is not None else "yes" if row.complete else "no"
        cells.append(
            (
                row.session_id,
                "?" if row.total_thoughts is None else str(row.total_thoughts),
                "?" if row.branch_ids is None else str(len(row.branch_ids)),
                complete,
                _when(row.last_activity),
            )
        )
    widths = [max(display_width(line[i]) for line in cells) for i in range(len(header))]
    lines = []
    for line in cells:
        fields = [
            " " * (width - display_width(cell)) + cell if align_right else pad(cell, width)
            for cell, width, align_right in zip(line, widths, right, strict=True)
        ]
        lines.append("  ".join(fields).rstrip())
    return "\n".join(lines)


def _cmd_list(args: argparse.Namespace, warnings: _LibraryWarnings) -> int:
    with _opened(args) as target:
        rows = _rows(target, warnings)
    if args.json:
        _say(json.dumps([row.as_json() for row in rows], indent=2, ensure_ascii=False))
    elif rows:
        _say(_table(rows))
    else:
        _say(f"No sessions {target.where}")
    return EXIT_OK


# --- show ---------------------------------------------------------------------------


def _default_width() -> int:
    """The terminal's width (``$COLUMNS`` first), at most :data:`MAX_DEFAULT_WIDTH`; 80 without one.

    A terminal that reports no width (0 columns, as a pseudo-terminal nobody
    sized does) counts as none.
    """
    columns = shutil.get_terminal_size((0, 0)).columns
    if columns <= 0:
        columns = 80
    return max(MIN_WIDTH, min(columns, MAX_DEFAULT_WIDTH))


def _cmd_show(args: argparse.Namespace, _warnings: _LibraryWarnings) -> int:
    session_id = _session_id(args.session_id)
    form: str = args.format
    width: int | None = args.width
    if width is not None and form != "text":
        raise _Failure(EXIT_USAGE, f"--width: applies to --format text only, not {form}")
    with _opened(args) as target:
        session = _restore(target, session_id)
    if form == "markdown":
        shown = render.to_markdown(session)
    elif form == "mermaid":
        shown = render.to_mermaid(session)
    elif form == "json":
        shown = render.to_json(session)
    else:
        shown = render.to_text(
            session,
            width=_default_width() if width is None else width,
            colour=colour_allowed(sys.stdout, os.environ),
        )
    _say(shown)
    return EXIT_OK


# --- export -------------------------------------------------------------------------


def _write_new_file(path: Path, data: bytes, *, force: bool) -> None:
    """Write ``data`` to ``path`` atomically: a temp file beside it, then a rename.

    Without ``force``, an existing ``path`` is left alone and _Failure raised;
    the temp file is then linked into place, which fails if ``path`` appeared
    meanwhile. The file is created readable and writable by its owner only.
    """
    if path.is_dir():
        raise _Failure(EXIT_USAGE, f"{str(path)!r} is a folder; name a file to export to")
    if not force and path.exists():
        raise _Failure(EXIT_NOTHING, f"{str(path)!r} exists; add --force to overwrite it")
    folder = path.parent
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _Failure(EXIT_NOTHING, f"could not write {str(path)!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if force:
            Path(temp).replace(path)
        else:
            _link_into_place(temp, path)
        _sync_folder(folder)
    except FileExistsError:
        raise _Failure(EXIT_NOTHING, f"{str(path)!r} exists; add --force to overwrite it") from None
    except OSError as exc:
        raise _Failure(EXIT_NOTHING, f"could not write {str(path)!r}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            Path(temp).unlink()


def _sync_folder(folder: Path) -> None:
    """Make a new name in ``folder`` durable, where folders can be synced (not on Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _link_into_place(temp: str, path: Path) -> None:
    """Give the temp file its final name unless the name is taken (FileExistsError)."""
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then rename
        if path.exists():
            raise FileExistsError(str(path)) from None
        Path(temp).replace(path)


def _cmd_export(args: argparse.Namespace, _warnings: _LibraryWarnings) -> int:
    session_id = _session_id(args.session_id)
    output: str | None = args.output
    with _opened(args) as target:
        session = _restore(target, session_id)
    text = render.to_json(session)
    if not text.endswith("\n"):
        text += "\n"
    if output is None or output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    path = Path(output)
    _write_new_file(path, text.encode("utf-8"), force=args.force)
    _say(f"exported session {session_id!r} ({_thoughts(session)}) to {path}")
    return EXIT_OK


def _thoughts(session: ThinkingSession) -> str:
    count, branches = len(session.thought_history), len(session.branches)
    thoughts = f"{count} thought" + ("" if count == 1 else "s")
    return thoughts + (f", {branches} branch" + ("" if branches == 1 else "es") if branches else "")


# --- import -------------------------------------------------------------------------


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except FileNotFoundError:
        raise _Failure(EXIT_NOTHING, f"{name!r}: no such file") from None
    except IsADirectoryError:
        raise _Failure(EXIT_USAGE, f"{name!r} is a folder, not an exported session") from None
    except OSError as exc:
        raise _Failure(EXIT_NOTHING, f"could not read {name!r}: {exc.strerror or exc}") from None


def _first_problem(exc: InvalidExportError) -> str:
    """The first problem of ``exc``, with its JSON path, and how many more there are."""
    if not exc.problems:
        return str(exc)
    path, reason = exc.problems[0]
    more = len(exc.problems) - 1
    return f"{path}: {reason}" + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def _cmd_import(args: argparse.Namespace, _warnings: _LibraryWarnings) -> int:
    new_id: str | None = args.as_id
    if new_id is not None:
        _session_id(new_id, "--as")
    with _opened(args) as target:
        source: str = args.file
        data = _read_input(source)
        where = "stdin" if source == "-" else repr(source)
        try:
            session = render.from_json(data, session_id=new_id)
        except InvalidExportError as exc:
            raise _Failure(EXIT_USAGE, f"{where} is not a seqthink export: {_first_problem(exc)}") from None
        _store_imported(target, session, replace=args.replace)
    _say(
        f"imported session {session.session_id!r} ({_thoughts(session)}) "
        f"from {'stdin' if source == '-' else source}"
    )
    return EXIT_OK


def _store_imported(target: _Target, session: ThinkingSession, *, replace: bool) -> None:
    """Save ``session``; one stored under its id is refused, or with ``replace`` deleted first."""
    store, session_id = target.store, session.session_id
    if store.exists(session_id):
        if not replace:
            raise _Failure(
                EXIT_NOTHING,
                f"session {session_id!r} already exists {target.where}; "
                "add --replace to overwrite it, or --as ID to import it under another id",
            )
        store.delete(session_id)
    try:
        store.save(session)
    except ConflictError:
        raise _Failure(
            EXIT_NOTHING, f"session {session_id!r} was stored by someone else meanwhile; nothing imported"
        ) from None


# --- delete -------------------------------------------------------------------------


def _cmd_delete(args: argparse.Namespace, _warnings: _LibraryWarnings) -> int:
    session_id = _session_id(args.session_id)
    with _opened(args) as target:
        if not target.store.delete(session_id):
            raise _Failure(EXIT_NOTHING, f"no session {session_id!r} {target.where}")
    _say(f"deleted session {session_id!r}")
    return EXIT_OK


# --- cleanup ------------------------------------------------------------------------


def _old_sessions(store: SessionStore, older_than: timedelta, now: datetime, limit: int | None) -> list[str]:
    """Ids of the sessions a cleanup at ``now`` would delete, oldest first, as the store picks them."""
    try:
        cutoff = now - older_than
    except OverflowError:  # before year 1: nothing is that old
        return []
    old = sorted((m.last_activity, m.session_id) for m in store.list_sessions() if m.last_activity < cutoff)
    return [session_id for _, session_id in old[:limit]]


def _progress_delay() -> float:
    raw = os.environ.get(PROGRESS_DELAY_ENV, "")
    try:
        delay = float(raw)
    except ValueError:
        return _PROGRESS_DELAY
    return delay if math.isfinite(delay) and delay >= 0 else _PROGRESS_DELAY


class _Progress:
    """A progress bar on one line of stderr, redrawn with ``\\r`` and wiped at the end.

    It is drawn only when stderr is an interactive terminal, the work takes
    more than one batch, and it has been running for longer than the delay.
    """

    def __init__(self, total: int, batches: int, stream: TextIO | None, label: str = "cleanup") -> None:
        self._stream = stream if batches > 1 and _isatty(stream) else None
        self._label = f"{_PROG} {label} "
        self._total = total
        self._delay = _progress_delay()
        self._started = time.monotonic()
        self._drawn = 0  # columns of the bar on screen; 0 when there is none

    def update(self, done: int) -> None:
        if self._stream is None or (not self._drawn and time.monotonic() - self._started < self._delay):
            return
        try:
            columns = os.get_terminal_size(self._stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        if columns <= 0:  # no terminal size known
            columns = 80
        counts = f" {min(done, self._total)}/{self._total}"
        label = self._label
        room = max(10, min(40, columns - 1 - len(label) - len(counts) - 2))
        filled = room * min(done, self._total) // max(1, self._total)
        line = f"{label}[{'#' * filled}{'.' * (room - filled)}]{counts}"
        self._write("\r" + line + " " * max(0, self._drawn - len(line)))
        self._drawn = max(self._drawn, len(line))

    def close(self) -> None:
        if self._drawn:
            self._write("\r" + " " * self._drawn + "\r")
            self._drawn = 0

    def _write(self, text: str) -> None:
        stream = self._stream
        if stream is not None:
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError):
                self._stream = None


def _delete_in_batches(
    store: SessionStore, older_than: timedelta, now: datetime, total: int, deleted: list[str]
) -> None:
    """Ask the store to clean up at most ``total`` sessions, a batch at a time, into ``deleted``."""
    batch = max(_MIN_BATCH, math.ceil(total / _MAX_BATCHES))
    progress = _Progress(total, math.ceil(total / batch), sys.stderr)
    try:
        while len(deleted) < total:
            wanted = min(batch, total - len(deleted))
            try:
                done = store.cleanup(older_than, now=now, limit=wanted)
            except CleanupError as exc:  # it went on past the sessions it could not delete
                deleted.extend(exc.deleted)
                raise
            deleted.extend(done)
            progress.update(len(deleted))
            if len(done) < wanted:
                break
    finally:
        progress.close()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _cmd_cleanup(args: argparse.Namespace, _warnings: _LibraryWarnings) -> int:
    with _opened(args) as target:
        return _cleanup(target, args.older_than, args.limit, dry_run=args.dry_run)


def _cleanup(target: _Target, older_than: timedelta, limit: int | None, *, dry_run: bool) -> int:
    store = target.store
    age = format_duration(older_than)
    now = datetime.now(timezone.utc)
    old = _old_sessions(store, older_than, now, limit)
    if not old:
        _note(f"no session {target.where} was last active more than {age} ago; nothing to delete")
        return EXIT_NOTHING
    if dry_run:
        _say("\n".join(old))
        _note(f"would delete {_plural(len(old), 'session')} last active more than {age} ago (dry run)")
        return EXIT_OK
    deleted: list[str] = []
    try:
        _delete_in_batches(store, older_than, now, len(old), deleted)
    except KeyboardInterrupt:
        if deleted:
            _say("\n".join(deleted))
        _note(f"interrupted after deleting {_plural(len(deleted), 'session')}")
        raise
    except (StoreConnectionError, CleanupError):
        if deleted:  # what was deleted before the server went away, or beside the failures
            _say("\n".join(deleted))
        raise
    if not deleted:  # another process cleaned up, or wrote to them, meanwhile
        _note(f"no session {target.where} was last active more than {age} ago; nothing to delete")
        return EXIT_NOTHING
    _say("\n".join(deleted))
    _note(f"deleted {_plural(len(deleted), 'session')} last active more than {age} ago")
    return EXIT_OK


# --- migrate ------------------------------------------------------------------------

#: The URL schemes ``migrate`` opens as a RedisStore; anything else before ``://`` is refused.
_REDIS_SCHEMES: Final = ("redis", "rediss", "unix")
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


class _End(NamedTuple):
    """One end of a migration: its store, how messages name it, and what makes two ends one."""

    option: str  # "--from" or "--to"
    store: SessionStore
    shown: str  # the folder, or the URL without its password and the key prefix
    identity: tuple[object, ...]
    url: str | None = None  # the URL as given, kept out of every message
    missing: bool = False  # a folder that does not exist


class _Lost(Exception):  # noqa: N818 - not an error the user made; how a migration stops
    """A store's server could not be reached in the middle of a migration."""

    def __init__(self, end: _End, error: StoreError) -> None:
        super().__init__(str(error))
        self.end = end
        self.error = error


def _folder_end(option: str, store: FileSystemStore) -> _End:
    root = store.root
    try:
        found = root.stat()
    except OSError:
        return _End(option, store, str(root), ("folder", os.path.realpath(root)), missing=True)
    return _End(option, store, str(root), ("folder", found.st_dev, found.st_ino))


def _redis_end(option: str, url: str, prefix: str, prefix_option: str | None = None) -> _End:
    """The Redis store ``url`` and ``prefix`` name; errors name ``option`` (and ``prefix_option``)."""
    try:
        from seqthink._redis import RedisStore  # noqa: PLC0415 - an optional extra, for URLs only
    except ImportError:
        raise _Failure(
            EXIT_USAGE,
            f"{option}: a Redis URL needs redis-py 5.0.1 or newer, which is not installed: "
            "pip install 'seqthink[redis]'",
        ) from None
    try:
        store = RedisStore(url, prefix=prefix)
    except InvalidArgumentError as exc:
        if exc.name == "prefix":
            raise _Failure(EXIT_USAGE, f"{prefix_option or option + '-prefix'}: {exc.reason}") from None
        raise _Failure(EXIT_USAGE, f"{option}: {redact_url(url)} {_scrub(exc.reason, url)}") from None
    shown = f"{redact_url(url)} (prefix {prefix!r})"
    return _End(option, store, shown, _redis_identity(url, prefix), url=url)


def _redis_identity(url: str, prefix: str) -> tuple[object, ...]:
    """The server, database and prefix ``url`` and ``prefix`` name, however the URL spells them."""
    try:
        parts = urllib.parse.urlsplit(url)
        db = urllib.parse.parse_qs(parts.query).get("db", [""])[0]
        if parts.scheme.lower() == "unix":
            server: tuple[object, ...] = ("unix", parts.path)
        else:
            server = ("tcp", (parts.hostname or "localhost").lower(), parts.port or 6379)
            db = db or parts.path.strip("/")
    except ValueError:
        return ("redis", url, prefix)
    return ("redis", *server, int(db) if db.isdigit() else db or 0, prefix)


def _end(args: argparse.Namespace, option: str, value: str | None, prefix: str | None) -> _End:
    """The store ``--from`` or ``--to`` names: a sessions folder or a Redis URL."""
    if value is None:
        return _default_end(args, option, prefix)
    if _SCHEME.match(value) is None:
        if prefix is not None:
            raise _Failure(EXIT_USAGE, f"{option}-prefix: applies to a Redis URL only; {option} is a folder")
        try:
            return _folder_end(option, FileSystemStore(sessions_folder(value)))
        except ValueError as exc:
            raise _Failure(EXIT_USAGE, f"{option}: {exc}") from None
    match = _SCHEME.match(value)
    if match is None or match.group(1).lower() not in _REDIS_SCHEMES:
        raise _Failure(
            EXIT_USAGE,
            f"{option}: {redact_url(value)!r} is neither a sessions folder "
            "nor a Redis URL (redis://, rediss:// or unix://)",
        )
    return _redis_end(option, value, _DEFAULT_PREFIX if prefix is None else prefix)


def _default_end(args: argparse.Namespace, option: str, prefix: str | None) -> _End:
    """The side of a migration left out: the store the other commands use.

    That is the sessions folder, or with ``--redis-url`` that Redis store, whose
    prefix ``--redis-prefix`` gives; errors about it name those options.
    """
    if args.redis_url is None:
        if prefix is not None:
            raise _Failure(EXIT_USAGE, f"{option}-prefix: applies to a Redis URL only; {option} is a folder")
        return _folder_end(option, _folder_store(args))
    if prefix is not None:
        raise _Failure(
            EXIT_USAGE,
            f"{option}-prefix: applies to a Redis URL given with {option}; "
            "the prefix of --redis-url's store is --redis-prefix",
        )
    target = _store(args)
    return _End(target.option, target.store, target.shown, target.identity, url=target.url)


def _scrub(text: str, *urls: str | None) -> str:
    """``text`` on one line, each of ``urls`` in it shown without its password."""
    for url in urls:
        if url:
            text = text.replace(url, redact_url(url))
    return _one_line(text)


def _reason(error: Exception, *ends: _End | _Target) -> str:
    """What went wrong, on one line; for a server, what its client said."""
    cause = error.__cause__
    if isinstance(error, StoreConnectionError) and cause is not None:
        text = f"{type(cause).__name__}: {cause}"
    else:
        text = str(error)
    return _scrub(text, *(end.url for end in ends))


@contextlib.contextmanager
def _reaching(end: _End) -> Iterator[None]:
    """Turn a lost connection to ``end``'s server into :class:`_Lost`, which stops the migration."""
    try:
        yield
    except StoreConnectionError as exc:
        raise _Lost(end, exc) from exc


def _check_reachable(end: _End | _Target) -> None:
    """Ask ``end``'s server something harmless, so that one out of reach is named before any copy."""
    if end.url is None:
        return
    try:
        end.store.exists("reachable")
    except StoreConnectionError as exc:
        raise _Failure(
            EXIT_NOTHING, f"{end.option}: could not reach {end.shown}: {_reason(exc, end)}"
        ) from None
    except StoreError as exc:
        raise _Failure(EXIT_NOTHING, f"{end.option}: {end.shown}: {_reason(exc, end)}") from None
    except (TypeError, ValueError) as exc:  # redis-py refuses a URL's options when it first connects
        raise _Failure(
            EXIT_USAGE, f"{end.option}: {end.shown} is not a usable Redis URL ({_scrub(str(exc), end.url)})"
        ) from None


def _source_ids(source: _End, warnings: _LibraryWarnings) -> tuple[list[str], list[str]]:
    """The ids of the source's sessions, sorted, and the listing's warnings about anything else.

    Listing skips a session it cannot read, with a warning naming it; such a
    session is counted in, so that restoring it reports what is wrong.
    """
    with _collected_warnings(warnings) as records, _reaching(source):
        found = {meta.session_id for meta in source.store.list_sessions()}
    named, notes = _skipped(records, source.url)
    return sorted(found | named), notes


def _same(one: ThinkingSession, other: ThinkingSession) -> bool:
    """Whether two sessions hold the same: id, both times to the nanosecond, thoughts and branches."""
    return (
        one.session_id == other.session_id
        and one._created_ns == other._created_ns  # noqa: SLF001 - the times, to the nanosecond
        and one._last_activity_ns == other._last_activity_ns  # noqa: SLF001
        and one.thought_history == other.thought_history
        and list(one.branches.items()) == list(other.branches.items())
    )


class _Outcome(NamedTuple):
    """What became of one session: its bucket in the summary and the line that says so."""

    kind: str  # one of _KINDS
    line: str  # for stdout; for stderr when it starts with "error: " or "warning: "

    @property
    def on_stderr(self) -> bool:
        return self.line.startswith(("error: ", "warning: "))


#: The summary's buckets in order, with their words for a run and for a dry run.
_KINDS: Final = {
    "copied": ("copied", "to copy"),
    "replaced": ("replaced", "to replace"),
    "already": ("already there", "already there"),
    "refused": ("refused", "to refuse"),
    "failed": ("failed", "failed"),
    "gone": ("gone meanwhile", "gone meanwhile"),
}


def _migrate_one(session_id: str, source: _End, target: _End, *, replace: bool, dry_run: bool) -> _Outcome:
    """Copy one session unless the target holds it already; read the copy back and compare."""
    name = f"session {session_id!r}"
    try:
        with _reaching(source):
            session = source.store.restore(session_id)
    except SessionNotFoundError:
        return _Outcome("gone", f"warning: {name} is no longer in {source.shown}; skipped")
    except (CorruptSessionError, StoreError) as exc:
        return _Outcome("failed", f"error: could not copy {name}: {_reason(exc, source)}")
    size = _thoughts(session)
    problem = None
    try:
        with _reaching(target):
            there = target.store.restore(session_id)
    except SessionNotFoundError:
        there = None
    except (CorruptSessionError, StoreError) as exc:
        there, problem = None, f"the one in {target.shown} cannot be read ({_reason(exc, target)})"
    if there is not None:
        if _same(there, session):
            return _Outcome("already", f"already there: {name} ({size})")
        theirs = _thoughts(there)
        problem = f"{target.shown} holds a different {name} (there: {theirs}; in the source: {size})"
    if problem is not None and not replace:
        verb = "would refuse" if dry_run else "refused"
        return _Outcome("refused", f"error: {verb} to copy {name}: {problem}; add --replace to overwrite it")
    kind = "copied" if problem is None else "replaced"
    if dry_run:
        return _Outcome(kind, f"would {'copy' if kind == 'copied' else 'replace'} {name} ({size})")
    return _write(session, target, kind, size)


def _write(session: ThinkingSession, target: _End, kind: str, size: str) -> _Outcome:
    """Save ``session`` in the target (after deleting the one there, to replace it) and verify it."""
    session_id = session.session_id
    name = f"session {session_id!r}"
    try:
        with _reaching(target):
            if kind == "replaced":
                target.store.delete(session_id)
            target.store.save(session)
    except ConflictError:
        return _Outcome(
            "failed", f"error: could not copy {name}: it was stored in {target.shown} meanwhile; left alone"
        )
    except StoreError as exc:
        return _Outcome("failed", f"error: could not copy {name}: {_reason(exc, target)}")
    try:
        with _reaching(target):
            copy = target.store.restore(session_id)
    except (SessionNotFoundError, CorruptSessionError, StoreError) as exc:
        return _Outcome(
            "failed", f"error: could not verify {name}: reading it back failed: {_reason(exc, target)}"
        )
    if not _same(copy, session):
        return _Outcome(
            "failed",
            f"error: could not verify {name}: the copy read back from {target.shown} differs from the "
            "source (the copy is left there)",
        )
    return _Outcome(kind, f"{kind} {name} ({size})")


def _summary(
    counts: dict[str, int], source: _End, target: _End, *, dry_run: bool, of: int | None = None
) -> str:
    """``3 sessions from SOURCE to TARGET: 2 copied, 1 already there``; with ``of``, a run cut short."""
    done = sum(counts.values())
    parts = [f"{counts[kind]} {words[dry_run]}" for kind, words in _KINDS.items() if counts.get(kind)]
    head = _plural(done, "session") if of is None else f"stopped after {done} of {_plural(of, 'session')}"
    return f"{head} from {source.shown} to {target.shown}: {', '.join(parts) or 'none done'}" + (
        " (dry run)" if dry_run else ""
    )


def _cmd_migrate(args: argparse.Namespace, warnings: _LibraryWarnings) -> int:
    given: tuple[str | None, str | None] = (args.source, args.target)
    if given == (None, None):
        left_out = "the sessions folder" if args.redis_url is None else "--redis-url's store"
        raise _Failure(EXIT_USAGE, f"give --from, --to or both (the one left out is {left_out})")
    source = _end(args, "--from", args.source, args.from_prefix)
    try:
        target = _end(args, "--to", args.target, args.to_prefix)
        try:
            if source.identity == target.identity:
                raise _Failure(EXIT_USAGE, f"--from and --to are the same store: {source.shown}")
            return _migrate(source, target, warnings, dry_run=args.dry_run, replace=args.replace)
        finally:
            _close(target)
    finally:
        _close(source)


def _close(end: _End | _Target) -> None:
    """Close the connections a RedisStore made; a folder holds nothing open."""
    close = getattr(end.store, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):
            close()


def _migrate(source: _End, target: _End, warnings: _LibraryWarnings, *, dry_run: bool, replace: bool) -> int:
    _check_reachable(source)
    _check_reachable(target)
    try:
        ids, notes = _source_ids(source, warnings)
    except _Lost as lost:
        raise _Failure(
            EXIT_NOTHING, f"{source.option}: could not reach {source.shown}: {_reason(lost.error, source)}"
        ) from None
    for note in notes:
        _note(f"warning: {note}")
    if not ids:
        missing = " (no such folder)" if source.missing else ""
        _note(f"no sessions in {source.shown}{missing}; nothing to copy")
        return EXIT_NOTHING
    counts = dict.fromkeys(_KINDS, 0)
    progress = _Progress(len(ids), len(ids), sys.stderr, label="migrate")
    try:
        for done, session_id in enumerate(ids, 1):
            outcome = _migrate_one(session_id, source, target, replace=replace, dry_run=dry_run)
            counts[outcome.kind] += 1
            progress.close()
            if outcome.on_stderr:
                _note(outcome.line)
            else:
                _say(outcome.line)
                sys.stdout.flush()
            progress.update(done)
    except _Lost as lost:
        progress.close()
        end = lost.end
        _note(f"error: {end.option}: lost {end.shown}: {_reason(lost.error, end)}")
        _note(_summary(counts, source, target, dry_run=dry_run, of=len(ids)))
        return EXIT_NOTHING
    except KeyboardInterrupt:
        progress.close()
        _note("interrupted; " + _summary(counts, source, target, dry_run=dry_run, of=len(ids)))
        raise
    finally:
        progress.close()
    _note(_summary(counts, source, target, dry_run=dry_run))
    return EXIT_NOTHING if counts["refused"] or counts["failed"] else EXIT_OK


# --- the parser ---------------------------------------------------------------------

_DESCRIPTION: Final = """\
List, show, export, import, delete and clean up the thinking sessions stored in
a sessions folder (the folder FileSystemStore and seqthink-mcp use), or with
--redis-url in Redis (as seqthink-mcp --redis-url keeps them), and copy them
between sessions folders and Redis.
"""

_EPILOG: Final = """\
examples:
  seqthink list
  seqthink show 6f1d2c1e-8a4b-4c9e-9d53-2b7f0e5a91c4 --format markdown
  seqthink cleanup --older-than 7d --dry-run
  seqthink migrate --to redis://localhost:6379/0
  seqthink --sessions-dir ~/.config/kodegen/state/sessions/sequential_thinking list
  seqthink --redis-url redis://localhost:6379/0 list

exit status:
  0  done
  1  nothing to act on, or not done: no such session, nothing old enough to clean
     up, a file or session that would be overwritten, an unreadable session, an
     I/O error, a Redis server out of reach, a session not migrated
  2  a bad command line or bad input (bad id, duration, option or URL; a file
     that is not a seqthink export; a Redis URL without redis-py installed;
     --sessions-dir and --redis-url together)

environment:
  SEQTHINK_SESSIONS_DIR  the sessions folder when neither --sessions-dir nor
                         --redis-url is given
  NO_COLOR               set and not empty for no colour in `show`
"""

_COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "list": (
        "list the stored sessions, most recently active first",
        """\
Each session is read in full to tell whether it is complete (whether its last
thought said no further thought is needed), so listing takes time in
proportion to the number of thoughts stored. A session that cannot be read is
listed as "unreadable", with the reason on stderr; the exit status is still 0.
An empty or missing folder (or a Redis prefix with no sessions) lists
nothing, also with status 0.

--json prints an array of objects with the keys session_id, created_at and
last_activity (ISO 8601, UTC), total_thoughts, branch_ids (a list), complete
(true or false) and error (null); for an unreadable session, complete is null,
error is the reason, and the other keys are null when not even its
session.json can be read.

example:
  seqthink list
  seqthink list --json
""",
    ),
    "show": (
        "show one session as text, Markdown, a Mermaid diagram or JSON",
        f"""\
Text (the default) draws each thought in a box, as wide as the terminal up to
{MAX_DEFAULT_WIDTH} columns unless --width says otherwise; titles are coloured only
when stdout is a terminal and NO_COLOR is unset or empty.

example:
  seqthink show my-session
  seqthink show my-session --format mermaid > my-session.mmd
""",
    ),
    "export": (
        "write one session as JSON, to stdout or a file",
        """\
With -o, the file is written atomically (a temporary file beside it, then a
rename), readable by its owner only, and an existing file is left alone unless
--force is given. `seqthink import` reads the file back.

example:
  seqthink export my-session -o my-session.json
""",
    ),
    "import": (
        "store a session from a file written by `seqthink export`",
        """\
FILE is read in full and checked before anything is stored; "-" reads stdin.
An existing session with the same id is left alone unless --replace is given,
which deletes it and then stores the imported one.

example:
  seqthink import my-session.json --as my-session-copy
  seqthink export my-session | seqthink --sessions-dir /tmp/other import -
""",
    ),
    "delete": (
        "delete one session",
        """\
Exits with status 1 when there is no such session.

example:
  seqthink delete my-session
""",
    ),
    "cleanup": (
        "delete the sessions idle for longer than a given time",
        """\
Deletes, oldest first, the sessions whose last thought was recorded more than
--older-than ago, and prints their ids, one a line, on stdout (a summary goes
to stderr). Durations are whole numbers with units s, m, h, d and w, largest
first: 30s, 15m, 24h, 7d, 2w, 1h30m. Exits with status 1 when no session is
that old. Large cleanups run in batches; on an interactive terminal a progress
bar is drawn on stderr once one runs for more than half a second.

example:
  seqthink cleanup --older-than 7d --dry-run
  seqthink cleanup --older-than 1h30m --limit 100
""",
    ),
    "migrate": (
        "copy every session from one store to another, verifying each copy",
        """\
--from and --to each name a sessions folder or a Redis URL (redis://,
rediss:// or unix://; Redis needs `pip install 'seqthink[redis]'`). Leave
one out and it is the store the other commands use: the sessions folder, or
with --redis-url that Redis store (--redis-prefix, not --from-prefix or
--to-prefix, then gives its prefix). Each session
is read from the source, saved in the target, read back and compared with
the source, to the nanosecond; the source is never changed.

A session the target already holds, identical, counts as already there, so
running the command again is safe. One that differs is refused and left
alone unless --replace is given. A session that cannot be read is reported
and skipped. One line per session goes to stdout (copied, replaced, already
there), refusals and failures to stderr, then a summary on stderr. Exits with
status 1 when any session was refused or failed, or the source holds none.

example:
  seqthink migrate --to redis://localhost:6379/0 --dry-run
  seqthink migrate --from ~/sessions --to redis://localhost:6379/0
  seqthink migrate --from redis://cache.internal/2 --from-prefix team-a: --to ~/backup
  seqthink --redis-url redis://localhost:6379/0 migrate --to ~/backup
""",
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sessions_help = (
        "the sessions folder; a leading ~ is expanded "
        "(default: $SEQTHINK_SESSIONS_DIR, else the per-user state folder of seqthink)"
    )
    redis_help = (
        "work on the sessions kept in Redis at this URL (redis://, rediss:// or unix://), "
        "as seqthink-mcp --redis-url keeps them, instead of a sessions folder; "
        "needs seqthink[redis]"
    )
    prefix_help = f"with --redis-url: the prefix of every key (default: {_DEFAULT_PREFIX})"
    parser.add_argument("--sessions-dir", metavar="DIR", help=sessions_help)
    parser.add_argument("--redis-url", metavar="URL", help=redis_help)
    parser.add_argument("--redis-prefix", metavar="PREFIX", help=prefix_help)
    parser.add_argument("--version", action="version", version=f"{_PROG} {__version__}")
    # Given after the subcommand too; SUPPRESS keeps a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--sessions-dir", metavar="DIR", default=argparse.SUPPRESS, help=sessions_help)
    common.add_argument("--redis-url", metavar="URL", default=argparse.SUPPRESS, help=redis_help)
    common.add_argument("--redis-prefix", metavar="PREFIX", default=argparse.SUPPRESS, help=prefix_help)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace, _LibraryWarnings], int]) -> Any:
        summary, epilog = _COMMANDS[name]
        sub = commands.add_parser(
            name,
            parents=[common],
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(handler=handler)
        return sub

    listing = command("list", _cmd_list)
    listing.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")

    show = command("show", _cmd_show)
    show.add_argument("session_id", metavar="ID", help="the session to show")
    show.add_argument(
        "--format",
        choices=("text", "markdown", "mermaid", "json"),
        default="text",
        help="how to show it (default: %(default)s)",
    )
    show.add_argument(
        "--width",
        type=_width_argument,
        metavar="N",
        help=f"the width of text, in columns (default: the terminal's, at most {MAX_DEFAULT_WIDTH})",
    )

    export = command("export", _cmd_export)
    export.add_argument("session_id", metavar="ID", help="the session to export")
    export.add_argument("-o", "--output", metavar="FILE", help='the file to write (default, or "-": stdout)')
    export.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    importing = command("import", _cmd_import)
    importing.add_argument("file", metavar="FILE", help='a file written by `seqthink export`; "-" for stdin')
    importing.add_argument("--as", dest="as_id", metavar="ID", help="store it under this id instead")
    importing.add_argument(
        "--replace", action="store_true", help="replace a stored session that has the same id"
    )

    delete = command("delete", _cmd_delete)
    delete.add_argument("session_id", metavar="ID", help="the session to delete")

    cleanup = command("cleanup", _cmd_cleanup)
    cleanup.add_argument(
        "--older-than",
        type=_duration_argument,
        required=True,
        metavar="DURATION",
        help="delete sessions last active longer ago than this (30s, 15m, 24h, 7d, 2w, 1h30m)",
    )
    cleanup.add_argument(
        "--dry-run", action="store_true", help="print what would be deleted, and delete nothing"
    )
    cleanup.add_argument(
        "--limit", type=_count_argument, metavar="N", help="delete at most N sessions, the oldest"
    )

    migrate = command("migrate", _cmd_migrate)
    migrate.add_argument(
        "--from",
        dest="source",
        metavar="SOURCE",
        help="the store to copy from: a sessions folder or a Redis URL "
        "(default: the sessions folder, or --redis-url's store)",
    )
    migrate.add_argument(
        "--to",
        dest="target",
        metavar="TARGET",
        help="the store to copy to: a sessions folder or a Redis URL "
        "(default: the sessions folder, or --redis-url's store)",
    )
    migrate.add_argument(
        "--from-prefix",
        metavar="PREFIX",
        help=f"the key prefix of a Redis SOURCE (default: {_DEFAULT_PREFIX})",
    )
    migrate.add_argument(
        "--to-prefix",
        metavar="PREFIX",
        help=f"the key prefix of a Redis TARGET (default: {_DEFAULT_PREFIX})",
    )
    migrate.add_argument("--dry-run", action="store_true", help="say what would be copied, and write nothing")
    migrate.add_argument(
        "--replace",
        action="store_true",
        help="replace a session the target holds that differs from the source's",
    )
    return parser


# --- main -------------------------------------------------------------------------


def _silence_stdout() -> None:
    """Point stdout's descriptor at the null device, so that flushing it at exit fails no more."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)


def _run(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace, _LibraryWarnings], int] = args.handler
    _check_store_options(args)
    with _library_warnings() as warnings:
        code = handler(args, warnings)
        sys.stdout.flush()  # here, so that a broken pipe is met while it can still be handled
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``seqthink`` command with ``argv`` (default: ``sys.argv[1:]``); return its exit status.

    0: done. 1: nothing to act on, or not done (see the module's
    documentation). 2: a bad command line or bad input. 130: interrupted
    (Ctrl-C). Errors are written to stderr as one line each; ``--help`` and
    ``--version`` print and return 0. A reader of stdout that goes away (a
    pipe closed early, as ``| head -1`` does) ends the command quietly, with 0.
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already reported
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _run(args)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return _EXIT_INTERRUPTED
    except (_Failure, SeqthinkError, OSError, UnicodeEncodeError) as exc:
        code, message = _failure(exc)
        _note(f"error: {message}")
        return code


def _failure(exc: Exception) -> tuple[int, str]:
    """The exit status and the message for an error that ends a command."""
    if isinstance(exc, _Failure):
        return exc.code, exc.message
    if isinstance(exc, (InvalidSessionIdError, InvalidArgumentError)):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, UnicodeEncodeError):
        encoding = getattr(sys.stdout, "encoding", None) or "unknown"
        bad = exc.object[exc.start : exc.end]
        return EXIT_NOTHING, f"cannot write {bad!r} in {encoding}; try PYTHONIOENCODING=utf-8"
    return EXIT_NOTHING, str(exc)
