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
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from seqthink import _format, _rules
from seqthink._format import SESSION_FILE, FormatError, SessionHeader
from seqthink._session import SessionMetadata, SessionRecord, ThinkingSession, ns_to_datetime
from seqthink._store import SessionStore
from seqthink._thought import Thought, ThoughtResult
from seqthink.errors import CorruptSessionError, InvalidArgumentError, SessionNotFoundError, StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence

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


def default_root() -> Path:
    """``$SEQTHINK_SESSIONS_DIR``, else platformdirs' user state dir for seqthink, + ``sessions``."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env)
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

    @property
    def root(self) -> Path:
        return Path(self._root)

    @property
    def durable(self) -> bool:
        return self._durable

    _CACHE_SIZE = 64

    def __repr__(self) -> str:
        return f"FileSystemStore({self._root!r}, durable={self._durable})"

    # --- SessionStore --------------------------------------------------------

    def _save(self, record: SessionRecord, known: Collection[tuple[int, int]]) -> None:
        sid = record.session_id
        try:
            with self._locked(sid):
                self._commit(record, known, self._read_header(sid))
        except OSError as exc:
            raise StoreError(f"could not save session {sid!r}: {_reason(exc)}") from exc

    def _append(
        self, session_id: str, thought: Thought, *, strict: bool, max_thought_length: int
    ) -> ThoughtResult:
        try:
            with self._locked(session_id):
                session, header = self._current(session_id)
                session._strict, session._max_thought_length = strict, max_thought_length
                result = session.add_thought(thought)  # a refused thought changes nothing
                try:
                    self._commit(session._snapshot(), session._known, header)
                except BaseException:
                    self._forget(session_id)  # it holds a thought the disk does not
                    raise
                return result
        except OSError as exc:
            raise StoreError(f"could not append to session {session_id!r}: {_reason(exc)}") from exc

    def _commit(
        self, record: SessionRecord, known: Collection[tuple[int, int]], header: SessionHeader | None
    ) -> None:
        """Write what the store lacks of ``record``, then session.json.

        The caller holds the session's lock and has read ``header``, the committed state.
        """
        sid = record.session_id
        directory = os.path.join(self._root, sid)
        if header is None:  # else _read_header found the folder, under this lock
            self._make_folder(directory)
        try:
            self._write_commit(record, known, header, directory)
        except BaseException:
            self._tidied.discard(sid)  # a temp file may be left: sweep before the next save
            raise

    def _write_commit(
        self,
        record: SessionRecord,
        known: Collection[tuple[int, int]],
        header: SessionHeader | None,
        directory: str,
    ) -> None:
        sid = record.session_id
        stored = (
            None if header is None else (header.created_ns, header.total_thoughts, header.last_activity_ns)
        )
        keep = self._plan_save(
            sid, stored=stored, known=known, created_ns=record.created_ns, count=len(record.thoughts)
        )
        if keep is None:  # the store holds all of this record already
            if self._durable:  # ... but an earlier save may have failed before making it durable
                _fsync_dir(directory)
                _fsync_dir(self._root)
            return
        if sid not in self._tidied:
            self._tidy(directory, record.thoughts[:keep])
            self._tidied.add(sid)
        for name, data in _new_files(record, keep):
            self._write(directory, name, data)
        if self._durable and keep < len(record.thoughts):
            _fsync_dir(directory)  # the thought files exist before the commit names them
        self._write(directory, SESSION_FILE, _format.encode_session(record))
        if self._durable:
            _fsync_dir(directory)
            if header is None:  # a first commit: the folder's entry, and the root's, must be durable too
                _fsync_dir(self._root)
                _fsync_dir(os.path.dirname(self._root))

    def _current(self, session_id: str) -> tuple[ThinkingSession, SessionHeader | None]:
        """The session as committed, and its header, under its lock: from the cache when it
        is in step, reading only the thoughts committed since when it is behind, else from disk.

        A cache entry holds its session folder open. While it does, that folder's
        inode cannot be reused, so finding the same inode at the path proves the
        session was not deleted and stored anew since; and within one folder's
        life every commit extends the one before. Only then is catching up safe.
        """
        header = self._read_header(session_id)
        directory = os.path.join(self._root, session_id)
        with self._cache_lock:
            entry = self._cache.pop(session_id, None)
        session = None
        if header is not None and entry is not None:
            cached, folder = entry
            if (
                _same_folder(folder, directory)
                and cached._created_ns == header.created_ns
                and len(cached) <= header.total_thoughts
            ):
                session = cached
                if len(cached) < header.total_thoughts:  # another writer committed thoughts since
                    self._catch_up(cached, directory, header)
            else:
                _close_quietly(folder)
                entry = None
        elif entry is not None:
            _close_quietly(entry[1])
            entry = None
        if session is None:
            session = (
                ThinkingSession(session_id)
                if header is None
                else ThinkingSession._from_record(self._load(session_id))
            )
        folder = entry[1] if entry is not None else None
        self._remember(session_id, session, folder)
        return session, header

    def _catch_up(self, session: ThinkingSession, directory: str, header: SessionHeader) -> None:
        problems = []
        for position, outcome, _ in self._read_thoughts(
            directory, header.total_thoughts, start=len(session) + 1
        ):
            if isinstance(outcome, Thought):
                session._append(outcome)
            else:
                problems.append((os.path.join(directory, _format.thought_file_name(position)), outcome))
        if problems:
            raise CorruptSessionError(session.session_id, problems)
        session._last_activity_ns = header.last_activity_ns
        session._known.add((len(session), header.last_activity_ns))

    def _remember(self, session_id: str, session: ThinkingSession, folder: int | None) -> None:
        """Keep ``session`` for the next append, with its folder held open (opened now if need be)."""
        if folder is None:
            try:
                folder = os.open(
                    os.path.join(self._root, session_id), os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC
                )
            except (OSError, AttributeError):  # no folder yet (a new session), or no O_DIRECTORY
                folder = None
        evicted = []
        with self._cache_lock:
            self._cache[session_id] = (session, folder)
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
        directory = os.path.join(self._root, session_id)
        for _ in range(_READ_ATTEMPTS):
            try:
                held = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
            except FileNotFoundError:
                raise SessionNotFoundError(session_id) from None
            except (OSError, AttributeError):  # a link or a file there, or no O_DIRECTORY: let the read say
                held = None
            try:
                try:
                    record = self._load_once(session_id, held)
                except (SessionNotFoundError, CorruptSessionError, StoreError):
                    if held is not None and not _same_folder(held, directory):
                        continue  # deleted or replaced while being read
                    raise
                if held is None or _same_folder(held, directory):
                    return record
            finally:
                _close_quietly(held)
        raise SessionNotFoundError(session_id)  # pragma: no cover - deleted and recreated over and over

    def _load_once(self, session_id: str, held: int | None = None) -> SessionRecord:
        """One read of a committed session; ``held``: its folder, open (thoughts are read
        relative to it, so a link swapped in at the path meanwhile is not followed).
        """
        header = self._read_header(session_id)
        if header is None:
            raise SessionNotFoundError(session_id)
        directory = os.path.join(self._root, session_id)
        thoughts: list[Thought] = []
        problems: list[tuple[str, str]] = []
        # The bytes of each branch thought's history file, per branch in history order:
        # its branch file is checked against them.
        branches: dict[str, list[Thought]] = {}
        branch_bytes: dict[str, list[bytes]] = {}
        for position, outcome, data in self._read_thoughts(directory, header.total_thoughts, dir_fd=held):
            if isinstance(outcome, Thought):
                thoughts.append(outcome)
                branch = _rules.branch_of(outcome)
                if branch is not None:
                    branches.setdefault(branch, []).append(outcome)
                    branch_bytes.setdefault(branch, []).append(data)
            else:
                problems.append((os.path.join(directory, _format.thought_file_name(position)), outcome))
        record = SessionRecord(session_id, header.created_ns, header.last_activity_ns, thoughts, branches)
        if not problems and set(record.branches) != set(header.branch_ids):
            problems.append(
                (
                    os.path.join(directory, SESSION_FILE),
                    (
                        f"branch_ids {list(header.branch_ids)} do not match the branches "
                        f"of the thoughts {list(record.branches)}"
                    ),
                )
            )
        if not problems:
            problems.extend(_branch_file_problems(directory, record, branch_bytes, held))
        if problems:
            raise CorruptSessionError(session_id, problems)
        return record

    def _delete(self, session_id: str) -> bool:
        directory = os.path.join(self._root, session_id)
        try:
            try:
                os.lstat(directory)
            except FileNotFoundError:
                return False
            with self._locked(session_id):
                if not _is_folder(directory):
                    return self._remove_stray(directory)
                tomb = self._bury(directory, session_id)
        except OSError as exc:
            raise StoreError(f"could not delete session {session_id!r}: {_reason(exc)}") from exc
        _remove_tree(tomb)
        return True

    def _exists(self, session_id: str) -> bool:
        directory = os.path.join(self._root, session_id)
        try:
            return stat.S_ISDIR(os.lstat(directory).st_mode) and stat.S_ISREG(
                os.lstat(os.path.join(directory, SESSION_FILE)).st_mode
            )
        except FileNotFoundError:
            return False
        except OSError as exc:
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
        found = self._entries(lambda name: _rules.is_session_id(name) or name.startswith(_TOMB_PREFIX))
        for tomb in (name for name in found if name.startswith(_TOMB_PREFIX)):
            _remove_tree(os.path.join(self._root, tomb))  # left by a delete that was interrupted
        sessions = [name for name in found if not name.startswith(_TOMB_PREFIX)]
        old = sorted(
            (h.last_activity_ns, h.session_id)
            for h in self._headers(sessions)
            if h.last_activity_ns < cutoff_ns
        )
        deleted: list[str] = []
        for _, sid in old:
            if limit is not None and len(deleted) >= limit:
                break
            directory = os.path.join(self._root, sid)
            try:
                with self._locked(sid):
                    # Look again under the lock: a writer may have committed since the scan.
                    header = self._read_header(sid)
                    if header is None or header.last_activity_ns >= cutoff_ns:
                        continue
                    tomb = self._bury(directory, sid)
            except CorruptSessionError:
                continue
            except OSError as exc:
                raise StoreError(f"could not delete session {sid!r}: {_reason(exc)}") from exc
            _remove_tree(tomb)
            deleted.append(sid)
        return deleted

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
                folder = _Folder(locks)
            except FileNotFoundError:
                self._make_root()
                _make_private_folder(locks)
                continue
            try:
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
            finally:
                folder.close()

    def _bury(self, directory: str, session_id: str) -> str:
        """Rename a session folder out of sight, so it vanishes whole; return the new path."""
        tomb = os.path.join(self._root, f"{_TOMB_PREFIX}{session_id}-{secrets.token_hex(4)}")
        os.rename(directory, tomb)
        if self._durable:
            _fsync_dir(self._root)
        self._tidied.discard(session_id)
        self._forget(session_id)
        return tomb

    def _remove_stray(self, path: str) -> bool:
        """Remove what stands under a session's name but is not a folder (never a link's target)."""
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True

    # --- reading -------------------------------------------------------------

    def _read_header(
        self, session_id: str, *, listed: bool = False, root: int | None = None
    ) -> SessionHeader | None:
        """The committed session.json, None when there is none, or CorruptSessionError.

        ``listed``: the root's listing just said this name is a folder, not a link
        (as an lstat would), so the lstat is skipped. ``root``: the root, open, to
        read relative to.
        """
        try:
            if listed and root is not None:
                data = _read_file(f"{session_id}/{SESSION_FILE}", dir_fd=root)
            else:
                directory = os.path.join(self._root, session_id)
                info = None if listed else os.lstat(directory)
                if info is not None and not stat.S_ISDIR(info.st_mode):
                    kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a folder"
                    raise CorruptSessionError(session_id, [(directory, f"is {kind}; not followed")])
                data = _read_file(os.path.join(directory, SESSION_FILE))
            header = _format.decode_session(data)
        except FileNotFoundError:
            return None
        except FormatError as exc:
            raise CorruptSessionError(session_id, [(self._session_file(session_id), str(exc))]) from None
        except OSError as exc:
            raise StoreError(f"could not read {self._session_file(session_id)}: {_reason(exc)}") from exc
        if header.session_id != session_id:
            raise CorruptSessionError(
                session_id,
                [
                    (
                        self._session_file(session_id),
                        f"names session {header.session_id!r}, not the folder's {session_id!r}",
                    )
                ],
            )
        return header

    def _session_file(self, session_id: str) -> str:
        return os.path.join(self._root, session_id, SESSION_FILE)

    def _read_thoughts(
        self, directory: str, count: int, start: int = 1, *, dir_fd: int | None = None
    ) -> Iterator[tuple[int, Thought | str, bytes]]:
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
                    "missing"
                    if last == position
                    else f"missing, and so are the files up to thought{last}.json"
                )
                yield position, span, b""
                position = last + 1
                continue
            name = _format.thought_file_name(position)
            try:
                data = (
                    _read_file(os.path.join(directory, name))
                    if dir_fd is None
                    else _read_file(name, dir_fd=dir_fd)
                )
                yield position, _format.decode_thought(data), data
            except FileNotFoundError:
                if present is None:
                    present = _positions_on_disk(directory, count)
                    continue  # look at this position again, now knowing what exists
                yield position, "missing", b""
            except FormatError as exc:
                yield position, str(exc), b""
            except OSError as exc:  # an I/O failure, not damage: say so rather than call it corrupt
                path = os.path.join(directory, name)
                raise StoreError(f"could not read {path}: {_reason(exc)}") from exc
            position += 1

    def _headers(self, names: Iterable[str] | None = None) -> Iterator[SessionHeader]:
        """The committed header of every session folder (or of ``names``, folders the root
        listed); unreadable ones are logged and skipped.
        """
        names = self._entries(_rules.is_session_id) if names is None else names
        try:  # the root held open, for reads relative to it: no path walk from / per session
            root: int | None = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
        except (OSError, AttributeError):  # no O_DIRECTORY (Windows), or gone: read by path
            root = None
        try:
            yield from self._headers_in(names, root)
        finally:
            _close_quietly(root)

    def _headers_in(self, names: Iterable[str], root: int | None) -> Iterator[SessionHeader]:
        for name in names:
            try:
                header = self._read_header(name, listed=True, root=root)
            except CorruptSessionError as exc:
                log.warning("skipping unreadable session %r: %s", name, exc)
                continue
            except StoreError as exc:
                log.warning("skipping session %r: %s", name, exc)
                continue
            if header is not None:
                yield header

    def _entries(self, wanted: Callable[[str], bool]) -> list[str]:
        """Names of the folders (not links) directly in the root for which ``wanted(name)``."""
        try:
            with os.scandir(self._root) as entries:
                return [e.name for e in entries if wanted(e.name) and e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"could not list {self._root}: {_reason(exc)}") from exc

    # --- writing -------------------------------------------------------------

    def _make_root(self) -> None:
        if not os.path.isdir(self._root):
            parent = os.path.dirname(self._root)
            os.makedirs(parent, exist_ok=True)  # the folders above the root are the user's
            if _make_private_folder(self._root) and self._durable:
                _fsync_dir(parent)

    def _make_folder(self, directory: str) -> None:
        """Create the session folder (and the root) if needed."""
        self._make_root()
        if not _make_private_folder(directory) and not _is_folder(directory):
            raise OSError(errno.ENOTDIR, "is not a folder (a link is not followed)", directory)

    def _write(self, directory: str, name: str, data: bytes) -> None:
        """Replace ``directory/name`` with ``data`` atomically."""
        temp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(temp, _WRITE_FLAGS, 0o600)
            try:
                _chmod_fd(fd, 0o600)  # whatever the umask
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self._durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, os.path.join(directory, name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def _tidy(self, directory: str, committed: Iterable[Thought]) -> None:
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
        with os.scandir(directory) as entries:
            names = [e.name for e in entries]
        for name in names:
            stray = name.startswith(".") and name.endswith(".tmp")
            stale = (_THOUGHT_FILE.fullmatch(name) or _BRANCH_FILE.fullmatch(name)) and name not in kept
            if stray or stale:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(directory, name))


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


def _branch_file_problems(
    directory: str,
    record: SessionRecord,
    history_bytes: Mapping[str, Sequence[bytes]],
    held: int | None = None,
) -> list[tuple[str, str]]:
    """Check that every branch thought's file holds the same thought as the history.

    Branch files are copies the seed reads; restore checks them so that a
    damaged copy is reported rather than left for the seed to trip over. A
    copy byte for byte the same as the thought's history file (``history_bytes``,
    per branch in order) needs no decoding; any other is decoded and compared.
    ``held``: the session folder, open, to read relative to.
    """
    problems = []
    for branch, thoughts in record.branches.items():
        originals = history_bytes.get(branch, ())
        for position, expected in enumerate(thoughts, 1):
            names = _format.branch_file_names(branch, position)
            problem = "missing"
            for name in names:
                try:
                    data = (
                        _read_file(os.path.join(directory, name))
                        if held is None
                        else _read_file(name, dir_fd=held)
                    )
                    if position <= len(originals) and data == originals[position - 1]:
                        problem = ""
                        break
                    found = _format.decode_thought(data)
                except FileNotFoundError:
                    continue
                except FormatError as exc:
                    problem = str(exc)
                except OSError as exc:
                    path = os.path.join(directory, name)
                    raise StoreError(f"could not read {path}: {_reason(exc)}") from exc
                else:
                    problem = "" if found == expected else "holds a different thought than the history"
                break
            if problem:
                problems.append((os.path.join(directory, names[0]), problem))
    return problems


class _Folder:
    """A folder opened without following a link, for calls on the names inside it.

    Where the platform allows (not Windows), the calls go relative to the
    folder's descriptor, so a link swapped in at the folder's path later does
    not redirect them.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC) if _DIR_FD else None

    def _at(self, name: str) -> tuple[str, dict[str, int]]:
        return (name, {"dir_fd": self.fd}) if self.fd is not None else (os.path.join(self.path, name), {})

    def open(self, name: str, flags: int) -> int:
        target, at = self._at(name)
        return os.open(target, flags, 0o600, **at)

    def inode(self, name: str) -> int | None:
        target, at = self._at(name)
        try:
            return os.stat(target, follow_symlinks=False, **at).st_ino
        except FileNotFoundError:
            return None

    def unlink(self, name: str) -> None:
        target, at = self._at(name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target, **at)

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)


