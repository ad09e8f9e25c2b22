"""scenarios/node-session-service.toml end to end: the harness starts the Node example per variant behind the real
fault proxy, drives it with declarative flows through the edge proxy, and judges it, in a short run with
--until-decided. Before the fix fails, mostly with session_not_found (and is stopped as soon as that is decided);
after it passes 99% at 95% confidence (a pass is only given at the maximum duration)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.stack.procs import pid_alive

pytestmark = pytest.mark.judged  # tests/conftest.py: real load held to a target, one at a time

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "node-session-service.toml"


def test_node_scenario_buggy_fails_with_session_not_found_and_fixed_passes(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    # The Redis fault starts at 5 s: the minimum of 10 s puts at least 5 s of it under the buggy verdict.
    command = [sys.executable, "-m", "harness", "run", str(SCENARIO), "--out", str(out), "--duration", "30s",
               "--until-decided", "--min-duration", "10s"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=280, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {name: v["stopped"]["reason"] for name, v in manifest["variants"].items()} == {
        "buggy": "decided: fail", "fixed": "max duration"}
    assert {name: v["verdict"] for name, v in summary["variants"].items()} == {"buggy": "fail", "fixed": "pass"}
    failures = summary["variants"]["buggy"]["failures_by_kind"]
    assert max(failures, key=failures.get) == "session_not_found", failures
    for name in ("buggy", "fixed"):
        service_log = (run_dir / "logs" / name / "service.err").read_text()
        assert "listening on http://127.0.0.1:" in service_log and "stopped" in service_log  # a clean SIGTERM exit
    assert not [p["pid"] for v in manifest["variants"].values() for p in v["processes"] if pid_alive(p["pid"])]
