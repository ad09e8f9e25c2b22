"""Start Locust for one variant: `locust --headless` locally, or a master plus N workers (Locust's own mode).

This module runs in the harness process and never imports locust (it monkey-patches the process).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import StackError
from harness.load.open_model import STAGES_SHAPE_FILE
from harness.polling import poll_until
from harness.stack.procs import ManagedProcess, free_port

STOP_TIMEOUT_S = 5      # Locust lets a user finish its current flow this long after the run time
STARTUP_TIMEOUT_S = 60  # imports, spawning, and workers connecting


@dataclass
class LoadPlan:
    """Everything a Locust process needs for one variant."""

    locustfile: Path
    host: str
    edge_host: str
    users: int
    spawn_rate: float
    duration_s: float
    variant: str
    records_dir: Path
    started_file: Path
    csv_prefix: Path
    log_dir: Path
    classes: dict[str, dict[str, Any]]
    client_flags: dict[str, Any]
    options: dict[str, Any]
    seed: int
    users_in_service: int
    workers: int = 0                      # 0 = one local process
    master_bind: tuple[str, int] | None = None
    expect_workers: int | None = None     # workers started elsewhere (--master-bind)
    flows: dict[str, Any] | None = None   # declarative flows (harness.scenario.flows.FlowsSpec as JSON)
    open_model: dict[str, Any] | None = None   # arrival-rate load (harness.load.open_model.locust_open_model)
    stages: list[dict[str, Any]] = field(default_factory=list)   # [[load.stages]]: run by StagesShape

    def harness_load(self) -> str:
        return json.dumps({"classes": self.classes, "client": self.client_flags, "options": self.options,
                           "seed": self.seed, "users_in_service": self.users_in_service, "flows": self.flows,
                           "open_model": self.open_model, "stages": self.stages})

    def locustfiles(self) -> str:
        """The locustfile, and Locust's LoadTestShape for the stages when there are any (master/local only)."""
        return f"{self.locustfile},{STAGES_SHAPE_FILE}" if self.stages else str(self.locustfile)

    def common_args(self) -> list[str]:
        return ["-f", self.locustfiles(), "--host", self.host, "--edge-host", self.edge_host,
                "--harness-records", str(self.records_dir), "--harness-variant", self.variant,
                "--harness-started", str(self.started_file), "--harness-load", self.harness_load()]

    def run_args(self) -> list[str]:
        # Open model: the users are the slots for flows in progress, all there from the start.
        users = self.open_model["max_in_flight"] if self.open_model else self.users
        spawn_rate = max(self.spawn_rate, users) if self.open_model else self.spawn_rate
        return ["--headless", "-u", str(users), "-r", str(spawn_rate),
                "-t", f"{max(1, round(self.duration_s))}s", "--stop-timeout", str(STOP_TIMEOUT_S),
                "--csv", str(self.csv_prefix), "--only-summary", "--loglevel", "WARNING",
                "--exit-code-on-error", "0", *self.classes.keys()]


def locust_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", *args]


def worker_command(locustfile: Path, master_host: str, master_port: int) -> list[str]:
    """A Locust worker for a master started by `harness run --master-bind`; the master sends it the options."""
    return locust_command("-f", str(locustfile), "--worker", "--master-host", master_host,
                          "--master-port", str(master_port), "--loglevel", "WARNING")


@dataclass
class LocustRun:
    """The Locust process(es) of one variant, started and stopped by PID."""

    plan: LoadPlan
    processes: list[ManagedProcess] = field(default_factory=list)
    master_port: int | None = None

    def start(self) -> LocustRun:
        plan = self.plan
        for path in (plan.records_dir, plan.csv_prefix.parent, plan.log_dir):
            path.mkdir(parents=True, exist_ok=True)
        plan.started_file.unlink(missing_ok=True)
        name = f"locust-{plan.variant}"
        if plan.workers <= 0 and plan.expect_workers is None:
            self.processes.append(ManagedProcess(name, locust_command(*plan.common_args(), *plan.run_args()),
                                                 plan.log_dir, env=self._env("local")).start())
            return self
        bind_host, bind_port = plan.master_bind or ("127.0.0.1", free_port())
        self.master_port = bind_port
        expected = plan.expect_workers if plan.expect_workers is not None else plan.workers
        master_args = [*plan.common_args(), *plan.run_args(), "--master", "--master-bind-host", bind_host,
                       "--master-bind-port", str(bind_port), "--expect-workers", str(expected),
                       "--expect-workers-max-wait", str(STARTUP_TIMEOUT_S)]
        self.processes.append(ManagedProcess(f"{name}-master", locust_command(*master_args), plan.log_dir,
                                             env=self._env("master")).start())
        connect_host = "127.0.0.1" if bind_host in ("0.0.0.0", "*", "") else bind_host
        for index in range(1, plan.workers + 1):
            command = worker_command(plan.locustfile, connect_host, bind_port)
            self.processes.append(ManagedProcess(f"{name}-worker-{index}", command, plan.log_dir,
                                                 env=self._env(f"worker-{index}")).start())
        return self

    def _env(self, worker: str) -> dict[str, str]:
        return {**os.environ, "HARNESS_WORKER": worker, "PYTHONUNBUFFERED": "1"}

    @property
    def main(self) -> ManagedProcess:
        return self.processes[0]

    def wait_started(self, timeout: float = STARTUP_TIMEOUT_S) -> float:
        """Epoch time the load started (Locust's test_start), once it has."""
        def started_at() -> float | None:
            if self.plan.started_file.exists():
                with contextlib.suppress(ValueError, KeyError):
                    return float(json.loads(self.plan.started_file.read_text())["t0"])
            if not self.main.alive():
                raise StackError(f"Locust exited before the load started: {self.main.log_tail()}")
            return None

        t0 = poll_until(started_at, timeout)
        if t0 is None:
            raise StackError(f"Locust did not start the load within {timeout:.0f} s: {self.main.log_tail()}")
        return t0

    def alive(self) -> bool:
        return self.main.alive()

    def stop(self, timeout: float = STOP_TIMEOUT_S + 5) -> None:
        """Master (or the local process) first so it tells workers to stop; then any worker left."""
        for process in self.processes:
            process.stop(timeout=timeout)

    def kill(self) -> None:
        for process in self.processes:
            process.stop(timeout=0.5)
