"""Benchmark: login-then-/me flows per second and flow latency percentiles of the auth service, fixed profile,
no fault, with the load generator (asyncio + httpx, N concurrent clients) running beside it on this machine.

    .venv/bin/python benchmarks/authsvc.py --clients 32 --duration 20
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
import httpx
import numpy as np

from harness.authsvc import password_of, username_of
from harness.stack import RedisServer, start_authsvc

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live children (the service's workers), from /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / _TICKS_PER_S
    return total


@dataclass
class Tally:
    """Flow latencies (ms) of successful flows, and failures by error code; only after the warm-up."""

    latencies_ms: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    def fail(self, code: str) -> None:
        self.failures[code] = self.failures.get(code, 0) + 1


async def login_flow(client: httpx.AsyncClient, index: int) -> str | None:
    """Log in, then use the session at once; None when both succeed, else the error code."""
    name = username_of(index)
    login = await client.post("/login", json={"username": name, "password": password_of(name)})
    if login.status_code != 200:
        return login.json().get("error", str(login.status_code))
    me = await client.get("/me", headers={"X-Session-ID": login.json()["session_id"]})
    return None if me.status_code == 200 else me.json().get("error", str(me.status_code))


async def client_loop(client: httpx.AsyncClient, first: int, users: int, measure_from: float, until: float,
                      tally: Tally) -> None:
    index = first
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            error = await login_flow(client, index % users)
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        if started >= measure_from:
            if error is None:
                tally.latencies_ms.append((time.perf_counter() - started) * 1000)
            else:
                tally.fail(error)
        index += 1


async def run_load(url: str, clients: int, users: int, warmup_s: float, duration_s: float) -> Tally:
    tally = Tally()
    measure_from = time.perf_counter() + warmup_s
    until = measure_from + duration_s

    async def one_client(number: int) -> None:
        # One keep-alive connection per client, like a real app; one shared httpx pool of many
        # connections costs the load generator twice the CPU per request at 32 clients.
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            await client_loop(client, number * 997, users, measure_from, until, tally)

    await asyncio.gather(*(one_client(c) for c in range(clients)))
    return tally


def report(tally: Tally, duration_s: float, clients: int, workers: int, command: str,
           cpu_ms: dict[str, float]) -> str:
    flows = len(tally.latencies_ms)
    per_flow = {name: f"{ms / max(flows, 1):.2f}" for name, ms in cpu_ms.items()}
    p50, p95, p99 = np.percentile(tally.latencies_ms, [50, 95, 99]) if flows else (float("nan"),) * 3
    return "\n".join([
        f"command: {command}",
        f"service: fixed profile, no fault, {workers} worker(s), bcrypt cost 4; load: {clients} concurrent clients "
        f"(asyncio + httpx, one process) on the same machine",
        f"login-then-/me flows: {flows} ok in {duration_s:.0f} s = {flows / duration_s:.1f} flows/s",
        f"flow latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}",
        f"CPU ms per flow (whole run incl. warm-up, divided by measured flows): {per_flow}",
        f"failures: {tally.failures or 'none'}",
    ])


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


@click.command()
@click.option("--clients", default=32, show_default=True, help="Concurrent clients, each looping login then /me.")
@click.option("--duration", default=20.0, show_default=True, help="Measured seconds (after the warm-up).")
@click.option("--warmup", default=3.0, show_default=True, help="Seconds of load not measured.")
@click.option("--workers", default=1, show_default=True, help="Service worker processes.")
@click.option("--users", default=1000, show_default=True, help="Seeded users the flows cycle through.")
def main(clients: int, duration: float, warmup: float, workers: int, users: int) -> None:
    """Start Redis and the service (fixed profile), drive login flows, print flows/s and latency percentiles."""
    command = shlex.join([".venv/bin/python", "benchmarks/authsvc.py", *sys.argv[1:]])
    log_dir = Path(tempfile.mkdtemp(prefix="bench-authsvc-"))
    redis_server = RedisServer(log_dir=log_dir).start()
    service = None
    try:
        service = start_authsvc(redis_server.url, log_dir, profile="fixed", users=users, workers=workers,
                                timeout=120)
        pid = service.process.pid or 0
        before = {"service": cpu_seconds(pid), "load generator": _own_cpu_seconds()}
        tally = asyncio.run(run_load(service.url, clients, users, warmup, duration))
        after = {"service": cpu_seconds(pid), "load generator": _own_cpu_seconds()}
        cpu_ms = {name: (after[name] - before[name]) * 1000 for name in before}
        click.echo(report(tally, duration, clients, workers, command, cpu_ms))
    finally:
        if service is not None:
            service.stop()
        redis_server.stop()


if __name__ == "__main__":
    main()
