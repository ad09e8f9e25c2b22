"""Start and stop the parts of a run on free loopback ports: Redis, the fault proxy, the auth service.

The whole variant stack is `harness.stack.stack.Stack`; it is not imported here because it pulls in an HTTP
client (httpx, through harness.stack.fault_client), which must not load before locust in a process that uses
both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.stack.procs import ManagedProcess, free_port, python_module_command
from harness.stack.redis import RedisServer, find_redis_server

__all__ = [
    "ManagedProcess",
    "RedisServer",
    "ServerProcess",
    "find_redis_server",
    "free_port",
    "start_authsvc",
    "start_fault_proxy",
]


@dataclass
class ServerProcess:
    """A harness server (fault proxy or auth service) started as its own process."""

    process: ManagedProcess
    url: str
    host: str
    port: int

    def stop(self) -> int | None:
        return self.process.stop()


def _start_harness_server(name: str, args: list[str], log_dir: Path, timeout: float,
                          die_with_parent: bool = True) -> ServerProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    ready_file = log_dir / f"{name}.ready.json"
    ready_file.unlink(missing_ok=True)
    command = python_module_command("harness", *args, "--ready-file", str(ready_file))
    process = ManagedProcess(name, command, log_dir, die_with_parent=die_with_parent).start()
    try:
        info = process.wait_ready_file(ready_file, timeout=timeout)
    except BaseException:
        process.stop()
        raise
    return ServerProcess(process=process, url=info["url"], host=info["host"], port=int(info["port"]))


def start_fault_proxy(log_dir: Path, host: str = "127.0.0.1", seed: int | None = None,
                      timeout: float = 20.0, die_with_parent: bool = True, processes: int = 1,
                      extra: Sequence[str] = ()) -> ServerProcess:
    """The embedded fault proxy on a free port; its API URL is in `.url`. `processes` > 1 spreads every proxy's
    connections over that many processes (`harness faultproxy --processes`)."""
    args = ["faultproxy", "--host", host, "--port", "0", *extra]
    if seed is not None:
        args += ["--seed", str(seed)]
    if processes > 1:
        args += ["--processes", str(processes)]
    return _start_harness_server("faultproxy", args, log_dir, timeout, die_with_parent)


def start_authsvc(redis_url: str, log_dir: Path, profile: str = "fixed", flags: dict[str, str] | None = None,
                  users: int = 1000, workers: int = 1, host: str = "127.0.0.1",
                  timeout: float = 30.0, name: str = "authsvc", die_with_parent: bool = True,
                  sentinels: Sequence[str] = (), sentinel_master: str | None = None) -> ServerProcess:
    """The reference auth service on a free port, its Redis at `redis_url` (or found through `sentinels`)."""
    args = ["authsvc", "--redis-url", redis_url, "--host", host, "--port", "0", "--profile", profile,
            "--users", str(users), "--workers", str(workers)]
    for address in sentinels:
        args += ["--sentinel", address]
    if sentinel_master is not None:
        args += ["--sentinel-master", sentinel_master]
    for key, value in (flags or {}).items():
        args += ["--flag", f"{key}={value}"]
    return _start_harness_server(name, args, log_dir, timeout, die_with_parent)
