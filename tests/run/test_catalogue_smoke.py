"""Every catalogue scenario runs end to end for a short smoke duration and leaves a summary of every variant
(here, or in the test RUN_ELSEWHERE names).

The full check (default durations, every variant showing what it expects) is benchmarks/catalogue.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.scenario import load_scenario

TESTS = Path(__file__).resolve().parents[1]
SCENARIOS = TESTS.parent / "scenarios"
CATALOGUE = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
# Scenarios another test already runs end to end from the catalogue file itself: no smoke run of their own.
RUN_ELSEWHERE = {"mobile-latency": "run/test_sweep_ablation.py",
                 "node-session-service": "examples/test_node_scenario_e2e.py"}


def test_the_catalogue_has_a_scenario_per_incident() -> None:
    assert CATALOGUE == ["app-bootstrap-race", "mobile-latency", "node-session-service", "peak-hour",
                         "peak-refresh-storm", "pool-exhaustion", "redis-failover",
                         "redis-outage", "refresh-storm",
                         "slow-redis-session-creation"]
    for name in CATALOGUE:
        text = (SCENARIOS / f"{name}.toml").read_text()
        for heading in ("# Incident:", "# Symptom", "# Mechanism", "# Exposed by", "# Fix"):
            assert heading in text, f"{name}.toml: no {heading!r} in its comment block"


def test_harness_scenarios_lists_each_with_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "harness", "scenarios", str(SCENARIOS)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == CATALOGUE
    assert all(len(line.split(None, 1)) == 2 for line in lines)


def test_scenarios_without_a_smoke_run_are_run_by_the_test_named() -> None:
    for name, test_file in RUN_ELSEWHERE.items():
        assert name in CATALOGUE and f"{name}.toml" in (TESTS / test_file).read_text(), (name, test_file)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in CATALOGUE if name not in RUN_ELSEWHERE])
def test_catalogue_scenario_smoke_run_completes_with_a_summary(tmp_path: Path, name: str) -> None:
    result = subprocess.run([sys.executable, "-m", "harness", "run", str(SCENARIOS / f"{name}.toml"),
                             "--duration", "3s", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    run_dir = next(tmp_path.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    variants = list(load_scenario(SCENARIOS / f"{name}.toml").variants)
    assert summary["variant_order"] == variants
    for variant in variants:
        assert summary["variants"][variant]["target_flow"]["flows"] > 0, variant
