"""FileSystemStore: sessions as folders of JSON files, in the seed's scheme.

Layout (see docs/format.md)::

    {root}/{session_id}/session.json            the commit record, written last
    {root}/{session_id}/thought{k}.json         k = position in the history
    {root}/{session_id}/branch_{id}_thought{j}.json   j = position in the branch

How it keeps its promises:

* every file is replaced atomically (unique temp file in the same folder,
  then ``os.replace``), so no file is ever empty, truncated or mixed;
* ``session.json`` is written after the thought files it counts, so a crash
  leaves the previous or the new committed state, and files past the
  committed count are ignored by readers;
* a save writes only the thoughts not yet committed, never the old ones;
* restore only reads, and names every file it cannot read;
* delete renames the folder away first, so a session vanishes whole;
* no symbolic link is followed, and session ids are checked before any path
  is built.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import shutil
import stat
import sys
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from seqthink import _format, _rules
from seqthink._format import SESSION_FILE, FormatError, SessionHeader
from seqthink._session import SessionMetadata, SessionRecord, ThinkingSession, ns_to_datetime
from seqthink._store import SessionStore
from seqthink._thought import Thought, ThoughtResult
from seqthink.errors import (
    CleanupError,
    CorruptSessionError,
    InvalidArgumentError,
    SessionNotFoundError,
    StoreError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence

    from typing_extensions import Self

log = logging.getLogger("seqthink")

#: The environment variable that overrides the default root.
ROOT_ENV = "SEQTHINK_SESSIONS_DIR"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | getattr(os, "O_BINARY", 0)
_TOMB_PREFIX = ".deleted-"
#: How often a restore reads again when the session is deleted or replaced as it reads.
_READ_ATTEMPTS = 5
#: Whether files can be opened relative to a folder descriptor (not on Windows).
_DIR_FD = os.open in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")
#: The folder in the root holding one lock file per session, ``{session_id}.lock``.
LOCKS_DIR = ".locks"

if sys.platform == "win32":  # pragma: no cover - no advisory file locks there

    def _flock(fd: int) -> None:
        """Windows: no lock; one writer per session at a time is the host's to arrange."""

else:
    import fcntl

    def _flock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor is closed


_THOUGHT_FILE = re.compile(r"thought([0-9]+)\.json")
_BRANCH_FILE = re.compile(r"branch_.+_thought[0-9]+\.json")
#: Every name a save writes in a session folder, temp files included.
_SAVE_FILE = re.compile(
    r"session\.json|thought[0-9]+\.json|branch_.+_thought[0-9]+\.json|\..+\.tmp", re.DOTALL
)
#: What a folder under a session's name holds (see FileSystemStore._what_is).
_SESSION, _LEFTOVER, _FOREIGN = "session", "leftover", "foreign"


