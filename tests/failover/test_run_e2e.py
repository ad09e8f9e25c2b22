"""`harness run` with a Sentinel topology: a failover end to end, and every Redis and Sentinel stopped after
Ctrl-C and after kill -9 of the harness (with the primary paused, so it cannot act on a SIGTERM)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.runs import assert_all_gone, harness, manifest_of, started_pids
from tests.scenario_files import lasting, write_scenario
from tests.waiting import wait_until

from .helpers import topology_pids

pytestmark = pytest.mark.judged  # tests/conftest.py: real load held to a target, one at a time

ROOT = Path(__file__).resolve().parents[2]

FAILOVER = {
    "scenario": {"name": "failover-e2e"},
    "redis": {"topology": "sentinel", "replicas": 2, "down_after_ms": 2000},
    "load": {"locustfile": str(ROOT / "scenarios" / "failover_users.py"), "users": 6, "spawn_rate": 6, "seed": 3,
             "options": {"retry_budget_s": 15, "session_uses": 3},
             "classes": {"LoginUser": {"wait": [0.2, 0.4]}, "SessionUser": {"wait": [0.2, 0.4]}}},
    "variants": {"fixed": {"profile": "fixed", "client": {"honor_retry_after": True}, "expect": "pass"}},
    "target": {"metric": "login", "minimum": 0.9, "max_lost_sessions": 0},
}


def failover_scenario(tmp_path: Path, duration: str, action: str, at: str, fault_duration: str) -> Path:
    """FAILOVER with 50 ms on a replication link and the topology `action` at `at` for `fault_duration`."""
    faults = [{"proxy": "replication-1", "type": "latency", "attributes": {"latency": 50}},
              {"action": action, "at": at, "duration": fault_duration}]
    return write_scenario(tmp_path, FAILOVER, lasting(duration), {"faults": faults}, name="failover.toml")


def start_run(tmp_path: Path, scenario: Path) -> tuple[subprocess.Popen[bytes], Path]:
    out = tmp_path / "reports"
    with open(tmp_path / "run.err", "wb") as err:
        run = subprocess.Popen(harness("run", str(scenario), "--out", str(out)),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                               start_new_session=True)
    return run, out


def run_pids(run_dir: Path) -> list[int]:
    return started_pids(manifest_of(run_dir))


def test_failover_end_to_end_recovers_loses_no_session_and_stops_everything(tmp_path: Path) -> None:
    """Fixed service: logins recover after the promotion, no acknowledged session is lost, nothing is left."""
    scenario = failover_scenario(tmp_path, duration="16s", action="failover", at="4s", fault_duration="6s")
    run, out = start_run(tmp_path, scenario)
    assert run.wait(180) == 0, (tmp_path / "run.err").read_text()[-2000:]
    run_dir = next(out.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())["variants"]["fixed"]
    failover = summary["failover"]
    assert failover["failover_at_s"] is not None and failover["recovered"] is True
    assert failover["sessions_checked"] > 0 and failover["sessions_lost"] == 0
    journal = [json.loads(line) for line in (run_dir / "faults.jsonl").read_text().splitlines()]
    assert [(r["type"], r["action"]) for r in journal if r["type"] == "failover"] == [("failover", "apply"),
                                                                                        ("failover", "remove")]
    pids = topology_pids(run_dir) + run_pids(run_dir)
    assert len(topology_pids(run_dir)) == 7   # primary, two replicas, three Sentinels, the primary restarted
    assert_all_gone(pids)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_interrupted_run_leaves_no_redis_or_sentinel(tmp_path: Path, stop: int) -> None:
    """Ctrl-C or kill -9 while the primary is paused: every Redis and Sentinel process still exits."""
    scenario = failover_scenario(tmp_path, duration="60s", action="pause", at="0s", fault_duration="50s")
    run, out = start_run(tmp_path, scenario)
    try:
        wait_until(lambda: out.exists() and any(out.iterdir()), 30, "the run folder exists")
        run_dir = next(out.iterdir())
        faults = run_dir / "faults.jsonl"
        wait_until(lambda: faults.exists() and '"pause"' in faults.read_text(), 90, "the primary is paused")
        pids = topology_pids(run_dir) + run_pids(run_dir)
        assert len(topology_pids(run_dir)) == 6
        os.kill(run.pid, stop)
        run.wait(60)
        assert_all_gone(pids, timeout=10 if stop == signal.SIGINT else 5, what="every process of the run exits")
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(10)
