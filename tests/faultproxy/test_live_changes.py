"""Toxic and proxy changes apply to live connections without losing a byte; down/up; backpressure."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time

from tests.faultproxy.helpers import (
    SLACK_MS,
    EchoServer,
    ProxyApi,
    connect,
    read_exactly,
    read_line,
    timed_ping,
)
from tests.waiting import wait_until


def test_toxic_added_to_a_live_connection_applies_at_once(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    with connect(redis_proxy) as sock:
        assert timed_ping(sock) < 100
        api.add_toxic("redis", "latency", latency=150)
        assert timed_ping(sock) >= 150


def test_toxic_updated_on_a_live_connection(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    api.add_toxic("redis", "latency", latency=50)
    with connect(redis_proxy) as sock:
        assert timed_ping(sock) >= 50
        api.http.post("/proxies/redis/toxics/latency_downstream", json={"attributes": {"latency": 250}})
        assert 250 <= timed_ping(sock) <= 250 + SLACK_MS


def test_removing_a_toxic_releases_held_data_at_once(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """A reply held by a 3 s latency toxic is delivered intact as soon as the toxic is deleted."""
    api.add_toxic("redis", "latency", stream="upstream", latency=3000)
    with connect(redis_proxy) as sock:
        start = time.perf_counter()
        sock.sendall(b"PING\r\n")
        sock.settimeout(0.05)
        try:
            early = sock.recv(10)
        except TimeoutError:
            early = b""
        assert early == b""
        assert api.http.delete("/proxies/redis/toxics/latency_upstream").status_code == 204
        sock.settimeout(5)
        assert read_line(sock) == b"+PONG\r\n"
        assert (time.perf_counter() - start) < 2.0


def test_updating_latency_keeps_held_chunks_due_from_arrival(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """Lowering the latency while a reply is held releases it by the new delay, counted from its arrival."""
    api.add_toxic("redis", "latency", stream="upstream", latency=3000)
    with connect(redis_proxy) as sock:
        start = time.perf_counter()
        sock.sendall(b"PING\r\n")
        api.http.post("/proxies/redis/toxics/latency_upstream", json={"attributes": {"latency": 200}})
        assert read_line(sock) == b"+PONG\r\n"
        elapsed = (time.perf_counter() - start) * 1000
    assert 200 <= elapsed <= 200 + SLACK_MS


def test_changing_toxics_under_a_stream_never_loses_a_byte(api: ProxyApi, echo_proxy: tuple[str, int]) -> None:
    """4 MB echoed while latency and slicer toxics are added, updated and removed: all bytes, in order."""
    payload = random.Random(2).randbytes(4 * 1024 * 1024)
    received = bytearray()
    with connect(echo_proxy) as sock:
        reader = threading.Thread(target=lambda: received.extend(read_exactly(sock, len(payload))))
        reader.start()
        sender = threading.Thread(target=_send_slowly, args=(sock, payload))
        sender.start()
        for round_number in range(6):
            api.add_toxic("echo", "latency", stream="upstream", latency=5, jitter=5)
            api.add_toxic("echo", "slicer", average_size=2000, size_variation=500, delay=10)
            api.http.post("/proxies/echo/toxics/latency_upstream", json={"attributes": {"latency": round_number}})
            api.add_toxic("echo", "bandwidth", stream="upstream", rate=20_000)
            api.http.delete("/proxies/echo/toxics/slicer_downstream")
            api.http.delete("/proxies/echo/toxics/latency_upstream")
            api.http.delete("/proxies/echo/toxics/bandwidth_upstream")
        sender.join(30)
        reader.join(30)
    assert len(received) == len(payload)
    assert bytes(received) == payload


def _send_slowly(sock: socket.socket, payload: bytes) -> None:
    for start in range(0, len(payload), 64 * 1024):
        sock.sendall(payload[start:start + 64 * 1024])
        time.sleep(0.005)  # spread the stream over the toxic changes


def test_disabled_proxy_closes_connections_and_listens_again(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """enabled=false closes live connections and the listener; enabled=true listens on the same address."""
    with connect(redis_proxy) as sock:
        timed_ping(sock)
        assert api.http.post("/proxies/redis", json={"enabled": False}).json()["enabled"] is False
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(10) == b""
    try:
        connect(redis_proxy).close()
        raise AssertionError("the disabled proxy still accepts connections")
    except ConnectionRefusedError:
        pass
    assert api.http.post("/proxies/redis", json={"enabled": True}).json()["listen"] == "{}:{}".format(*redis_proxy)
    with connect(redis_proxy) as sock:
        timed_ping(sock)


def test_reading_pauses_when_the_receiver_does_not_read(api: ProxyApi) -> None:
    """A flooding upstream is held back by the proxy when the client stops reading (no unbounded buffering)."""
    flood = _FloodServer()
    with flood:
        api.create("flood", flood.address)
        with connect(api.address("flood")) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            wait_until(lambda: flood.sent > 0)
            _wait_stalled(lambda: flood.sent)
            assert flood.sent < 32 * 1024 * 1024, f"the proxy buffered {flood.sent} bytes"
            drained = 0
            sock.settimeout(5)
            while drained < flood.sent:
                drained += len(sock.recv(1 << 20))
            wait_until(lambda: flood.sent > drained)  # reading resumed


def _wait_stalled(count, quiet: float = 0.3, timeout: float = 20.0) -> None:
    """Poll until `count()` stops growing for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    raise AssertionError("the upstream never stalled")


class _FloodServer(EchoServer):
    """Accepts one connection and writes to it as fast as it can, counting the bytes the kernel took."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def finish_request(self, request, client_address) -> None:
        block = b"x" * 65536
        try:
            while True:
                self.sent += request.send(block)
        except OSError:
            return