def default_root() -> Path:
    """``$SEQTHINK_SESSIONS_DIR``, else platformdirs' user state dir for seqthink, + ``sessions``."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).expanduser()  # client configurations set it in JSON: no shell expands "~"
    return platformdirs.user_state_path("seqthink") / "sessions"


def sessions_folder(option: str) -> Path:
    """A ``--sessions-dir`` value as a folder path, for the command lines.

    A leading ``~`` is expanded: client configurations are JSON, and no shell
    expands it there. Raises ValueError with a one-line reason for an empty
    value or a path that exists and is not a folder.
    """
    if not option:
        raise ValueError("must not be empty")
    folder = Path(option).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{str(folder)!r} exists and is not a folder")
    return folder


class FileSystemStore(SessionStore):
    """Sessions as folders of JSON files, readable and writable by the seed.

    ``root`` defaults to :func:`default_root`. With ``durable=True`` (the
    default) every save is fsynced, so a save that returned survives power
    loss on file systems that honour fsync; with ``durable=False`` saves are
    still atomic and survive a crash of the process, and are several times
    faster.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, *, durable: bool = True) -> None:
        if root is None:
            root = default_root()
        elif not isinstance(root, (str, os.PathLike)):
            raise InvalidArgumentError("root", root, "must be a path or None")
        elif not os.fspath(root):
            raise InvalidArgumentError("root", root, "must not be empty (None means the default root)")
        if not isinstance(durable, bool):
            raise InvalidArgumentError("durable", durable, "must be true or false")
        self._root = os.path.abspath(os.fspath(root))
        self._durable = durable
        # Sessions whose folder this store has swept of leftovers from crashed writers.
        self._tidied: set[str] = set()
        # The sessions this store appended to lately, as committed, so that an
        # append reads only what other writers committed since (used under the
        # session's lock only).
        self._cache: OrderedDict[str, tuple[ThinkingSession, int | None]] = OrderedDict()
        self._cache_lock = threading.Lock()
        # A store dropped without close() still gives its descriptors back.
        weakref.finalize(self, _close_cached, self._cache, self._cache_lock)

    @property
    def root(self) -> Path:
        return Path(self._root)

    @property
    def durable(self) -> bool:
        return self._durable

    _CACHE_SIZE = 64

    def __repr__(self) -> str:
        return f"FileSystemStore({self._root!r}, durable={self._durable})"

    def close(self) -> None:
        """Close the session folders this store holds open for its next appends (at most
        64); the next append to each reads its session again. Done for you when the
        store is garbage-collected.
        """
        _close_cached(self._cache, self._cache_lock)

    # --- SessionStore --------------------------------------------------------
    #
    # Every call opens the root, then the session's folder inside it without
    # following a link, and reaches the files through that open folder: a link
    # swapped in at the folder's path meanwhile is never followed.

    def _save(self, record: SessionRecord, known: Collection[tuple[int, int]]) -> None:
        sid = record.session_id
        try:
            with self._locked(sid), self._open_root() as root, contextlib.ExitStack() as stack:
                folder = self._session_folder(root, sid)
                if folder is not None:
                    stack.enter_context(folder)
                header = None if folder is None else self._header(sid, folder)
                made = self._commit(record, known, header, root, folder)
                if made is not None and made is not folder:
                    stack.enter_context(made)
        except OSError as exc:
            raise StoreError(f"could not save session {sid!r}: {_reason(exc)}") from exc

    def _append(
        self, session_id: str, thought: Thought, *, strict: bool, max_thought_length: int
    ) -> ThoughtResult:
        try:
            with self._locked(session_id), self._open_root() as root, contextlib.ExitStack() as stack:
                folder = self._session_folder(root, session_id)
                if folder is not None:
                    stack.enter_context(folder)
                header = None if folder is None else self._header(session_id, folder)
                session, pin = self._current(session_id, folder, header)
                made = folder
                in_step = True  # whether `session` holds exactly what is committed
                try:
                    session._strict, session._max_thought_length = strict, max_thought_length
                    result = session.add_thought(thought)  # a refused thought changes nothing
                    in_step = False
                    made = self._commit(session._snapshot(), session._known, header, root, folder)
                    if made is not None and made is not folder:
                        stack.enter_context(made)
                    in_step = True
                finally:
                    if in_step:
                        self._remember(session_id, session, pin, made)
                    else:
                        _close_quietly(pin)
                return result
        except OSError as exc:
            raise StoreError(f"could not append to session {session_id!r}: {_reason(exc)}") from exc

    def _commit(
        self,
        record: SessionRecord,
        known: Collection[tuple[int, int]],
        header: SessionHeader | None,
        root: _Folder,
        folder: _Folder | None,
    ) -> _Folder | None:
        """Write what the store lacks of ``record``, then session.json; return the folder
        written to (made now when ``folder`` is None and there is something to write: the
        caller closes it).

        The caller holds the session's lock and has read ``header``, the committed state.
        """
        sid = record.session_id
        stored = (
            None if header is None else (header.created_ns, header.total_thoughts, header.last_activity_ns)
        )
        keep = self._plan_save(
            sid, stored=stored, known=known, created_ns=record.created_ns, count=len(record.thoughts)
        )
        if keep is None:  # the store holds all of this record already
            if self._durable and folder is not None:  # ... but an earlier save may not have made it durable
                folder.fsync()
                root.fsync()
            return folder
        made = self._make_folder(root, sid) if folder is None else folder
        try:
            self._write_commit(record, keep, header, root, made)
        except BaseException:
            self._tidied.discard(sid)  # a temp file may be left: sweep before the next save
            if made is not folder:
                made.close()
            raise
        return made

    def _write_commit(
        self, record: SessionRecord, keep: int, header: SessionHeader | None, root: _Folder, folder: _Folder
    ) -> None:
        sid = record.session_id
        if sid not in self._tidied:
            self._tidy(folder, record.thoughts[:keep])
            self._tidied.add(sid)
        for name, data in _new_files(record, keep):
            self._write(folder, name, data)
        if self._durable and keep < len(record.thoughts):
            folder.fsync()  # the thought files exist before the commit names them
        self._write(folder, SESSION_FILE, _format.encode_session(record))
        if self._durable:
            folder.fsync()
            if header is None:  # a first commit: the folder's entry, and the root's, must be durable too
                root.fsync()
                _fsync_dir(os.path.dirname(self._root))

    def _current(
        self, session_id: str, folder: _Folder | None, header: SessionHeader | None
    ) -> tuple[ThinkingSession, int | None]:
        """The session as committed, under its lock, and the descriptor that pins its cached
        folder (None when it was read afresh): from the cache when it is in step, reading
        only the thoughts committed since when it is behind, else from disk.

        A cache entry holds its session folder open. While it does, that folder's
        inode cannot be reused, so finding the same inode open as ``folder`` proves
        the session was not deleted and stored anew since; and within one folder's
        life every commit extends the one before. Only then is catching up safe.
        """
        with self._cache_lock:
            entry = self._cache.pop(session_id, None)
        if entry is not None:
            cached, pin = entry
            if (
                header is not None
                and folder is not None
                and _same_inode(pin, folder.fd)
                and cached._created_ns == header.created_ns
                and len(cached) <= header.total_thoughts
            ):
                try:
                    if len(cached) < header.total_thoughts:  # another writer committed thoughts since
                        self._catch_up(cached, folder, header)
                except BaseException:
                    _close_quietly(pin)
                    raise
                return cached, pin
            _close_quietly(pin)
        if header is None or folder is None:
            return ThinkingSession(session_id), None
        return ThinkingSession._from_record(self._read_record(session_id, folder, header)), None

    def _catch_up(self, session: ThinkingSession, folder: _Folder, header: SessionHeader) -> None:
        problems = []
        for position, outcome, _ in _read_thoughts(folder, header.total_thoughts, start=len(session) + 1):
            if isinstance(outcome, Thought):
                session._append(outcome)
            else:
                problems.append((folder.name_path(_format.thought_file_name(position)), outcome))
        if problems:
            raise CorruptSessionError(session.session_id, problems)
        session._last_activity_ns = header.last_activity_ns
        session._known.add((len(session), header.last_activity_ns))

    def _remember(
        self, session_id: str, session: ThinkingSession, pin: int | None, folder: _Folder | None
    ) -> None:
        """Keep ``session`` for the next append, its folder pinned by ``pin`` (or by a
        duplicate of ``folder``'s descriptor when None).
        """
        if pin is None and folder is not None and folder.fd is not None:
            try:
                pin = os.dup(folder.fd)
            except OSError:  # no descriptor to spare: the next append reads the session again
                return
        evicted = []
        with self._cache_lock:
            self._cache[session_id] = (session, pin)
            while len(self._cache) > self._CACHE_SIZE:
                evicted.append(self._cache.popitem(last=False)[1][1])
        for fd in evicted:
            _close_quietly(fd)

    def _forget(self, session_id: str) -> None:
        with self._cache_lock:
            entry = self._cache.pop(session_id, None)
        if entry is not None:
            _close_quietly(entry[1])

    def _load(self, session_id: str) -> SessionRecord:
        """Read a committed session without the lock, never a torn one.

        The folder is held open while it is read. A delete (or a delete and a new
        save) that lands meanwhile replaces the folder at that path; the read is
        then thrown away and done again, so a reader sees a whole session or none.
        """
        for _ in range(_READ_ATTEMPTS):
            try:
                root = self._open_root()
            except FileNotFoundError:
                raise SessionNotFoundError(session_id) from None
            except OSError as exc:
                raise StoreError(f"could not open {self._root}: {_reason(exc)}") from exc
            with root:
                folder = self._session_folder(root, session_id)
                if folder is None:
                    raise SessionNotFoundError(session_id)
                with folder:
                    try:
                        record = self._read_committed(session_id, folder)
                    except (SessionNotFoundError, CorruptSessionError, StoreError):
                        if not folder.is_at(root, session_id):
                            continue  # deleted or replaced while being read
                        raise
                    if folder.is_at(root, session_id):
                        return record
        raise SessionNotFoundError(session_id)  # pragma: no cover - deleted and recreated over and over

    def _read_committed(self, session_id: str, folder: _Folder) -> SessionRecord:
        header = self._header(session_id, folder)
        if header is None:
            raise SessionNotFoundError(session_id)
        return self._read_record(session_id, folder, header)

    def _read_record(self, session_id: str, folder: _Folder, header: SessionHeader) -> SessionRecord:
        """The session committed as ``header`` says, read from its open ``folder``."""
        thoughts: list[Thought] = []
        problems: list[tuple[str, str]] = []
        # The bytes of each branch thought's history file, per branch in history order:
        # its branch file is checked against them.
        branches: dict[str, list[Thought]] = {}
        branch_bytes: dict[str, list[bytes]] = {}
        for position, outcome, data in _read_thoughts(folder, header.total_thoughts):
            if isinstance(outcome, Thought):
                thoughts.append(outcome)
                branch = _rules.branch_of(outcome)
                if branch is not None:
                    branches.setdefault(branch, []).append(outcome)
                    branch_bytes.setdefault(branch, []).append(data)
            else:
                problems.append((folder.name_path(_format.thought_file_name(position)), outcome))
        record = SessionRecord(session_id, header.created_ns, header.last_activity_ns, thoughts, branches)
        if not problems and set(record.branches) != set(header.branch_ids):
            problems.append(
                (
                    folder.name_path(SESSION_FILE),
                    (
                        f"branch_ids {list(header.branch_ids)} do not match the branches "
                        f"of the thoughts {list(record.branches)}"
                    ),
                )
            )
        if not problems:
            problems.extend(_branch_file_problems(folder, record, branch_bytes))
        if problems:
            raise CorruptSessionError(session_id, problems)
        return record

    def _delete(self, session_id: str) -> bool:
        try:
            try:
                root = self._open_root()
            except FileNotFoundError:
                return False
            with root:
                if root.kind(session_id) is None:
                    return False
                with self._locked(session_id):
                    kind = root.kind(session_id)
                    if kind == stat.S_IFLNK:  # in a session's place: removed, never followed
                        root.unlink(session_id)
                        return True
                    if kind != stat.S_IFDIR:  # a file: not the store's to remove
                        return False
                    with root.child(session_id) as folder:
                        what = self._what_is(session_id, folder)
                    if what == _FOREIGN:
                        return False
                    tomb = self._bury(root, session_id)
                _remove_tree(root, tomb)
                return what == _SESSION
        except OSError as exc:
            raise StoreError(f"could not delete session {session_id!r}: {_reason(exc)}") from exc

    def _what_is(self, session_id: str, folder: _Folder) -> str:
        """What the folder of ``session_id`` holds, under its lock: ``_SESSION`` (committed,
        readable or not), ``_LEFTOVER`` (no commit, only what a save writes: left by a
        first save that failed) or ``_FOREIGN`` (not the store's, or another session's: on
        a case-insensitive disk "abc" finds the folder of "Abc"), never to be removed.
        """
        try:
            header = _format.decode_session(folder.read(SESSION_FILE))
        except FileNotFoundError:
            names = folder.names()
            return _LEFTOVER if all(_SAVE_FILE.fullmatch(name) for name in names) else _FOREIGN
        except FormatError:
            return _SESSION  # a damaged commit is still this session's: deleting it must work
        return _SESSION if header.session_id == session_id else _FOREIGN

    def _exists(self, session_id: str) -> bool:
        try:
            with self._open_root() as root, root.child(session_id) as folder:
                return folder.kind(SESSION_FILE) == stat.S_IFREG
        except FileNotFoundError:
            return False
        except OSError as exc:
            if exc.errno in _NOT_A_FOLDER:  # a link or a file in the session's place
                return False
            raise StoreError(f"could not check session {session_id!r}: {_reason(exc)}") from exc

    def _list(self) -> list[SessionMetadata]:
        return [
            SessionMetadata(
                session_id=h.session_id,
                created_at=ns_to_datetime(h.created_ns),
                last_activity=ns_to_datetime(h.last_activity_ns),
                total_thoughts=h.total_thoughts,
                branch_ids=h.branch_ids,
            )
            for h in self._headers()
        ]

    def _cleanup(self, cutoff_ns: int, limit: int | None) -> list[str]:
        try:
            root = self._open_root()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"could not list {self._root}: {_reason(exc)}") from exc
        deleted: list[str] = []
        errors: dict[str, StoreError] = {}
        with root:
            found = _entries(root, lambda name: _rules.is_session_id(name) or name.startswith(_TOMB_PREFIX))
            for tomb in (name for name in found if name.startswith(_TOMB_PREFIX)):
                _remove_tree(root, tomb)  # left by a delete that was interrupted
            sessions = [name for name in found if not name.startswith(_TOMB_PREFIX)]
            headers = {h.session_id: h for h in self._headers(sessions, errors=errors)}
            old = sorted(
                (h.last_activity_ns, h.session_id) for h in headers.values() if h.last_activity_ns < cutoff_ns
            )
            for _, sid in old:
                if limit is not None and len(deleted) >= limit:
                    break
                try:
                    if self._bury_if_old(root, sid, cutoff_ns, _SESSION):
                        deleted.append(sid)
                except StoreError as exc:
                    errors[sid] = exc
            self._sweep_leftovers(root, [n for n in sessions if n not in headers], cutoff_ns, errors)
        if errors:
            raise CleanupError(deleted, errors) from next(iter(errors.values()))
        return deleted

    def _sweep_leftovers(
        self, root: _Folder, names: Iterable[str], cutoff_ns: int, errors: dict[str, StoreError]
    ) -> None:
        """Remove the folders without a commit, left by first saves that failed, once
        nothing has changed in them for as long as an old session.
        """
        for name in names:
            if name not in errors:
                try:
                    self._bury_if_old(root, name, cutoff_ns, _LEFTOVER)
                except StoreError as exc:
                    errors[name] = exc

    def _bury_if_old(self, root: _Folder, session_id: str, cutoff_ns: int, expected: str) -> bool:
        """Under the session's lock, look again, and remove the folder if it still holds
        ``expected`` (a session or a leftover) last changed before ``cutoff_ns``.
        """
        try:
            with self._locked(session_id):
                folder = self._session_folder(root, session_id)
                if folder is None:
                    return False
                with folder:
                    if expected == _SESSION:
                        header = self._header(session_id, folder)
                        if header is None or header.last_activity_ns >= cutoff_ns:
                            return False  # a writer committed since the scan
                    elif self._what_is(session_id, folder) != _LEFTOVER or folder.mtime_ns() >= cutoff_ns:
                        return False
                tomb = self._bury(root, session_id)
        except CorruptSessionError:
            return False  # unreadable now: left in place, as the scan would have
        except OSError as exc:
            raise StoreError(f"could not delete session {session_id!r}: {_reason(exc)}") from exc
        _remove_tree(root, tomb)
        return True

    # --- locking and deleting --------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, session_id: str) -> Iterator[None]:
        """Hold the session's lock: ``flock`` on ``{root}/.locks/{session_id}.lock``.

        Writers, deletes and cleanup take it; readers need not, since every
        commit is one atomic rename. The lock file is removed on release when
        the session has no folder. A waiter that then gets the removed file
        sees it is no longer the one at that path, and starts again.
        """
        locks = os.path.join(self._root, LOCKS_DIR)
        name = f"{session_id}.lock"
        directory = os.path.join(self._root, session_id)
        attempts = 0
        while True:
            attempts += 1
            if attempts > 100:  # pragma: no cover - only if something keeps removing .locks
                raise OSError(errno.EAGAIN, "the lock folder keeps disappearing", locks)
            try:
                folder = _Folder.at(locks)
            except FileNotFoundError:
                self._make_root()
                _make_private_folder(locks)
                continue
            with folder:
                try:
                    fd = folder.open(name, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC)
                except FileNotFoundError:
                    continue  # the folder went away meanwhile
                try:
                    _flock(fd)
                    info = os.fstat(fd)
                    if stat.S_IMODE(info.st_mode) != 0o600:  # created just now, under some umask
                        _chmod_fd(fd, 0o600)
                    if info.st_ino == folder.inode(name):
                        try:
                            yield
                        finally:
                            # The work is done (or has failed on its own); nothing
                            # here may turn a committed save into an error.
                            with contextlib.suppress(OSError):
                                if not os.path.lexists(directory):
                                    folder.unlink(name)
                        return
                finally:
                    _close_quietly(fd)

    def _bury(self, root: _Folder, session_id: str) -> str:
        """Rename a session folder out of sight, so it vanishes whole; return its new name."""
        tomb = f"{_TOMB_PREFIX}{session_id}-{secrets.token_hex(4)}"
        root.rename(session_id, tomb)
        if self._durable:
            root.fsync()
        self._tidied.discard(session_id)
        self._forget(session_id)
        return tomb

    # --- reading -------------------------------------------------------------

    def _open_root(self) -> _Folder:
        """The root, open (a link there is followed: where the root lives is the user's choice)."""
        return _Folder.at(self._root, follow=True)

    def _session_folder(self, root: _Folder, session_id: str) -> _Folder | None:
        """The session's folder, open without following a link; None when there is none.

        A link or a file in its place raises CorruptSessionError.
        """
        try:
            return root.child(session_id)
        except FileNotFoundError:
            return None
        except OSError as exc:
            path = root.name_path(session_id)
            if exc.errno in _NOT_A_FOLDER:
                kind = "a symbolic link" if root.kind(session_id) == stat.S_IFLNK else "not a folder"
                raise CorruptSessionError(session_id, [(path, f"is {kind}; not followed")]) from None
            raise StoreError(f"could not open {path}: {_reason(exc)}") from exc

    def _header(self, session_id: str, folder: _Folder) -> SessionHeader | None:
        """The committed session.json in ``folder``, None when there is none, or CorruptSessionError."""
        try:
            header = _format.decode_session(folder.read(SESSION_FILE))
        except FileNotFoundError:
            return None
        except FormatError as exc:
            raise CorruptSessionError(session_id, [(folder.name_path(SESSION_FILE), str(exc))]) from None
        except OSError as exc:
            raise StoreError(f"could not read {folder.name_path(SESSION_FILE)}: {_reason(exc)}") from exc
        if header.session_id != session_id:
            problem = f"names session {header.session_id!r}, not the folder's {session_id!r}"
            raise CorruptSessionError(session_id, [(folder.name_path(SESSION_FILE), problem)])
        return header

    def _headers(
        self, names: Iterable[str] | None = None, *, errors: dict[str, StoreError] | None = None
    ) -> Iterator[SessionHeader]:
        """The committed header of every session folder (or of ``names``, folders the root
        listed); unreadable ones are logged and skipped. An I/O error raises StoreError, or
        is put in ``errors`` under the session's id when that is given.
        """
        try:
            root = self._open_root()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"could not list {self._root}: {_reason(exc)}") from exc
        with root:
            for name in _entries(root, _rules.is_session_id) if names is None else names:
                try:
                    header = self._listed_header(root, name)
                except CorruptSessionError as exc:
                    log.warning("skipping unreadable session %r: %s", name, exc)
                    continue
                except StoreError as exc:
                    if errors is None:
                        raise
                    errors[name] = exc
                    continue
                if header is not None:
                    yield header

    def _listed_header(self, root: _Folder, name: str) -> SessionHeader | None:
        """:meth:`_header` of the folder ``name`` the root listed, None when it has gone.

        The common case, a folder holding a valid session.json, is read with the
        fewest calls: this runs once per session in every list and cleanup.
        """
        if root.fd is not None:
            try:
                fd = os.open(name, _CHILD_FLAGS, dir_fd=root.fd)
            except OSError:
                fd = None  # gone, or a link or a file now: the general path below says which
            if fd is not None:
                try:
                    # No fstat: a FIFO, device or folder here reads as nothing, too much or
                    # an error, and the general path below looks again and says which.
                    file = os.open(SESSION_FILE, _READ_FLAGS, dir_fd=fd)
                    try:
                        data = os.read(file, _SMALL)
                    finally:
                        _close_quietly(file)
                    if len(data) < _SMALL:
                        header = _format.decode_session(data)
                        if header.session_id == name:
                            return header
                except (OSError, FormatError):
                    pass
                finally:
                    _close_quietly(fd)
        folder = self._session_folder(root, name)
        if folder is None:
            return None
        with folder:
            return self._header(name, folder)

    # --- writing -------------------------------------------------------------

    def _make_root(self) -> None:
        if not os.path.isdir(self._root):
            parent = os.path.dirname(self._root)
            os.makedirs(parent, exist_ok=True)  # the folders above the root are the user's
            if _make_private_folder(self._root) and self._durable:
                _fsync_dir(parent)

    def _make_folder(self, root: _Folder, session_id: str) -> _Folder:
        """Create the session folder (mode 0o700) if there is none, and open it."""
        made = root.mkdir(session_id)
        try:
            folder = root.child(session_id)
        except OSError as exc:
            if exc.errno in _NOT_A_FOLDER:
                path = root.name_path(session_id)
                raise OSError(errno.ENOTDIR, "is not a folder (a link is not followed)", path) from None
            raise
        if made:
            try:
                folder.chmod(0o700)  # whatever the umask
            except BaseException:
                folder.close()
                raise
        return folder

    def _write(self, folder: _Folder, name: str, data: bytes) -> None:
        """Replace ``name`` in ``folder`` with ``data`` atomically."""
        temp = f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = folder.open(temp, _WRITE_FLAGS)
            try:
                _chmod_fd(fd, 0o600)  # whatever the umask
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self._durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            folder.rename(temp, name)
        except BaseException:
            with contextlib.suppress(OSError):
                folder.unlink(temp)
            raise

    def _tidy(self, folder: _Folder, committed: Iterable[Thought]) -> None:
        """Remove what crashed writers left: temp files and files past the commit.

        Runs once per session per store object, before its first save.
        """
        kept = {_format.thought_file_name(p) for p, _ in enumerate(committed, 1)}
        sizes: dict[str, int] = {}
        for thought in committed:
            branch = _rules.branch_of(thought)
            if branch is not None:
                sizes[branch] = sizes.get(branch, 0) + 1
                kept.update(_format.branch_file_names(branch, sizes[branch]))
        for name in folder.names():
            stray = name.startswith(".") and name.endswith(".tmp")
            stale = (_THOUGHT_FILE.fullmatch(name) or _BRANCH_FILE.fullmatch(name)) and name not in kept
            if stray or stale:
                with contextlib.suppress(FileNotFoundError):
                    folder.unlink(name)


