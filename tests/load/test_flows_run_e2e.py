"""`harness run` with declarative `[[load.flows]]` on real processes: the mobile-latency incident's verdicts
(buggy fails with session_not_found, fixed passes) from a scenario that names no locustfile."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harness.records import ERROR_KINDS, REQUEST_SCHEMA
from harness.stack import free_port
from tests.runs import assert_all_gone, harness, locust_total, manifest_of, only_run_dir, started_pids, summary_of
from tests.runs import read_records as records_and_files
from tests.scenario_files import BUGGY_FIXED, ME_STEP, login_step, merged, redis_latency, write_scenario

pytestmark = pytest.mark.judged  # tests/conftest.py: real load held to a target, one at a time


def login_flow(name: str, weight: int, via_edge: bool = False) -> dict:
    flow = {"name": name, "weight": weight, "wait": [0.0, 0.1], "steps": [login_step(), ME_STEP]}
    return flow | ({"via_edge": True} if via_edge else {})


# The incident as flows: mobile logins through the edge proxy, web logins direct, each login followed at
# once by GET /me with the new session. The error-kind rule names the failure the incident report names.
DECLARATIVE_INCIDENT = merged({
    "scenario": {"name": "declarative-mobile-latency"},
    "load": {"users": 60, "spawn_rate": 60, "seed": 5,
             "credentials": {"username": "user{n}", "password": "pass-user{n}", "count": 500},
             "flows": [login_flow("login", 3, via_edge=True), login_flow("web_login", 1)],
             "error_kinds": [{"kind": "session_not_found", "status": 401, "body": "Session expired"}],
             "mobile_network": {"latency_ms": 40, "jitter_ms": 15}},
    "faults": [redis_latency(60, jitter=50, at="1s")],
}, BUGGY_FIXED)


def scenario_file(tmp_path: Path, duration: str) -> Path:
    return write_scenario(tmp_path, DECLARATIVE_INCIDENT, {"load": {"duration": duration}}, name="declarative.toml")


def run_scenario(tmp_path: Path, duration: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "reports"
    result = subprocess.run(harness("run", str(scenario_file(tmp_path, duration)), "--out", str(out), *extra),
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    return result, only_run_dir(out, result.stdout + result.stderr)


def records(run_dir: Path):
    rows, files = records_and_files(run_dir)
    assert pq.read_schema(files[0]).remove_metadata().equals(REQUEST_SCHEMA)
    return rows


@pytest.mark.slow
def test_declarative_flows_reproduce_the_mobile_latency_incident(tmp_path: Path) -> None:
    """Buggy fails with session_not_found (by the error-kind rule), fixed passes, through the packaged locustfile."""
    result, run_dir = run_scenario(tmp_path, "8s")
    summary, manifest = summary_of(run_dir), manifest_of(run_dir)
    rows = records(run_dir)

    assert result.returncode == 0, result.stdout + result.stderr
    assert {name: v["verdict"] for name, v in summary["variants"].items()} == {"buggy": "fail", "fixed": "pass"}
    flows = rows[rows.kind == "flow"]
    login = flows[flows.name == "login"]
    buggy = login[login.variant == "buggy"]
    assert (buggy.error_kind == "session_not_found").sum() > 0
    assert set(rows.error_kind.unique()) <= {"", *ERROR_KINDS}
    assert set(flows.name.unique()) == {"login", "web_login"}
    assert {"/login", "/me"} == set(rows[rows.kind == "request"].name.unique())
    # Both steps of every flow are request rows: one /login per flow, one /me per flow whose login worked.
    fixed = rows[rows.variant == "fixed"]
    assert (fixed.name == "/login").sum() >= len(fixed[fixed.kind == "flow"])
    # Mobile flows cross the edge proxy (>= 25 ms each way per request, two requests); a timer never fires early.
    assert login.latency_ms.min() >= 100
    assert_all_gone(started_pids(manifest))


@pytest.mark.slow
def test_declarative_flows_run_on_two_locust_workers(tmp_path: Path) -> None:
    """--workers 2: both workers run FlowUser from the options the master sends, every row of both reaches the
    run (as many as Locust counted), and the master and both workers are started, recorded and stopped."""
    result, run_dir = run_scenario(tmp_path, "4s", "--variants", "fixed", "--workers", "2")
    rows = records(run_dir)
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 4 s may be too short to decide
    flows = rows[rows.kind == "flow"]
    assert set(flows.worker) == {"worker-1", "worker-2"}
    assert set(flows.user_class) == {"FlowUser"} and len(flows) > 50
    assert flows.success.mean() > 0.99
    assert len(rows) == locust_total(run_dir, "fixed")
    manifest = manifest_of(run_dir)
    assert [p["name"] for p in manifest["variants"]["fixed"]["processes"]][-3:] == [
        "locust-fixed-master", "locust-fixed-worker-1", "locust-fixed-worker-2"]
    assert_all_gone(started_pids(manifest))


@pytest.mark.slow
def test_a_worker_started_with_harness_worker_runs_the_declarative_flows(tmp_path: Path) -> None:
    """`harness worker` loads the packaged locustfile and gets the flows from the master it joins; the run waits
    for it (--master-bind, --expect-workers) and keeps every row it sent."""
    path = scenario_file(tmp_path, "5s")
    out, port = tmp_path / "reports", free_port()
    run = subprocess.Popen(harness("run", str(path), "--out", str(out), "--variants", "fixed", "--master-bind",
                                   f"127.0.0.1:{port}", "--expect-workers", "1"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    worker = subprocess.Popen(harness("worker", "--master", f"127.0.0.1:{port}", str(path)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.append(run.communicate(timeout=240)[1]))
    reader.start()
    try:
        reader.join(timeout=240)
        worker.wait(timeout=60)  # the master tells its workers to quit when the run ends
    finally:
        for process in (run, worker):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert run.returncode in (0, 1), "".join(stderr)[-2000:]
    run_dir = only_run_dir(out)
    rows = records(run_dir)
    assert len(rows) == locust_total(run_dir, "fixed")
    flows = rows[rows.kind == "flow"]
    assert len(flows) > 0 and flows.worker.nunique() == 1 and flows.worker.iloc[0] != "local"
    assert set(flows.user_class) == {"FlowUser"} and flows.success.mean() > 0.99
