"""Each toxic other than latency, measured on real connections through the proxy to Redis or an echo server."""

from __future__ import annotations

import itertools
import random
import socket
import time

import pytest

from harness.faultproxy.toxics.slicer import slice_bounds
from tests.faultproxy.helpers import (
    SLACK_MS,
    ProxyApi,
    connect,
    read_exactly,
    read_line,
    read_until_closed,
    resp_command,
    timed_ping,
)


def _set_value(address: tuple[str, int], key: str, size: int) -> bytes:
    value = bytes(random.Random(size).getrandbits(8) for _ in range(size))
    with connect(address) as sock:
        sock.sendall(resp_command("SET", key, value))
        assert read_line(sock) == b"+OK\r\n"
    return value


def _get_reply(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def test_bandwidth_limits_the_rate(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """A 300 KB reply through rate 1000 KB/s takes at least 0.3 s and arrives intact."""
    value = _set_value(redis_proxy, "big", 300_000)
    api.add_toxic("redis", "bandwidth", rate=1000)
    with connect(redis_proxy) as sock:
        start = time.perf_counter()
        sock.sendall(resp_command("GET", "big"))
        reply = read_exactly(sock, len(_get_reply(value)))
        elapsed = (time.perf_counter() - start) * 1000
    assert reply == _get_reply(value)
    assert 300 <= elapsed <= 300 + SLACK_MS


def test_bandwidth_zero_means_unlimited(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    api.add_toxic("redis", "bandwidth", rate=0)
    with connect(redis_proxy) as sock:
        assert timed_ping(sock) < SLACK_MS


def test_slow_close_delays_the_close(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """Redis closes right after QUIT; with slow_close 300 ms the client sees the close >= 300 ms later."""
    api.add_toxic("redis", "slow_close", delay=300)
    with connect(redis_proxy) as sock:
        start = time.perf_counter()
        sock.sendall(b"QUIT\r\n")
        assert read_line(sock) == b"+OK\r\n"
        assert sock.recv(10) == b""
        elapsed = (time.perf_counter() - start) * 1000
    assert 300 <= elapsed <= 300 + SLACK_MS


def test_timeout_zero_swallows_data_until_removed(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """timeout 0: no reply, connection held open; deleting the toxic closes it (as Toxiproxy does)."""
    api.add_toxic("redis", "timeout", timeout=0)
    with connect(redis_proxy, timeout=0.3) as sock:
        sock.sendall(b"PING\r\n")
        with pytest.raises(TimeoutError):
            sock.recv(10)
        sock.sendall(b"PING\r\n")  # still open
        api.http.delete("/proxies/redis/toxics/timeout_downstream")
        sock.settimeout(5)
        assert read_until_closed(sock) == b""
    with connect(redis_proxy) as sock:
        timed_ping(sock)


def test_timeout_closes_the_connection_after_the_delay(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """timeout 250: no data passes, and the proxy closes the connection 250 ms after it started."""
    api.add_toxic("redis", "timeout", stream="upstream", timeout=250)
    start = time.perf_counter()
    with connect(redis_proxy) as sock:
        sock.sendall(b"PING\r\n")
        assert read_until_closed(sock) == b""
    elapsed = (time.perf_counter() - start) * 1000
    assert 250 <= elapsed <= 250 + SLACK_MS


def test_reset_peer_resets_the_connection(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """reset_peer: the client sees "connection reset by peer" (RST), not an orderly close."""
    api.add_toxic("redis", "reset_peer", timeout=0)
    with connect(redis_proxy) as sock:
        sock.sendall(b"PING\r\n")
        with pytest.raises(ConnectionResetError):
            sock.recv(10)
            sock.recv(10)


def test_reset_peer_waits_its_timeout(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    api.add_toxic("redis", "reset_peer", stream="upstream", timeout=200)
    with connect(redis_proxy) as sock:
        start = time.perf_counter()
        sock.sendall(b"PING\r\n")
        with pytest.raises(ConnectionResetError):
            sock.recv(10)
        elapsed = (time.perf_counter() - start) * 1000
    assert 200 <= elapsed <= 200 + SLACK_MS


def test_slicer_cuts_data_into_delayed_pieces(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """A 508-byte reply sliced at ~100 bytes, 20 ms apart: arrives intact, in several reads, over >= n-1 gaps."""
    value = _set_value(redis_proxy, "v", 500)
    expected = _get_reply(value)
    api.add_toxic("redis", "slicer", average_size=100, size_variation=0, delay=20_000)
    pieces = len(slice_bounds(len(expected), 100, 0, random.Random())) - 1
    with connect(redis_proxy) as sock:
        start = time.perf_counter()
        sock.sendall(resp_command("GET", "v"))
        reads = []
        while sum(map(len, reads)) < len(expected):
            reads.append(sock.recv(65536))
        elapsed = (time.perf_counter() - start) * 1000
    assert b"".join(reads) == expected
    assert pieces >= 4 and len(reads) >= 2
    assert max(map(len, reads)) < len(expected)
    assert (pieces - 1) * 20 <= elapsed <= (pieces - 1) * 20 + SLACK_MS


def test_slice_bounds_stay_near_the_average() -> None:
    bounds = slice_bounds(10_000, 100, 30, random.Random(3))
    sizes = [b - a for a, b in itertools.pairwise(bounds)]
    assert sum(sizes) == 10_000 and all(0 < s <= 130 for s in sizes)


def test_limit_data_closes_after_the_limit(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """limit_data 100 downstream: a 1 KB reply is cut at exactly 100 bytes, then the connection closes."""
    value = _set_value(redis_proxy, "v", 1000)
    api.add_toxic("redis", "limit_data", bytes=100)
    with connect(redis_proxy) as sock:
        sock.sendall(resp_command("GET", "v"))
        assert read_until_closed(sock) == _get_reply(value)[:100]


def test_limit_data_counts_across_requests(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """Seven bytes per PONG: a limit of 16 lets two replies and 2 bytes of the third through."""
    api.add_toxic("redis", "limit_data", bytes=16)
    with connect(redis_proxy) as sock:
        timed_ping(sock)
        timed_ping(sock)
        sock.sendall(b"PING\r\n")
        assert read_until_closed(sock) == b"+P"


def test_toxicity_zero_never_applies(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    api.add_toxic("redis", "latency", toxicity=0.0, latency=1000)
    with connect(redis_proxy) as sock:
        assert timed_ping(sock) < 500


def test_toxicity_is_drawn_once_per_connection(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """toxicity 0.5: some connections are delayed on every request, the others on none."""
    api.add_toxic("redis", "latency", toxicity=0.5, latency=150)
    delayed_per_connection = []
    for _ in range(16):
        with connect(redis_proxy) as sock:
            delayed_per_connection.append({timed_ping(sock) >= 150 for _ in range(3)})
    assert all(len(kinds) == 1 for kinds in delayed_per_connection), delayed_per_connection
    outcomes = [kinds.pop() for kinds in delayed_per_connection]
    assert any(outcomes) and not all(outcomes), outcomes


def test_echo_relays_large_streams_intact(api: ProxyApi, echo_proxy: tuple[str, int]) -> None:
    """8 MB through the proxy and back, no toxic: every byte, in order."""
    payload = random.Random(1).randbytes(8 * 1024 * 1024)
    with connect(echo_proxy) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        received = bytearray()
        for start in range(0, len(payload), 1 << 20):
            sock.sendall(payload[start:start + (1 << 20)])
            received += read_exactly(sock, min(1 << 20, len(payload) - start))
    assert bytes(received) == payload
