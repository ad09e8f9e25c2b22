"""`harness run --until-decided` on real processes: a clearly broken variant stops early on a sequential fail;
a good one runs to its maximum and passes there (under bursts no early pass is given; docs/statistics.md)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.runs import assert_all_gone, harness, manifest_of, only_run_dir, read_records, started_pids, summary_of
from tests.scenario_files import LOGIN_USERS, redis_latency, write_scenario

pytestmark = pytest.mark.judged  # tests/conftest.py: real load held to a target, one at a time

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

# mobile-latency's load with one variant of the reference service; faults only where a test adds them.
TINY = {
    "scenario": {"name": "tiny", "description": "mobile-latency's load on one variant of the reference service"},
    "load": {"locustfile": LOGIN_USERS, "users": 80, "spawn_rate": 40, "seed": 7,
             "classes": {"MobileUser": {"weight": 3, "wait": [0.2, 0.6]},
                         "WebUser": {"weight": 1, "wait": [0.2, 0.6]}},
             "mobile_network": {"latency_ms": 40, "jitter_ms": 15}},
}
LATENCY = {"faults": [redis_latency(60, jitter=50, at="2s")]}


def run_until_decided(tmp_path: Path, variant: str, expect: str, duration: str, *extra: dict):
    scenario = write_scenario(tmp_path, TINY, {"load": {"duration": duration}}, *extra,
                              {"variants": {variant: {"profile": variant, "expect": expect}}}, name="tiny.toml")
    out = tmp_path / "reports"
    started = time.monotonic()
    result = subprocess.run(harness("run", str(scenario), "--until-decided", "--min-duration", "10s",
                                    "--out", str(out)), capture_output=True, text=True, timeout=240,
                            stdin=subprocess.DEVNULL)
    run_dir = only_run_dir(out)
    return result, time.monotonic() - started, run_dir, manifest_of(run_dir), summary_of(run_dir)["variants"][variant]


@pytest.mark.slow
def test_broken_variant_stops_early_on_a_sequential_fail(tmp_path: Path) -> None:
    """The buggy service under Redis latency: decided fail long before the 90 s maximum; exit 0 (expected fail)."""
    result, wall_s, run_dir, manifest, summary = run_until_decided(tmp_path, "buggy", "fail", "90s", LATENCY)
    assert result.returncode == 0, result.stdout + result.stderr
    stopped = manifest["variants"]["buggy"]["stopped"]
    assert stopped["reason"] == "decided: fail"
    assert 10 <= stopped["at_s"] < 60 and stopped["high"] < 0.99
    assert wall_s < 90, f"the run took {wall_s:.0f} s: it did not stop early"
    records, _ = read_records(run_dir)
    assert records.t.max() < stopped["at_s"] + 15  # Locust stopped, not just the watching
    assert (summary["verdict"], summary["verdict_method"]) == ("fail", "sequential")
    assert summary["stopped"]["final"]["flows"] >= stopped["flows"]
    assert_all_gone(started_pids(manifest))


@pytest.mark.slow
def test_good_variant_runs_to_its_maximum_and_passes_there(tmp_path: Path) -> None:
    """The fixed service with no fault: no early pass; at the 15 s maximum the correlation-aware interval passes."""
    result, _, _, manifest, summary = run_until_decided(tmp_path, "fixed", "pass", "15s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert manifest["variants"]["fixed"]["stopped"]["reason"] == "max duration"
    assert (summary["verdict"], summary["verdict_method"]) == ("pass", "sequential")
    assert summary["stopped"]["final"]["state"] == "pass"


def test_min_duration_without_until_decided_is_a_usage_error(tmp_path: Path) -> None:
    """--min-duration alone is refused with one line and exit 2, before anything starts."""
    result = subprocess.run(harness("run", str(SCENARIOS / "mobile-latency.toml"), "--min-duration", "10s",
                                    "--out", str(tmp_path)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "harness: harness run: --min-duration goes with --until-decided"
