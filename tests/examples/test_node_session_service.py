"""The Node example on real Redis behind the real fault proxy: its API, its clean exit, and the first incident.

The incident's mechanism is shown directly: under a jittery latency on the service->Redis direction, a login whose
session write is not awaited can be followed by a /me whose GET (on another pooled Redis connection) reaches Redis
first, and answers 401 SESSION_NOT_FOUND; with the fix (write awaited, 500 ms timeout) that never happens.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import httpx

from harness.pytest_plugin import FaultProxy, ProxiedRedis, toxic
from tests.examples.node_service import BUGGY, FIXED, NodeService
from tests.waiting import wait_until

Start = Callable[..., NodeService]
# 0..200 ms on the service->Redis direction: commands on different connections can overtake each other. The
# spread is wide so that the race does not hang on how fast the test's own client sends /me on a busy machine.
JITTERY_LATENCY = {"latency": 100, "jitter": 100}
SEEDED_USERS = 20


def credentials(index: int) -> dict[str, str]:
    return {"username": f"user{index}", "password": f"pass-user{index}"}


def outcome(response: httpx.Response) -> str:
    """'ok', or the service's error code (SESSION_NOT_FOUND, SESSION_STORE_UNAVAILABLE, ...)."""
    if response.is_success:
        return "ok"
    return str(response.json().get("code", f"http_{response.status_code}"))


async def _login_then_me(client: httpx.AsyncClient, index: int) -> str:
    login = await client.post("/login", json=credentials(index % SEEDED_USERS))
    if not login.is_success:
        return outcome(login)
    me = await client.get("/me", headers={"X-Session-ID": login.json()["session_id"]})
    return outcome(me)


def login_flows(url: str, count: int, concurrency: int = 10) -> list[str]:
    """`count` login-then-/me flows, `concurrency` at a time, each /me sent the moment its login answers."""
    async def main() -> list[str]:
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            async def one(index: int) -> str:
                async with gate:
                    return await _login_then_me(client, index)
            return list(await asyncio.gather(*(one(i) for i in range(count))))
    return asyncio.run(main())


def failures(outcomes: list[str]) -> list[str]:
    return [o for o in outcomes if o != "ok"]


def test_login_me_logout_with_the_header_and_with_the_cookie(node_service: Start) -> None:
    service = node_service(FIXED)
    with httpx.Client(base_url=service.url, timeout=10) as client:
        login = client.post("/login", json=credentials(3))
        assert login.status_code == 200 and login.json()["username"] == "user3"
        session_id = login.json()["session_id"]
        assert client.cookies["sid"] == session_id
        assert client.get("/me", headers={"X-Session-ID": session_id}).json()["username"] == "user3"
        assert client.get("/me").json()["username"] == "user3"  # the cookie alone, as a browser would
        assert client.post("/logout").status_code == 204
        gone = httpx.get(f"{service.url}/me", headers={"X-Session-ID": session_id})
    assert (gone.status_code, gone.json()) == (401, {"code": "SESSION_NOT_FOUND",
                                                     "message": "Session expired. Please try again."})


def test_sign_up_then_log_in_with_a_form(node_service: Start) -> None:
    service = node_service(FIXED)
    new = {"username": "ada", "password": "correct horse"}
    assert httpx.post(f"{service.url}/signup", json=new).status_code == 201
    assert httpx.post(f"{service.url}/signup", json=new).status_code == 409
    assert httpx.post(f"{service.url}/login", data=new).status_code == 200
    wrong = httpx.post(f"{service.url}/login", json={**new, "password": "wrong"})
    assert (wrong.status_code, wrong.json()["code"]) == (401, "INVALID_CREDENTIALS")


