"""Fixtures of the example tests: the Node session service, started for real behind the plugin's proxied Redis.

Without node and npm on PATH (or without its node_modules, which `make test` installs with `npm ci`), every test
here skips and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.pytest_plugin import ProxiedRedis
from tests.examples.node_service import NodeService, node_missing, start_node_service


@pytest.fixture(autouse=True)
def _needs_node() -> None:
    reason = node_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def node_service(proxied_redis: ProxiedRedis, tmp_path: Path) -> Iterator[Callable[..., NodeService]]:
    """Factory: `node_service(FIXED)` starts the example behind the proxied Redis; all are stopped after."""
    started: list[NodeService] = []

    def start(env: dict[str, str] | None = None) -> NodeService:
        service = start_node_service(proxied_redis.url, tmp_path / "logs", {"SEED_USERS": "20", **(env or {})},
                                     name=f"node-session-service-{len(started) + 1}")
        started.append(service)
        return service

    try:
        yield start
    finally:
        for service in started:
            service.stop()
