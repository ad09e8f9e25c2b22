"""pytest fixtures for tests that need a throwaway Redis, the fault proxy or the auth service.

Registered through the `pytest11` entry point, so `pip install` makes them available.
Every fixture stops what it started, by PID, even when the test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.stack import RedisServer, ServerProcess, start_fault_proxy


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A throwaway Redis on a free loopback port, persistence off."""
    server = RedisServer(log_dir=tmp_path / "logs").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fault_proxy(tmp_path: Path) -> Iterator[ServerProcess]:
    """The embedded fault proxy as its own process; `.url` is its Toxiproxy HTTP API."""
    proxy = start_fault_proxy(tmp_path / "logs", seed=1)
    try:
        yield proxy
    finally:
        proxy.stop()
