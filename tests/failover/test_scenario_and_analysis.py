"""Fast checks: the failover parts of a scenario file, the service's --sentinel, and the sessions-lost count."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from harness.analysis.run_folder import FaultEvent
from harness.analysis.sessions_lost import failover_outcome
from harness.errors import ScenarioError
from harness.scenario import parse_scenario

SENTINEL = {"topology": "sentinel", "replicas": 2}


@pytest.mark.parametrize(("data", "expected"), [
    ({"faults": [{"action": "failover", "at": 5}]}, 'faults[0]: failover needs [redis] topology = "sentinel"'),
    ({"faults": [{"proxy": "replication-1", "type": "latency", "attributes": {"latency": 5}}]},
     "replication-1 needs [redis] topology"),
    ({"redis": SENTINEL, "faults": [{"action": "pause", "at": 5}]}, "a pause needs a duration"),
    ({"redis": SENTINEL, "faults": [{"action": "failover", "proxy": "edge"}]}, "leave proxy out"),
    ({"redis": SENTINEL, "faults": [{"action": "reboot"}]}, "faults[0].action: must be 'failover' or 'pause'"),
    ({"redis": SENTINEL, "faults": [{"proxy": "redis-replica-3", "down": True}]},
     "redis-replica-3 names a replica the topology lacks; allowed: 1 to [redis] replicas = 2"),
    ({"redis": {"topology": "cluster"}}, "redis.topology: must be 'single' or 'sentinel'"),
    ({"redis": {**SENTINEL, "down_after_ms": 10}}, "redis.down_after_ms"),
    ({"target": {"max_lost_sessions": -1}}, "target.max_lost_sessions"),
])
def test_bad_failover_scenario_is_one_clear_line(data: dict, expected: str) -> None:
    """Each mistake names the field and what is allowed, in one line."""
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "x.toml")
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_a_sentinel_scenario_parses() -> None:
    scenario = parse_scenario({"redis": SENTINEL, "faults": [
        {"action": "failover", "at": "15s", "duration": "10s"},
        {"proxy": "replication-2", "type": "latency", "attributes": {"latency": 250}}]})
    assert scenario.redis.down_after_ms == 1000 and scenario.faults[0].label == "redis primary stopped (failover)"


def test_authsvc_refuses_a_bad_sentinel_address() -> None:
    """--sentinel takes HOST:PORT; anything else is exit 2 and one line."""
    result = subprocess.run([sys.executable, "-m", "harness", "authsvc", "--redis-url", "redis://127.0.0.1:1/0",
                             "--port", "0", "--sentinel", "localhost"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--sentinel localhost: not an address" in result.stderr
    assert "Traceback" not in result.stderr


def rows(*records: tuple[float, str, str, bool, str]) -> pd.DataFrame:
    """(t, name, session, success, error_kind) flow rows, plus one failed /login request at 11 s."""
    frame = pd.DataFrame([{"t": t, "kind": "flow", "name": name, "session": session, "success": ok,
                           "error_kind": kind, "latency_ms": 10.0} for t, name, session, ok, kind in records])
    failed_login = {"t": 11.0, "kind": "request", "name": "/login", "session": "", "success": False,
                    "error_kind": "unavailable", "latency_ms": 500.0}
    return pd.concat([frame, pd.DataFrame([failed_login])], ignore_index=True)


def test_lost_sessions_count_only_sessions_handed_out_then_not_found() -> None:
    """A lost session logged in successfully first; a failed login's session or a 503 is not a loss."""
    frame = rows((1, "login", "a", True, ""), (2, "login", "b", True, ""), (3, "login", "c", False, "timeout"),
                 (12, "session", "a", False, "session_not_found"), (13, "session", "a", False, "session_not_found"),
                 (12, "session", "b", False, "unavailable"), (14, "session", "b", True, ""),
                 (12, "session", "c", False, "session_not_found"), (30, "login", "d", True, ""))
    events = [FaultEvent(t=10.0, variant="v", fault=0, label="failover", action="apply", type="failover")]
    outcome = failover_outcome("v", frame, events, "login", end_s=40.0, max_lost=0)
    assert outcome is not None
    assert (outcome.sessions_created, outcome.sessions_checked, outcome.sessions_lost) == (3, 2, 1)
    assert outcome.recovery_s == pytest.approx(1.5) and outcome.within_target is False


def test_logins_still_failing_at_the_end_did_not_recover() -> None:
    frame = rows((1, "login", "a", True, ""), (38, "login", "", False, "server_error"))
    events = [FaultEvent(t=10.0, variant="v", fault=0, label="failover", action="apply", type="failover")]
    outcome = failover_outcome("v", frame, events, "login", end_s=40.0, max_lost=None)
    assert outcome is not None and outcome.recovery_s is None and outcome.within_target is None


def test_sentinel_placeholders_need_the_sentinel_topology() -> None:
    command = {"command": "python app.py --port {port} --sentinels {sentinel_addresses}"}
    with pytest.raises(ScenarioError, match=r"\{sentinel_addresses\} and \{sentinel_master\} need \[redis\]"):
        parse_scenario({"service": command}, "x.toml")
    assert parse_scenario({"service": command, "redis": SENTINEL}).service.command[-1] == "{sentinel_addresses}"
