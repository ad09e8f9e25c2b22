"""The HTTP API: Toxiproxy's JSON shapes, defaults, status codes and error messages; bad input never kills it."""

from __future__ import annotations

import contextlib
import socket

import pytest

from harness.stack import RedisServer
from tests.faultproxy.helpers import ProxyApi, connect, timed_ping
from tests.waiting import wait_until


def _error(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    return body["error"]


def test_create_proxy_answers_201_with_the_real_port(api: ProxyApi, redis_server: RedisServer) -> None:
    """listen 127.0.0.1:0 picks a free port; the answer and every later GET show the real one."""
    response = api.http.post("/proxies", json={"name": "r", "listen": "127.0.0.1:0",
                                               "upstream": redis_server.address})
    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["name", "listen", "upstream", "enabled", "toxics"]
    assert body["name"] == "r" and body["upstream"] == redis_server.address
    assert body["enabled"] is True and body["toxics"] == []
    host, port = body["listen"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert api.http.get("/proxies/r").json() == body
    assert api.http.get("/proxies").json() == {"r": body}


def test_listen_defaults_to_a_free_loopback_port(api: ProxyApi, redis_server: RedisServer) -> None:
    body = api.create("r", redis_server.address)
    assert body["listen"].startswith("127.0.0.1:") and not body["listen"].endswith(":0")


def test_create_disabled_proxy_does_not_listen(api: ProxyApi, redis_server: RedisServer) -> None:
    body = api.create("r", redis_server.address, enabled=False)
    assert body["enabled"] is False


def test_duplicate_proxy_is_409(api: ProxyApi, redis_server: RedisServer) -> None:
    api.create("r", redis_server.address)
    response = api.http.post("/proxies", json={"name": "r", "upstream": redis_server.address})
    assert _error(response, 409) == "proxy already exists"


@pytest.mark.parametrize(("body", "message"), [
    ({"upstream": "127.0.0.1:1"}, "missing required field: name"),
    ({"name": "x"}, "missing required field: upstream"),
    ({"name": "", "upstream": "127.0.0.1:1"}, "missing required field: name"),
])
def test_missing_proxy_fields_are_400(api: ProxyApi, body: dict, message: str) -> None:
    assert _error(api.http.post("/proxies", json=body), 400) == message


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "upstream": "127.0.0.1:1", "listen": "nowhere"}, "listen"),
    ({"name": "x", "upstream": "127.0.0.1:1", "listen": "127.0.0.1:\u00b2"}, "listen"),
    ({"name": "x", "upstream": "127.0.0.1:1", "listen": "a..b:80"}, "listen"),
    ({"name": 5, "upstream": "127.0.0.1:1"}, "name"),
    ({"name": "x", "upstream": "127.0.0.1:1", "enabled": "yes"}, "enabled"),
])
def test_bad_proxy_fields_are_400_naming_the_field(api: ProxyApi, body: dict, field: str) -> None:
    message = _error(api.http.post("/proxies", json=body), 400)
    assert message.startswith("bad request body: ") and field in message


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b"[" * 5000 + b"]" * 5000])
def test_malformed_body_is_400(api: ProxyApi, raw: bytes) -> None:
    response = api.http.post("/proxies", content=raw, headers={"content-type": "application/json"})
    assert _error(response, 400).startswith("bad request body")


