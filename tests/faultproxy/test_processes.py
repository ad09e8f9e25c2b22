"""`harness faultproxy --processes N`: one API, every proxy's connections spread over N processes, every change
made in all of them, nothing lost, every process stopped with the first (#13 part 3: past one process's open
files and one core)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.stack import ServerProcess, start_fault_proxy
from harness.stack.procs import pid_alive
from tests.faultproxy.helpers import EchoServer, ProxyApi, connect, read_exactly
from tests.waiting import wait_until

PROCESSES = 3
CLIENTS = 60   # connections held at once: all of them in one process of three is a chance of 3 ** -59


@pytest.fixture
def sharded(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_fault_proxy(tmp_path / "logs", seed=5, processes=PROCESSES, extra=["--proxy-metrics"])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


def processes_of(server: ServerProcess) -> list[psutil.Process]:
    first = psutil.Process(server.process.pid)
    return [first, *first.children()]


def holders(server: ServerProcess, port: int) -> dict[int, int]:
    """Per process of the fault proxy: the client connections it holds on `port`."""
    counts = {}
    for process in processes_of(server):
        counts[process.pid] = sum(1 for c in process.net_connections("tcp")
                                  if c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED)
    return counts


@contextlib.contextmanager
def held_in_every_process(server: ServerProcess, address: tuple[str, int]) -> Iterator[list[socket.socket]]:
    """CLIENTS connections to `address`, once every one is accepted and every process holds some; closed after."""
    socks = [connect(address) for _ in range(CLIENTS)]
    try:
        wait_until(lambda: sum(holders(server, address[1]).values()) == CLIENTS, 10, "every connection accepted")
        counts = holders(server, address[1])
        assert all(count > 0 for count in counts.values()), counts
        yield socks
    finally:
        for sock in socks:
            sock.close()


def test_connections_spread_over_every_process_and_each_gets_exactly_its_bytes(
        sharded: ServerProcess, echo: EchoServer) -> None:
    api = ProxyApi(sharded.url)
    api.create("echo", echo.address)
    address = api.address("echo")
    assert len(processes_of(sharded)) == PROCESSES
    with held_in_every_process(sharded, address) as socks:
        for number, sock in enumerate(socks):
            sock.sendall(b"%06d" % number * 1000)
        for number, sock in enumerate(socks):
            assert read_exactly(sock, 6000) == b"%06d" % number * 1000
    # One proxy, as a Toxiproxy client sees it.
    assert list(httpx.get(f"{sharded.url}/proxies", timeout=5).json()) == ["echo"]
    totals = {family.name: sum(s.value for s in family.samples if s.name.endswith("_total"))
              for family in text_string_to_metric_families(httpx.get(f"{sharded.url}/metrics", timeout=5).text)}
    # Every byte through every process is counted once: 6,000 each way per client.
    assert totals["toxiproxy_proxy_received_bytes"] == totals["toxiproxy_proxy_sent_bytes"] == 2 * 6000 * CLIENTS


def test_a_toxic_acts_in_every_process_and_its_removal_too(sharded: ServerProcess, echo: EchoServer) -> None:
    api = ProxyApi(sharded.url)
    api.create("echo", echo.address)
    address = api.address("echo")
    api.add_toxic("echo", "latency", name="slow", latency=1000)
    with held_in_every_process(sharded, address) as socks:
        def round_trips(group: list) -> list[float]:
            """Seconds from each socket's send to its echo, all in flight at once."""
            sent = []
            for sock in group:
                sent.append(time.monotonic())
                sock.sendall(b"x")
            took = []
            for sock, at in zip(group, sent, strict=True):
                assert read_exactly(sock, 1) == b"x"
                took.append(time.monotonic() - at)
            return took

        assert min(round_trips(socks)) >= 1.0   # in every process: none is early
        assert httpx.delete(f"{sharded.url}/proxies/echo/toxics/slow", timeout=5).status_code == 204
        assert max(round_trips(socks[:10])) < 1.0


def test_disabling_a_proxy_closes_its_connections_in_every_process_and_enabling_it_listens_again(
        sharded: ServerProcess, echo: EchoServer) -> None:
    api = ProxyApi(sharded.url)
    api.create("echo", echo.address)
    address = api.address("echo")
    with held_in_every_process(sharded, address) as socks:
        assert httpx.post(f"{sharded.url}/proxies/echo", json={"enabled": False}, timeout=5).status_code == 200
        for sock in socks:
            sock.settimeout(5)
            assert sock.recv(1) == b""   # closed by whichever process held it
        with pytest.raises(ConnectionRefusedError):
            connect(address)
        assert httpx.post(f"{sharded.url}/proxies/echo", json={"enabled": True}, timeout=5).status_code == 200
        assert api.address("echo") == address   # the same port, in every process
        again = [connect(address) for _ in range(CLIENTS)]
        for sock in again:
            sock.sendall(b"ok")
            assert read_exactly(sock, 2) == b"ok"
            sock.close()


def test_a_proxy_created_disabled_listens_on_one_port_in_every_process_once_reset(
        sharded: ServerProcess, echo: EchoServer) -> None:
    api = ProxyApi(sharded.url)
    api.create("echo", echo.address, enabled=False)   # listen 127.0.0.1:0 everywhere: no port drawn yet
    assert httpx.post(f"{sharded.url}/reset", timeout=5).status_code == 204
    with held_in_every_process(sharded, api.address("echo")):
        pass


def test_proxies_from_a_config_file_listen_in_every_process(tmp_path: Path, echo: EchoServer) -> None:
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([{"name": "echo", "upstream": echo.address, "listen": "127.0.0.1:0"}]))
    server = start_fault_proxy(tmp_path / "logs", processes=PROCESSES, extra=["--config", str(config)])
    try:
        with held_in_every_process(server, ProxyApi(server.url).address("echo")):
            pass
    finally:
        server.stop()


def test_a_second_proxy_on_a_taken_port_is_refused_as_in_one_process(sharded: ServerProcess,
                                                                     echo: EchoServer) -> None:
    api = ProxyApi(sharded.url)
    api.create("echo", echo.address)
    host, port = api.address("echo")
    response = httpx.post(f"{sharded.url}/proxies", timeout=5,
                          json={"name": "other", "upstream": echo.address, "listen": f"{host}:{port}"})
    assert response.status_code == 500
    assert response.json()["error"] == f"listen tcp {host}:{port}: bind: address already in use"
    assert list(httpx.get(f"{sharded.url}/proxies", timeout=5).json()) == ["echo"]


def test_every_process_stops_with_the_first_on_sigterm_and_on_kill(tmp_path: Path) -> None:
    for signum in (signal.SIGTERM, signal.SIGKILL):
        server = start_fault_proxy(tmp_path / f"logs-{signum}", processes=PROCESSES)
        try:
            pids = [p.pid for p in processes_of(server)]
            assert len(pids) == PROCESSES
            os.kill(server.process.pid, signum)
            server.process.popen.wait(10)   # type: ignore[union-attr]
            wait_until(lambda pids=pids: not any(pid_alive(pid) for pid in pids), 10, "every process is gone")
        finally:
            server.stop()
    assert server.process.popen.returncode == -signal.SIGKILL   # type: ignore[union-attr]


def test_processes_is_refused_outside_its_range_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "harness", "faultproxy", "--processes", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--processes" in result.stderr and "Traceback" not in result.stderr
