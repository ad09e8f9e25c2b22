"""`harness up` on a declarative scenario: the Locust UI runs FlowUser from the packaged locustfile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.experiment.up import read_cmdline
from tests.scenario_files import ME_STEP, login_step, write_scenario
from tests.waiting import wait_until

SCENARIO = {"load": {"users": 4, "spawn_rate": 4,
                     "flows": [{"name": "login", "wait": [0.0, 0.1], "steps": [login_step(), ME_STEP]}]}}


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)


@pytest.mark.slow
def test_up_runs_declarative_flows_from_the_locust_ui(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, SCENARIO, name="flows.toml")
    up = harness("up", str(scenario), "--state-dir", str(tmp_path / "state"))
    assert up.returncode == 0, up.stderr
    state = json.loads((tmp_path / "state" / "up.json").read_text())
    pids = [p["pid"] for p in state["processes"]]
    try:
        ui = state["urls"]["locust_ui"]
        swarm = httpx.post(f"{ui}/swarm", data={"user_count": 4, "spawn_rate": 4}, timeout=10)
        assert swarm.status_code == 200, swarm.text
        flows: list[dict] = []

        def six_logins_counted() -> bool:
            stats = httpx.get(f"{ui}/stats/requests", timeout=5).json()["stats"]
            flows[:] = [s for s in stats if s["method"] == "FLOW" and s["name"] == "login" and s["num_requests"] > 5]
            return bool(flows)

        wait_until(six_logins_counted, 30, "the Locust UI counts more than five login flows", interval=0.2)
        assert flows[0]["num_failures"] == 0
        httpx.get(f"{ui}/stop", timeout=10)
    finally:
        down = harness("down", "--state-dir", str(tmp_path / "state"))
    assert down.returncode == 0, down.stderr
    assert [pid for pid in pids if read_cmdline(pid) is not None] == []
