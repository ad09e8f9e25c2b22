"""Fixtures of the fault proxy tests: one proxy server process for the session, emptied after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from toxiproxy import Toxiproxy

from harness.stack import RedisServer, ServerProcess, start_fault_proxy
from tests.faultproxy.helpers import EchoServer, ProxyApi


@pytest.fixture(scope="session")
def proxy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The embedded fault proxy as its own process, shared by the tests (starting one costs ~0.3 s)."""
    server = start_fault_proxy(tmp_path_factory.mktemp("faultproxy-logs"), seed=1)
    try:
        yield server
    finally:
        assert server.stop() == 0, "the fault proxy did not exit cleanly on SIGTERM"


@pytest.fixture
def api(proxy_server: ServerProcess) -> Iterator[ProxyApi]:
    client = ProxyApi(proxy_server.url)
    try:
        yield client
    finally:
        assert proxy_server.process.alive(), "the fault proxy died during the test"
        client.delete_all()
        client.http.close()


@pytest.fixture
def toxiproxy(proxy_server: ServerProcess, api: ProxyApi) -> Toxiproxy:
    """The toxiproxy-python client pointed at the shared server (it keeps host/port as class globals)."""
    client = Toxiproxy()
    client.update_api_consumer(proxy_server.host, proxy_server.port)
    return client


@pytest.fixture
def redis_proxy(api: ProxyApi, redis_server: RedisServer) -> tuple[str, int]:
    """A proxy named "redis" in front of a throwaway Redis; returns its listen address."""
    api.create("redis", redis_server.address)
    return api.address("redis")


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


@pytest.fixture
def echo_proxy(api: ProxyApi, echo_server: EchoServer) -> tuple[str, int]:
    api.create("echo", echo_server.address)
    return api.address("echo")


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    return tmp_path / "logs"
