"""Everything the store creates is private, whatever the umask.

Issue 3, point 7: new folders (the root, session folders, ``.locks``) are 0o700 and new
files (thought files, branch files, session.json, lock files) are 0o600. The umask only
ever removes bits, so 0o700/0o600 passed to mkdir/open come out as 0o700/0o600 under
0o000, 0o022 and 0o077 but as 0o500/0o400 under 0o277 and 0o000 under 0o777: the store
must set the modes explicitly. Under those umasks it must also read back what it wrote.
(These tests run as any user; as root, reading would work even without the chmod, so
the modes themselves are what is checked.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from seqthink import FileSystemStore, Thought
from seqthink.testing import sample_session

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")

UMASKS = [0o000, 0o022, 0o077, 0o277, 0o777]


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    """Run the block under ``mask``; the previous umask is restored afterwards."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, str]:
    """Every entry under ``root``, and the root itself, with its permission bits in octal."""
    paths = [root]
    for folder, dirs, files in os.walk(root):
        paths += [Path(folder, name) for name in dirs + files]
    return {str(p.relative_to(root)): oct(stat.S_IMODE(os.lstat(p).st_mode)) for p in paths}


def private(root: Path) -> dict[str, str]:
    """What ``modes(root)`` should be: 0o700 for every folder, 0o600 for every file."""
    return {
        name: oct(0o700 if stat.S_ISDIR(os.lstat(root / name).st_mode) else 0o600) for name in modes(root)
    }


@pytest.mark.parametrize("mask", UMASKS, ids=oct)
def test_save_and_append_create_only_private_folders_and_files(tmp_path: Path, mask: int) -> None:
    """A first save (creating the root), a second save, appends to an existing and to a new session:
    the root, .locks, both session folders, every thought, branch, session and lock file.
    """
    root = tmp_path / "parent" / "sessions"
    with umask(mask):
        store = FileSystemStore(root, durable=False)
        store.save(sample_session())
        session = store.restore("sample")
        session.think("One more.", branch_from_thought=1, branch_id="late")
        store.save(session)
        store.append("sample", Thought("Appended.", 9, 9, True))
        store.append("fresh", Thought("A new session, by append.", 1, 1, True))
        restored = FileSystemStore(root, durable=False).restore("sample")  # read back under the same umask
    assert 9 == len(restored)
    names = set(modes(root))
    assert {
        ".",
        ".locks",
        "sample",
        "fresh",
        "sample/thought9.json",
        "sample/branch_late_thought1.json",
    } <= names
    assert {".locks/sample.lock", ".locks/fresh.lock", "sample/session.json", "fresh/session.json"} <= names
    assert private(root) == modes(root)


@pytest.mark.parametrize("mask", UMASKS, ids=oct)
def test_a_new_session_in_an_existing_root_is_private(tmp_path: Path, mask: int) -> None:
    """A root made by someone else (0o755, no .locks yet): the store leaves its mode alone but
    makes .locks, the session folder and its files private.
    """
    root = tmp_path / "sessions"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    with umask(mask):
        FileSystemStore(root, durable=False).save(sample_session())
    expected = {**private(root), ".": oct(0o755)}
    assert expected == modes(root)


@pytest.mark.parametrize("mask", UMASKS, ids=oct)
def test_delete_and_cleanup_make_a_private_lock_folder(tmp_path: Path, mask: int) -> None:
    """Sessions copied into a root without .locks (as the seed leaves it): deleting one and aging
    out another create .locks, which must be 0o700, and leave nothing else behind.
    """
    source = tmp_path / "source"
    FileSystemStore(source, durable=False).save(sample_session("gone"))
    FileSystemStore(source, durable=False).save(sample_session("old"))
    root = tmp_path / "sessions"
    root.mkdir(mode=0o700)
    for name in ("gone", "old"):
        shutil.copytree(source / name, root / name)
    with umask(mask):
        store = FileSystemStore(root, durable=False)
        assert store.delete("gone")
        assert ["old"] == store.cleanup(timedelta(days=1))
    assert {".": oct(0o700), ".locks": oct(0o700)} == modes(root)


@pytest.mark.parametrize("mask", [0o277, 0o777], ids=oct)
def test_files_written_under_a_harsh_umask_are_readable_and_writable_by_the_owner(
    tmp_path: Path, mask: int
) -> None:
    """Under 0o277 or 0o777 a file created with 0o600 would be 0o400 or 0o000: the owner's read
    and write bits, and a folder's search bit, must still be set, or a non-root user could not
    read a session back or add to it.
    """
    root = tmp_path / "sessions"
    with umask(mask):
        store = FileSystemStore(root, durable=False)
        store.save(sample_session())
    lacking = {
        name: mode
        for name, mode in modes(root).items()
        if int(mode, 8) & 0o600 != 0o600 or ((root / name).is_dir() and not int(mode, 8) & 0o100)
    }
    assert {} == lacking
