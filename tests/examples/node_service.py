"""The Node example as the tests start it: on port 0, against a given Redis URL, stopped by PID."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.stack import ManagedProcess

NODE_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node-session-service"
_LISTENING = re.compile(r"listening on (http://[\d.]+:\d+)")
BUGGY: dict[str, str] = {}
FIXED = {"AWAIT_SESSION_WRITE": "1", "REDIS_TIMEOUT_MS": "500"}


def node_missing() -> str | None:
    """Why the Node example cannot run here, or None when it can."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not on PATH: the Node example is not tested"
    if not (NODE_EXAMPLE / "node_modules" / "redis").is_dir():
        return f"{NODE_EXAMPLE}/node_modules is missing: run `npm ci` there (`make test` does)"
    return None


@dataclass
class NodeService:
    url: str
    process: ManagedProcess

    def stop(self) -> int | None:
        return self.process.stop()


def start_node_service(redis_url: str, log_dir: Path, env: dict[str, str], name: str = "node-session-service",
                       timeout: float = 30.0) -> NodeService:
    """Start the example on port 0 and wait until it says where it listens and answers its ready probe."""
    command = ["node", str(NODE_EXAMPLE / "src" / "server.js"), "--port", "0", "--redis-url", redis_url]
    process = ManagedProcess(name, command, log_dir, env={**os.environ, **env}).start()
    try:
        process.wait_ready(lambda: _listening_url(process) is not None, timeout=timeout)
        url = _listening_url(process)
        assert url is not None
        process.wait_ready(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200, timeout=timeout)
    except BaseException:
        process.stop()
        raise
    return NodeService(url=url, process=process)


def _listening_url(process: ManagedProcess) -> str | None:
    match = _LISTENING.search(process.stderr_path.read_text(errors="replace")) if process.stderr_path.exists() else None
    return match.group(1) if match else None
