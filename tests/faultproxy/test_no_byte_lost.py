"""A byte accepted from a client is never lost: write-then-close and write-then-half-close, for every toxic.

The client's data and its end of stream can both arrive before the proxy's upstream connection is up;
they must be relayed, in order, whatever the chain (issue #10 item 1, #16 item 2).
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import pytest

from tests.faultproxy.helpers import ProxyApi, RecordingServer, connect, read_until_closed
from tests.waiting import wait_until

# (type, stream, attributes): harmless settings on the direction that carries the client's bytes,
# except timeout and reset_peer, which drop data by design and so sit on the reply direction.
TOXICS = {
    "none": None,
    "latency": ("latency", "upstream", {"latency": 20, "jitter": 5}),
    "bandwidth": ("bandwidth", "upstream", {"rate": 2000}),
    "slow_close": ("slow_close", "upstream", {"delay": 20}),
    "slicer": ("slicer", "upstream", {"average_size": 2000, "size_variation": 500, "delay": 50}),
    "limit_data": ("limit_data", "upstream", {"bytes": 10_000_000}),
    "timeout": ("timeout", "downstream", {"timeout": 0}),
    "reset_peer": ("reset_peer", "downstream", {"timeout": 0}),
}
DROPS_REPLY = {"timeout", "reset_peer"}
SIZES = [100, 300_000]


def _payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


@pytest.fixture(params=[False, True], ids=["sink", "echo"])
def upstream(request: pytest.FixtureRequest) -> Iterator[RecordingServer]:
    with RecordingServer(echo=request.param) as server:
        yield server


@pytest.fixture
def sink() -> Iterator[RecordingServer]:
    with RecordingServer(echo=False) as server:
        yield server


def _proxy_with(api: ProxyApi, upstream: RecordingServer, toxic: str) -> tuple[str, int]:
    api.create("rec", upstream.address)
    if TOXICS[toxic] is not None:
        toxic_type, stream, attributes = TOXICS[toxic]
        api.add_toxic("rec", toxic_type, stream=stream, **attributes)
    return api.address("rec")


def _wait_for_records(upstream: RecordingServer, count: int) -> list[bytes]:
    wait_until(lambda: len(upstream.records) >= count, timeout=10)
    return upstream.records


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("toxic", list(TOXICS))
def test_write_then_close_reaches_upstream(api: ProxyApi, sink: RecordingServer, toxic: str, size: int) -> None:
    """Connect, send N bytes, close at once: the upstream receives all N, five times out of five.
    (An upstream that answered would make the closed client's kernel send a RST, and a RST discards
    what is still unread, here as through any proxy: so this upstream only listens.)"""
    upstream = sink
    address = _proxy_with(api, upstream, toxic)
    payload = _payload(size)
    for _ in range(5):
        with socket.create_connection(address) as sock:
            sock.sendall(payload)
    records = _wait_for_records(upstream, 5)
    assert [len(r) for r in records] == [size] * 5
    assert all(r == payload for r in records)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("toxic", list(TOXICS))
def test_write_then_half_close_is_relayed_and_echoed(api: ProxyApi, upstream: RecordingServer, toxic: str,
                                                     size: int) -> None:
    """Send N bytes and shutdown(SHUT_WR): the upstream gets all N, and an echo comes back whole
    (except through toxics that drop the reply by design)."""
    if upstream.echo and toxic == "reset_peer":
        pytest.skip("the echo's first bytes trigger the reset, which discards what is in flight by design")
    address = _proxy_with(api, upstream, toxic)
    payload = _payload(size)
    for _ in range(3):
        with connect(address, timeout=10) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            try:
                reply = read_until_closed(sock)
            except ConnectionResetError:
                reply = None  # reset_peer's RST
        if upstream.echo and toxic not in DROPS_REPLY:
            assert reply == payload
    assert [r == payload for r in _wait_for_records(upstream, 3)] == [True] * 3
