"""The user's own service under test: a `command` started per variant with its placeholders filled in, whose
whole process group is stopped by PID, or a `url` the harness only waits for.

Every failure to start is a StackError (exit 3) in one line: the command is not found, the service exited
during start-up (with the last lines of its log), or its ready path never answered (with the URL and the
timeout). Whatever was started is stopped before the error is raised.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from harness.errors import StackError
from harness.polling import poll_until
from harness.scenario.service import fill_placeholders
from harness.stack import group_guard
from harness.stack.group_guard import GRACE_S, group_members, stop_group
from harness.stack.procs import ManagedProcess

if TYPE_CHECKING:
    from harness.scenario.service import Service

READY_POLL_S = 0.1
READY_REQUEST_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class ServiceCommand:
    """How to start the service: the scenario's command, cwd and env, placeholders not yet filled in."""

    command: list[str]
    base_dir: Path = Path()         # the scenario file's folder: cwd is relative to it, and the default cwd
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    ready: str = "/"
    ready_timeout_s: float = 30.0


@dataclass(frozen=True)
class Placeholders:
    """The values of `{port}`, `{host}`, `{redis_url}`, ... for one start of a service."""

    port: int
    host: str
    redis_host: str
    redis_port: int
    variant: str
    run_dir: Path
    sentinel_addresses: str = ""   # HOST:PORT,HOST:PORT,... of a Sentinel topology's Sentinels
    sentinel_master: str = ""      # the master name they monitor

    def values(self) -> dict[str, str]:
        return {"port": str(self.port), "host": self.host, "redis_url": self.redis_url,
                "redis_host": self.redis_host, "redis_port": str(self.redis_port), "variant": self.variant,
                "run_dir": str(self.run_dir), "sentinel_addresses": self.sentinel_addresses,
                "sentinel_master": self.sentinel_master}

    @property
    def redis_url(self) -> str:
        return f"redis://{self.redis_host}:{self.redis_port}/0"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass
class GroupProcess(ManagedProcess):
    """A process started under harness.stack.group_guard: stopping it stops its whole process group."""

    def stop(self, timeout: float = 5.0) -> int | None:
        # The guard gets SIGTERM and stops the group within GRACE_S; waiting a little longer keeps the
        # SIGKILL (which would leave the group running) for a guard that hangs. In a hurry (a second Ctrl-C)
        # the guard gets only `timeout`, and whatever is left of the group is killed here.
        code = super().stop(GRACE_S + 2.0 if timeout >= GRACE_S else timeout)
        if self.popen is not None:
            stop_group(self.popen.pid, grace_s=min(timeout, GRACE_S))  # a guard killed -9 left its group
        return code

    def group_alive(self) -> list[int]:
        return group_members(self.popen.pid) if self.popen is not None else []


def find_program(program: str, cwd: Path, path: str | None) -> str:
    """The file `program` names, as exec would find it: a path (relative to cwd) or a name on PATH."""
    if os.sep in program:
        candidate = program if os.path.isabs(program) else str(cwd / program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
        raise StackError(f"service.command: {program} not found or not executable (in {cwd})")
    found = shutil.which(program, path=path)
    if found is None:
        raise StackError(f"service.command: {program!r} not found on PATH; give its full path or fix PATH "
                         "in service.env")
    return found


def start_command_service(spec: ServiceCommand, values: Placeholders, log_dir: Path, name: str = "service",
                          die_with_parent: bool = True) -> tuple[GroupProcess, str]:
    """Start the command with its output in `log_dir`, wait until its ready path answers; (process, URL)."""
    filled = values.values()
    command = [fill_placeholders(word, filled) for word in spec.command]
    cwd = (spec.base_dir / fill_placeholders(spec.cwd or ".", filled)).resolve()
    if not cwd.is_dir():
        raise StackError(f"service.cwd: no such folder {cwd}")
    env = {**os.environ, **{k: fill_placeholders(v, filled) for k, v in spec.env.items()}}
    program = find_program(command[0], cwd, env.get("PATH"))
    parent = str(os.getpid()) if die_with_parent else "0"
    # The guard runs as a file, not `-m`: importing the package would cost start-up time and need its path.
    guard = [sys.executable, "-I", group_guard.__file__, "--parent", parent, "--", program, *command[1:]]
    process = GroupProcess(name, guard, log_dir, env=env, cwd=cwd, die_with_parent=die_with_parent).start()
    try:
        wait_service_ready(values.url, spec.ready, spec.ready_timeout_s, process)
    except BaseException:
        process.stop()
        raise
    return process, values.url


def answers(url: str) -> bool:
    """True when `url` answers 2xx or 3xx (redirects are not followed: a login page redirect is ready)."""
    try:
        return 200 <= httpx.get(url, timeout=READY_REQUEST_TIMEOUT_S).status_code < 400
    except httpx.HTTPError:
        return False


def wait_service_ready(base_url: str, ready: str, timeout_s: float, process: ManagedProcess | None = None,
                       name: str = "service") -> None:
    """Poll base_url + ready until it answers 2xx/3xx; StackError (one line) when it exits or times out."""
    url = base_url.rstrip("/") + ready

    def started() -> bool:
        if process is not None and not process.alive():
            code = process.popen.returncode if process.popen else None
            raise StackError(f"{name} exited with code {code} during start-up; last lines of its log "
                             f"({process.log_dir}): {process.log_tail(5)}")
        return answers(url)

    if not poll_until(started, timeout_s, READY_POLL_S):
        raise StackError(f"{name} not ready: {url} did not answer 2xx or 3xx within {timeout_s:g} s "
                         "(service.ready, service.ready_timeout)")


def host_port_of(url: str) -> str:
    """HOST:PORT of an http(s) URL, the port defaulted by the scheme."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def service_settings(service: Service, scenario_dir: Path) -> dict[str, Any]:
    """StackSpec fields for a scenario's (variant-resolved) service; {} for the reference service."""
    if service.command is not None:
        env = {k: v for k, v in service.env.items() if v is not None}
        return {"service_command": ServiceCommand(command=list(service.command), base_dir=scenario_dir,
                                                  cwd=service.cwd, env=env,
                                                  ready=service.ready_path,
                                                  ready_timeout_s=service.ready_timeout_s)}
    if service.url is not None:
        return {"service_url": service.url, "service_ready": service.ready_path,
                "service_ready_timeout_s": service.ready_timeout_s}
    return {}