def _new_files(record: SessionRecord, keep: int) -> list[tuple[str, bytes]]:
    """The files for the thoughts at positions keep+1..n, each with its branch copy."""
    sizes = {branch: len(thoughts) for branch, thoughts in record.branches.items()}
    files: list[tuple[str, bytes]] = []
    for position in range(len(record.thoughts), keep, -1):  # backwards, to number branch files
        thought = record.thoughts[position - 1]
        data = _format.encode_thought(thought)
        branch = _rules.branch_of(thought)
        if branch is not None:
            files.append((_format.branch_file_name(branch, sizes[branch]), data))
            sizes[branch] -= 1
        files.append((_format.thought_file_name(position), data))
    files.reverse()
    return files


def _read_thoughts(folder: _Folder, count: int, start: int = 1) -> Iterator[tuple[int, Thought | str, bytes]]:
    """Yield (position, thought or what is wrong, the file's bytes) for positions start..count.

    Missing files are reported as ranges, so a session.json claiming a
    huge count cannot make this loop for ever.
    """
    present: set[int] | None = None
    position = start
    while position <= count:
        if present is not None and position not in present:
            following = [p for p in present if p > position]
            last = min(following) - 1 if following else count
            span = (
                "missing" if last == position else f"missing, and so are the files up to thought{last}.json"
            )
            yield position, span, b""
            position = last + 1
            continue
        name = _format.thought_file_name(position)
        try:
            data = folder.read(name)
            yield position, _format.decode_thought(data), data
        except FileNotFoundError:
            if present is None:
                present = _positions_on_disk(folder, count)
                continue  # look at this position again, now knowing what exists
            yield position, "missing", b""
        except FormatError as exc:
            yield position, str(exc), b""
        except OSError as exc:  # an I/O failure, not damage: say so rather than call it corrupt
            raise StoreError(f"could not read {folder.name_path(name)}: {_reason(exc)}") from exc
        position += 1


