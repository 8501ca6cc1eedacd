"""A redis-server for the benchmarks' Redis case: started on a free loopback port in a
folder of its own, stopped afterwards.

The same approach as tests/redis_server.py, kept separate so that the benchmarks
need nothing from tests/.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

URL_ENV = "SEQTHINK_REDIS_URL"

#: The two configurations measured: no persistence at all, and an append-only file
#: fsynced before each write is answered.
NO_PERSISTENCE = ("--save", "", "--appendonly", "no")
FSYNC_ALWAYS = ("--save", "", "--appendonly", "yes", "--appendfsync", "always")


def binary() -> str | None:
    return shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalRedis:
    """One redis-server process on 127.0.0.1, its files and log in ``folder``."""

    def __init__(self, binary: str, folder: Path, options: tuple[str, ...]) -> None:
        self.binary = binary
        self.folder = folder
        self.options = options
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers as itself; RuntimeError if it does not."""
        self.folder.mkdir(parents=True, exist_ok=True)
        log = self.folder / "redis.log"
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--daemonize",
            "no",
            "--logfile",
            str(log),
            *self.options,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(f"redis-server exited with {code}{last_line(log)}")
            try:
                pid = answering_pid(self.port)
            except OSError:
                pid = None
            if pid == self.process.pid:
                return
            if pid is not None:  # another server holds the port: ours will fail to bind
                self.stop()
                raise RuntimeError(f"port {self.port} is another redis-server's")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within 10 s{last_line(log)}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def answering_pid(port: int) -> int | None:
    """The process id of the redis-server answering on 127.0.0.1:`port` (None while it is
    still loading). Asked, rather than a bare PING, so that a server that already held
    the port is not taken for the one just started.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
        conn.sendall(b"INFO server\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            data += chunk
        header, _, body = data.partition(b"\r\n")
        if not header.startswith(b"$"):  # an error, such as -LOADING
            return None
        size = int(header[1:])
        while len(body) < size:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            body += chunk
    found = re.search(rb"^process_id:(\d+)", body, re.MULTILINE)
    return int(found.group(1)) if found else None


def last_line(log: Path) -> str:
    """': ' and the log's last line, to say why a server did not start ('' if none)."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f": {lines[-1].strip()}" if lines else ""
