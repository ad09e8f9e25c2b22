"""Child processes the harness starts: logs to files, readiness by polling, stop by PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import psutil

from harness.deathsig import DIE_WITH_PARENT, die_with_parent
from harness.errors import StackError
from harness.polling import poll_until


def platform_gaps() -> list[str]:
    """The Linux-only guarantees this machine lacks, one sentence each (a run says them once at start)."""
    gaps = []
    if not DIE_WITH_PARENT:
        gaps.append("processes the harness starts are not stopped if it is killed with -9 "
                    "(PDEATHSIG is Linux-only); stop them with `harness down` or by PID")
    if not hasattr(os, "pidfd_open"):
        gaps.append("the watchdog of an external fault proxy polls the run's PID (no pidfd, Linux 5.3+), "
                    "so a PID reused within 0.2 s could keep it from undoing a killed run's faults")
    return gaps


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago; only for programs that cannot take port 0 (redis-server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True while a process with this PID runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def python_module_command(module: str, *args: str) -> list[str]:
    """The command that runs a module of this package with the same interpreter."""
    return [sys.executable, "-m", module, *args]


@dataclass
class ManagedProcess:
    """One started process, its log files, and how to stop it by PID."""

    name: str
    command: Sequence[str]
    log_dir: Path
    env: dict[str, str] | None = None
    die_with_parent: bool = True
    cwd: Path | None = None
    # SIGKILL for a process a fault may SIGSTOP: a stopped process holds a SIGTERM pending for ever.
    death_signal: int = signal.SIGTERM
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"{self.name}.out"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.name}.err"

    def start(self) -> Self:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            try:
                self.popen = subprocess.Popen(
                    list(self.command),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=env,
                    cwd=self.cwd,
                    # Own process group: a terminal's Ctrl-C reaches the harness, which stops children in order.
                    start_new_session=True,
                    preexec_fn=self._preexec(),
                )
            except OSError as exc:
                raise StackError(f"{self.name}: cannot start {self.command[0]}: {exc.strerror}") from exc
        return self

    def _preexec(self) -> Callable[[], None] | None:
        return die_with_parent(self.death_signal) if self.die_with_parent else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 8) -> str:
        chunks = []
        for path in (self.stderr_path, self.stdout_path):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").strip().splitlines()
                chunks.extend(text[-lines:])
        return " | ".join(chunks[-lines:])

    def wait_ready(self, probe: Callable[[], bool], timeout: float = 20.0, interval: float = 0.05) -> None:
        """Poll `probe` until it is true; fail early if the process exits, with its last log lines."""
        def ready() -> bool:
            if not self.alive():
                code = self.popen.returncode if self.popen else None
                raise StackError(f"{self.name} exited with code {code} before it was ready: {self.log_tail()}")
            with contextlib.suppress(Exception):
                return bool(probe())
            return False

        if not poll_until(ready, timeout, interval):
            raise StackError(f"{self.name} was not ready after {timeout:.0f} s: {self.log_tail()}")

    def wait_ready_file(self, path: Path, timeout: float = 20.0) -> dict:
        """Wait for the JSON file a harness server writes once it listens; return its content."""
        self.wait_ready(lambda: path.exists() and path.stat().st_size > 0, timeout=timeout)
        return json.loads(path.read_text())

    def signal(self, signum: int) -> None:
        if self.alive() and self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signum)

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait(timeout)
        return self.popen.returncode
