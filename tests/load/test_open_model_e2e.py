"""Arrival-rate load end to end (real Locust, service, Redis and fault proxy), beside closed-loop users.

Redis slows down (latency toxic, 300 ms on every call) from 3 s on. The closed loop backs off: its users
wait for their slow flows, so fewer flows start. The open model keeps its arrival rate, and the queueing
the stall causes shows in the latency counted from each arrival's intended start, not in its service time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.judged  # tests/conftest.py: real load held to a target, one at a time

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FAULT_AT_S, DURATION_S = 3, 9
BEFORE, DURING = (0.5, 2.5), (4.0, 7.0)   # seconds: steady before the fault; inside it, clear of both ends

COMMON = f"""
[load]
locustfile = "{SCENARIOS / 'login_users.py'}"
duration = "{DURATION_S}s"
seed = 5
{{load}}

[load.classes.WebUser]
weight = 1
wait = [0, 0]

[[faults]]
proxy = "redis"
at = "{FAULT_AT_S}s"
type = "latency"
attributes = {{{{ latency = 300 }}}}

[variants.fixed]
profile = "fixed"
expect = "pass"
"""
CLOSED = "users = 4\nspawn_rate = 4"
OPEN = 'arrival_rate = 20\narrivals = "even"\nmax_in_flight = 8\narrival_timeout = "1s"'


def run_scenario(tmp_path: Path, name: str, load: str) -> pd.DataFrame:
    scenario = tmp_path / f"{name}.toml"
    scenario.write_text(f'[scenario]\nname = "{name}"\n' + COMMON.format(load=load))
    out = tmp_path / name
    result = subprocess.run([sys.executable, "-m", "harness", "run", str(scenario), "--out", str(out)],
                            capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    files = list(out.glob("*/requests/*.parquet"))
    rows = pd.concat([pd.read_parquet(f) for f in files])
    return rows[(rows["kind"] == "flow") & (rows["name"] == "login")]


def per_second(flows: pd.DataFrame, span: tuple[float, float]) -> float:
    return ((flows["t"] >= span[0]) & (flows["t"] < span[1])).sum() / (span[1] - span[0])


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    tmp_path = tmp_path_factory.mktemp("open-model")
    return run_scenario(tmp_path, "closed", CLOSED), run_scenario(tmp_path, "open", OPEN)


def test_the_open_model_keeps_its_rate_when_the_service_slows_and_the_closed_loop_does_not(side_by_side) -> None:
    """Flows started (or offered) per second inside the stall vs before it, side by side."""
    closed, opened = side_by_side
    closed_ratio = per_second(closed, DURING) / per_second(closed, BEFORE)
    open_ratio = per_second(opened, DURING) / per_second(opened, BEFORE)
    assert closed_ratio < 0.5, f"closed loop kept {closed_ratio:.2f} of its rate"
    assert open_ratio > 0.8, f"open model kept only {open_ratio:.2f} of its rate"
    assert per_second(opened, DURING) == pytest.approx(20, rel=0.2)   # evenly spaced: exactly 60 intended starts


def test_latency_from_the_intended_start_exceeds_the_service_time_during_the_stall(side_by_side) -> None:
    """Eight slots for 20 arrivals/s of ~0.6 s flows: arrivals queue, and the queueing is in latency_ms."""
    _, opened = side_by_side
    started = opened[opened["error_kind"] != "not_started"]
    stalled = started[(started["t"] >= DURING[0]) & (started["t"] < DURING[1])]
    assert len(stalled) > 10
    assert (started["latency_ms"] >= started["service_ms"] - 1e-6).all()   # never less than the service time
    waited = (stalled["latency_ms"] - stalled["service_ms"]).median()
    assert waited > 100, f"median wait for a slot only {waited:.0f} ms"


def test_arrivals_that_never_started_stay_in_the_denominator(side_by_side) -> None:
    """Beyond the cap and the timeout an arrival is a failed not_started row, with no service time."""
    _, opened = side_by_side
    missed = opened[opened["error_kind"] == "not_started"]
    assert len(missed) > 0
    assert not missed["success"].any() and missed["service_ms"].isna().all()
    # Each waited longer than the 1 s timeout (a timer never fires early, so never less).
    assert (missed["latency_ms"] > 1000).all()
