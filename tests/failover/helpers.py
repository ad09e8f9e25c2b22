"""Shared by the failover tests: a Sentinel stack, logins against it, and the PIDs a topology started."""

from __future__ import annotations

from pathlib import Path

import httpx

from harness.stack.sentinel import PIDS_FILE, SentinelSettings
from harness.stack.stack import Stack, StackSpec

DOWN_AFTER_MS = 2000
PROMOTION_TIMEOUT_S = 30.0   # generous: a busy 2-core machine; measured about 2.4 s at down-after 1000 ms


def sentinel_stack(log_dir: Path, flags: dict[str, str] | None = None, replicas: int = 1) -> Stack:
    spec = StackSpec(log_dir=log_dir, profile="fixed", flags=flags or {}, service_users=20, with_edge=False,
                     sentinel=SentinelSettings(replicas=replicas, down_after_ms=DOWN_AFTER_MS))
    return Stack(spec).start()


def log_in(client: httpx.Client, number: int) -> httpx.Response:
    user = f"user{number % 20}"
    return client.post("/login", json={"username": user, "password": f"pass-{user}"})


def topology_pids(log_dir: Path) -> list[int]:
    """Every Redis and Sentinel PID the topology started (restarts included), from its PID file."""
    found = []
    for path in log_dir.rglob(PIDS_FILE):
        found += [int(line.split()[0]) for line in path.read_text().splitlines() if line.strip()]
    return found
