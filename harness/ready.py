"""The ready-file handshake: a server bound to port 0 tells its parent where it listens."""

from __future__ import annotations

import os
from pathlib import Path

from harness.files import write_json_atomic


def write_ready_file(path: Path | None, host: str, port: int) -> None:
    """Atomically write {url, host, port, pid} so a poller never reads half a file."""
    if path is None:
        return
    info = {"url": f"http://{host}:{port}", "host": host, "port": port, "pid": os.getpid()}
    write_json_atomic(path, info, indent=None)
