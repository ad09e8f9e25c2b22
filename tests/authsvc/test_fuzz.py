"""Schema-driven fuzz of /openapi.json with no fault: no input makes the service answer 5xx.

Schemathesis runs as its own process: it imports requests, which must not be loaded into a pytest
process that may also load Locust.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness.stack import ServerProcess
from tests.authsvc.helpers import credentials

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
FUZZ_TIME_LIMIT_S = 60  # a bound, not the expected time: each run takes ~6 s on a quiet 2-core machine
# Every generated case answered without a 5xx; at --max-examples 30 a run generates about 270 cases.
ALL_PASSED = re.compile(r"(\d+) generated, \1 passed")


def _fuzz(url: str, workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", "not_a_server_error",
               "--max-examples", "30", "--seed", "1", "--generation-database", "none", "--no-color",
               "--phases", "coverage,fuzzing", "--workers", "2", "--request-timeout", "10", *extra]
    # Run in a scratch folder: schemathesis leaves a .schemathesis/ cache in its working directory.
    return subprocess.run(command, capture_output=True, text=True, timeout=FUZZ_TIME_LIMIT_S, check=False,
                          cwd=workdir)


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is a dev dependency; not installed here")
def test_no_generated_request_gets_a_5xx_without_credentials(plain_service: ServerProcess, tmp_path: Path) -> None:
    result = _fuzz(plain_service.url, tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert_many_cases_all_passed(result.stdout)


def assert_many_cases_all_passed(stdout: str) -> None:
    counted = ALL_PASSED.search(stdout)
    assert counted is not None and int(counted.group(1)) >= 100, stdout[-2000:]


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is a dev dependency; not installed here")
def test_no_generated_request_gets_a_5xx_with_a_live_session_and_token(plain_service: ServerProcess,
                                                                       tmp_path: Path) -> None:
    body = httpx.post(f"{plain_service.url}/login", json=credentials(4)).json()
    result = _fuzz(plain_service.url, tmp_path, "-H", f"X-Session-ID: {body['session_id']}",
                   "-H", f"Authorization: Bearer {body['access_token']}")
    assert result.returncode == 0, result.stdout[-4000:]
    assert_many_cases_all_passed(result.stdout)
