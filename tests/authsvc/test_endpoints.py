"""The auth service with no fault: endpoints, error bodies, security basics, flags and profiles."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import jwt
import pytest

from harness.authsvc import BUGGY, FIXED, resolve_flags
from harness.authsvc.server import build_settings
from harness.errors import BadInput
from harness.stack import RedisServer, ServerProcess, start_authsvc
from tests.authsvc.conftest import TEST_USERS
from tests.authsvc.helpers import credentials, metric


def _login(url: str, index: int = 1) -> dict[str, str]:
    response = httpx.post(f"{url}/login", json=credentials(index))
    assert response.status_code == 200, response.text
    return response.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_returns_the_contract_fields_and_me_accepts_header_or_cookie(plain_service: ServerProcess) -> None:
    url = plain_service.url
    body = _login(url)
    assert set(body) == {"session_id", "access_token", "refresh_token", "csrf_token", "expires_in"}
    assert httpx.get(f"{url}/me", headers={"X-Session-ID": body["session_id"]}).json() == {"user": "user1"}
    assert httpx.get(f"{url}/me", cookies={"session_id": body["session_id"]}).json() == {"user": "user1"}


def test_unknown_session_is_401_session_not_found(plain_service: ServerProcess) -> None:
    for session_id in ["x" * 43, "not-a-session", ""]:
        response = httpx.get(f"{plain_service.url}/me", headers={"X-Session-ID": session_id})
        assert (response.status_code, response.json()["error"]) == (401, "session_not_found")


def test_unknown_user_and_wrong_password_get_the_same_401(plain_service: ServerProcess) -> None:
    url = plain_service.url
    wrong = httpx.post(f"{url}/login", json={"username": "user1", "password": "nope"})
    unknown = httpx.post(f"{url}/login", json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"] == "invalid_credentials"


@pytest.mark.parametrize("content", ["", "{", "[]", "null", '{"username": 5}', '{"username": "user1"}',
                                     '{"username": "", "password": "x"}', '{"username": "u", "password": "\\u0000"}',
                                     '{"username": "user1", "password": "' + "p" * 2000 + '"}'])
def test_malformed_login_body_is_a_4xx_bad_request_never_a_500(plain_service: ServerProcess, content: str) -> None:
    response = httpx.post(f"{plain_service.url}/login", content=content,
                          headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"] in {"bad_request", "invalid_credentials"}
    assert response.json()["detail"]


def test_refresh_rotates_and_a_rotated_token_is_invalid_after_the_grace_window(tmp_path: Path) -> None:
    # A service with a 1 s grace window: within it the same successor is returned (fixed profile), after it 401.
    redis_server = RedisServer(log_dir=tmp_path).start()
    service = start_authsvc(redis_server.url, tmp_path, flags={"refresh_grace_s": "1", "access_ttl_s": "1"},
                            users=5)
    try:
        body = _login(service.url)
        first = httpx.post(f"{service.url}/token/refresh", json={"refresh_token": body["refresh_token"]})
        assert first.status_code == 200 and first.json()["refresh_token"] != body["refresh_token"]
        assert set(first.json()) == {"access_token", "refresh_token", "expires_in"}
        time.sleep(2.1)  # waits out the real grace window and the real 1 s access-token life
        again = httpx.post(f"{service.url}/token/refresh", json={"refresh_token": body["refresh_token"]})
        assert (again.status_code, again.json()["error"]) == (401, "invalid_token")
        expired = httpx.get(f"{service.url}/protected", headers=_bearer(first.json()["access_token"]))
        assert (expired.status_code, expired.json()["error"]) == (401, "invalid_token")
        # That reuse outside the grace window ended the family: the successor no longer rotates either.
        renewed = httpx.post(f"{service.url}/token/refresh", json={"refresh_token": first.json()["refresh_token"]})
        assert (renewed.status_code, renewed.json()["error"]) == (401, "invalid_token")
    finally:
        service.stop()
        redis_server.stop()


def test_protected_accepts_a_valid_jwt_and_rejects_tampered_or_foreign_ones(plain_service: ServerProcess) -> None:
    url = plain_service.url
    token = _login(url)["access_token"]
    assert httpx.get(f"{url}/protected", headers=_bearer(token)).json() == {"user": "user1"}
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged_payload = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "user0"}).encode()).rstrip(b"=")
    foreign = jwt.encode({**claims, "sub": "user0"}, "another-secret-of-32-bytes-length!", algorithm="HS256")
    unsigned = jwt.encode({**claims}, None, algorithm="none")
    for bad in [f"{header}.{forged_payload.decode()}.{signature}", foreign, unsigned, token[:-2], "junk"]:
        response = httpx.get(f"{url}/protected", headers=_bearer(bad))
        assert (response.status_code, response.json()["error"]) == (401, "invalid_token"), bad
    assert httpx.get(f"{url}/protected").json()["error"] == "invalid_token"


def test_logout_ends_the_session_and_revokes_its_access_tokens(plain_service: ServerProcess) -> None:
    url = plain_service.url
    body = _login(url, 2)
    assert httpx.get(f"{url}/protected", headers=_bearer(body["access_token"])).status_code == 200
    cookie_only = httpx.post(f"{url}/logout", cookies={"session_id": body["session_id"]})
    assert (cookie_only.status_code, cookie_only.json()["error"]) == (403, "csrf_failed")
    done = httpx.post(f"{url}/logout", cookies={"session_id": body["session_id"]},
                      headers={"X-CSRF-Token": body["csrf_token"]})
    assert done.json() == {"logged_out": True}
    assert httpx.get(f"{url}/me", headers={"X-Session-ID": body["session_id"]}).json()["error"] == "session_not_found"
    assert httpx.get(f"{url}/protected", headers=_bearer(body["access_token"])).json()["error"] == "invalid_token"
    refresh = httpx.post(f"{url}/token/refresh", json={"refresh_token": body["refresh_token"]})
    assert refresh.json()["error"] == "invalid_token"


def test_healthz_and_config_expose_the_resolved_flags_and_metrics_count_logins(plain_service: ServerProcess) -> None:
    url = plain_service.url
    health = httpx.get(f"{url}/healthz").json()
    assert health["status"] == "ok" and health["profile"] == "fixed" and health["users"] == TEST_USERS
    assert health["flags"] == FIXED.as_dict() == httpx.get(f"{url}/config").json()["flags"]
    before = metric(url, "authsvc_logins_total", outcome="ok")
    _login(url)
    assert metric(url, "authsvc_logins_total", outcome="ok") == before + 1
    text = httpx.get(f"{url}/metrics").text
    for family in ["authsvc_failures_total", "authsvc_redis_call_seconds_bucket", "authsvc_redis_retries",
                   "authsvc_validation_pool_wait_seconds"]:
        assert family in text


def test_session_ids_tokens_and_passwords_never_reach_the_logs(plain_service: ServerProcess) -> None:
    url = plain_service.url
    body = _login(url, 3)
    secrets_seen = [body["session_id"], body["refresh_token"], body["access_token"], body["csrf_token"],
                    credentials(3)["password"]]
    httpx.get(f"{url}/me", headers={"X-Session-ID": body["session_id"]})
    httpx.post(f"{url}/token/refresh", json={"refresh_token": body["refresh_token"]})
    httpx.post(f"{url}/logout", headers={"X-Session-ID": body["session_id"]})
    logs = plain_service.process.stdout_path.read_text() + plain_service.process.stderr_path.read_text()
    assert "authsvc on http://" in logs  # the log is really there
    for secret in secrets_seen:
        assert secret not in logs


def test_profiles_match_the_design_table() -> None:
    assert (BUGGY.await_session_write, BUGGY.redis_timeout_ms, BUGGY.retry_backoff, BUGGY.refresh_lock,
            BUGGY.validation_cache, BUGGY.clear_errors) == (False, 100, False, False, False, False)
    assert (FIXED.await_session_write, FIXED.redis_timeout_ms, FIXED.retry_backoff, FIXED.refresh_lock,
            FIXED.validation_cache, FIXED.clear_errors) == (True, 500, True, True, True, True)
    flags = resolve_flags("buggy", ["refresh_lock=on", "redis_timeout_ms=250"])
    assert flags.refresh_lock is True and flags.redis_timeout_ms == 250 and flags.clear_errors is False


@pytest.mark.parametrize(("override", "message"), [
    ("nope=1", "--flag nope: unknown flag; allowed: await_session_write"),
    ("refresh_lock=maybe", "--flag refresh_lock: 'maybe' is not a boolean"),
    ("redis_timeout_ms=0", "--flag redis_timeout_ms: '0' is not valid; allowed: an integer from 1"),
    ("bcrypt_cost=3", "--flag bcrypt_cost: '3' is not valid; allowed: an integer from 4 to 16"),
    ("refresh_lock", "--flag refresh_lock: expected NAME=VALUE"),
])
def test_a_bad_flag_is_a_one_line_bad_input_before_anything_starts(override: str, message: str) -> None:
    with pytest.raises(BadInput, match="^" + message.replace("(", r"\(")):
        build_settings("redis://127.0.0.1:1/0", "fixed", [override], users=1)


@pytest.mark.parametrize("workers", [1, 2])
def test_serves_on_a_port_it_picked_counts_across_workers_and_exits_0_on_sigterm(tmp_path: Path, workers: int) -> None:
    redis_server = RedisServer(log_dir=tmp_path).start()
    service = start_authsvc(redis_server.url, tmp_path, users=5, workers=workers)
    try:
        assert service.port > 0
        for _ in range(6):
            _login(service.url)
        # With several workers each answers part of the logins; /metrics merges them all.
        assert metric(service.url, "authsvc_logins_total", outcome="ok") == 6
    finally:
        code = service.stop()
        redis_server.stop()
    assert code == 0
