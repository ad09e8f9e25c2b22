"""`harness faultproxy` as a process: --config, bad input exit codes, clean exit on signals, --seed."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.stack import RedisServer, start_fault_proxy
from harness.stack.procs import ManagedProcess
from tests.faultproxy.helpers import connect, timed_ping


def _start(logs: Path, *args: str) -> tuple[ManagedProcess, str]:
    ready = logs / "ready.json"
    command = [sys.executable, "-m", "harness", "faultproxy", "--port", "0", "--ready-file", str(ready), *args]
    process = ManagedProcess("faultproxy", command, logs).start()
    try:
        return process, process.wait_ready_file(ready, timeout=20)["url"]
    except BaseException:
        process.stop()
        raise


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "faultproxy", "--port", "0", *args],
                          capture_output=True, text=True, timeout=30)


def test_config_file_creates_proxies_at_start(tmp_path: Path, redis_server: RedisServer) -> None:
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([{"name": "redis", "listen": "127.0.0.1:0", "upstream": redis_server.address}]))
    process, url = _start(tmp_path / "logs", "--config", str(config))
    try:
        proxy = httpx.get(f"{url}/proxies/redis").json()
        host, port = proxy["listen"].rsplit(":", 1)
        with connect((host, int(port))) as sock:
            timed_ping(sock)
    finally:
        assert process.stop() == 0


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "harness: proxies.json: not valid JSON"),
    ('{"name": "x"}', "harness: proxies.json: bad request body: expected a JSON array of proxies"),
    ('[{"name": "x"}]', "harness: proxies.json: missing required field: upstream at proxy 1"),
])
def test_bad_config_file_is_one_line_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "proxies.json"
    config.write_text(content)
    result = _run("--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_api_port_in_use_is_exit_3(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run([sys.executable, "-m", "harness", "faultproxy", "--port",
                                 str(taken.getsockname()[1])], capture_output=True, text=True, timeout=30)
    assert result.returncode == 3
    assert "cannot listen" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_closes_everything_and_exits_0(tmp_path: Path, redis_server: RedisServer, signum: int) -> None:
    process, url = _start(tmp_path / "logs")
    httpx.post(f"{url}/proxies", json={"name": "redis", "upstream": redis_server.address})
    host, port = httpx.get(f"{url}/proxies/redis").json()["listen"].rsplit(":", 1)
    with connect((host, int(port))) as sock:
        timed_ping(sock)
        process.signal(signum)
        assert process.popen is not None
        assert process.popen.wait(10) == 0
        sock.settimeout(5)
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(10) == b""
    assert "fault proxy stopped" in process.stderr_path.read_text()


def _delayed_connections(url: str, redis_address: str, count: int) -> list[bool]:
    """For `count` fresh connections through a 50% latency toxic: which ones were delayed."""
    httpx.post(f"{url}/proxies", json={"name": "redis", "upstream": redis_address})
    httpx.post(f"{url}/proxies/redis/toxics", json={"type": "latency", "toxicity": 0.5,
                                                    "attributes": {"latency": 60}})
    host, port = httpx.get(f"{url}/proxies/redis").json()["listen"].rsplit(":", 1)
    outcome = []
    for _ in range(count):
        with connect((host, int(port))) as sock:
            outcome.append(timed_ping(sock) >= 60)
    return outcome


def test_seed_makes_toxicity_draws_reproducible(tmp_path: Path, redis_server: RedisServer) -> None:
    """Two servers with the same --seed delay the same connections (by their order on the proxy)."""
    runs = []
    for attempt in range(2):
        server = start_fault_proxy(tmp_path / f"logs{attempt}", seed=42)
        try:
            runs.append(_delayed_connections(server.url, redis_server.address, 12))
        finally:
            server.stop()
    assert runs[0] == runs[1]
    assert any(runs[0]) and not all(runs[0])
