"""The store contract, run against every store seqthink ships, sync and async."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

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


class TestFileSystemStoreByPath(TestFileSystemStore):
    """The filesystem store where no call can go relative to a folder's descriptor, as on
    Windows: every file is reached by path, and the contract still holds.
    """

    @pytest.fixture(autouse=True)
    def _by_path(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("seqthink._filesystem._DIR_FD", False)


class TestRedisStore(StoreTests):
    """Against a real redis-server: see tests/redis_server.py for where it comes from."""

    @pytest.fixture(autouse=True)
    def _server(self, redis_url: str, redis_prefix: str) -> None:
        self.url, self.prefix = redis_url, redis_prefix

    def make_store(self, tmp_path: Path) -> SessionStore:
        from seqthink import RedisStore

        return RedisStore(self.url, prefix=self.prefix)

    def reopen(self, store: SessionStore) -> SessionStore:
        from seqthink import RedisStore

        return RedisStore(self.url, prefix=self.prefix)
