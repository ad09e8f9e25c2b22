"""Behaviour a Toxiproxy 2.12 user relies on, as its code has it, and what the fuzzing of #16 broke."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.stack import ServerProcess
from harness.stack import _start_harness_server as start_harness_server
from tests.faultproxy.helpers import (
    SLACK_MS,
    EchoServer,
    ProxyApi,
    RecordingServer,
    connect,
    read_exactly,
    read_until_closed,
)
from tests.waiting import wait_until


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


def _open_fds(server: ServerProcess) -> int:
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


def test_timeout_is_an_idle_timeout(api: ProxyApi, echo: EchoServer) -> None:
    """timeout 300: a byte every 100 ms keeps the connection open past 1.2 s; once quiet, closed >= 300 ms later."""
    api.create("t", echo.address)
    api.add_toxic("t", "timeout", stream="upstream", timeout=300)
    with connect(api.address("t"), timeout=5) as sock:
        started = time.perf_counter()
        while time.perf_counter() - started < 1.2:
            sock.sendall(b".")
            time.sleep(0.1)
        sock.settimeout(0.01)
        with pytest.raises(TimeoutError):
            sock.recv(1)  # still open, nothing delivered
        sock.settimeout(5)
        last = time.perf_counter()
        sock.sendall(b".")
        assert read_until_closed(sock) == b""
        assert 300 <= (time.perf_counter() - last) * 1000 <= 300 + SLACK_MS


def test_reset_peer_added_to_an_open_connection_closes_it_normally(api: ProxyApi, echo: EchoServer) -> None:
    """As in Toxiproxy (SO_LINGER is set when a link starts): an older connection gets a FIN, a newer one a RST."""
    api.create("t", echo.address)
    with connect(api.address("t")) as older:
        older.sendall(b"a")
        assert read_exactly(older, 1) == b"a"
        api.add_toxic("t", "reset_peer", stream="upstream", timeout=0)
        older.sendall(b"b")
        assert read_until_closed(older) == b""  # an orderly close, no ConnectionResetError
    with connect(api.address("t")) as newer:
        newer.sendall(b"c")
        with pytest.raises(ConnectionResetError):
            newer.recv(10)
            newer.recv(10)


# Each holds the client's end of stream when deleted (reset_peer: its reset is due in 2 s).
HOLDING = {
    "latency": {"latency": 10_000},
    "bandwidth": {"rate": 1},
    "slow_close": {"delay": 10_000},
    "slicer": {"average_size": 1, "delay": 10_000_000},
    "reset_peer": {"timeout": 2000},
}


@pytest.mark.parametrize("toxic", list(HOLDING))
def test_removing_a_toxic_hands_on_the_end_of_stream(api: ProxyApi, proxy_server: ServerProcess,
                                                     toxic: str) -> None:
    """#16.1: ten clients send a byte and half-close, the toxic is deleted: every client sees its
    connection end (EOF or RST) and the proxy's descriptors come back to where they were."""
    with RecordingServer(echo=False) as sink:
        api.create("t", sink.address)
        baseline = _open_fds(proxy_server)
        api.add_toxic("t", toxic, stream="upstream", **HOLDING[toxic])
        clients = [connect(api.address("t"), timeout=6) for _ in range(10)]
        for sock in clients:
            sock.sendall(b"x" * 200)
            sock.shutdown(socket.SHUT_WR)
        time.sleep(0.1)  # let the toxic take the bytes and the ends of stream (waiting on purpose)
        assert api.http.delete(f"/proxies/t/toxics/{toxic}_upstream").status_code == 204
        for sock in clients:
            with contextlib.suppress(ConnectionResetError):
                read_until_closed(sock)
            sock.close()
        wait_until(lambda: _open_fds(proxy_server) <= baseline, timeout=6)