def _make_private_folder(path: str) -> bool:
    """mkdir with mode 0o700 whatever the umask; False if something is there already."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return False
    if _DIR_FD:  # chmod through a descriptor, so a link swapped in meanwhile is refused
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC)
        try:
            os.fchmod(fd, 0o700)
        finally:
            os.close(fd)
    else:
        os.chmod(path, 0o700)
    return True


def _chmod_fd(fd: int, mode: int) -> None:
    if hasattr(os, "fchmod"):  # not on Windows, where these bits mean little
        os.fchmod(fd, mode)


def _same_folder(fd: int | None, path: str) -> bool:
    """Whether ``path`` is still the folder open as ``fd``."""
    if fd is None:
        return False
    try:
        held, there = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)


def _close_quietly(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def _is_folder(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


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
        want = max(info.st_size + 1, 65_536)
        first = os.read(fd, want)
        if len(first) < want:  # a short read of a regular file: the end
            return first
        chunks = [first]
        while chunk := os.read(fd, want):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _positions_on_disk(directory: str, count: int) -> set[int]:
    try:
        with os.scandir(directory) as entries:
            found = (_THOUGHT_FILE.fullmatch(e.name) for e in entries)
            return {int(m.group(1)) for m in found if m and 1 <= int(m.group(1)) <= count}
    except OSError as exc:
        raise StoreError(f"could not list {directory}: {_reason(exc)}") from exc


def _fsync_dir(directory: str) -> None:
    if not hasattr(os, "O_DIRECTORY"):  # Windows cannot open a folder for fsync
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_tree(path: str) -> None:
    """Remove a buried session folder; a failure is logged, and cleanup() tries again."""
    try:
        if _DIR_FD:
            _remove_folder(path)
        else:
            shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("could not remove %s completely (%s); cleanup() will try again", path, _reason(exc))


def _remove_folder(path: str, dir_fd: int | None = None) -> None:
    """Remove a folder and what is in it, never following a link nor opening a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW | _CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in {errno.ENOTDIR, errno.ELOOP}:  # a link or a file: remove the entry itself
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