def test_listen_address_in_use_is_500_and_the_server_stays_up(api: ProxyApi, redis_server: RedisServer) -> None:
    """Like Toxiproxy: the bind error as a 500, the proxy not created, the server still answering."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        response = api.http.post("/proxies", json={"name": "r", "listen": address, "upstream": redis_server.address})
        message = _error(response, 500)
    assert message.startswith(f"listen tcp {address}: bind: ") and "in use" in message
    assert _error(api.http.get("/proxies/r"), 404) == "proxy not found"
    assert api.http.get("/version").status_code == 200


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/proxies/ghost"), ("POST", "/proxies/ghost"), ("PATCH", "/proxies/ghost"),
    ("DELETE", "/proxies/ghost"), ("GET", "/proxies/ghost/toxics"), ("POST", "/proxies/ghost/toxics"),
    ("GET", "/proxies/ghost/toxics/t"), ("POST", "/proxies/ghost/toxics/t"), ("DELETE", "/proxies/ghost/toxics/t"),
])
def test_unknown_proxy_is_404(api: ProxyApi, method: str, path: str) -> None:
    response = api.http.request(method, path, json={} if method in ("POST", "PATCH") else None)
    assert _error(response, 404) == "proxy not found"


def test_delete_proxy_is_204_and_closes_its_port(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    response = api.http.delete("/proxies/redis")
    assert response.status_code == 204 and response.content == b""
    with pytest.raises(ConnectionRefusedError):
        connect(redis_proxy)


def test_update_proxy_moves_the_listener(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """POST (or PATCH) /proxies/{name} with a new listen address listens there instead."""
    response = api.http.patch("/proxies/redis", json={"listen": "127.0.0.1:0"})
    assert response.status_code == 200
    new_address = api.address("redis")
    assert new_address != redis_proxy
    with connect(new_address) as sock:
        timed_ping(sock)


def test_create_toxic_answers_200_with_toxiproxy_defaults(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """Default stream downstream, name <type>_<stream>, toxicity 1.0; every attribute shown."""
    response = api.http.post("/proxies/redis/toxics", json={"type": "latency", "attributes": {"latency": 10}})
    assert response.status_code == 200
    assert response.json() == {"attributes": {"latency": 10, "jitter": 0}, "name": "latency_downstream",
                               "type": "latency", "stream": "downstream", "toxicity": 1.0}
    assert api.http.get("/proxies/redis/toxics/latency_downstream").json() == response.json()
    assert api.http.get("/proxies/redis/toxics").json() == [response.json()]


@pytest.mark.parametrize(("toxic_type", "attributes", "shown"), [
    ("latency", {"latency": 1}, {"latency": 1, "jitter": 0}),
    ("bandwidth", {"rate": 5}, {"rate": 5}),
    ("slow_close", {"delay": 5}, {"delay": 5}),
    ("timeout", {}, {"timeout": 0}),
    ("reset_peer", {}, {"timeout": 0}),
    ("slicer", {"average_size": 8}, {"average_size": 8, "size_variation": 0, "delay": 0}),
    ("limit_data", {"bytes": 9}, {"bytes": 9}),
])
def test_every_toxic_type_is_accepted(api: ProxyApi, redis_proxy: tuple[str, int], toxic_type: str,
                                      attributes: dict, shown: dict) -> None:
    response = api.http.post("/proxies/redis/toxics", json={"type": toxic_type, "stream": "upstream",
                                                            "attributes": attributes})
    assert response.status_code == 200, response.text
    assert response.json()["attributes"] == shown
    assert response.json()["name"] == f"{toxic_type}_upstream"


def test_toxics_list_upstream_first(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    api.add_toxic("redis", "latency", latency=1)
    api.add_toxic("redis", "latency", stream="upstream", latency=2)
    assert [t["stream"] for t in api.http.get("/proxies/redis").json()["toxics"]] == ["upstream", "downstream"]


def test_duplicate_toxic_is_409(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    api.add_toxic("redis", "latency", latency=1)
    response = api.http.post("/proxies/redis/toxics", json={"type": "latency", "attributes": {"latency": 2}})
    assert _error(response, 409) == "toxic already exists"


@pytest.mark.parametrize(("body", "message"), [
    ({"type": "teleport"}, "invalid toxic type"),
    ({}, "invalid toxic type"),
    ({"type": "latency", "stream": "sideways", "attributes": {"latency": 1}},
     "stream was invalid, can be either upstream or downstream"),
])
def test_bad_toxic_type_or_stream_is_400(api: ProxyApi, redis_proxy: tuple[str, int], body: dict,
                                         message: str) -> None:
    assert _error(api.http.post("/proxies/redis/toxics", json=body), 400) == message


@pytest.mark.parametrize(("body", "expected"), [
    ({"type": "latency", "attributes": {"latency": "slow"}}, "attributes.latency must be an integer"),
    ({"type": "latency", "attributes": {"latency": 10, "jitter": 1.5}}, "attributes.jitter must be an integer"),
    ({"type": "latency", "attributes": {"latency": 10**30}}, "attributes.latency must be between"),
    ({"type": "bandwidth", "attributes": {"rate": -1}}, "attributes.rate must be >= 0"),
    ({"type": "latency", "attributes": [1]}, "attributes must be a JSON object"),
    ({"type": "slicer", "attributes": {"average_size": 0}}, "attributes.average_size must be >= 1"),
    ({"type": "slicer", "attributes": {"average_size": 4, "size_variation": 4}}, "size_variation must be less"),
    ({"type": "slicer", "attributes": {"average_size": 4, "size_variation": -9}}, "must be >= 1"),
    ({"type": "latency", "toxicity": "high", "attributes": {"latency": 1}}, "toxicity must be a number"),
    ({"type": "latency", "name": 3, "attributes": {"latency": 1}}, "name must be a string"),
])
def test_bad_toxic_attributes_are_400_naming_the_field(api: ProxyApi, redis_proxy: tuple[str, int], body: dict,
                                                       expected: str) -> None:
    message = _error(api.http.post("/proxies/redis/toxics", json=body), 400)
    assert message.startswith("bad request body: ") and expected in message
    assert api.http.get("/proxies/redis/toxics").json() == []


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_toxic_is_404(api: ProxyApi, redis_proxy: tuple[str, int], method: str) -> None:
    response = api.http.request(method, "/proxies/redis/toxics/ghost", json={} if method == "POST" else None)
    assert _error(response, 404) == "toxic not found"


def test_update_toxic_merges_attributes_and_toxicity(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """Attributes given replace those set; others and the toxicity stay unless given."""
    api.add_toxic("redis", "latency", latency=100, jitter=10)
    response = api.http.post("/proxies/redis/toxics/latency_downstream", json={"attributes": {"latency": 5}})
    assert response.status_code == 200
    assert response.json()["attributes"] == {"latency": 5, "jitter": 10}
    response = api.http.patch("/proxies/redis/toxics/latency_downstream", json={"toxicity": 0.5})
    assert response.json()["toxicity"] == 0.5 and response.json()["attributes"]["latency"] == 5
    bad = api.http.post("/proxies/redis/toxics/latency_downstream", json={"attributes": {"jitter": "x"}})
    assert "attributes.jitter must be an integer" in _error(bad, 400)
    assert api.http.get("/proxies/redis/toxics/latency_downstream").json()["attributes"]["jitter"] == 10


def test_delete_toxic_is_204(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    api.add_toxic("redis", "latency", latency=1)
    response = api.http.delete("/proxies/redis/toxics/latency_downstream")
    assert response.status_code == 204 and response.content == b""
    assert api.http.get("/proxies/redis/toxics").json() == []


def test_populate_creates_keeps_and_replaces(api: ProxyApi, redis_server: RedisServer) -> None:
    """201 {"proxies": [...]}; an identical proxy is kept, a changed one replaced."""
    first = api.http.post("/populate", json=[{"name": "a", "upstream": redis_server.address},
                                             {"name": "b", "upstream": redis_server.address, "enabled": False}])
    assert first.status_code == 201
    proxies = {p["name"]: p for p in first.json()["proxies"]}
    assert proxies["a"]["enabled"] is True and proxies["b"]["enabled"] is False
    keep = api.http.post("/populate", json=[{"name": "a", "listen": proxies["a"]["listen"],
                                             "upstream": redis_server.address}])
    assert keep.json()["proxies"][0]["listen"] == proxies["a"]["listen"]
    assert set(api.http.get("/proxies").json()) == {"a", "b"}


@pytest.mark.parametrize(("body", "message"), [
    ({"name": "a"}, "bad request body: expected a JSON array of proxies, got an object"),
    ([{"name": "a", "upstream": "127.0.0.1:1"}, {"name": "b"}], "missing required field: upstream at proxy 2"),
    ([{"name": "a", "upstream": "127.0.0.1:1"}, {"name": "b", "upstream": "x", "listen": "bad"}],
     "bad request body: listen must be HOST:PORT, got 'bad'"),
])
def test_bad_populate_is_400_and_changes_nothing(api: ProxyApi, body: object, message: str) -> None:
    response = api.http.post("/populate", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": message, "status": 400, "proxies": None}
    assert api.http.get("/proxies").json() == {}


def test_reset_reenables_proxies_and_removes_toxics(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    api.add_toxic("redis", "latency", latency=500)
    api.http.post("/proxies/redis", json={"enabled": False})
    response = api.http.post("/reset")
    assert response.status_code == 204
    proxy = api.http.get("/proxies/redis").json()
    assert proxy["enabled"] is True and proxy["toxics"] == []
    with connect(redis_proxy) as sock:
        assert timed_ping(sock) < 400


def test_version_is_json(api: ProxyApi) -> None:
    response = api.http.get("/version")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["version"].startswith("2.")


def test_browsers_are_refused(api: ProxyApi) -> None:
    """As in Toxiproxy: a web page must not be able to reconfigure faults on localhost."""
    response = api.http.get("/proxies", headers={"user-agent": "Mozilla/5.0"})
    assert response.status_code == 403


def test_unknown_route_is_a_plain_404_as_gorilla_mux_answers(api: ProxyApi) -> None:
    response = api.http.get("/nothing-here")
    assert response.status_code == 404 and response.text == "404 page not found\n"


def test_upstream_refusing_closes_that_client_and_the_proxy_stays_up(api: ProxyApi, redis_server: RedisServer,
                                                                    proxy_server) -> None:
    """A client of a proxy whose upstream refuses is closed; the event is logged; other proxies still work."""
    with socket.socket() as closed_port:
        closed_port.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{closed_port.getsockname()[1]}"
    api.create("dead", dead)
    api.create("live", redis_server.address)
    with connect(api.address("dead")) as sock:
        sock.sendall(b"PING\r\n")
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(100) == b""
    wait_until(lambda: f"cannot connect to upstream {dead}" in proxy_server.process.stderr_path.read_text())
    with connect(api.address("live")) as sock:
        timed_ping(sock)
    assert api.http.get("/proxies/dead").json()["enabled"] is True
