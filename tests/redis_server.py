"""A throwaway redis-server for the tests, or the one SEQTHINK_REDIS_URL names.

Tests ask for the ``redis_url`` fixture (tests/conftest.py). When the
environment variable SEQTHINK_REDIS_URL is set, that server is used;
otherwise a redis-server binary is started on a free loopback port, with no
persistence, for the whole test session. With neither, the Redis tests are
skipped, unless SEQTHINK_REQUIRE_REDIS is set (as .ci/run sets it): then
they fail, so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

URL_ENV = "SEQTHINK_REDIS_URL"
REQUIRE_ENV = "SEQTHINK_REQUIRE_REDIS"  # (or CI=true)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process on 127.0.0.1, in its own folder."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", str(self.folder), "--daemonize", "no"]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:  # ready when the server on the port is this process (not another on it)
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"INFO server\r\n")
                    reply = conn.recv(65536)
                if f"process_id:{self.process.pid}\r\n".encode() in reply:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not answer within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def binary() -> str | None:
    return shutil.which("redis-server")


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0") or os.environ.get("CI", "") == "true"
