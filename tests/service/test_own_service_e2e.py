"""Your own service under test, end to end: a Flask service on real Redis, started by the harness (`command`)
or already running (`url`), judged before and after its fix under a real Redis latency toxic."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from harness.stack.procs import ManagedProcess, free_port
from tests.runs import assert_all_gone, read_records, started_pids
from tests.scenario_files import lasting
from tests.service.helpers import (
    APP,
    BUG_MS,
    COMMAND_SERVICE,
    DECLARATIVE_SERVICE,
    FIX_MS,
    LOAD,
    PYTHON,
    manifest_of,
    only_run_dir,
    run_harness,
    write_credentials,
    write_scenario,
)

pytestmark = pytest.mark.judged  # tests/conftest.py: real load held to a target, one at a time


def test_command_service_before_fails_after_passes_and_nothing_is_left(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = run_harness("run", str(write_scenario(tmp_path, COMMAND_SERVICE, lasting("8s"))), "--out", str(out),
                         "--until-decided", "--min-duration", "2s")
    run_dir = only_run_dir(out)
    manifest = manifest_of(run_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    # The buggy build is stopped as soon as it is decided; a pass is only judged at the maximum duration.
    assert {name: v["stopped"]["reason"] for name, v in manifest["variants"].items()} == {
        "before": "decided: fail", "after": "max duration"}
    for name, timeout in (("before", BUG_MS), ("after", FIX_MS)):
        service = manifest["variants"][name]["service"]
        assert service["kind"] == "command" and service["env"]["REDIS_TIMEOUT_MS"] == timeout
        assert service["url"].startswith("http://127.0.0.1:")
        assert (run_dir / "logs" / name / "service.err").exists()
    assert_all_gone(started_pids(manifest))


def start_session_app(tmp_path: Path, name: str, timeout_ms: str, redis_port: int) -> tuple[ManagedProcess, str]:
    """The service started by someone else (here, the test): on a port it bound itself, stopped by PID."""
    port_file = tmp_path / f"{name}.port"
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "REDIS_TIMEOUT_MS": timeout_ms}
    process = ManagedProcess(name, [PYTHON, str(APP), "--port", "0", "--port-file", str(port_file)],
                             tmp_path / "logs", env=env).start()
    try:
        process.wait_ready(port_file.exists, timeout=30)
    except BaseException:
        process.stop()
        raise
    return process, f"http://127.0.0.1:{port_file.read_text()}"


@pytest.fixture
def running_services(tmp_path: Path) -> Iterator[tuple[int, str, str]]:
    """Two running services, buggy and fixed, whose Redis is the `redis` proxy's fixed listen port."""
    redis_port = free_port()  # the proxy's address is configured outside the harness, as in docker-compose
    started = []
    try:
        for name, timeout_ms in (("buggy-app", BUG_MS), ("fixed-app", FIX_MS)):
            started.append(start_session_app(tmp_path, name, timeout_ms, redis_port))
        yield redis_port, started[0][1], started[1][1]
    finally:
        for process, _ in started:
            process.stop()


def test_url_service_is_judged_with_local_workers(tmp_path: Path, running_services: tuple[int, str, str]) -> None:
    redis_port, before_url, after_url = running_services
    url_services = {"redis": {"listen": f"127.0.0.1:{redis_port}"},
                    "variants": {"before": {"expect": "fail", "service": {"url": before_url}},
                                 "after": {"expect": "pass", "service": {"url": after_url, "ready": "/"}}}}
    out = tmp_path / "reports"
    result = run_harness("run", str(write_scenario(tmp_path, LOAD, url_services)), "--out", str(out),
                         "--workers", "2")
    manifest = manifest_of(only_run_dir(out))
    assert result.returncode == 0, result.stdout + result.stderr
    # the manifest's service entry carries every key of its model (command, cwd and env empty for a URL)
    assert [(v["service"]["kind"], v["service"]["url"], v["service"]["command"])
            for v in manifest["variants"].values()] == [("url", before_url, None), ("url", after_url, None)]
    names = [p["name"] for p in manifest["variants"]["after"]["processes"]]
    assert names[:2] == ["faultproxy", "redis"] and "service" not in names  # nothing started for the service
    assert len(names) == 2 + 1 + 2  # Locust master and two workers
    assert_all_gone(started_pids(manifest), timeout=5)


def test_declarative_flows_with_credentials_file_and_error_kind_rule(tmp_path: Path) -> None:
    write_credentials(tmp_path)
    out = tmp_path / "reports"
    result = run_harness("run", str(write_scenario(tmp_path, DECLARATIVE_SERVICE)), "--out",
                         str(out))
    run_dir = only_run_dir(out)
    assert result.returncode == 0, result.stdout + result.stderr
    rows, _ = read_records(run_dir)
    flows = rows[(rows.kind == "flow") & (rows.name == "login")]
    before, after = flows[flows.variant == "before"], flows[flows.variant == "after"]
    assert set(before[~before.success].error_kind) == {"timeout"}  # the rule, not the status alone
    assert after.success.all() and len(after) > 300
    assert {"/login", "/me"} <= set(rows[rows.kind == "request"].name)
    assert_all_gone(started_pids(manifest_of(run_dir)))


def test_redis_upstream_puts_an_existing_redis_behind_the_proxy(tmp_path: Path, redis_server) -> None:
    """The service's sessions land in the Redis the scenario names, through the `redis` proxy; the run writes
    nothing of its own there."""
    upstream = {"redis": {"upstream": redis_server.address}}
    out = tmp_path / "reports"
    result = run_harness("run", str(write_scenario(tmp_path, COMMAND_SERVICE, upstream, lasting("3s"))),
                         "--out", str(out), "--variants", "after")
    assert result.returncode in (0, 1), result.stderr  # 3 s: a verdict is not this test's point
    manifest = manifest_of(only_run_dir(out))
    assert "redis" not in [p["name"] for p in manifest["variants"]["after"]["processes"]]  # no throwaway Redis
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        keys = client.keys("*")
    finally:
        client.close()
    assert keys and all(key.startswith("session:") for key in keys)