def test_an_upstream_that_cannot_be_encoded_closes_the_client_and_logs_once(
        api: ProxyApi, proxy_server: ServerProcess) -> None:
    """#16.5: created with 201 as in Toxiproxy; each client is closed at once with one log line, no traceback."""
    log = proxy_server.process.stderr_path
    for upstream in ("a" * 64 + ":80", "a..b:80", "no-port-here"):
        assert api.http.post("/proxies", json={"name": "bad", "upstream": upstream}).status_code == 201
        with connect(api.address("bad"), timeout=5) as sock, contextlib.suppress(ConnectionResetError):
            assert read_until_closed(sock) == b""
        api.http.delete("/proxies/bad")
        wait_until(lambda u=upstream: f"cannot connect to upstream {u} (" in log.read_text())
        assert log.read_text().count(f"cannot connect to upstream {upstream} (") == 1
    assert "Traceback" not in log.read_text() and "never retrieved" not in log.read_text()


def test_values_without_effect_are_accepted_with_one_warning(api: ProxyApi, proxy_server: ServerProcess,
                                                             echo: EchoServer) -> None:
    api.create("t", echo.address)
    response = api.http.post("/proxies/t/toxics", json={"type": "latency", "toxicity": 2,
                                                        "attributes": {"latency": -5, "jitter": -1}})
    assert response.status_code == 200
    assert response.json()["attributes"] == {"latency": -5, "jitter": -1}
    log = proxy_server.process.stderr_path
    wait_until(lambda: "toxic latency_downstream: latency -5 < 0 acts as 0" in log.read_text())
    line = next(x for x in log.read_text().splitlines() if "toxic latency_downstream: latency -5" in x)
    assert "jitter -1 < 0 has no effect" in line and "toxicity 2 > 1 acts as 1" in line
    with connect(api.address("t")) as sock:
        start = time.perf_counter()
        sock.sendall(b"x")
        assert read_exactly(sock, 1) == b"x"
        assert (time.perf_counter() - start) * 1000 < SLACK_MS


def test_a_body_over_the_limit_is_413(api: ProxyApi) -> None:
    """#16.7: refused as it arrives, nothing created, the server still answers."""
    big = b'{"name": "x", "upstream": "127.0.0.1:1", "pad": "' + b"p" * (2 * 1024 * 1024) + b'"}'
    response = api.http.post("/proxies", content=big)
    assert response.status_code == 413
    assert response.json() == {"error": "request body larger than 1048576 bytes", "status": 413}
    assert api.http.get("/proxies").json() == {}


def test_an_update_whose_body_arrives_after_a_delete_changes_nothing(api: ProxyApi, echo: EchoServer) -> None:
    """#16.4: the body is read before the proxy is looked up, so the slow update finds no proxy (404)
    and no listener is left behind."""
    listen = api.create("t", echo.address)["listen"]
    address = api.address("t")
    with httpx.Client(base_url=api.url, timeout=10) as slow:
        def body() -> Iterator[bytes]:
            yield b'{"listen": "%s",' % listen.encode()
            assert api.http.delete("/proxies/t").status_code == 204
            yield b' "enabled": true}'
        response = slow.post("/proxies/t", content=body())
    assert response.status_code == 404
    assert api.http.get("/proxies").json() == {}
    with pytest.raises(ConnectionRefusedError):
        connect(address)


