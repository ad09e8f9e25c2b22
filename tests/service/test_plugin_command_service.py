"""The pytest plugin's `command_service` fixture: a team's own service behind `proxied_redis`, held to the 99%
target under a real Redis latency toxic, in the team's own test suite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.pytest_plugin import FaultProxy, ProxiedRedis, run_flows_load, run_login_load, toxic
from harness.stack import ServerProcess
from tests.service.helpers import APP, BUG_MS, FIX_MS, PYTHON, USERS


def start_app(command_service: Callable[..., ServerProcess], timeout_ms: str) -> ServerProcess:
    return command_service(f"{PYTHON} {APP} --host {{host}} --port {{port}}",
                           env={"REDIS_URL": "{redis_url}", "REDIS_TIMEOUT_MS": timeout_ms})


@pytest.mark.parametrize(("timeout_ms", "passes"), [(FIX_MS, True), (BUG_MS, False)])
def test_own_service_meets_the_target_under_redis_latency_only_when_fixed(
        command_service: Callable[..., ServerProcess], fault_proxy: FaultProxy, proxied_redis: ProxiedRedis,
        tmp_path: Path, timeout_ms: str, passes: bool) -> None:
    service = start_app(command_service, timeout_ms)
    with toxic(fault_proxy, proxied_redis, "latency", {"latency": 60}, stream="upstream"):
        result = run_login_load(service.url, users=30, duration_s=6, locustfile=USERS, out_dir=tmp_path / "load")
    if passes:
        assert result.flows >= 300 and result.successes == result.flows, result
    else:
        assert result.ci_high < 0.99 and set(result.error_kinds) == {"server_error"}, result


def test_service_group_is_stopped_after_the_test(command_service: Callable[..., ServerProcess]) -> None:
    service = start_app(command_service, FIX_MS)
    assert service.process.alive()
    service.stop()
    assert not service.process.group_alive()


def test_unknown_placeholder_is_bad_input(command_service: Callable[..., ServerProcess]) -> None:
    with pytest.raises(BadInput, match=r"command_service: command: unknown placeholder \{prot\}"):
        command_service(["serve", "--port", "{prot}"])


LOGIN_THEN_ME = [{"name": "login", "wait": [0.0, 0.05], "steps": [
    {"method": "POST", "path": "/login", "json": {"username": "{username}", "password": "{password}"},
     "capture": {"session": "json:session_id"}},
    {"path": "/me", "headers": {"X-Session-ID": "{session}"}}]}]


def test_own_service_with_declarative_flows_meets_the_target_under_redis_latency(
        command_service: Callable[..., ServerProcess], fault_proxy: FaultProxy, proxied_redis: ProxiedRedis,
        tmp_path: Path) -> None:
    service = start_app(command_service, FIX_MS)
    with toxic(fault_proxy, proxied_redis, "latency", {"latency": 60}, stream="upstream"):
        result = run_flows_load(service.url, LOGIN_THEN_ME, users=30, duration_s=6, out_dir=tmp_path / "load",
                                credentials={"username": "user{n}", "password": "pass-user{n}", "count": 100})
    assert result.flows >= 300 and result.successes == result.flows, result


def test_a_hurried_stop_still_stops_the_whole_group(command_service: Callable[..., ServerProcess]) -> None:
    """A second Ctrl-C stops with a short timeout: the service's own child must not survive it."""
    service = command_service(["sh", "-c", f"sleep 600 & exec {PYTHON} {APP} --host {{host}} --port {{port}}"],
                              env={"REDIS_URL": "{redis_url}"})
    assert len(service.process.group_alive()) >= 2  # the service and its sleep
    service.process.stop(timeout=0.5)
    assert not service.process.group_alive()
