"""A real third-party client, the npm package toxiproxy-node-client (pinned in node_client/package-lock.json),
drives the embedded fault proxy through every call it has. Skipped, with the reason, without node and npm
or when the npm registry cannot be reached."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.stack import ServerProcess
from tests.faultproxy.helpers import EchoServer, ProxyApi

CLIENT_DIR = Path(__file__).with_name("node_client")


@pytest.fixture(scope="module")
def node_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    workdir = tmp_path_factory.mktemp("node-client")
    for name in ("package.json", "package-lock.json", "drive.mjs"):
        shutil.copy(CLIENT_DIR / name, workdir / name)
    installed = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=workdir,
                               capture_output=True, text=True, timeout=180, check=False)
    if installed.returncode != 0:
        pytest.skip(f"npm ci failed (registry unreachable?): {installed.stderr.strip().splitlines()[-1:]}")
    return workdir


def test_toxiproxy_node_client_drives_every_call(node_client: Path, proxy_server: ServerProcess, api: ProxyApi,
                                                 echo_server: EchoServer) -> None:
    done = subprocess.run(["node", "drive.mjs", proxy_server.url, echo_server.address], cwd=node_client,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["created"]["name"] == "node" and seen["created"]["enabled"] is True
    assert seen["toxic"]["attributes"] == {"latency": 150, "jitter": 0}
    assert seen["updatedToxic"]["attributes"]["latency"] == 200
    assert seen["fetchedToxic"]["attributes"]["latency"] == 200 and seen["fetchedToxic"]["stream"] == "upstream"
    assert json.loads(seen["version"]) == {"version": "2.12.0"}
    assert seen["all"] == ["node"]
    assert seen["duplicate"] == "Request failed with status code 409"
    assert seen["disabled"] is False and seen["enabled"] is True
    assert seen["populated"] == ["pop"]
    assert seen["afterRemove"] == []
    assert seen["final"] == ["node"]
