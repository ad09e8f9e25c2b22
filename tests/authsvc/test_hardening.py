"""Findings of the fuzzing issue (#16) on the auth service, each reproduced: junk never becomes a Redis key,
header sizes are bounded, logout ends the whole token family, a reused rotated refresh token ends its
family, and a body that is not UTF-8 gets the 422 /openapi.json lists."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from harness.authsvc.limits import MAX_HEADER_BYTES
from harness.stack import RedisServer, ServerProcess, start_authsvc
from tests.authsvc.helpers import credentials
from tests.waiting import wait_until

GRACE_S = 1  # a short real grace window, so the tests can step outside it


@dataclass
class Stack:
    service: ServerProcess
    redis: redis.Redis

    @property
    def url(self) -> str:
        return self.service.url


def _start(tmp_path: Path, profile: str) -> Iterator[Stack]:
    redis_server = RedisServer(log_dir=tmp_path).start()
    service = start_authsvc(redis_server.url, tmp_path, profile=profile, users=5,
                            flags={"refresh_grace_s": str(GRACE_S)})
    client = redis.Redis.from_url(redis_server.url)
    try:
        yield Stack(service, client)
    finally:
        client.close()
        service.stop()
        redis_server.stop()


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _start(tmp_path_factory.mktemp("fixed"), "fixed")


@pytest.fixture(scope="module")
def buggy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from _start(tmp_path_factory.mktemp("buggy"), "buggy")


def login(stack: Stack, index: int = 1) -> dict[str, str]:
    """Log in and wait for the session's write (the buggy profile answers before it lands, by design)."""
    response = httpx.post(f"{stack.url}/login", json=credentials(index))
    assert response.status_code == 200, response.text
    body = response.json()
    wait_until(lambda: stack.redis.exists(f"rtcur:{body['session_id']}"), 10, "the session write lands",
               interval=0.01)
    return body


def refresh(url: str, token: str) -> httpx.Response:
    return httpx.post(f"{url}/token/refresh", json={"refresh_token": token})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for_grace_end(client: redis.Redis, timeout_s: float = 10.0) -> None:
    """Poll Redis until no grace-window successor is left (the real TTL ran out), never a fixed sleep."""
    wait_until(lambda: not client.keys("rtdone:*"), timeout_s, "the grace keys expire", interval=0.05)


@pytest.mark.parametrize("junk", ["junk", "x" * 42, "../../etc", "a" * 4000, "é" * 43])
def test_logout_with_a_value_not_shaped_like_a_session_id_is_401_and_writes_nothing(fixed: Stack, junk: str) -> None:
    before = set(fixed.redis.keys("*"))
    response = httpx.post(f"{fixed.url}/logout", headers={"X-Session-ID": junk.encode()})
    assert (response.status_code, response.json()["error"]) == (401, "session_not_found")
    assert set(fixed.redis.keys("*")) == before


def test_a_header_block_over_the_limit_is_431_and_the_service_keeps_serving(fixed: Stack) -> None:
    big = "a" * (MAX_HEADER_BYTES + 1)
    response = httpx.post(f"{fixed.url}/logout", headers={"X-Session-ID": big})
    assert (response.status_code, response.json()["error"]) == (431, "headers_too_large")
    assert httpx.get(f"{fixed.url}/config").status_code == 200


def test_a_megabyte_header_is_cut_off_before_it_is_all_read(fixed: Stack) -> None:
    # The head never completes, so only the protocol's cut-off can answer: without it recv() times out.
    with socket.create_connection((fixed.service.host, fixed.service.port), timeout=10) as sock:
        sock.sendall(b"POST /logout HTTP/1.1\r\nHost: x\r\nX-Session-ID: ")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(128):
                sock.sendall(b"a" * 8192)
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            answer = b"reset"  # closed with our bytes unread: the kernel may drop the 431 for a reset
    assert answer.startswith((b"HTTP/1.1 431", b"reset")), answer
    assert httpx.get(f"{fixed.url}/config").status_code == 200


def test_logout_ends_the_family_even_within_the_grace_window(fixed: Stack) -> None:
    url = fixed.url
    body = login(fixed)
    first = refresh(url, body["refresh_token"])
    assert first.status_code == 200
    assert httpx.post(f"{url}/logout", headers={"X-Session-ID": body["session_id"]}).status_code == 200
    for token in (body["refresh_token"], first.json()["refresh_token"]):  # rotated one (in grace) and current
        again = refresh(url, token)
        assert (again.status_code, again.json()["error"]) == (401, "invalid_token"), token
    for access in (body["access_token"], first.json()["access_token"]):
        assert httpx.get(f"{url}/protected", headers=bearer(access)).status_code == 401
    marker_ttl = fixed.redis.ttl(f"revoked:sid:{body['session_id']}")
    assert marker_ttl > 900  # outlives every access token issued before the logout (access_ttl_s is 900)


def test_within_the_grace_window_a_reused_token_still_gets_the_same_successor(fixed: Stack) -> None:
    body = login(fixed)
    first = refresh(fixed.url, body["refresh_token"])
    second = refresh(fixed.url, body["refresh_token"])
    assert first.status_code == second.status_code == 200
    assert first.json()["refresh_token"] == second.json()["refresh_token"]


def test_reusing_a_rotated_token_after_the_grace_window_ends_its_family(fixed: Stack) -> None:
    url = fixed.url
    body = login(fixed, 2)
    successor = refresh(url, body["refresh_token"]).json()
    wait_for_grace_end(fixed.redis)
    reused = refresh(url, body["refresh_token"])
    assert (reused.status_code, reused.json()["error"]) == (401, "invalid_token")
    assert "reused" in reused.json()["detail"]
    # The successor the thief (or the user) holds is dead, and so are the session and its access tokens.
    assert refresh(url, successor["refresh_token"]).json()["error"] == "invalid_token"
    assert httpx.get(f"{url}/me", headers={"X-Session-ID": body["session_id"]}).json()["error"] == "session_not_found"
    assert httpx.get(f"{url}/protected", headers=bearer(successor["access_token"])).status_code == 401


def test_without_the_grace_window_buggy_keeps_its_old_rotation_and_no_reuse_detection(buggy: Stack) -> None:
    # Reuse detection needs the grace window: without it, two tabs refreshing at once look like a theft.
    url = buggy.url
    body = login(buggy, 3)
    successor = refresh(url, body["refresh_token"]).json()
    assert refresh(url, body["refresh_token"]).json()["error"] == "invalid_token"
    assert refresh(url, successor["refresh_token"]).status_code == 200


def test_buggy_logout_also_ends_the_family(buggy: Stack) -> None:
    body = login(buggy, 4)
    assert httpx.post(f"{buggy.url}/logout", headers={"X-Session-ID": body["session_id"]}).status_code == 200
    assert refresh(buggy.url, body["refresh_token"]).json()["error"] == "invalid_token"


@pytest.mark.parametrize("path", ["/login", "/token/refresh"])
def test_a_body_that_is_not_utf8_is_the_listed_422(fixed: Stack, path: str) -> None:
    response = httpx.post(f"{fixed.url}{path}", content=b'{"username": "\xff\xfe", "password": "x"}',
                          headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]) == (422, "bad_request")
    listed = httpx.get(f"{fixed.url}/openapi.json").json()["paths"][path]["post"]["responses"]
    assert str(response.status_code) in listed
