"""`harness run` end to end on real processes: records, summary, verdicts, exit codes, interruption."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from harness.records import ERROR_KINDS, REQUEST_SCHEMA
from harness.stack import ServerProcess
from tests.runs import assert_all_gone, harness, only_run_dir, read_records, started_pids
from tests.scenario_files import BUGGY_FIXED, LOGIN_USERS, merged, redis_latency, write_scenario
from tests.waiting import wait_until

pytestmark = pytest.mark.judged  # tests/conftest.py: real load held to a target, one at a time

# mobile-latency, shortened for the tests; shared by the other e2e tests of `harness run`.
SHORT = merged({
    "scenario": {"name": "short", "description": "mobile-latency, shortened for the tests"},
    "load": {"locustfile": LOGIN_USERS, "users": 50, "spawn_rate": 50, "seed": 3,
             "classes": {"MobileUser": {"weight": 3, "wait": [0.1, 0.3]},
                         "WebUser": {"weight": 1, "wait": [0.1, 0.3]}},
             "mobile_network": {"latency_ms": 40, "jitter_ms": 15}},
    "faults": [redis_latency(60, jitter=50, at="2s")],
}, BUGGY_FIXED)


def scenario_file(tmp_path: Path, duration: str) -> Path:
    return write_scenario(tmp_path, SHORT, {"load": {"duration": duration}}, name="short.toml")


@pytest.mark.slow
def test_run_reproduces_the_bug_and_passes_the_fix(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = subprocess.run(harness("run", str(scenario_file(tmp_path, "10s")), "--out", str(out)),
                            capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    run_dir = only_run_dir(out)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    records, files = read_records(run_dir)

    assert result.returncode == 0, result.stdout + result.stderr
    assert manifest["status"] == "completed"
    assert [manifest["variants"][v]["status"] for v in ("buggy", "fixed")] == ["completed", "completed"]
    assert pq.read_schema(files[0]).remove_metadata().equals(REQUEST_SCHEMA)
    flows = records[(records.kind == "flow") & (records.name == "login")]
    buggy, fixed = flows[flows.variant == "buggy"], flows[flows.variant == "fixed"]
    assert len(buggy) > 300 and len(fixed) > 300
    assert (buggy.error_kind == "session_not_found").mean() > 0.02
    assert set(records.error_kind.unique()) <= {"", *ERROR_KINDS}
    assert {"MobileUser", "WebUser"} <= set(flows.user_class)
    assert {"/login", "/me"} <= set(records[records.kind == "request"].name)

    faults = [json.loads(line) for line in (run_dir / "faults.jsonl").read_text().splitlines()]
    for variant in ("buggy", "fixed"):
        actions = [(f["action"], f["rollback"]) for f in faults if f["variant"] == variant]
        assert actions == [("apply", False), ("remove", True)], actions

    verdicts = {name: v["verdict"] for name, v in summary["variants"].items()}
    assert verdicts == {"buggy": "fail", "fixed": "pass"}
    assert_all_gone(started_pids(manifest))


@pytest.mark.slow
def test_sigint_mid_run_rolls_back_stops_everything_and_keeps_records(tmp_path: Path,
                                                                      fault_proxy: ServerProcess) -> None:
    out = tmp_path / "reports"
    command = harness("run", str(scenario_file(tmp_path, "120s")), "--out", str(out),
                      "--fault-proxy", fault_proxy.url, "--variants", "buggy")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        def fault_in_place_and_records_flowing() -> bool:
            assert process.poll() is None, process.communicate()
            runs = list(out.iterdir()) if out.exists() else []
            # The journal is created empty at start; the fault is in place once its apply line is.
            journal = runs[0] / "faults.jsonl" if runs else None
            applied = journal is not None and journal.exists() and '"apply"' in journal.read_text()
            return applied and bool(list((runs[0] / "requests").glob("*.parquet")))

        wait_until(fault_in_place_and_records_flowing, 90, "the run applies its fault and writes records",
                   interval=0.2)
        faults_file = only_run_dir(out) / "faults.jsonl"
        toxics = httpx.get(f"{fault_proxy.url}/proxies/redis/toxics").json()
        assert [t["type"] for t in toxics] == ["latency"]
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    run_dir = only_run_dir(out)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert_all_gone(started_pids(manifest))
    # The external fault proxy is left as it was found: the run's proxies and toxics are gone.
    assert httpx.get(f"{fault_proxy.url}/proxies").json() == {}
    records, _ = read_records(run_dir)
    assert len(records) > 0
    faults = [json.loads(line) for line in faults_file.read_text().splitlines()]
    assert [(f["action"], f["rollback"]) for f in faults] == [("apply", False), ("remove", True)]
    report = subprocess.run(harness("report", str(run_dir)), capture_output=True, text=True, timeout=120)
    assert report.returncode in (0, 1), report.stderr
    assert (run_dir / "summary.json").exists()
