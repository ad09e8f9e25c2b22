"""Each flag's bug and its fix under the Redis fault that exposes it: real Redis behind the real fault proxy.

Every test starts the buggy variant (one flag off, the rest of the fixed profile) and the fixed profile side by
side on the same proxied Redis, applies the fault, and drives both with the same concurrent calls. Bounds are
loose on the buggy side (the machine is shared) and strict where the fix's mechanism guarantees the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.pytest_plugin import FaultProxy, ProxiedRedis, toxic
from harness.stack import ServerProcess
from tests.authsvc.conftest import TEST_USERS
from tests.authsvc.helpers import Outcome, credentials, errors, login, login_then_me, metric, outcome_of, run_all
from tests.waiting import wait_until

Start = Callable[..., ServerProcess]
# Mobile-like Redis latency: 50..250 ms on the client->Redis direction, so commands can overtake each other.
JITTERY_LATENCY = {"latency": 150, "jitter": 100}


def _pair(auth_service: Start, flag: str, **extra: object) -> tuple[ServerProcess, ServerProcess]:
    buggy = auth_service(profile="fixed", flags={flag: False, **extra}, users=TEST_USERS)
    fixed = auth_service(profile="fixed", flags=extra, users=TEST_USERS)
    return buggy, fixed


def _flows(url: str, count: int) -> list[Outcome]:
    # Ten at a time: the race is between a login's write and its own /me, which must follow at once, as a
    # client's would; sixty at once would queue each /me behind the others on a busy 2-core machine.
    return run_all(url, [partial(login_then_me, index=i % TEST_USERS) for i in range(count)], concurrency=10)


@contextmanager
def _redis_down(proxy: ProxiedRedis) -> Iterator[Callable[[], None]]:
    """The Redis proxy disabled (Toxiproxy "down"); yields a function that brings it back early."""
    endpoint = f"{proxy.fault_proxy_url}/proxies/{proxy.name}"

    def up() -> None:
        httpx.post(endpoint, json={"enabled": True}).raise_for_status()

    httpx.post(endpoint, json={"enabled": False}).raise_for_status()
    try:
        yield up
    finally:
        up()


def test_await_session_write_off_loses_the_race_to_me_under_jittery_latency_on(
        auth_service: Start, fault_proxy: FaultProxy, proxied_redis: ProxiedRedis) -> None:
    buggy, fixed = _pair(auth_service, "await_session_write")
    with toxic(fault_proxy, proxied_redis, "latency", JITTERY_LATENCY, stream="upstream"):
        buggy_flows = _flows(buggy.url, 60)
        fixed_flows = _flows(fixed.url, 60)
    # Each /me overtakes its login's SET with a chance of about one half here.
    assert errors(buggy_flows).count("session_not_found") >= 5, errors(buggy_flows)
    assert errors(fixed_flows) == []


def test_redis_timeout_100ms_fails_logins_under_jittery_latency_and_500ms_does_not(
        auth_service: Start, fault_proxy: FaultProxy, proxied_redis: ProxiedRedis) -> None:
    short = auth_service(profile="fixed", flags={"redis_timeout_ms": 100, "retry_backoff": False}, users=TEST_USERS)
    fixed = auth_service(profile="fixed", flags={"retry_backoff": False}, users=TEST_USERS)
    with toxic(fault_proxy, proxied_redis, "latency", JITTERY_LATENCY, stream="upstream"):
        short_flows = _flows(short.url, 30)
        fixed_flows = _flows(fixed.url, 30)
    # Three writes in four take longer than 100 ms; they time out and the login says so (503, clear_errors on).
    assert errors(short_flows).count("unavailable") >= 5, errors(short_flows)
    assert errors(fixed_flows) == []


def test_buggy_profile_logs_and_counts_fire_and_forget_writes_that_time_out(
        auth_service: Start, fault_proxy: FaultProxy, proxied_redis: ProxiedRedis) -> None:
    buggy = auth_service(profile="buggy", users=TEST_USERS)
    with toxic(fault_proxy, proxied_redis, "latency", JITTERY_LATENCY, stream="upstream"):
        logins = run_all(buggy.url, [partial(login, index=i) for i in range(20)])
        assert all(o.ok for o in logins)  # the reply went out before the write was tried
        wait_until(lambda: metric(buggy.url, "authsvc_lost_session_writes_total") >= 5, 5,
                   "five lost session writes are counted", interval=0.05)
    assert "session write lost after the login reply was sent: TimeoutError" in buggy.process.stderr_path.read_text()


def test_retry_backoff_rides_out_a_short_redis_outage_that_fails_single_attempts(
        auth_service: Start, proxied_redis: ProxiedRedis) -> None:
    buggy, fixed = _pair(auth_service, "retry_backoff")

    async def login_through_an_outage(client: httpx.AsyncClient, index: int,
                                      bring_up: Callable[[], Awaitable[None]]) -> Outcome:
        # One login at a time, each with its own outage, ended as soon as the login's first attempt has
        # failed: its next attempts come 50-100 ms and then at least 150 ms later, so they find Redis back.
        # Ten logins in flight at once would need all ten first attempts inside that window, which a busy
        # machine does not give.
        async def retries() -> float:   # on the open client: a new connection per poll is slow on a busy machine
            text = (await client.get(f"{fixed.url}/metrics")).text
            return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
                       if sample.name == "authsvc_redis_retries_total" and sample.labels.get("op") == "session_write")

        before = await retries()
        task = asyncio.ensure_future(client.post(f"{fixed.url}/login", json=credentials(index)))
        while await retries() == before and not task.done():
            await asyncio.sleep(0.002)
        await bring_up()
        return outcome_of(await task)

    async def logins() -> tuple[list[Outcome], list[Outcome]]:
        buggy_logins, fixed_logins = [], []
        async with httpx.AsyncClient(timeout=10) as client:
            endpoint = f"{proxied_redis.fault_proxy_url}/proxies/{proxied_redis.name}"

            async def bring_up() -> None:
                (await client.post(endpoint, json={"enabled": True})).raise_for_status()

            for index in range(5):
                (await client.post(endpoint, json={"enabled": False})).raise_for_status()
                try:
                    buggy_logins.append(outcome_of(await client.post(f"{buggy.url}/login", json=credentials(index))))
                    fixed_logins.append(await login_through_an_outage(client, index, bring_up))
                finally:
                    await bring_up()
        return buggy_logins, fixed_logins

    buggy_logins, fixed_logins = asyncio.run(logins())
    assert errors(buggy_logins) == ["unavailable"] * 5
    assert errors(fixed_logins) == []
    assert metric(fixed.url, "authsvc_redis_retries_total", op="session_write") >= 5


def test_clear_errors_turns_a_redis_outage_into_503_with_retry_after_instead_of_a_generic_500(
        auth_service: Start, proxied_redis: ProxiedRedis) -> None:
    buggy, fixed = _pair(auth_service, "clear_errors")
    sessions = {svc.url: httpx.post(f"{svc.url}/login", json=credentials(1)).json()["session_id"]
                for svc in (buggy, fixed)}
    with _redis_down(proxied_redis):
        buggy_login = httpx.post(f"{buggy.url}/login", json=credentials(1))
        fixed_login = httpx.post(f"{fixed.url}/login", json=credentials(1))
        buggy_me = httpx.get(f"{buggy.url}/me", headers={"X-Session-ID": sessions[buggy.url]})
        fixed_me = httpx.get(f"{fixed.url}/me", headers={"X-Session-ID": sessions[fixed.url]})
        health = httpx.get(f"{fixed.url}/healthz")
    assert (buggy_login.status_code, buggy_login.json()) == (
        500, {"error": "session_creation_failed", "detail": "Session creation failed"})
    assert buggy_me.status_code == 500 and "retry-after" not in buggy_login.headers
    for response in (fixed_login, fixed_me, health):
        assert (response.status_code, response.json()["error"]) == (503, "unavailable")
        assert response.headers["retry-after"] == "1"
    assert metric(fixed.url, "authsvc_logins_total", outcome="unavailable") == 1
    assert metric(fixed.url, "authsvc_failures_total", endpoint="/login", reason="unavailable") == 1


def _refresh_race(url: str, refresh_token: str, callers: int) -> list[Outcome]:
    """`callers` refreshes of one token at once; then each caller that got a pair uses its new token once."""
    async def race() -> list[Outcome]:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            first = [outcome_of(r) for r in await asyncio.gather(
                *(client.post("/token/refresh", json={"refresh_token": refresh_token}) for _ in range(callers)))]
            final = []
            for outcome in first:  # one after another: only the first round races
                if not outcome.ok or outcome.body is None:
                    final.append(outcome)
                    continue
                again = await client.post("/token/refresh", json={"refresh_token": outcome.body["refresh_token"]})
                final.append(outcome_of(again))
            return first + final
    outcomes = asyncio.run(race())
    return outcomes


def test_refresh_lock_off_leaves_all_but_one_concurrent_refresher_with_invalid_token_and_on_none(
        auth_service: Start, fault_proxy: FaultProxy, proxied_redis: ProxiedRedis) -> None:
    buggy, fixed = _pair(auth_service, "refresh_lock")
    tokens = {svc.url: httpx.post(f"{svc.url}/login", json=credentials(7)).json()["refresh_token"]
              for svc in (buggy, fixed)}
    with toxic(fault_proxy, proxied_redis, "latency", {"latency": 50, "jitter": 30}, stream="upstream"):
        buggy_outcomes = _refresh_race(buggy.url, tokens[buggy.url], callers=8)
        fixed_outcomes = _refresh_race(fixed.url, tokens[fixed.url], callers=8)
    # Lost update: only the last successor written stays current, so at most one caller keeps a working pair.
    buggy_final = buggy_outcomes[8:]
    assert sum(o.ok for o in buggy_final) <= 1
    assert set(errors(buggy_final)) == {"invalid_token"}
    assert errors(fixed_outcomes) == []
    issued = {o.body["refresh_token"] for o in fixed_outcomes[:8] if o.body}
    assert len(issued) == 1  # rotated once: every concurrent caller got the same successor


def test_validation_cache_off_gives_a_401_storm_when_the_lookup_pool_runs_dry_and_on_does_not(
        auth_service: Start, fault_proxy: FaultProxy, proxied_redis: ProxiedRedis) -> None:
    buggy, fixed = _pair(auth_service, "validation_cache")
    tokens = {svc.url: [httpx.post(f"{svc.url}/login", json=credentials(i)).json()["access_token"]
                        for i in range(4)] for svc in (buggy, fixed)}

    def storm(url: str) -> list[Outcome]:
        async def check(client: httpx.AsyncClient, token: str) -> Outcome:
            return outcome_of(await client.get("/protected", headers={"Authorization": f"Bearer {token}"}))
        return run_all(url, [partial(check, token=tokens[url][i % 4]) for i in range(40)])

    # 40 checks at once, 4 pooled connections, each lookup held 100 ms by the latency, 100 ms pool wait.
    with toxic(fault_proxy, proxied_redis, "latency", {"latency": 100}, stream="upstream"):
        buggy_checks = storm(buggy.url)
        fixed_checks = storm(fixed.url)
    assert errors(buggy_checks).count("token_validation_timeout") >= 10, errors(buggy_checks)
    assert metric(buggy.url, "authsvc_validation_pool_exhausted_total") >= 10
    assert errors(fixed_checks) == []
    assert metric(fixed.url, "authsvc_token_validations_total", source="lookup") == 4  # one shared lookup per token


def test_validation_breaker_opens_after_five_failed_lookups_and_stops_calling_redis(
        auth_service: Start, proxied_redis: ProxiedRedis) -> None:
    fixed = auth_service(profile="fixed", users=TEST_USERS)
    tokens = [httpx.post(f"{fixed.url}/login", json=credentials(i)).json()["access_token"] for i in range(10)]
    with _redis_down(proxied_redis):
        checks = [httpx.get(f"{fixed.url}/protected", headers={"Authorization": f"Bearer {t}"}) for t in tokens]
    # Signature and expiry still checked; revocation is best effort while Redis is unreachable.
    assert [r.status_code for r in checks] == [200] * 10
    assert metric(fixed.url, "authsvc_token_validations_total", source="lookup_failed_accepted") == 5
    assert metric(fixed.url, "authsvc_token_validations_total", source="breaker_open") == 5
    assert metric(fixed.url, "authsvc_redis_errors_total", op="revocation_lookup") == 5
