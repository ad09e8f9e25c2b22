"""kill -9 a running `harness run`: within 5 s no toxic remains and no process of the run is alive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.experiment.watchdog import FAULT_PROXY_STATE, undo_run
from harness.stack import start_fault_proxy
from harness.stack.procs import pid_alive
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
CLEANUP_DEADLINE_S = 5.0

SCENARIO = """
[scenario]
name = "crash"

[load]
locustfile = "{locustfile}"
users = 6
spawn_rate = 6
duration = "60s"
seed = 5

[load.classes.MobileUser]
weight = 1
wait = [0.1, 0.3]

[load.classes.WebUser]
weight = 1
wait = [0.1, 0.3]

[load.mobile_network]
latency_ms = 20

[[faults]]
proxy = "redis"
at = "0s"
type = "latency"
attributes = {{ latency = 50 }}

[[faults]]
proxy = "edge"
at = "0s"
down = true

[variants.buggy]
profile = "buggy"
expect = "fail"
"""


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def start_run(tmp_path: Path, fault_proxy: str) -> tuple[subprocess.Popen[bytes], Path]:
    scenario = tmp_path / "crash.toml"
    scenario.write_text(SCENARIO.format(locustfile=ROOT / "scenarios" / "login_users.py"))
    out = tmp_path / "reports"
    with open(tmp_path / "run.err", "wb") as err:
        run = subprocess.Popen([sys.executable, "-m", "harness", "run", str(scenario), "--out", str(out),
                                "--fault-proxy", fault_proxy], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=err, start_new_session=True)
    wait_until(lambda: out.exists() and any(out.iterdir()), 30, "the run folder exists")
    run_dir = next(out.iterdir())
    faults = run_dir / "faults.jsonl"
    # Both faults in place: the latency toxic and the disabled edge proxy.
    wait_until(lambda: faults.exists() and len(faults.read_text().splitlines()) >= 2, 90, "the faults are applied")
    return run, run_dir


def run_pids(run_dir: Path) -> list[int]:
    manifest = read_json(run_dir / "manifest.json")
    pids = [p["pid"] for v in manifest["variants"].values() for p in v.get("processes", [])]
    return pids + ([manifest["watchdog"]["pid"]] if manifest.get("watchdog") else [])


def kill_run(run: subprocess.Popen[bytes]) -> None:
    os.kill(run.pid, signal.SIGKILL)
    run.wait(5)


@pytest.mark.slow
def test_kill_9_with_the_embedded_fault_proxy_leaves_nothing(tmp_path: Path) -> None:
    run, run_dir = start_run(tmp_path, "embedded")
    pids = run_pids(run_dir)
    proxy_url = read_json(run_dir / "manifest.json")["fault_proxy"]["url"]
    assert len(pids) >= 4  # service, fault proxy, Redis, Locust
    kill_run(run)
    wait_until(lambda: not any(pid_alive(p) for p in pids), CLEANUP_DEADLINE_S, "every process of the run exits")
    with pytest.raises(httpx.TransportError):  # its toxics went with the process that held them
        httpx.get(f"{proxy_url}/proxies", timeout=1)


@pytest.mark.slow
def test_kill_9_with_an_external_fault_proxy_the_watchdog_undoes_the_faults(tmp_path: Path) -> None:
    external = start_fault_proxy(tmp_path / "external")
    try:
        httpx.post(f"{external.url}/proxies", json={"name": "edge", "listen": "127.0.0.1:0",
                                                    "upstream": "127.0.0.1:9", "enabled": True}).raise_for_status()
        run, run_dir = start_run(tmp_path, external.url)
        pids = run_pids(run_dir)
        assert len(pids) >= 4  # service, Redis, Locust, watchdog
        assert httpx.get(f"{external.url}/proxies/edge").json()["enabled"] is False
        kill_run(run)
        wait_until(lambda: not any(pid_alive(p) for p in pids), CLEANUP_DEADLINE_S, "every process of the run exits")
        wait_until(lambda: set(httpx.get(f"{external.url}/proxies").json()) == {"edge"}, CLEANUP_DEADLINE_S,
                   "the run's proxies are deleted")
        edge = httpx.get(f"{external.url}/proxies/edge").json()
        assert edge["upstream"] == "127.0.0.1:9" and edge["enabled"] is True and edge["toxics"] == []
    finally:
        external.stop()


def test_watchdog_undo_removes_open_toxics_and_reenables_proxies(tmp_path: Path) -> None:
    external = start_fault_proxy(tmp_path / "external")
    try:
        api = external.url
        for name in ("redis", "edge"):
            httpx.post(f"{api}/proxies", json={"name": name, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"})
        httpx.post(f"{api}/proxies/redis/toxics", json={"name": "f0_latency_downstream", "type": "latency",
                                                        "attributes": {"latency": 10}}).raise_for_status()
        httpx.post(f"{api}/proxies/edge", json={"enabled": False}).raise_for_status()
        rows = [{"variant": "v", "fault": 0, "proxy": "redis", "action": "apply", "toxic": "f0_latency_downstream",
                 "type": "latency"},
                {"variant": "v", "fault": 1, "proxy": "edge", "action": "apply", "toxic": None, "type": "down"},
                {"variant": "v", "fault": 2, "proxy": "redis", "action": "apply", "toxic": "gone", "type": "latency"},
                {"variant": "v", "fault": 2, "proxy": "redis", "action": "remove", "toxic": "gone", "type": "latency"}]
        # Each line as the journal writes it (FaultAction): the watchdog reads them through that model.
        (tmp_path / "faults.jsonl").write_text("".join(json.dumps({"ts": 1.0 + i, **r}) + "\n"
                                                       for i, r in enumerate(rows)))
        (tmp_path / FAULT_PROXY_STATE).write_text(json.dumps({"created": [], "replaced": {}}))
        undo_run(api, tmp_path)
        proxies = httpx.get(f"{api}/proxies").json()
        assert proxies["redis"]["toxics"] == [] and proxies["edge"]["enabled"] is True
    finally:
        external.stop()
