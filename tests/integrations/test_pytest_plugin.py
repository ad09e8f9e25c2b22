"""The pytest plugin on real processes: fixtures, the toxic helper, a short real load, and clean-up on failure."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis

from harness.pytest_plugin import FaultProxy, ProxiedRedis, run_login_load, toxic
from harness.stack import ServerProcess, start_fault_proxy
from harness.stack.procs import pid_alive

pytest_plugins = ["pytester"]


@pytest.mark.judged
def test_with_redis_latency_200ms_the_fixed_login_flow_succeeds_at_least_99_percent(
        auth_service: Callable[..., ServerProcess], fault_proxy: FaultProxy, proxied_redis: ProxiedRedis,
        tmp_path: Path) -> None:
    service = auth_service(profile="fixed")
    with toxic(fault_proxy, proxied_redis, "latency", {"latency": 200}, stream="downstream"):
        result = run_login_load(service.url, users=100, duration_s=6, out_dir=tmp_path / "load")
    # Enough flows for the 99% bound to mean something: 100 users waiting on the latency, not on the CPU,
    # made 3,577 and 3,338 flows in 10 s on an idle machine.
    assert result.flows >= 400, result
    assert result.latency_p50_ms is not None and result.latency_p50_ms >= 200  # the latency was really there
    assert result.ci_low >= 0.99, result


def test_toxic_is_removed_when_the_block_raises(fault_proxy: FaultProxy, proxied_redis: ProxiedRedis) -> None:
    toxics_url = f"{fault_proxy.url}/proxies/{proxied_redis.name}/toxics"
    with pytest.raises(RuntimeError), toxic(fault_proxy, proxied_redis, "timeout", {"timeout": 0}) as name:
        assert [t["name"] for t in httpx.get(toxics_url).json()] == [name]
        raise RuntimeError("test body failed")
    assert httpx.get(toxics_url).json() == []


def test_proxied_redis_goes_through_the_proxy(fault_proxy: FaultProxy, proxied_redis: ProxiedRedis) -> None:
    client = redis.Redis.from_url(proxied_redis.url, socket_timeout=0.3)
    assert client.ping()
    with toxic(fault_proxy, proxied_redis, "timeout", {"timeout": 0}), pytest.raises(redis.RedisError):
        client.ping()
    client.close()


INNER_TEST = """
    import json, os
    from harness.pytest_plugin import toxic

    def test_fails_with_everything_running(auth_service, fault_proxy, proxied_redis, redis_server):
        service = auth_service(profile="buggy")
        pids = [service.process.pid, redis_server.process.pid]
        if fault_proxy.process:
            pids.append(fault_proxy.process.pid)
        with open(os.environ["INNER_STATE"], "w") as out:
            json.dump({"pids": pids, "proxy": proxied_redis.name}, out)
        with toxic(fault_proxy, proxied_redis, "latency", {"latency": 1000}):
            assert False, "the test fails with a toxic in place"
"""


def run_failing_inner_test(pytester: pytest.Pytester, tmp_path: Path, *args: str) -> dict:
    state = tmp_path / "inner.json"
    os.environ["INNER_STATE"] = str(state)
    try:
        pytester.makepyfile(test_inner=textwrap.dedent(INNER_TEST))
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    finally:
        del os.environ["INNER_STATE"]
    result.assert_outcomes(failed=1)
    return json.loads(state.read_text())


def test_a_failing_test_leaves_no_process_behind(pytester: pytest.Pytester, tmp_path: Path) -> None:
    inner = run_failing_inner_test(pytester, tmp_path)
    assert len(inner["pids"]) == 3
    assert [pid for pid in inner["pids"] if pid_alive(pid)] == []


def test_a_failing_test_leaves_no_toxic_or_proxy_on_a_running_fault_proxy(pytester: pytest.Pytester,
                                                                            tmp_path: Path) -> None:
    shared = start_fault_proxy(tmp_path / "shared-proxy")
    try:
        inner = run_failing_inner_test(pytester, tmp_path, "--fault-proxy-url", shared.url)
        assert [pid for pid in inner["pids"] if pid_alive(pid)] == []
        assert httpx.get(f"{shared.url}/proxies").json() == {}  # the proxy and its toxic are gone
        assert inner["proxy"].startswith("redis-")
    finally:
        shared.stop()
