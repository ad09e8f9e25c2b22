"""Conformance with Toxiproxy 2.12's HTTP API: tables of requests replayed in order, each answer checked
byte for byte (status, body, content type) against what Toxiproxy's api.go, toxic_collection.go and
proxy_collection.go answer. Written from Toxiproxy's source; rows marked DEVIATION are listed in
docs/faultproxy.md, "Differences from Toxiproxy 2.12".
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.faultproxy.helpers import ProxyApi

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Row:
    """One request and the answer Toxiproxy 2.12 gives it; `body` is exact bytes, or a predicate on them."""

    method: str
    path: str
    send: bytes | object | None
    status: int
    body: bytes | Callable[[bytes], bool] = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


def err(message: str, status: int, **extra: object) -> bytes:
    """http.Error's body: the JSON error, then a newline."""
    return json.dumps({"error": message, "status": status, **extra}, separators=(",", ":")).encode() + b"\n"


def starts(prefix: str, status: int) -> Callable[[bytes], bool]:
    """An error whose detail is Go's encoding/json wording there (ours names the field instead)."""
    return lambda body: json.loads(body)["status"] == status and json.loads(body)["error"].startswith(prefix)


def proxy(name: str, listen: str, upstream: str, enabled: bool = True, toxics: str = "[]") -> str:
    return (f'{{"name":"{name}","listen":"{listen}","upstream":"{upstream}",'
            f'"enabled":{"true" if enabled else "false"},"toxics":{toxics}}}')


def free_listen() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def replay(api: ProxyApi, rows: list[Row]) -> None:
    for number, row in enumerate(rows, start=1):
        content = row.send if isinstance(row.send, bytes) else None
        payload = None if isinstance(row.send, bytes) or row.send is None else row.send
        response = api.http.request(row.method, row.path, content=content, json=payload, headers=dict(row.headers))
        where = f"row {number}: {row.method} {row.path} {row.send!r}"
        assert response.status_code == row.status, f"{where}: {response.status_code} {response.text}"
        if callable(row.body):
            assert row.body(response.content), f"{where}: {response.text}"
        else:
            assert response.content == row.body, f"{where}: {response.content!r}"
        if row.content_type is not None:
            assert response.headers["content-type"] == row.content_type, where


def test_proxy_endpoints(api: ProxyApi) -> None:
    a_listen, b_listen = free_listen(), free_listen()
    a_off = proxy("a", a_listen, "127.0.0.1:1", enabled=False)
    a_on = proxy("a", a_listen, "127.0.0.1:1")
    b = proxy("b", b_listen, "not-an-address")
    replay(api, [
        Row("GET", "/proxies", None, 200, b"{}", JSON),
        Row("POST", "/proxies", b"", 400, err("bad request body: EOF", 400), TEXT),
        Row("POST", "/proxies", b"   \n", 400, err("bad request body: EOF", 400)),
        Row("POST", "/proxies", b'{"name": "x"', 400, err("bad request body: unexpected EOF", 400)),
        Row("POST", "/proxies", b"null", 400, err("missing required field: name", 400)),
        Row("POST", "/proxies", {"upstream": "x"}, 400, err("missing required field: name", 400)),
        Row("POST", "/proxies", {"name": "b"}, 400, err("missing required field: upstream", 400)),
        Row("POST", "/proxies", {"name": "b", "upstream": None}, 400, err("missing required field: upstream", 400)),
        Row("POST", "/proxies", [1], 400, starts("bad request body: ", 400)),
        Row("POST", "/proxies", {"name": 5, "upstream": "x"}, 400, starts("bad request body: ", 400)),
        # An upstream that is not HOST:PORT is taken (it fails when a client connects); text after the JSON is ignored.
        Row("POST", "/proxies", f'{{"name": "b", "upstream": "not-an-address", "listen": "{b_listen}"}} trailing'
            .encode(), 201, b.encode(), JSON),
        Row("POST", "/proxies", {"NAME": "a", "Upstream": "127.0.0.1:1", "listen": a_listen, "enabled": False},
            201, a_off.encode()),
        Row("POST", "/proxies", {"name": "a", "upstream": "127.0.0.1:2"}, 409, err("proxy already exists", 409), TEXT),
        Row("GET", "/proxies", None, 200, f'{{"a":{a_off},"b":{b}}}'.encode(), JSON),
        Row("GET", "/proxies/a", None, 200, a_off.encode(), JSON),
        Row("GET", "/proxies/ghost", None, 404, err("proxy not found", 404), TEXT),
        Row("PATCH", "/proxies/a", b"", 400, err("bad request body: EOF", 400)),
        Row("PATCH", "/proxies/ghost", b"", 404, err("proxy not found", 404)),
        Row("PATCH", "/proxies/a", {"enabled": True}, 200, a_on.encode(), JSON),
        Row("POST", "/proxies/a", {"Enabled": False, "name": "ignored"}, 200, a_off.encode()),
        Row("POST", "/proxies/a", {"enabled": "yes"}, 400, starts("bad request body: ", 400)),
        Row("DELETE", "/proxies/a", None, 204, b""),
        Row("DELETE", "/proxies/a", None, 404, err("proxy not found", 404)),
        # DEVIATION: Toxiproxy answers 500 with Go's net.Listen error; here a 400 naming the field.
        Row("POST", "/proxies", {"name": "c", "upstream": "x", "listen": "nowhere"}, 400,
            err("bad request body: listen must be HOST:PORT, got 'nowhere'", 400)),
        Row("GET", "/version", None, 200, b'{"version": "2.12.0"}\n', "application/json;charset=utf-8"),
        Row("GET", "/nothing-here", None, 404, b"404 page not found\n", TEXT),
        Row("GET", "/metrics", None, 404, b"404 page not found\n", TEXT),
        Row("PUT", "/proxies", None, 405, b""),
        Row("GET", "/proxies", None, 403, b"User agent not allowed\n", TEXT, (("user-agent", "Mozilla/5.0"),)),
        Row("POST", "/reset", None, 204, b""),
        Row("GET", "/proxies/b", None, 200, b.encode()),
    ])


