"""The latency toxic on real Redis connections: delay, jitter, accumulation, order, no double counting."""

from __future__ import annotations

import statistics
import time

from harness.stack import RedisServer
from tests.faultproxy.helpers import SLACK_MS, ProxyApi, connect, read_line, resp_command, timed_ping


def test_downstream_latency_delays_every_reply(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """Every reply through a 100 ms latency toxic takes at least 100 ms, and not much more."""
    api.add_toxic("redis", "latency", latency=100)
    with connect(redis_proxy) as sock:
        times = [timed_ping(sock) for _ in range(5)]
    assert min(times) >= 100, times
    assert statistics.median(times) <= 100 + SLACK_MS, times


def test_latencies_in_both_directions_add_up(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """An upstream 60 ms and a downstream 100 ms toxic give a round trip of at least 160 ms."""
    api.add_toxic("redis", "latency", stream="upstream", latency=60)
    api.add_toxic("redis", "latency", latency=100)
    with connect(redis_proxy) as sock:
        elapsed = timed_ping(sock)
    assert 160 <= elapsed <= 160 + SLACK_MS


def test_two_latency_toxics_in_one_direction_accumulate(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """Chained latency toxics add up, as in Toxiproxy (each counts from when the previous released)."""
    api.add_toxic("redis", "latency", name="first", latency=50)
    api.add_toxic("redis", "latency", name="second", latency=70)
    with connect(redis_proxy) as sock:
        assert 120 <= timed_ping(sock) <= 120 + SLACK_MS


def test_jitter_spreads_delays_within_bounds(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """latency 100 ± jitter 40: every delay within [60, 140 + slack], and they differ."""
    api.add_toxic("redis", "latency", latency=100, jitter=40)
    with connect(redis_proxy) as sock:
        times = [timed_ping(sock) for _ in range(12)]
    assert min(times) >= 60, times
    assert max(times) <= 140 + SLACK_MS, times
    assert max(times) - min(times) >= 10, f"no jitter visible: {times}"


def test_latency_counts_from_arrival_not_from_the_previous_chunk(api: ProxyApi,
                                                                 redis_proxy: tuple[str, int]) -> None:
    """Five PINGs sent 30 ms apart each come back ~100 ms after their own send, not 100 ms after each other."""
    api.add_toxic("redis", "latency", latency=100)
    with connect(redis_proxy) as sock:
        sent = []
        for _ in range(5):
            sent.append(time.perf_counter())
            sock.sendall(b"PING\r\n")
            time.sleep(0.03)  # spacing between requests, not synchronisation
        delays = []
        for start in sent:
            assert read_line(sock) == b"+PONG\r\n"
            delays.append((time.perf_counter() - start) * 1000)
    assert min(delays) >= 100, delays
    # Queued behind earlier replies, a chunk is not delayed again: the last one is not ~500 ms late.
    assert delays[-1] <= 100 + SLACK_MS, delays


def test_latency_keeps_order_of_pipelined_replies(api: ProxyApi, redis_proxy: tuple[str, int],
                                                  redis_server: RedisServer) -> None:
    """200 pipelined INCRs through latency + jitter come back complete and in order."""
    api.add_toxic("redis", "latency", latency=20, jitter=15)
    api.add_toxic("redis", "latency", stream="upstream", name="up", latency=5, jitter=5)
    with connect(redis_proxy) as sock:
        for _ in range(200):
            sock.sendall(resp_command("INCR", "counter"))
        replies = [read_line(sock) for _ in range(200)]
    assert replies == [b":%d\r\n" % n for n in range(1, 201)]


def test_no_toxic_adds_no_visible_delay(api: ProxyApi, redis_proxy: tuple[str, int]) -> None:
    """Without toxics the proxy relays at once (well under the smallest latency the tests use)."""
    with connect(redis_proxy) as sock:
        times = [timed_ping(sock) for _ in range(20)]
    assert statistics.median(times) < 20, times
