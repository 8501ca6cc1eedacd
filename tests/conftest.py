"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis_server

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server's URL: SEQTHINK_REDIS_URL's, or a redis-server started for this run."""
    given = os.environ.get(redis_server.URL_ENV)
    if given:
        yield given
        return
    binary = redis_server.binary()
    if binary is None:
        reason = "no redis-server binary on PATH and SEQTHINK_REDIS_URL is not set"
        if redis_server.required():
            pytest.fail(f"{reason}, but {redis_server.REQUIRE_ENV} says Redis is required")
        pytest.skip(reason)
    server = redis_server.RedisServer(binary, Path(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses, so tests can share one server."""
    return f"seqthink-test:{uuid.uuid4().hex}:"