def test_toxic_endpoints(api: ProxyApi) -> None:
    api.create("p", "127.0.0.1:1")
    latency_down = ('{"attributes":{"latency":0,"jitter":0},"name":"latency_downstream","type":"latency",'
                    '"stream":"downstream","toxicity":1}')
    latency_up = ('{"attributes":{"latency":-10,"jitter":0},"name":"latency_UpStream","type":"latency",'
                  '"stream":"UpStream","toxicity":-1}')
    limit = '{"attributes":{"bytes":%d},"name":"ld","type":"limit_data","stream":"downstream","toxicity":%s}'
    replay(api, [
        Row("POST", "/proxies/p/toxics", b"", 400, err("bad request body: EOF", 400), TEXT),
        Row("POST", "/proxies/ghost/toxics", b"not json", 404, err("proxy not found", 404)),
        Row("GET", "/proxies/ghost/toxics", None, 404, err("proxy not found", 404)),
        Row("POST", "/proxies/p/toxics", {"type": "latency", "stream": "sideways"}, 400,
            err("stream was invalid, can be either upstream or downstream", 400)),
        Row("POST", "/proxies/p/toxics", {"type": "teleport"}, 400, err("invalid toxic type", 400)),
        Row("POST", "/proxies/p/toxics", {}, 400, err("invalid toxic type", 400)),
        # A missing attribute is 0, as Go's zero value.
        Row("POST", "/proxies/p/toxics", {"type": "latency"}, 200, latency_down.encode(), JSON),
        Row("POST", "/proxies/p/toxics", {"type": "latency"}, 409, err("toxic already exists", 409)),
        # Any case of stream, kept as given (and in the default name); toxicity and values outside their range.
        Row("POST", "/proxies/p/toxics", {"type": "latency", "stream": "UpStream", "toxicity": -1,
                                          "attributes": {"latency": -10}}, 200, latency_up.encode()),
        Row("GET", "/proxies/p/toxics", None, 200, f"[{latency_up},{latency_down}]".encode(), JSON),
        Row("POST", "/proxies/p/toxics", {"type": "latency", "name": 3}, 400, starts("bad request body: ", 400)),
        Row("POST", "/proxies/p/toxics", {"type": "latency", "name": "n", "toxicity": "x"}, 400,
            starts("bad request body: ", 400)),
        Row("POST", "/proxies/p/toxics", {"type": "latency", "name": "n", "attributes": {"latency": "x"}}, 400,
            starts("bad request body: ", 400)),
        Row("POST", "/proxies/p/toxics", {"type": "latency", "name": "n", "attributes": [1]}, 400,
            starts("bad request body: ", 400)),
        # What would crash a real Toxiproxy is refused with one line.
        Row("POST", "/proxies/p/toxics", {"type": "slicer", "attributes": {"average_size": 0}}, 400,
            starts("bad request body: attributes.average_size must be >= 1", 400)),
        Row("POST", "/proxies/p/toxics", {"type": "slicer", "attributes": {"average_size": 9, "size_variation": 9}},
            400, starts("bad request body: attributes.size_variation must be less than", 400)),
        Row("POST", "/proxies/p/toxics", {"type": "bandwidth", "attributes": {"rate": -1}}, 400,
            starts("bad request body: attributes.rate must be >= 0", 400)),
        Row("POST", "/proxies/p/toxics", b'{"type": "limit_data", "name": "ld", "attributes": {"bytes": 5}} junk',
            200, (limit % (5, "1")).encode()),
        Row("PATCH", "/proxies/p/toxics/ld", b"", 400, err("bad request body: EOF", 400)),
        Row("PATCH", "/proxies/p/toxics/ghost", b"", 404, err("toxic not found", 404)),
        Row("PATCH", "/proxies/ghost/toxics/ld", {}, 404, err("proxy not found", 404)),
        Row("PATCH", "/proxies/p/toxics/ld", {"attributes": {"bytes": 7}, "toxicity": 0.5, "type": "ignored"},
            200, (limit % (7, "0.5")).encode(), JSON),
        Row("POST", "/proxies/p/toxics/ld", {}, 200, (limit % (7, "0.5")).encode()),
        Row("POST", "/proxies/p/toxics/ld", b"null", 200, (limit % (7, "0.5")).encode()),
        Row("GET", "/proxies/p/toxics/ld", None, 200, (limit % (7, "0.5")).encode(), JSON),
        Row("GET", "/proxies/p/toxics/ghost", None, 404, err("toxic not found", 404)),
        Row("DELETE", "/proxies/p/toxics/ld", None, 204, b""),
        Row("DELETE", "/proxies/p/toxics/ld", None, 404, err("toxic not found", 404)),
        Row("POST", "/reset", None, 204, b""),
        Row("GET", "/proxies/p/toxics", None, 200, b"[]"),
    ])


