"""Fixtures of the auth service tests: one no-fault service per module, plus the plugin's fault fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.stack import RedisServer, ServerProcess, start_authsvc

# Small user tables start in well under a second; every test uses user0..user{N-1} only.
TEST_USERS = 200


@pytest.fixture(scope="module")
def plain_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The fixed profile on a direct Redis (no proxy), shared by a module's no-fault tests."""
    log_dir: Path = tmp_path_factory.mktemp("authsvc-logs")
    redis_server = RedisServer(log_dir=log_dir).start()
    service = start_authsvc(redis_server.url, log_dir, profile="fixed", users=TEST_USERS)
    try:
        yield service
    finally:
        service.stop()
        redis_server.stop()