def _branch_file_problems(
    folder: _Folder, record: SessionRecord, history_bytes: Mapping[str, Sequence[bytes]]
) -> list[tuple[str, str]]:
    """Check that every branch thought's file holds the same thought as the history.

    Branch files are copies the seed reads; restore checks them so that a
    damaged copy is reported rather than left for the seed to trip over. A
    copy byte for byte the same as the thought's history file (``history_bytes``,
    per branch in order) needs no decoding; any other is decoded and compared.
    """
    problems = []
    for branch, thoughts in record.branches.items():
        originals = history_bytes.get(branch, ())
        for position, expected in enumerate(thoughts, 1):
            names = _format.branch_file_names(branch, position)
            problem = "missing"
            for name in names:
                try:
                    data = folder.read(name)
                    if position <= len(originals) and data == originals[position - 1]:
                        problem = ""
                        break
                    found = _format.decode_thought(data)
                except FileNotFoundError:
                    continue
                except FormatError as exc:
                    problem = str(exc)
                except OSError as exc:
                    raise StoreError(f"could not read {folder.name_path(name)}: {_reason(exc)}") from exc
                else:
                    problem = "" if found == expected else "holds a different thought than the history"
                break
            if problem:
                problems.append((folder.name_path(names[0]), problem))
    return problems