def test_populate(api: ProxyApi) -> None:
    first, second, kept = free_listen(), free_listen(), free_listen()
    replaced = proxy("d", first, "u1", enabled=False)
    winner = proxy("d", second, "u2")
    keeper = proxy("k", kept, "u3")
    replay(api, [
        Row("POST", "/populate", b"", 400, err("bad request body: EOF", 400, proxies=None), TEXT),
        Row("POST", "/populate", {"a": 1}, 400,
            lambda body: json.loads(body)["proxies"] is None and json.loads(body)["error"].startswith("bad request")),
        Row("POST", "/populate", [{"name": "x"}], 400,
            err("missing required field: upstream at proxy 1", 400, proxies=None)),
        Row("POST", "/populate", [{"name": "x", "upstream": "u"}, {"upstream": "u"}], 400,
            err("missing required field: name at proxy 2", 400, proxies=None)),
        Row("POST", "/populate", [], 201, b'{"proxies":null}', JSON),
        # A name twice: the last one wins; both objects are listed as they end up.
        Row("POST", "/populate", [{"name": "d", "upstream": "u1", "listen": first},
                                  {"name": "d", "upstream": "u2", "listen": second},
                                  {"name": "k", "upstream": "u3", "listen": kept, "enabled": None}],
            201, f'{{"proxies":[{replaced},{winner},{keeper}]}}'.encode(), JSON),
        Row("GET", "/proxies", None, 200, f'{{"d":{winner},"k":{keeper}}}'.encode()),
        # The same listen and upstream again: kept as it is.
        Row("POST", "/populate", [{"name": "k", "upstream": "u3", "listen": kept}], 201,
            f'{{"proxies":[{keeper}]}}'.encode()),
    ])


@pytest.mark.parametrize(("raw", "shown"), [
    (b'{"name": "\\ud800", "upstream": "x"}', "\ufffd"),  # a lone surrogate becomes U+FFFD, as Go decodes it
    (b'{"name": "a\xffb", "upstream": "x"}', "a\ufffdb"),  # so does invalid UTF-8
    (b'{"name": "<&>", "upstream": "x"}', "<&>"),
])
def test_names_are_decoded_as_go_decodes_them_and_always_given_back(api: ProxyApi, raw: bytes, shown: str) -> None:
    """#16.3: whatever the name, the proxy can be listed, shown and deleted."""
    response = api.http.post("/proxies", content=raw)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == shown
    assert b"\\u003c\\u0026\\u003e" in response.content or shown != "<&>"  # Go escapes <, & and >
    assert list(api.http.get("/proxies").json()) == [shown]
    assert api.http.delete(f"/proxies/{shown}").status_code == 204
