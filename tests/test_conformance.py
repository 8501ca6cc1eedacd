"""The store contract, run against every store seqthink ships, sync and async."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seqthink import FileSystemStore, MemoryStore, SessionStore
from seqthink.testing import StoreTests

if TYPE_CHECKING:
    from pathlib import Path


class TestMemoryStore(StoreTests):
    def make_store(self, tmp_path: Path) -> SessionStore:
        return MemoryStore()


class TestFileSystemStore(StoreTests):
    def make_store(self, tmp_path: Path) -> SessionStore:
        return FileSystemStore(tmp_path / "sessions")

    def reopen(self, store: SessionStore) -> SessionStore:
        assert isinstance(store, FileSystemStore)
        return FileSystemStore(store.root)


class TestFileSystemStoreNotDurable(TestFileSystemStore):
    def make_store(self, tmp_path: Path) -> SessionStore:
        return FileSystemStore(tmp_path / "sessions", durable=False)
