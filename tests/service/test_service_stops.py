"""Everything a run started for your own service, its whole process group included, is stopped by PID when the
run ends, is interrupted (Ctrl-C, SIGTERM) or is killed with -9."""

from __future__ import annotations

import json
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from harness.stack.procs import pid_alive
from tests.scenario_files import lasting
from tests.service.helpers import APP, LOAD, PYTHON, harness, processes_with, wait_gone, write_scenario
from tests.waiting import wait_until


def scenario_with_grandchild(tmp_path: Path) -> tuple[Path, str]:
    """A service started through a shell that also starts a process of its own (as `npm start` does)."""
    marker = f"{uuid.uuid4().int % 1000}.{uuid.uuid4().int % 1000 + 1}"
    shell = f"sleep {marker} & exec {PYTHON} {APP} --host {{host}} --port {{port}}"
    service = {"service": {"command": ["sh", "-c", shell],
                           "env": {"REDIS_URL": "{redis_url}", "REDIS_TIMEOUT_MS": "1000"}}}
    return write_scenario(tmp_path, LOAD, service, lasting("120s")), marker


def wait_running(process: subprocess.Popen[bytes], out: Path, timeout: float = 90) -> dict:
    """The manifest once the variant's load runs (every process started and recorded)."""
    found: list[dict] = []

    def load_running() -> bool:
        assert process.poll() is None, process.communicate()
        for manifest_path in out.glob("*/manifest.json"):
            manifest = json.loads(manifest_path.read_text())
            if manifest["variants"]["service"]["status"] == "running":
                found.append(manifest)
                return True
        return False

    wait_until(load_running, timeout, "the run starts its load", interval=0.2)
    return found[-1]


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                                   (signal.SIGKILL, -9)])
def test_interrupted_or_killed_run_leaves_nothing_running(tmp_path: Path, signum: int, exit_code: int) -> None:
    path, marker = scenario_with_grandchild(tmp_path)
    out = tmp_path / "reports"
    process = subprocess.Popen(harness("run", str(path), "--out", str(out)), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        manifest = wait_running(process, out)
        assert processes_with(f"sleep {marker}"), "the service's own child should run"
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == exit_code, stderr
    started = [p["pid"] for p in manifest["variants"]["service"]["processes"]]
    left = wait_gone(lambda: processes_with(f"sleep {marker}") + processes_with(str(tmp_path))
                     + [pid for pid in started if pid_alive(pid)], timeout=15)
    assert not left, (started, left)
