"""Never early: the shared DueTimer on a real uvloop loop, and every timed toxic end to end, many times over.

Lateness on a busy machine is tolerated (generous upper bounds); earliness never is (issue #10 item 2).
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Iterator

import pytest
import uvloop

from harness.faultproxy.toxics.base import DueTimer
from harness.faultproxy.toxics.slicer import slice_bounds
from tests.faultproxy.helpers import (
    SLACK_MS,
    EchoServer,
    ProxyApi,
    RecordingServer,
    connect,
    read_exactly,
    read_until_closed,
)


@pytest.mark.parametrize("precise", [True, False], ids=["precise", "coarse"])
def test_due_timer_never_fires_before_its_due_time(precise: bool) -> None:
    """600 timers due 0-15 ms ahead, armed together and re-armed: not one fires before its due time."""
    async def run() -> list[float]:
        loop = asyncio.get_running_loop()
        rng = random.Random(7)
        lateness: list[float] = []
        done = loop.create_future()

        def make(due: float) -> DueTimer:
            def fired() -> None:
                lateness.append(time.monotonic() - due)
                if len(lateness) == 600:
                    done.set_result(None)
            return DueTimer(loop, fired, precise=precise)

        for _ in range(600):
            due = time.monotonic() + rng.uniform(0, 0.015)
            timer = make(due)
            timer.arm(due + 1)  # re-arming replaces the earlier due time
            timer.arm(due)
        await asyncio.wait_for(done, 30)
        return lateness

    lateness = uvloop.run(run())
    assert min(lateness) >= 0, f"fired {-min(lateness) * 1000:.3f} ms early"


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


def _elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def test_latency_never_early(api: ProxyApi, echo: EchoServer) -> None:
    api.create("t", echo.address)
    api.add_toxic("t", "latency", stream="upstream", latency=25)
    with connect(api.address("t")) as sock:
        for _ in range(30):
            start = time.perf_counter()
            sock.sendall(b"x")
            assert read_exactly(sock, 1) == b"x"
            assert 25 <= _elapsed_ms(start) <= 25 + SLACK_MS


def test_bandwidth_never_early(api: ProxyApi, echo: EchoServer) -> None:
    """20 KB at 200 KB/s: the last byte cannot be through before 100 ms."""
    api.create("t", echo.address)
    api.add_toxic("t", "bandwidth", stream="upstream", rate=200)
    for _ in range(8):
        with connect(api.address("t")) as sock:
            start = time.perf_counter()
            sock.sendall(b"b" * 20_000)
            assert read_exactly(sock, 20_000) == b"b" * 20_000
            assert 100 <= _elapsed_ms(start) <= 100 + SLACK_MS


def test_slicer_never_early(api: ProxyApi, echo: EchoServer) -> None:
    """200 bytes in pieces of about 20, 4 ms apart: all through no sooner than (pieces - 1) x 4 ms."""
    pieces = len(slice_bounds(200, 20, 0, random.Random())) - 1
    api.create("t", echo.address)
    api.add_toxic("t", "slicer", stream="upstream", average_size=20, size_variation=0, delay=4000)
    for _ in range(10):
        with connect(api.address("t")) as sock:
            start = time.perf_counter()
            sock.sendall(b"s" * 200)
            assert read_exactly(sock, 200) == b"s" * 200
            assert (pieces - 1) * 4 <= _elapsed_ms(start) <= (pieces - 1) * 4 + SLACK_MS


def test_reset_peer_never_early(api: ProxyApi, echo: EchoServer) -> None:
    api.create("t", echo.address)
    api.add_toxic("t", "reset_peer", stream="upstream", timeout=40)
    for _ in range(15):
        with connect(api.address("t")) as sock:
            start = time.perf_counter()
            sock.sendall(b"r")
            with pytest.raises(ConnectionResetError):
                sock.recv(10)
            assert 40 <= _elapsed_ms(start) <= 40 + SLACK_MS


def test_timeout_never_early(api: ProxyApi, echo: EchoServer) -> None:
    api.create("t", echo.address)
    api.add_toxic("t", "timeout", stream="upstream", timeout=40)
    for _ in range(15):
        with connect(api.address("t")) as sock:
            start = time.perf_counter()
            sock.sendall(b"t")  # restarts the idle timer
            assert read_until_closed(sock) == b""
            assert 40 <= _elapsed_ms(start) <= 40 + SLACK_MS


def test_slow_close_never_early(api: ProxyApi) -> None:
    """The upstream's FIN (after the client's half-close) reaches the client no sooner than 40 ms later."""
    with RecordingServer(echo=False) as sink:
        api.create("t", sink.address)
        api.add_toxic("t", "slow_close", delay=40)
        for _ in range(15):
            with connect(api.address("t")) as sock:
                start = time.perf_counter()
                sock.shutdown(socket.SHUT_WR)
                assert read_until_closed(sock) == b""
                assert 40 <= _elapsed_ms(start) <= 40 + SLACK_MS
