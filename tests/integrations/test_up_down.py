"""`harness up` leaves a stack and the Locust UI running after it exits; `harness down` stops exactly those PIDs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import redis

from harness.experiment.up import read_cmdline

ROOT = Path(__file__).resolve().parents[2]


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)


def test_up_then_down_leaves_no_process_alive(tmp_path: Path) -> None:
    up = harness("up", str(ROOT / "scenarios" / "mobile-latency.toml"), "--state-dir", str(tmp_path))
    assert up.returncode == 0, up.stderr
    state = json.loads((tmp_path / "up.json").read_text())
    pids = [p["pid"] for p in state["processes"]]
    try:
        urls = state["urls"]
        for name in ("locust_ui", "service", "fault_proxy", "redis"):
            assert urls[name] in up.stdout  # every URL is printed
        assert [pid for pid in pids if read_cmdline(pid) is None] == []  # alive after `up` exited
        assert httpx.get(urls["locust_ui"], timeout=5).status_code == 200
        assert httpx.get(f"{urls['service']}/healthz", timeout=5).status_code == 200
        assert set(httpx.get(f"{urls['fault_proxy']}/proxies", timeout=5).json()) == {"redis", "edge"}
        assert redis.Redis.from_url(urls["redis_via_proxy"], socket_timeout=2).ping()
    finally:
        down = harness("down", "--state-dir", str(tmp_path))
    assert down.returncode == 0, down.stderr
    assert [pid for pid in pids if read_cmdline(pid) is not None] == []
    assert not (tmp_path / "up.json").exists()


def test_down_with_nothing_up_says_so_in_one_line_and_exits_1(tmp_path: Path) -> None:
    down = harness("down", "--state-dir", str(tmp_path))
    assert down.returncode == 1
    assert down.stderr.strip().count("\n") == 0 and "nothing to stop" in down.stderr


def test_down_leaves_a_pid_alone_once_it_runs_another_command(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "60"])
    try:
        state = {"scenario": "s.toml", "variant": "fixed", "profile": "fixed", "urls": {}, "started_at": 0,
                 "processes": [{"name": "authsvc", "pid": other.pid, "cmdline": ["python", "-m", "harness"]}]}
        (tmp_path / "up.json").write_text(json.dumps(state))
        down = harness("down", "--state-dir", str(tmp_path))
        assert down.returncode == 0, down.stderr
        assert "already gone" in down.stdout and other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_up_refuses_an_unknown_variant_in_one_line(tmp_path: Path) -> None:
    up = harness("up", str(ROOT / "scenarios" / "mobile-latency.toml"), "--variant", "nope", "--state-dir",
                 str(tmp_path))
    assert up.returncode == 2 and "--variant" in up.stderr and not (tmp_path / "up.json").exists()
