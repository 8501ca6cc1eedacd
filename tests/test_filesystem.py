"""What the filesystem store promises beyond the shared store contract."""

from __future__ import annotations

import errno
import gc
import json
import logging
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from seqthink import FileSystemStore, ThinkingSession, Thought, default_root
from seqthink.errors import (
    CleanupError,
    ConflictError,
    CorruptSessionError,
    InvalidArgumentError,
    InvalidSessionIdError,
    SessionNotFoundError,
    StoreError,
)
from seqthink.testing import sample_session

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.fixture
def store(tmp_path: Path) -> FileSystemStore:
    return FileSystemStore(tmp_path / "sessions")


def folder(store: FileSystemStore, session_id: str = "sample") -> Path:
    return store.root / session_id


def snapshot(path: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under ``path`` with its bytes, inode and mtime."""
    result = {}
    for item in sorted(path.rglob("*")):
        info = item.lstat()
        data = item.read_bytes() if stat.S_ISREG(info.st_mode) else b""
        result[str(item.relative_to(path))] = (data, info.st_ino, info.st_mtime_ns)
    return result


# --- layout ------------------------------------------------------------------


def test_files_follow_the_seed_scheme(store: FileSystemStore) -> None:
    """History files by position, branch files by position in the branch, and session.json."""
    store.save(sample_session())
    expected = {
        "session.json",
        *(f"thought{k}.json" for k in range(1, 8)),
        "branch_alt_thought1.json",
        "branch_alt_thought2.json",
        "branch_halve_thought1.json",
    }
    assert expected == {p.name for p in folder(store).iterdir()}


def test_session_json_counts_history_and_lists_branches_in_order(store: FileSystemStore) -> None:
    """session.json holds the seed's five keys; total_thoughts is the history length."""
    store.save(sample_session())
    data = json.loads((folder(store) / "session.json").read_bytes())
    assert ["session_id", "created_at", "last_activity", "total_thoughts", "branch_ids"] == list(data)
    assert (7, ["alt", "halve"]) == (data["total_thoughts"], data["branch_ids"])


def test_branch_file_holds_the_history_thought(store: FileSystemStore) -> None:
    """A branch thought's branch file has the same bytes as its history file."""
    store.save(sample_session())
    assert (folder(store) / "thought3.json").read_bytes() == (
        folder(store) / "branch_alt_thought1.json"
    ).read_bytes()


def test_unusual_branch_ids_stay_inside_the_session_folder(store: FileSystemStore) -> None:
    """Branch ids with separators and dots become single file names inside the session folder."""
    session = ThinkingSession("odd")
    session.think("Root.")
    for branch_id in ("../../escape", "/abs", "a\\b", "."):
        session.think("Branch.", branch_from_thought=1, branch_id=branch_id)
    store.save(session)
    everything = {p.relative_to(store.root) for p in store.root.rglob("*") if ".locks" not in p.parts}
    assert all(p.parts[0] == "odd" and len(p.parts) <= 2 for p in everything)
    assert 4 == sum(1 for p in folder(store, "odd").iterdir() if p.name.startswith("branch_"))


# --- incremental, atomic writes ---------------------------------------------------


def test_save_writes_only_new_thought_files(store: FileSystemStore) -> None:
    """The second save leaves every committed thought file as it was (same inode, same bytes)."""
    session = sample_session()
    store.save(session)
    before = snapshot(folder(store))
    session.think("One more.")
    store.save(session)
    after = snapshot(folder(store))
    unchanged = {name for name in before if name != "session.json"}
    assert {name: before[name] for name in unchanged} == {name: after[name] for name in unchanged}
    assert {"thought8.json"} == set(after) - set(before)


def test_a_save_with_nothing_new_writes_nothing(store: FileSystemStore) -> None:
    """Saving an unchanged session does not touch the disk."""
    session = sample_session()
    store.save(session)
    before = snapshot(folder(store))
    store.save(session)
    assert before == snapshot(folder(store))


def test_failed_commit_keeps_previous_state(store: FileSystemStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """When session.json cannot be replaced, the disk stays at the previous commit and no temp is left."""
    session = sample_session()
    store.save(session)
    before_state = store.restore("sample").thought_history
    session.think("Not committed.")
    real_replace = os.replace

    def failing_replace(src: Any, dst: Any, **kwargs: Any) -> None:
        if str(dst).endswith("session.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(StoreError) as info:
        store.save(session)
    assert isinstance(info.value.__cause__, OSError)
    assert before_state == store.restore("sample").thought_history
    assert [] == [p.name for p in folder(store).iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(os, "replace", real_replace)
    store.save(session)  # works again once the fault clears, and keeps the thought
    assert session.thought_history == store.restore("sample").thought_history


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EROFS, errno.EACCES])
def test_write_errors_raise_store_error_and_change_nothing(
    store: FileSystemStore, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """An I/O error during a save raises StoreError; memory and disk are unchanged."""
    session = sample_session()
    store.save(session)
    disk_before = snapshot(folder(store))
    session.think("Will fail to save.")
    memory_before = session.thought_history

    def failing_write(fd: int, data: Any) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(StoreError, match=os.strerror(code)):
        store.save(session)
    assert memory_before == session.thought_history
    assert disk_before == snapshot(folder(store))


def test_stale_copy_raises_conflict_before_writing(store: FileSystemStore) -> None:
    """A ConflictError leaves the files exactly as the other writer left them."""
    store.save(sample_session())
    first, second = store.restore("sample"), store.restore("sample")
    first.think("First.")
    store.save(first)
    before = snapshot(folder(store))
    second.think("Second.")
    second.think("Third.")
    with pytest.raises(ConflictError):
        store.save(second)
    assert before == snapshot(folder(store))


# --- leftovers of crashed writers ---------------------------------------------------


def plant_leftovers(path: Path) -> None:
    """What a writer killed mid-save leaves: temp files and files past the commit."""
    (path / ".thought8.json.0123456789ab.tmp").write_bytes(b'{"thought_num')
    (path / ".session.json.ba9876543210.tmp").write_bytes(b"")
    (path / "thought8.json").write_bytes(b'{"truncated')
    (path / "branch_alt_thought3.json").write_bytes(b"stale")


def test_restore_ignores_leftovers_of_a_crashed_save(store: FileSystemStore) -> None:
    """Temp files and thought files past the committed count are not read."""
    session = sample_session()
    store.save(session)
    plant_leftovers(folder(store))
    assert session.thought_history == store.restore("sample").thought_history


def test_next_writer_removes_leftovers(store: FileSystemStore) -> None:
    """A store's first save into a session folder removes temp files and uncommitted files."""
    store.save(sample_session())
    plant_leftovers(folder(store))
    session = FileSystemStore(store.root).restore("sample")
    session.think("After the crash.", branch_from_thought=1, branch_id="other")
    FileSystemStore(store.root).save(session)
    names = {p.name for p in folder(store).iterdir()}
    assert not any(n.endswith(".tmp") for n in names)
    assert "branch_alt_thought3.json" not in names
    assert b"After the crash." in (folder(store) / "thought8.json").read_bytes()


def test_uncommitted_folder_is_not_a_session(store: FileSystemStore) -> None:
    """A folder whose first save never committed is neither listed, nor existing, nor restorable."""
    path = folder(store, "half")
    path.mkdir(parents=True)
    (path / "thought1.json").write_bytes(b"{}")
    assert (False, []) == (store.exists("half"), store.list_sessions())
    with pytest.raises(SessionNotFoundError):
        store.restore("half")
    session = ThinkingSession("half")
    session.think("Fresh start.")
    store.save(session)  # a new session may take the folder over
    assert session.thought_history == store.restore("half").thought_history


# --- restore is read-only and never silent ----------------------------------------


def test_restore_changes_nothing_on_disk(store: FileSystemStore) -> None:
    """Restoring reads files and writes, renames or deletes none."""
    store.save(sample_session())
    before = snapshot(store.root)
    store.restore("sample")
    store.list_sessions()
    store.exists("sample")
    assert before == snapshot(store.root)


def test_every_bad_file_is_named(store: FileSystemStore) -> None:
    """A truncated, a missing and a mistyped thought file are each named in one CorruptSessionError."""
    store.save(sample_session())
    path = folder(store)
    (path / "thought2.json").write_bytes((path / "thought2.json").read_bytes()[:20])
    (path / "thought4.json").unlink()
    data = json.loads((path / "thought6.json").read_bytes())
    data["thought_data"]["next_thought_needed"] = "false"
    (path / "thought6.json").write_text(json.dumps(data))
    before = snapshot(path)
    with pytest.raises(CorruptSessionError) as info:
        store.restore("sample")
    named = [Path(where).name for where, _ in info.value.problems]
    assert ["thought2.json", "thought4.json", "thought6.json"] == named
    assert before == snapshot(path)


@pytest.mark.parametrize("name", ["session.json", "thought3.json", "branch_alt_thought1.json"])
def test_io_errors_while_reading_are_store_errors(
    store: FileSystemStore, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A file that cannot be opened is an I/O failure, not damage: StoreError, keeping the cause."""
    store.save(sample_session())
    real_open = os.open

    def failing_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith(name):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing_open)
    with pytest.raises(StoreError, match=name) as info:
        store.restore("sample")
    assert errno.EACCES == getattr(info.value.__cause__, "errno", None)


def test_a_huge_count_does_not_hang(store: FileSystemStore) -> None:
    """session.json claiming 2**40 thoughts yields an error naming the missing range, at once."""
    store.save(sample_session())
    path = folder(store) / "session.json"
    data = json.loads(path.read_bytes())
    data["total_thoughts"] = 2**40
    path.write_text(json.dumps(data))
    with pytest.raises(CorruptSessionError) as info:
        store.restore("sample")
    (where, what), *rest = info.value.problems
    assert ("thought8.json", f"thought{2**40}.json", []) == (Path(where).name, what.split()[-1], rest)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf{}", "BOM"),
        (b"not json", "not valid JSON"),
        (b'{"session_id": "other"}', "required field missing"),
    ],
)
def test_unreadable_session_json_is_named(store: FileSystemStore, content: bytes, fragment: str) -> None:
    """A bad session.json raises CorruptSessionError naming it and saying what is wrong."""
    store.save(sample_session())
    (folder(store) / "session.json").write_bytes(content)
    with pytest.raises(CorruptSessionError) as info:
        store.restore("sample")
    ((where, what),) = info.value.problems
    assert "session.json" == Path(where).name
    assert fragment in what


def test_session_json_naming_another_session_is_corrupt(store: FileSystemStore) -> None:
    """The id inside session.json must be the folder's (the seed's cleanup trusted the inner one)."""
    store.save(sample_session("victim", start=datetime.now(timezone.utc) + timedelta(days=1)))
    store.save(sample_session("sample"))
    path = folder(store) / "session.json"
    path.write_text(path.read_text().replace('"sample"', '"victim"'))
    with pytest.raises(CorruptSessionError, match="victim"):
        store.restore("sample")
    assert [] == store.cleanup(timedelta(0))
    assert store.exists("victim")


def test_branch_ids_must_match_the_thoughts(store: FileSystemStore) -> None:
    """A session.json whose branch_ids disagree with the thoughts is reported."""
    store.save(sample_session())
    path = folder(store) / "session.json"
    path.write_text(path.read_text().replace('"halve"', '"ghost"'))
    with pytest.raises(CorruptSessionError, match="ghost"):
        store.restore("sample")


def test_damaged_branch_copies_are_reported(store: FileSystemStore) -> None:
    """A missing branch file and one holding another thought are named, though the history is intact."""
    store.save(sample_session())
    path = folder(store)
    (path / "branch_alt_thought1.json").unlink()
    (path / "branch_halve_thought1.json").write_bytes((path / "thought1.json").read_bytes())
    with pytest.raises(CorruptSessionError) as info:
        store.restore("sample")
    assert [("branch_alt_thought1.json", "missing"), ("branch_halve_thought1.json", "holds a different")] == [
        (Path(where).name, what[:17]) for where, what in info.value.problems
    ]


def test_a_branch_copy_written_differently_but_holding_the_same_thought_is_accepted(
    store: FileSystemStore,
) -> None:
    """Restore compares a branch copy to its history file byte for byte first; a copy with
    other bytes (here compact JSON, keys reordered) is decoded and compared as a thought.
    """
    store.save(sample_session())
    path = folder(store) / "branch_alt_thought1.json"
    obj = json.loads(path.read_bytes())
    path.write_text(
        json.dumps({"thought_data": obj["thought_data"], "thought_number": obj["thought_number"]})
    )
    assert store.restore("sample").branches["alt"] == sample_session().branches["alt"]
    obj["thought_data"]["thought"] += " (edited)"
    path.write_text(json.dumps(obj))
    with pytest.raises(CorruptSessionError, match="holds a different thought"):
        store.restore("sample")


def test_save_refuses_to_overwrite_an_unreadable_session(store: FileSystemStore) -> None:
    """Saving over a session whose session.json cannot be read raises and leaves it alone."""
    store.save(sample_session())
    (folder(store) / "session.json").write_bytes(b"{")
    before = snapshot(folder(store))
    with pytest.raises(CorruptSessionError):
        store.save(sample_session())
    assert before == snapshot(folder(store))


# --- links and special files ---------------------------------------------------------


def test_symlinked_session_folder_is_not_followed(store: FileSystemStore, tmp_path: Path) -> None:
    """A link at a session's place is not read through, listed, or deleted through."""
    outside = tmp_path / "outside"
    FileSystemStore(outside).save(sample_session("victim"))
    store.save(sample_session("real"))
    (store.root / "victim").symlink_to(outside / "victim")
    with pytest.raises(CorruptSessionError, match="symbolic link"):
        store.restore("victim")
    assert ["real"] == [m.session_id for m in store.list_sessions()]
    assert store.delete("victim")  # removes the link itself
    assert (outside / "victim" / "session.json").exists()
    assert not (store.root / "victim").exists()


def test_symlinked_thought_file_is_not_followed(store: FileSystemStore, tmp_path: Path) -> None:
    """A thought file replaced by a link to a valid file elsewhere is reported, not read."""
    store.save(sample_session())
    decoy = tmp_path / "decoy.json"
    decoy.write_bytes((folder(store) / "thought1.json").read_bytes())
    (folder(store) / "thought1.json").unlink()
    (folder(store) / "thought1.json").symlink_to(decoy)
    with pytest.raises(CorruptSessionError, match="symbolic link"):
        store.restore("sample")


def test_fifo_in_place_of_a_thought_does_not_block(store: FileSystemStore) -> None:
    """A FIFO where a thought file should be is reported at once."""
    store.save(sample_session())
    (folder(store) / "thought3.json").unlink()
    os.mkfifo(folder(store) / "thought3.json")
    with pytest.raises(CorruptSessionError, match="not a regular file"):
        store.restore("sample")


def test_invalid_ids_touch_nothing(store: FileSystemStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid session id is refused before any file-system call."""
    store.save(sample_session())
    calls: list[str] = []

    def spy(name: str) -> Any:
        real = getattr(os, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return real(*args, **kwargs)

        return call

    for name in ("open", "lstat", "stat", "mkdir", "rename", "unlink", "scandir"):
        monkeypatch.setattr(os, name, spy(name))
    for bad in ("../sample", "sample/../../x", "/etc", ""):
        for call in (store.restore, store.delete, store.exists):
            with pytest.raises(InvalidSessionIdError):
                call(bad)
    assert [] == calls


# --- delete and cleanup ---------------------------------------------------------------


def test_interrupted_delete_leaves_nothing_half_deleted(store: FileSystemStore) -> None:
    """Delete renames the folder away first; what an interrupted delete leaves is swept by cleanup."""
    store.save(sample_session("keep"))
    tomb = store.root / ".deleted-gone-0badc0de"
    tomb.mkdir()
    (tomb / "thought1.json").write_bytes(b"{}")
    assert ["keep"] == [m.session_id for m in store.list_sessions()]
    store.cleanup(timedelta(days=1), now=store.restore("keep").last_activity)
    assert [".locks", "keep"] == sorted(p.name for p in store.root.iterdir())


def test_cleanup_keeps_and_logs_unreadable_sessions(
    store: FileSystemStore, caplog: pytest.LogCaptureFixture
) -> None:
    """An unreadable session is neither deleted nor listed, and is reported in the log."""
    store.save(sample_session("broken"))
    (folder(store, "broken") / "session.json").write_bytes(b"{")
    with caplog.at_level(logging.WARNING, logger="seqthink"):
        deleted = store.cleanup(timedelta(0))
    assert ([], True) == (deleted, (folder(store, "broken") / "session.json").exists())
    assert "broken" in caplog.text


def test_cleanup_ignores_files_and_foreign_folders_in_the_root(store: FileSystemStore) -> None:
    """Things in the root that are not session folders are left alone."""
    store.root.mkdir(parents=True)
    (store.root / "notes.txt").write_text("mine")
    (store.root / ".hidden").mkdir()
    (store.root / "no-session-json").mkdir()
    (store.root / "no-session-json" / "readme.md").write_text("mine too")
    (store.root / "thoughts-of-mine").mkdir()
    (store.root / "thoughts-of-mine" / "thought1.json").write_text("{}")
    (store.root / "thoughts-of-mine" / "notes").mkdir()
    assert ([], []) == (store.cleanup(timedelta(0)), store.list_sessions())
    assert ([], False, False) == (
        store.list_sessions(),
        store.delete("no-session-json"),
        store.delete("thoughts-of-mine"),
    )
    assert {"notes.txt", ".hidden", "no-session-json", "thoughts-of-mine"} <= {
        p.name for p in store.root.iterdir()
    }
    assert [["readme.md"], ["notes", "thought1.json"]] == [
        sorted(p.name for p in (store.root / name).iterdir())
        for name in ("no-session-json", "thoughts-of-mine")
    ]
    assert (False, "mine") == (store.delete("notes.txt"), (store.root / "notes.txt").read_text())


# --- permissions, durability, roots -----------------------------------------------------


def test_new_folders_and_files_are_private(store: FileSystemStore) -> None:
    """The root and session folders are 0o700 and files 0o600."""
    old = os.umask(0o022)
    try:
        store.save(sample_session())
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in folder(store).iterdir()}
    assert (0o700, 0o700, {0o600}) == (
        stat.S_IMODE(store.root.stat().st_mode),
        stat.S_IMODE(folder(store).stat().st_mode),
        modes,
    )


@pytest.mark.parametrize("durable", [True, False])
def test_durable_mode_fsyncs_and_fast_mode_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    """durable=True fsyncs the new thought file, session.json and the folder; durable=False none."""
    store = FileSystemStore(tmp_path, durable=durable)
    session = sample_session()
    store.save(session)
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(str(Path(f"/proc/self/fd/{fd}").readlink()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    session.think("One more.")
    store.save(session)
    kinds = sorted("folder" if p == str(tmp_path / "sample") else Path(p).name.split(".")[1] for p in synced)
    assert (["folder", "folder", "session", "thought8"] if durable else []) == kinds


def test_default_root_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """SEQTHINK_SESSIONS_DIR overrides the platform default."""
    monkeypatch.setenv("SEQTHINK_SESSIONS_DIR", str(tmp_path / "env"))
    assert (tmp_path / "env", tmp_path / "env") == (default_root(), FileSystemStore().root)


def test_default_root_is_the_user_state_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the variable, the root is platformdirs' user state dir for seqthink, then sessions."""
    import platformdirs

    monkeypatch.delenv("SEQTHINK_SESSIONS_DIR", raising=False)
    assert platformdirs.user_state_path("seqthink") / "sessions" == default_root()


def test_missing_root_is_an_empty_store(tmp_path: Path) -> None:
    """A root that does not exist yet lists nothing and is created, private, by the first save."""
    store = FileSystemStore(tmp_path / "a" / "b")
    assert ([], False, []) == (store.list_sessions(), store.exists("x"), store.cleanup(timedelta(0)))
    store.save(sample_session())
    assert 0o700 == stat.S_IMODE(store.root.stat().st_mode)


@pytest.mark.parametrize(("argument", "value"), [("root", 42), ("durable", "yes")])
def test_bad_constructor_arguments(argument: str, value: object) -> None:
    """FileSystemStore refuses a root that is not a path and a durable that is not a bool."""
    with pytest.raises(InvalidArgumentError, match=argument):
        FileSystemStore(**{argument: value})  # type: ignore[arg-type]


def test_store_reads_a_session_written_with_the_seeds_folder_layout(tmp_path: Path) -> None:
    """Pointing a store at a folder laid out like the seed's default works."""
    seed_dir = tmp_path / ".config" / "kodegen" / "state" / "sessions" / "sequential_thinking"
    FileSystemStore(seed_dir).save(sample_session())
    assert 7 == len(FileSystemStore(seed_dir).restore("sample"))


def fail_on(monkeypatch: pytest.MonkeyPatch, name: str, code: int = errno.EACCES) -> None:
    """Make os.<name> fail with ``code`` from now on."""

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, name, failing)


@pytest.mark.parametrize(
    ("operation", "failing"),
    [("exists", "stat"), ("delete", "replace"), ("list", "scandir"), ("cleanup", "scandir")],
)
def test_io_errors_in_other_operations_are_store_errors(
    store: FileSystemStore, monkeypatch: pytest.MonkeyPatch, operation: str, failing: str
) -> None:
    """exists, delete, list and cleanup turn an OSError into StoreError and leave the session as it was."""
    session = sample_session()
    store.save(session)
    calls: dict[str, Callable[[], object]] = {
        "exists": lambda: store.exists("sample"),
        "delete": lambda: store.delete("sample"),
        "list": store.list_sessions,
        "cleanup": lambda: store.cleanup(timedelta(0)),
    }
    with monkeypatch.context() as patch:
        fail_on(patch, failing)
        with pytest.raises(StoreError) as info:
            calls[operation]()
    assert isinstance(info.value.__cause__, OSError)
    assert session.thought_history == store.restore("sample").thought_history


def test_a_file_in_place_of_a_session_folder(store: FileSystemStore) -> None:
    """A plain file under a session's name makes save fail clearly; delete leaves it (it is
    not the store's: it may be the user's).
    """
    store.root.mkdir(parents=True)
    (store.root / "sample").write_text("not a folder")
    with pytest.raises(CorruptSessionError, match="not a folder"):
        store.save(sample_session())
    assert (False, "not a folder") == (store.delete("sample"), (store.root / "sample").read_text())


def test_a_folder_that_cannot_be_removed_is_reported_and_swept_later(
    store: FileSystemStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """If the renamed-away folder cannot be removed, delete still succeeds, logs it, and cleanup retries."""
    store.save(sample_session())

    def failing_remove(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with monkeypatch.context() as patch:
        patch.setattr("seqthink._filesystem._remove_folder", failing_remove)
        patch.setattr("shutil.rmtree", failing_remove)
        with caplog.at_level(logging.WARNING, logger="seqthink"):
            assert store.delete("sample")
    assert "cleanup() will try again" in caplog.text
    assert (False, 1) == (store.exists("sample"), len(list(store.root.glob(".deleted-*"))))
    store.cleanup(timedelta(days=1))
    assert [] == list(store.root.glob(".deleted-*"))


def test_repr_names_the_root_and_durability(tmp_path: Path) -> None:
    """A store's repr says where it keeps sessions and whether it fsyncs."""
    assert f"FileSystemStore({str(tmp_path)!r}, durable=False)" == repr(
        FileSystemStore(tmp_path, durable=False)
    )


# --- what a failed first save leaves, and what delete may remove -----------------------


def leftover(store: FileSystemStore, session_id: str, *, age: timedelta) -> Path:
    """A folder as a first save that failed leaves it: thought files and a temp file, no
    session.json, last changed ``age`` ago.
    """
    session = sample_session(session_id)
    elsewhere = store.root.parent / f"elsewhere-{session_id}"
    FileSystemStore(elsewhere, durable=False).save(session)
    made = elsewhere / session_id
    (made / "session.json").unlink()
    (made / ".session.json.0123abcd.tmp").write_bytes(b"{")
    store.root.mkdir(parents=True, exist_ok=True)
    made.rename(store.root / session_id)
    when = (datetime.now(timezone.utc) - age).timestamp()
    os.utime(store.root / session_id, (when, when))
    return store.root / session_id


def test_cleanup_removes_what_failed_first_saves_left_once_old(store: FileSystemStore) -> None:
    """A session folder without session.json (a first save that failed) is no session: it is
    not listed nor returned by cleanup, but cleanup removes it once it has not changed for
    longer than ``older_than``, and leaves it while it is younger.
    """
    old = leftover(store, "old-ghost", age=timedelta(days=3))
    young = leftover(store, "young-ghost", age=timedelta(minutes=1))
    kept = ThinkingSession("kept")
    kept.think("Active just now.")
    store.save(kept)
    assert ([], False) == (store.cleanup(timedelta(days=1)), store.exists("old-ghost"))
    assert (False, True) == (old.exists(), young.exists())
    assert ["kept"] == [m.session_id for m in store.list_sessions()]


def test_delete_removes_what_a_failed_first_save_left_and_says_there_was_no_session(
    store: FileSystemStore,
) -> None:
    """delete of an id whose folder holds only a failed first save's files removes them and
    returns False, as exists() said; a save then starts afresh.
    """
    ghost = leftover(store, "ghost", age=timedelta(0))
    assert (False, False, False) == (store.exists("ghost"), store.delete("ghost"), ghost.exists())
    store.save(sample_session("ghost"))
    assert 7 == len(store.restore("ghost"))


def test_delete_leaves_a_folder_whose_session_json_names_another_session(store: FileSystemStore) -> None:
    """On a case-insensitive disk delete("abc") finds the folder of "Abc"; its session.json
    names "Abc", so delete leaves it and returns False (simulated by renaming the folder).
    """
    store.save(sample_session("Abc"))
    (store.root / "Abc").rename(store.root / "abc")
    assert (False, True) == (store.delete("abc"), (store.root / "abc" / "session.json").exists())


def test_delete_removes_a_session_whose_files_are_damaged(store: FileSystemStore) -> None:
    """A session whose session.json cannot be read is still the store's: delete removes it."""
    store.save(sample_session())
    (folder(store) / "session.json").write_bytes(b"\x00")
    assert (True, False) == (store.delete("sample"), folder(store).exists())


def test_cleanup_goes_on_past_a_session_it_cannot_delete_and_then_says_so(store: FileSystemStore) -> None:
    """A session whose lock cannot be taken does not stop cleanup: the others are deleted, and
    CleanupError then names the one left and the ids deleted, with the OSError in its causes.
    """
    for session_id in ("a", "b", "c"):
        store.save(sample_session(session_id))
    lock = store.root / ".locks" / "b.lock"
    lock.unlink()
    lock.mkdir()  # opening it for writing fails with EISDIR
    with pytest.raises(CleanupError) as info:
        store.cleanup(timedelta(0))
    error = info.value
    assert (["a", "c"], ["b"]) == (sorted(error.deleted), list(error.errors))
    assert isinstance(error.errors["b"].__cause__, OSError)
    assert error.__cause__ is error.errors["b"]
    assert (["b"], "'b'") == ([m.session_id for m in store.list_sessions()], "'b'" * ("'b'" in str(error)))
    lock.rmdir()
    assert ["b"] == store.cleanup(timedelta(0))


def test_list_sessions_raises_on_an_io_error_instead_of_leaving_a_session_out(
    store: FileSystemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error reading one session's session.json makes list_sessions raise StoreError
    (with the OSError as its cause), not return a list that silently lacks the session.
    """
    store.save(sample_session("a"))
    store.save(sample_session("b"))
    real_read = os.read

    def failing(fd: int, size: int) -> bytes:
        if Path(f"/proc/self/fd/{fd}").readlink().parts[-2:] == ("b", "session.json"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", failing)
    with pytest.raises(StoreError) as info:
        store.list_sessions()
    assert (errno.EIO, True) == (info.value.__cause__.errno, "b" in str(info.value))  # type: ignore[union-attr]


def test_default_root_expands_a_leading_tilde(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """SEQTHINK_SESSIONS_DIR="~/x", as an MCP client's JSON config sets it (no shell), means the home's x."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SEQTHINK_SESSIONS_DIR", "~/thinking")
    assert (tmp_path / "thinking", tmp_path / "thinking") == (default_root(), FileSystemStore().root)


def test_an_empty_root_is_refused_rather_than_taken_as_the_working_directory() -> None:
    """FileSystemStore("") names no folder: InvalidArgumentError, not the current directory."""
    with pytest.raises(InvalidArgumentError, match="root"):
        FileSystemStore("")


# --- descriptors -------------------------------------------------------------------------


def open_descriptors() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_close_gives_back_the_folders_held_for_appends(tmp_path: Path) -> None:
    """An appending store holds session folders open; close() (or leaving a with block) closes
    them, and the store still works afterwards.
    """
    before = open_descriptors()
    with FileSystemStore(tmp_path, durable=False) as store:
        for k in range(10):
            store.append(f"s{k}", Thought("one", 1, 1, True))
        assert before + 10 == open_descriptors()
    assert before == open_descriptors()
    store.append("s0", Thought("two", 2, 2, False))
    store.close()
    assert (before, 2) == (open_descriptors(), len(store.restore("s0")))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_a_store_dropped_without_close_leaks_no_descriptor(tmp_path: Path) -> None:
    """A host making one store per request and never closing it does not run out of files."""
    before = open_descriptors()
    for request in range(30):
        store = FileSystemStore(tmp_path, durable=False)
        for k in range(5):
            store.append(f"s{k}", Thought(f"request {request}", request + 1, request + 1, True))
        del store
    gc.collect()
    assert before == open_descriptors()