def test_bad_requests_get_one_clear_answer_and_the_service_keeps_serving(node_service: Start) -> None:
    service = node_service(FIXED)
    url = service.url
    cases = [
        (httpx.post(f"{url}/login", content=b"{not json", headers={"Content-Type": "application/json"}), 400),
        (httpx.post(f"{url}/login", json=["user0"]), 400),
        (httpx.post(f"{url}/login", json={"username": 1, "password": "x"}), 400),
        (httpx.post(f"{url}/login", content=b"x" * 20000, headers={"Content-Type": "application/json"}), 413),
        (httpx.post(f"{url}/login", content=b"a", headers={"Content-Type": "text/plain"}), 415),
        (httpx.post(f"{url}/signup", json={"username": "bad name!", "password": "x"}), 400),
        (httpx.get(f"{url}/login"), 405),
        (httpx.get(f"{url}/nope"), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert set(response.json()) == {"code", "message"}
    assert httpx.get(f"{url}/login").headers["allow"] == "POST"
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}


def test_sigterm_stops_the_service_cleanly(node_service: Start) -> None:
    service = node_service(BUGGY)
    httpx.post(f"{service.url}/login", json=credentials(1)).raise_for_status()
    service.process.signal(signal.SIGTERM)
    assert service.process.popen is not None
    assert service.process.popen.wait(timeout=10) == 0
    assert "stopped" in service.process.stderr_path.read_text()


def test_unawaited_session_write_loses_the_race_to_me_under_jittery_redis_latency_and_the_fix_never_does(
        node_service: Start, fault_proxy: FaultProxy, proxied_redis: ProxiedRedis) -> None:
    buggy = node_service(BUGGY)
    fixed = node_service(FIXED)
    with toxic(fault_proxy, proxied_redis, "latency", JITTERY_LATENCY, stream="upstream"):
        buggy_flows = login_flows(buggy.url, 80)
        fixed_flows = login_flows(fixed.url, 80)
    # Half the GETs wait under 100 ms (the rest time out: 503), and most of those overtake their login's SET, which
    # waits up to 200 ms: about one flow in four ends in SESSION_NOT_FOUND here; 5 of 80 is a loose floor.
    assert failures(buggy_flows).count("SESSION_NOT_FOUND") >= 5, failures(buggy_flows)
    assert failures(fixed_flows) == []


def test_a_session_that_was_not_found_yet_is_found_once_its_write_lands(
        node_service: Start, fault_proxy: FaultProxy, proxied_redis: ProxiedRedis) -> None:
    buggy = node_service(BUGGY)
    with httpx.Client(base_url=buggy.url, timeout=10) as client:
        # Only requests toward Redis are delayed, and by at least 150 ms: the login answers before its SET lands.
        with toxic(fault_proxy, proxied_redis, "latency", {"latency": 150, "jitter": 0}, stream="upstream"):
            session_id = client.post("/login", json=credentials(2)).json()["session_id"]
        # With the toxic gone the GET goes at once, while the SET may still wait on its own connection.
        wait_until(lambda: outcome(client.get("/me", headers={"X-Session-ID": session_id})) == "ok", 5,
                   "the fire-and-forget write lands", interval=0.05)


def test_the_100ms_timeout_logs_a_lost_write_when_unawaited_and_fails_the_login_when_awaited(
        node_service: Start, fault_proxy: FaultProxy, proxied_redis: ProxiedRedis) -> None:
    buggy = node_service(BUGGY)
    awaited_short = node_service({"AWAIT_SESSION_WRITE": "1"})
    fixed = node_service(FIXED)
    # Every command waits at least 150 ms for Redis: longer than 100 ms, well within 500 ms.
    with toxic(fault_proxy, proxied_redis, "latency", {"latency": 150, "jitter": 0}, stream="upstream"):
        buggy_logins = [httpx.post(f"{buggy.url}/login", json=credentials(i), timeout=10) for i in range(3)]
        short_logins = [httpx.post(f"{awaited_short.url}/login", json=credentials(i), timeout=10) for i in range(3)]
        fixed_logins = [httpx.post(f"{fixed.url}/login", json=credentials(i), timeout=10) for i in range(3)]
    assert [r.status_code for r in buggy_logins] == [200] * 3  # the reply went out before the write was tried
    assert "session write failed after the login reply was sent: SET session got no reply from Redis within 100 ms" \
        in buggy.process.stderr_path.read_text()
    assert [(r.status_code, r.json()["code"]) for r in short_logins] == [(503, "SESSION_STORE_UNAVAILABLE")] * 3
    assert short_logins[0].headers["retry-after"] == "1"
    assert [r.status_code for r in fixed_logins] == [200] * 3