def test_slicer_memory_is_bounded_by_bytes_not_pieces(api: ProxyApi, proxy_server: ServerProcess,
                                                      echo: EchoServer) -> None:
    """#16.8: average_size 1 and 4 MB pushed at it: the proxy grows by about the bytes it holds, not by an
    object per byte (which was ~600 MB)."""
    def rss_mb() -> float:
        for line in Path(f"/proc/{proxy_server.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    api.create("t", echo.address)
    api.add_toxic("t", "slicer", stream="upstream", average_size=1, delay=1_000_000)
    before = rss_mb()
    with connect(api.address("t"), timeout=10) as sock:
        sock.setblocking(False)
        sent, deadline = 0, time.monotonic() + 5
        while sent < 4 * 1024 * 1024 and time.monotonic() < deadline:
            with contextlib.suppress(BlockingIOError):
                sent += sock.send(b"m" * 65536)
        time.sleep(0.3)  # let the proxy read what it will (waiting on purpose: measuring memory, not an event)
        grown = rss_mb() - before
    assert grown < 60, f"the proxy grew by {grown:.0f} MB"


@pytest.fixture
def metrics_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_harness_server("faultproxy-metrics", ["faultproxy", "--port", "0", "--proxy-metrics",
                                                         "--runtime-metrics"], tmp_path / "logs", 20)
    try:
        yield server
    finally:
        assert server.stop() == 0


def test_metrics_use_toxiproxy_names_and_labels(metrics_server: ServerProcess, echo: EchoServer) -> None:
    api = ProxyApi(metrics_server.url)
    listen = api.create("echo", echo.address)["listen"]
    with connect(api.address("echo")) as sock:
        sock.sendall(b"12345")
        assert read_exactly(sock, 5) == b"12345"
    page = api.http.get("/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    labels = f'direction="upstream",listener="{listen}",proxy="echo",upstream="{echo.address}"'
    assert f"toxiproxy_proxy_received_bytes_total{{{labels}}} 5.0" in page.text
    assert f"toxiproxy_proxy_sent_bytes_total{{{labels}}} 5.0" in page.text
    assert "process_resident_memory_bytes" in page.text and "_created" not in page.text
    api.http.close()


def test_metrics_are_404_without_the_flags(api: ProxyApi) -> None:
    response = api.http.get("/metrics")
    assert response.status_code == 404 and response.text == "404 page not found\n"


def test_a_slicer_delay_below_the_timer_resolution_does_not_spin(api: ProxyApi, proxy_server: ServerProcess,
                                                                echo: EchoServer) -> None:
    """#16.8: pieces 1 ms apart for about a second: the proxy sleeps between them (a spin to each due time
    used a whole core)."""
    def cpu_seconds() -> float:
        fields = Path(f"/proc/{proxy_server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    api.create("t", echo.address)
    api.add_toxic("t", "slicer", stream="upstream", average_size=100, delay=1000)
    with connect(api.address("t"), timeout=20) as sock:
        cpu, start = cpu_seconds(), time.perf_counter()
        sock.sendall(b"s" * 80_000)
        assert read_exactly(sock, 80_000) == b"s" * 80_000
        wall, used = time.perf_counter() - start, cpu_seconds() - cpu
    assert wall >= 0.5  # about 800 pieces at least 1 ms apart, fewer when pieces are due in the same turn
    assert used < 0.2 * wall, f"{used:.2f} s of CPU in {wall:.2f} s"


# limit_data and timeout do not hold an end of stream (they close at once), so they have no row in HOLDING.
HOSTILE = {"none": None, "latency": ("latency", {"latency": 30}), "slicer": ("slicer", {"average_size": 64}),
           "timeout": ("timeout", {"timeout": 0}), "reset_peer": ("reset_peer", {"timeout": 20}),
           "slow_close": ("slow_close", {"delay": 30}), "bandwidth": ("bandwidth", {"rate": 500})}


@pytest.mark.parametrize("toxic", list(HOSTILE))
def test_hostile_connections_leave_no_descriptor_behind(api: ProxyApi, proxy_server: ServerProcess,
                                                        echo: EchoServer, toxic: str) -> None:
    """#16: 90 clients that reset at once, half-close after a burst, or close mid-reply: every socket
    of the proxy is released afterwards."""
    api.create("t", echo.address)
    baseline = _open_fds(proxy_server)
    if HOSTILE[toxic] is not None:
        toxic_type, attributes = HOSTILE[toxic]
        api.add_toxic("t", toxic_type, **attributes)
    address = api.address("t")
    for number in range(90):
        sock = socket.create_connection(address, timeout=5)
        if number % 3 == 0:  # reset at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        elif number % 3 == 1:  # a burst, then half-close
            sock.sendall(b"h" * 20_000)
            sock.shutdown(socket.SHUT_WR)
        else:  # a request, then gone before the reply
            sock.sendall(b"q" * 1000)
        sock.close()
    wait_until(lambda: _open_fds(proxy_server) <= baseline, timeout=10)
