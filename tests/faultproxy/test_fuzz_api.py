"""Fuzzing the fault proxy's API with a fixed, small hypothesis budget (seconds in CI, same examples every run):
no 5xx other than a listen address in use, every error one JSON line, no state change on a rejected request,
and the server alive after each request (issue #16)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faultproxy.helpers import ProxyApi

names = st.sampled_from(["a", "b", "\ud800", "x/y", "", "ü", "<&>"]) | st.text(max_size=8)
addresses = st.sampled_from(["127.0.0.1:0", "", "127.0.0.1:1", "a..b:80", "127.0.0.1:\u00b2", "[::1]:0",
                             "localhost:0", "a" * 64 + ":80"]) | st.text(max_size=12)
scalars = st.none() | st.booleans() | st.integers(-(10**15), 10**15) | st.floats(allow_nan=False) | st.text(max_size=6)
attributes = st.dictionaries(st.sampled_from(["latency", "jitter", "rate", "delay", "timeout", "bytes",
                                              "average_size", "size_variation"]), scalars, max_size=4)
toxics = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer",
                             "limit_data", "teleport"]) | scalars,
    "stream": st.sampled_from(["upstream", "DOWNSTREAM", "sideways"]) | scalars,
    "name": names | scalars, "toxicity": scalars, "attributes": attributes | scalars})
proxies = st.fixed_dictionaries({}, optional={"name": names | scalars, "upstream": addresses | scalars,
                                              "listen": addresses | scalars, "enabled": scalars})
bodies = (st.builds(json.dumps, toxics | proxies | st.lists(proxies, max_size=3) | scalars).map(str.encode)
          | st.binary(max_size=40) | st.sampled_from([b"", b"[" * 3000, b'{"name": "\\ud800"}', b"{} trailing"]))
requests = st.tuples(
    st.sampled_from(["GET", "POST", "PATCH", "DELETE"]),
    st.sampled_from(["/proxies", "/populate", "/reset", "/proxies/a", "/proxies/b", "/proxies/a/toxics",
                     "/proxies/a/toxics/latency_downstream", "/proxies/a/toxics/x", "/version"]),
    bodies)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(requests)
def test_api_requests_never_fail_the_server(api: ProxyApi, call: tuple[str, str, bytes]) -> None:
    method, path, body = call
    before = api.http.get("/proxies").json()
    response = api.http.request(method, path, content=body)
    if response.status_code >= 500:
        assert response.json()["error"].startswith("listen tcp "), response.text
    if response.status_code >= 400 and response.status_code != 405:
        if path == "/populate":
            assert set(response.json()) == {"error", "status", "proxies"}, response.text
        elif response.headers["content-type"].startswith("text/plain") and response.text.startswith("{"):
            assert response.text.count("\n") == 1 and response.json()["status"] == response.status_code
        if path != "/populate" or response.json()["proxies"] is None:
            assert api.http.get("/proxies").json() == before, f"{method} {path} {body!r} changed state"
    assert api.http.get("/version").status_code == 200
