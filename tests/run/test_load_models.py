"""Load models in the scenario file: named mobile networks, arrival rate, stages, latency objectives.

Unit level (no stack): what the scenario accepts, what it refuses in one line with exit 2, and how stages
and named networks become Locust's shape and the edge proxy's toxics.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from harness.errors import ScenarioError
from harness.load.open_model import level_at, locust_open_model, users_at
from harness.scenario import parse_scenario
from harness.scenario.load import NETWORK_PRESETS
from tests.scenario_files import LOGIN_USERS, write_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_a_named_network_is_half_its_round_trip_each_way_with_its_own_bandwidths() -> None:
    """slow-4g (Lighthouse): 150 ms round trip -> 75 ms per direction; 1.6384 Mbit/s down, 750 kbit/s up."""
    profile = parse_scenario({"load": {"mobile_network": "slow-4g"}}).load.mobile_network
    assert (profile.latency_ms, profile.jitter_ms, profile.preset) == (75, 0, "slow-4g")
    assert profile.rate_kbps("downstream") == 205 and profile.rate_kbps("upstream") == 94
    for name in NETWORK_PRESETS:
        assert parse_scenario({"load": {"mobile_network": name}}).load.mobile_network.latency_ms > 0


def test_explicit_network_numbers_still_work_the_same_each_way() -> None:
    profile = parse_scenario({"load": {"mobile_network": {"latency_ms": 40, "jitter_ms": 15,
                                                          "bandwidth_kbps": 100}}}).load.mobile_network
    assert (profile.latency_ms, profile.jitter_ms, profile.preset) == (40, 15, None)
    assert profile.rate_kbps("upstream") == profile.rate_kbps("downstream") == 100


def test_stages_ramp_linearly_and_set_the_duration() -> None:
    """A morning peak: 0 -> 100 users over 10 s, hold 20 s, down to 20 over 10 s; the load lasts 40 s."""
    load = parse_scenario({"load": {"stages": [{"duration": "10s", "users": 100}, {"duration": "20s", "users": 100},
                                               {"duration": "10s", "users": 20}]}}).load
    stages = [s.model_dump(exclude_none=True) for s in load.stages]
    assert load.duration == 40
    assert [level_at(stages, "users", t) for t in (0, 5, 15, 35)] == [0, 50, 100, 60]
    assert level_at(stages, "users", 40) is None


def test_arrival_rate_stages_start_from_the_base_rate_and_split_over_processes() -> None:
    load = parse_scenario({"load": {"arrival_rate": 10, "max_in_flight": 50,
                                    "stages": [{"duration": 10, "arrival_rate": 30}]}}).load
    settings = locust_open_model(load, processes=2, flow="login")
    assert settings["rate"] == 10 and settings["processes"] == 2 and settings["max_in_flight"] == 50
    assert level_at(settings["stages"], "arrival_rate", 5, start=settings["rate"]) == 20


def test_the_shape_follows_the_stages() -> None:
    """Locust's LoadTestShape: each stage's target with a spawn rate spreading the change over the stage."""
    stages = [{"duration": 10.0, "users": 100}, {"duration": 20.0, "users": 100}, {"duration": 5.0, "users": 0}]
    assert users_at(stages, 1.0) == (100, 10)
    assert users_at(stages, 12.0) == (100, 1.0)
    assert users_at(stages, 31.0) == (0, 20)


def test_latency_objectives_accept_a_table_or_a_list() -> None:
    one = parse_scenario({"target": {"latency": {"p99_ms": 50}}}).target.latency
    many = parse_scenario({"target": {"latency": [{"p99_ms": 50}, {"request": "/me", "p95_ms": 20,
                                                                    "phase": "no_fault"}]}}).target.latency
    assert len(one) == 1 and one[0].p99_ms == 50
    assert many[1].request == "/me" and many[1].phase == "no_fault"


BAD = {
    "unknown network": ({"load": {"mobile_network": "5g"}}, "load.mobile_network: unknown network '5g'; allowed: "),
    "rate and users stages": ({"load": {"stages": [{"duration": 5, "arrival_rate": 3}]}},
                              "load: stages: arrival_rate stages need [load] arrival_rate"),
    "mixed stages": ({"load": {"arrival_rate": 3, "stages": [{"duration": 5, "arrival_rate": 3},
                                                             {"duration": 5, "users": 3}]}},
                     "load.stages: every stage gives users, or every stage gives arrival_rate"),
    "stage without level": ({"load": {"stages": [{"duration": 5}]}}, "load.stages[0]: give either users or"),
    "zero rate": ({"load": {"arrival_rate": 0}}, "load.arrival_rate: must be greater than 0"),
    "bad spacing": ({"load": {"arrival_rate": 5, "arrivals": "burst"}}, "load.arrivals: must be 'poisson' or"),
    "objective without bound": ({"target": {"latency": {"phase": "no_fault"}}}, "target.latency[0]: give at least"),
    "unknown quantile": ({"target": {"latency": {"p98_ms": 5}}}, "target.latency[0].p98_ms: unknown field"),
    "unknown phase": ({"target": {"latency": {"p99_ms": 5, "phase": "night"}}}, "target.latency[0].phase: must be"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_load_models_are_refused_in_one_line(case: str) -> None:
    data, expected = BAD[case]
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "x.toml")
    message = str(caught.value)
    assert message.startswith("x.toml: ") and expected in message and "\n" not in message


def test_cli_refuses_an_unknown_network_with_exit_2_and_one_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text(f'[load]\nlocustfile = "{SCENARIOS / "login_users.py"}"\nmobile_network = "6g"\n')
    result = subprocess.run([sys.executable, "-m", "harness", "run", str(scenario), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "mobile_network: unknown network '6g'" in lines[0] and "Traceback" not in result.stderr


def python_under_open_file_limit(limit: int, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python ARGS` in a process whose open-file limit, soft and hard, is `limit` (as this machine's 20,000)."""
    return subprocess.run(["bash", "-c", f'ulimit -n {limit} && exec "$@"', "_", sys.executable, *args],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_a_load_past_the_descriptor_limit_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """A million users, three in four through the edge proxy, fit no open-file limit (not even the kernel's
    nr_open, so not even root can raise it that far): exit 2, one line saying how many descriptors are needed
    and how to raise the limit; no run folder is made."""
    scenario = tmp_path / "big.toml"
    scenario.write_text(f'[load]\nlocustfile = "{SCENARIOS / "login_users.py"}"\nusers = 1000000\n'
                        'mobile_network = "4g"\n[load.classes.MobileUser]\nweight = 3\n[load.classes.WebUser]\n'
                        'weight = 1\n')
    out = tmp_path / "out"
    result = python_under_open_file_limit(20000, "-m", "harness", "run", str(scenario), "--out", str(out))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    # The fault proxy spreads its 1.5 million edge descriptors over processes; the service and Locust (one
    # process each here) still need a million each, and say how to spread them.
    assert len(lines) == 1 and "750,000 through the edge proxy" in lines[0] and "ulimit -n 1000512" in lines[0]
    assert "fault proxy processes" in lines[0] and "--workers N spreads it" in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_descriptor_need_counts_two_per_edge_user_and_spreads_over_processes() -> None:
    from harness.load.capacity import SLACK, descriptor_need

    scenario = parse_scenario({"load": {"users": 1000, "mobile_network": "4g",
                                        "classes": {"MobileUser": {"weight": 3}, "WebUser": {"weight": 1}}}})
    assert descriptor_need(scenario).per_process == 1500 + SLACK
    direct = parse_scenario({"load": {"users": 20000}, "service": {"workers": 2}})
    assert descriptor_need(direct, workers=2).per_process == 10000 + SLACK


PLAN_20000 = """
from harness.load.capacity import plan_descriptors
from harness.scenario import parse_scenario

# 20,000 users, 15,000 through the edge (30,000 descriptors there), Locust and the service spread over two.
scenario = parse_scenario({"load": {"users": 20000, "mobile_network": "4g",
                                    "classes": {"MobileUser": {"weight": 3}, "WebUser": {"weight": 1}}},
                           "service": {"workers": 2}})
for embedded in (True, False):
    plan = plan_descriptors(scenario, workers=2, embedded_proxy=embedded)
    print(plan.proxy_processes, plan.refusal)
"""


def test_the_embedded_fault_proxy_is_spread_over_as_many_processes_as_the_edge_needs_under_the_limit() -> None:
    # In a process whose open-file limit is 20,000, soft and hard (this machine's): nothing can raise it.
    result = python_under_open_file_limit(20000, "-c", PLAN_20000)
    if result.returncode != 0 and "ulimit" in result.stderr:
        pytest.skip(f"cannot set an open-file limit of 20,000 here: {result.stderr.strip()}")
    embedded, external = result.stdout.strip().splitlines()
    assert embedded == "2 None"   # 15,000 + 512 descriptors in each of two fault proxy processes
    assert external.startswith("1 load: 20,000 concurrent users") and "30,512 open files" in external


def test_load_breaking_point_is_the_lowest_load_that_fails_at_each_latency() -> None:
    from harness.experiment.sweep import load_break_lines, load_breaking_points

    rows = [{"variant": "fixed", "latency_ms": 0, "users": None, "arrival_rate": rate, "verdict": verdict}
            for rate, verdict in ((50, "pass"), (100, "inconclusive"), (200, "fail"), (400, "fail"))]
    points = load_breaking_points(rows)
    assert points["fixed @ 0 ms"]["breaks_at"] == 200 and points["fixed @ 0 ms"]["passes_up_to"] == 50
    assert load_break_lines({"load_breaking_points": points}) == [
        "fixed @ 0 ms: breaks at 200 flows/s (passes up to 50); inconclusive at 100 flows/s"]
    assert load_breaking_points([{**rows[0], "arrival_rate": None}]) == {}


OPEN_SWEEP = f"""
[scenario]
name = "open-sweep"
[load]
locustfile = "{SCENARIOS / 'login_users.py'}"
arrival_rate = 1
arrivals = "even"
max_in_flight = 12
arrival_timeout = "2s"
[load.classes.WebUser]
weight = 1
[variants.fixed]
profile = "fixed"
expect = "pass"
"""


@pytest.mark.judged
@pytest.mark.slow
def test_an_arrival_rate_sweep_reports_the_breaking_point_in_load(tmp_path: Path) -> None:
    """Redis 300 ms slower on every call, twelve slots: 2 flows/s evenly spaced fit, 40 flows/s cannot start.

    The margins hold on a busy machine. A login flow makes at least two Redis round trips (session write,
    then the /me read), so a slot is busy for at least 0.6 s however fast the machine is: twelve slots start
    at most 20 flows/s, and the rest of the 40/s arrivals cannot start (93 of 204 here at load 6.5, the only
    error). At 2 flows/s the slots only fill if a flow takes 6 s; the slowest took 1.8 s at load 6.5 (the
    former six slots filled at 3 s, which a machine at load 7-8 reached)."""
    scenario = tmp_path / "open-sweep.toml"
    scenario.write_text(OPEN_SWEEP)
    result = subprocess.run([sys.executable, "-m", "harness", "sweep", str(scenario), "--latency", "300",
                             "--arrival-rate", "2,40", "--duration", "8s", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-2000:]
    sweep_dir = next(tmp_path.glob("sweep-open-sweep-*"))
    summary = json.loads((sweep_dir / "sweep.json").read_text())
    by_rate = {r["arrival_rate"]: r for r in summary["levels"]}
    assert by_rate[2]["verdict"] != "fail" and by_rate[40]["verdict"] == "fail"
    assert by_rate[40]["main_error"] == "not_started"
    assert summary["load_breaking_points"]["fixed @ 300 ms"]["breaks_at"] == 40
    assert "breaks at 40 flows/s" in (sweep_dir / "sweep.md").read_text()
    assert (sweep_dir / "load_response.png").stat().st_size > 10_000


@pytest.mark.judged
@pytest.mark.slow
def test_a_run_past_one_fault_proxy_process_limit_spreads_the_edge_over_processes_and_holds(tmp_path: Path) -> None:
    """Under an open-file limit of 1,024, 400 users, 300 of them through the edge (600 descriptors there, plus
    the 512 kept aside) do not fit one fault proxy process: the run starts it with two, says so once, every
    user logs in through them, and every process of the fault proxy is gone after the run. Each user logs in
    once (a wait near the service's 5 s keep-alive would add its real reuse race) and the target is 95%, so that
    a slow login on a busy machine cannot leave 400 flows undecided: the test is about the spreading."""
    wait = {"wait": [25, 35]}
    scenario = write_scenario(tmp_path, {
        "scenario": {"name": "spread"},
        "load": {"locustfile": LOGIN_USERS, "users": 400, "spawn_rate": 50, "duration": "10s",
                 "mobile_network": {"latency_ms": 20},
                 "classes": {"MobileUser": {"weight": 3, **wait}, "WebUser": {"weight": 1, **wait}}},
        "variants": {"fixed": {"profile": "fixed", "expect": "pass"}},
        "target": {"minimum": 0.95}}, name="spread.toml")
    out = tmp_path / "out"
    result = python_under_open_file_limit(1024, "-m", "harness", "run", str(scenario), "--out", str(out), timeout=300)
    if result.returncode != 0 and "ulimit" in result.stderr:
        pytest.skip(f"cannot set an open-file limit of 1,024 here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("fault proxy: 2 processes") == 1
    run_dir = next(out.iterdir())
    log = (run_dir / "logs" / "fixed" / "faultproxy.err").read_text()
    assert "harness.faultproxy[1]" in log and "harness.faultproxy[2]" not in log
    summary = json.loads((run_dir / "summary.json").read_text())["variants"]["fixed"]
    assert summary["target_flow"]["flows"] >= 400 and summary["verdict"] == "pass"   # every user logged in
    # Every process the fault proxy started is gone: none listens on the edge proxy's port any more.
    edge_ports = {int(line.rsplit(":", 1)[1].split(",")[0]) for line in log.splitlines()
                  if "proxy edge: listening on" in line}
    assert edge_ports and not [c for c in psutil.net_connections("tcp")
                               if c.status == psutil.CONN_LISTEN and c.laddr.port in edge_ports]