#: The errors of opening a folder without following a link where a link or a file stands.
_NOT_A_FOLDER = frozenset({errno.ELOOP, errno.ENOTDIR})
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC | getattr(os, "O_NONBLOCK", 0)
_CHILD_FLAGS = _FOLDER_FLAGS | _NOFOLLOW


class _Folder:
    """A folder held open, for calls on the names directly inside it.

    Where the platform allows (not Windows), the calls go relative to the
    folder's descriptor, so a link swapped in at the folder's path, or at a
    folder above it, after it was opened does not redirect them; and no call
    follows a link at a name inside it. Elsewhere they go by path.
    """

    __slots__ = ("_name", "_parent", "fd")

    def __init__(self, parent: str, name: str, fd: int | None) -> None:
        self._parent, self._name = parent, name  # the path, joined only when asked for
        self.fd = fd

    @property
    def path(self) -> str:
        return os.path.join(self._parent, self._name) if self._name else self._parent

    @classmethod
    def at(cls, path: str, *, follow: bool = False) -> _Folder:
        """Open the folder at ``path``, following a link there only if ``follow``.

        Raises FileNotFoundError when there is nothing, and an OSError with an
        errno in ``_NOT_A_FOLDER`` for a link not followed or a file.
        """
        if not _DIR_FD:
            info = os.stat(path) if follow else os.lstat(path)
            if not stat.S_ISDIR(info.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "is not a folder", path)
            return cls(path, "", None)
        return cls(path, "", os.open(path, _FOLDER_FLAGS | (0 if follow else _NOFOLLOW)))

    def child(self, name: str) -> _Folder:
        """The folder ``name`` in this one, opened without following a link (as :meth:`at`)."""
        if self.fd is None:
            return _Folder.at(self.name_path(name))
        return _Folder(self.path, name, os.open(name, _CHILD_FLAGS, dir_fd=self.fd))

    def name_path(self, name: str) -> str:
        """The path of ``name`` in this folder, for messages."""
        return os.path.join(self.path, name)

    def _at(self, name: str) -> tuple[str, dict[str, int]]:
        return (name, {"dir_fd": self.fd}) if self.fd is not None else (self.name_path(name), {})

    def open(self, name: str, flags: int) -> int:
        if self.fd is None:
            return os.open(self.name_path(name), flags, 0o600)
        return os.open(name, flags, 0o600, dir_fd=self.fd)

    def read(self, name: str) -> bytes:
        return _read_file(name, dir_fd=self.fd) if self.fd is not None else _read_file(self.name_path(name))

    def kind(self, name: str) -> int | None:
        """The file type of ``name`` (``stat.S_IFDIR``, ``S_IFLNK``, ...; a link is not
        followed), or None when there is nothing of that name.
        """
        target, at = self._at(name)
        try:
            return stat.S_IFMT(os.stat(target, follow_symlinks=False, **at).st_mode)
        except FileNotFoundError:
            return None

    def inode(self, name: str) -> int | None:
        target, at = self._at(name)
        try:
            return os.stat(target, follow_symlinks=False, **at).st_ino
        except FileNotFoundError:
            return None

    def names(self) -> list[str]:
        with os.scandir(self.fd if self.fd is not None else self.path) as entries:
            return [entry.name for entry in entries]

    def folder_names(self, wanted: Callable[[str], bool]) -> list[str]:
        """Names of the folders (not links) in this one for which ``wanted(name)``."""
        with os.scandir(self.fd if self.fd is not None else self.path) as entries:
            return [e.name for e in entries if wanted(e.name) and e.is_dir(follow_symlinks=False)]

    def mkdir(self, name: str) -> bool:
        """Make the folder ``name``; False if something of that name is there already."""
        target, at = self._at(name)
        try:
            os.mkdir(target, 0o700, **at)
        except FileExistsError:
            return False
        return True

    def rename(self, name: str, new: str) -> None:
        """Rename ``name`` to ``new`` in this folder, replacing what ``new`` names."""
        if self.fd is None:
            os.replace(self.name_path(name), self.name_path(new))
        else:
            os.replace(name, new, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def unlink(self, name: str) -> None:
        target, at = self._at(name)
        os.unlink(target, **at)

    def chmod(self, mode: int) -> None:
        if self.fd is not None:
            os.fchmod(self.fd, mode)
        else:
            os.chmod(self.path, mode)

    def mtime_ns(self) -> int:
        """When an entry of this folder was last added, removed or renamed."""
        return os.fstat(self.fd).st_mtime_ns if self.fd is not None else os.stat(self.path).st_mtime_ns

    def fsync(self) -> None:
        """Make the changes to this folder's entries durable (not possible on Windows)."""
        if self.fd is not None:
            os.fsync(self.fd)

    def is_at(self, parent: _Folder, name: str) -> bool:
        """Whether ``name`` in ``parent`` is still this folder (always true without descriptors)."""
        if self.fd is None or parent.fd is None:
            return True
        try:
            held = os.fstat(self.fd)
            there = os.stat(name, dir_fd=parent.fd, follow_symlinks=False)
        except OSError:
            return False
        return (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)

    def close(self) -> None:
        fd, self.fd = self.fd, None
        _close_quietly(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _entries(root: _Folder, wanted: Callable[[str], bool]) -> list[str]:
    """Names of the folders (not links) directly in the root for which ``wanted(name)``."""
    try:
        return root.folder_names(wanted)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"could not list {root.path}: {_reason(exc)}") from exc


def _make_private_folder(path: str) -> bool:
    """mkdir with mode 0o700 whatever the umask; False if something is there already."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return False
    with _Folder.at(path) as folder:  # chmod through a descriptor, so a link swapped in meanwhile is refused
        folder.chmod(0o700)
    return True


def _chmod_fd(fd: int, mode: int) -> None:
    if hasattr(os, "fchmod"):  # not on Windows, where these bits mean little
        os.fchmod(fd, mode)


def _same_inode(a: int | None, b: int | None) -> bool:
    """Whether descriptors ``a`` and ``b`` are open on the same file."""
    if a is None or b is None:
        return False
    try:
        first, second = os.fstat(a), os.fstat(b)
    except OSError:
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _close_cached(cache: OrderedDict[str, tuple[ThinkingSession, int | None]], lock: threading.Lock) -> None:
    with lock:
        pins = [pin for _, pin in cache.values()]
        cache.clear()
    for pin in pins:
        _close_quietly(pin)


def _close_quietly(fd: int | None) -> None:
    if fd is not None:
        try:  # noqa: SIM105 - contextlib.suppress is slower, and this runs twice per session listed
            os.close(fd)
        except OSError:
            pass


#: Bytes read at once (a larger read is mmapped per call by malloc, and much slower).
_SMALL = 65_536


def _read_file(path: str, *, dir_fd: int | None = None) -> bytes:
    """A regular file's bytes (``path`` relative to ``dir_fd`` when given); links are not
    followed and FIFOs do not block.
    """
    try:
        fd = os.open(path, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise FormatError("is a symbolic link; not followed") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FormatError("is not a regular file")
        want = max(info.st_size + 1, _SMALL)
        first = os.read(fd, want)
        if len(first) < want:  # a short read of a regular file: the end
            return first
        chunks = [first]
        while chunk := os.read(fd, want):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _positions_on_disk(folder: _Folder, count: int) -> set[int]:
    try:
        found = (_THOUGHT_FILE.fullmatch(name) for name in folder.names())
        return {int(m.group(1)) for m in found if m and 1 <= int(m.group(1)) <= count}
    except OSError as exc:
        raise StoreError(f"could not list {folder.path}: {_reason(exc)}") from exc


def _fsync_dir(directory: str) -> None:
    """fsync the folder at ``directory`` (the root's parent, the user's: a link there is followed)."""
    if not hasattr(os, "O_DIRECTORY"):  # Windows cannot open a folder for fsync
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_tree(root: _Folder, name: str) -> None:
    """Remove a buried session folder; a failure is logged, and cleanup() tries again."""
    try:
        if root.fd is not None:
            _remove_folder(name, root.fd)
        else:
            shutil.rmtree(root.name_path(name))
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning(
            "could not remove %s completely (%s); cleanup() will try again",
            root.name_path(name),
            _reason(exc),
        )


def _remove_folder(path: str, dir_fd: int | None = None) -> None:
    """Remove a folder and what is in it, never following a link nor opening a FIFO."""
    try:
        fd = os.open(path, _CHILD_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in _NOT_A_FOLDER:  # a link or a file: remove the entry itself
            os.unlink(path, dir_fd=dir_fd)
            return
        raise
    try:
        with os.scandir(fd) as entries:
            names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
        for name, is_folder in names:
            if is_folder:
                _remove_folder(name, fd)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(path, dir_fd=dir_fd)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
