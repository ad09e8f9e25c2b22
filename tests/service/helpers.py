"""Scenario files, commands and process checks shared by the tests of your own service under test."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from harness.stack.group_guard import group_members

HERE = Path(__file__).resolve().parent
APP = HERE / "session_app.py"
USERS = HERE / "session_users.py"
PYTHON = sys.executable
BUG_MS, FIX_MS = "30", "1000"   # REDIS_TIMEOUT_MS: shorter than the toxic's latency (the bug), far longer (the fix)

LOAD = f"""
[load]
locustfile = "{USERS}"
users = 30
spawn_rate = 30
duration = "{{duration}}"
seed = 5

[load.classes.MobileUser]
weight = 1
wait = [0.0, 0.05]

[load.classes.WebUser]
weight = 1
wait = [0.0, 0.05]

[load.mobile_network]
latency_ms = 5

[[faults]]
proxy = "redis"
type = "latency"
stream = "upstream"
attributes = {{{{ latency = 60 }}}}
"""

COMMAND_SERVICE = LOAD + f"""
[service]
command = ["{PYTHON}", "{APP}", "--host", "{{{{host}}}}", "--port", "{{{{port}}}}"]
env = {{{{ REDIS_URL = "{{{{redis_url}}}}", REDIS_TIMEOUT_MS = "{BUG_MS}" }}}}

[variants.before]
expect = "fail"
description = "30 ms Redis socket timeout"

[variants.after]
expect = "pass"
service = {{{{ env = {{{{ REDIS_TIMEOUT_MS = "{FIX_MS}" }}}} }}}}
"""


def write_scenario(tmp_path: Path, text: str, duration: str = "6s", name: str = "own.toml") -> Path:
    path = tmp_path / name
    path.write_text(text.format(duration=duration))
    return path


def harness(*args: str) -> list[str]:
    return [PYTHON, "-m", "harness", *args]


def run_harness(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(harness(*args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def only_run_dir(out: Path) -> Path:
    runs = [p for p in out.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def manifest_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def processes_with(marker: str) -> list[int]:
    """PIDs of live processes whose command line holds `marker` (a unique argument a test gave them)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
            except (OSError, IndexError):
                continue
            if marker in cmdline and state != "Z":
                found.append(int(entry.name))
    return found


def wait_gone(check, timeout: float = 20.0) -> list[int]:
    """Poll `check()` (a list of PIDs) until it is empty or `timeout` passes; the PIDs left."""
    deadline = time.monotonic() + timeout
    left = check()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = check()
    return left


def group_left(pgid: int) -> list[int]:
    return group_members(pgid)

# The same service and fault, with load described in the scenario: credentials from a file, each login
# followed at once by GET /me with the captured session, and a rule that names the service's Redis timeout.
DECLARATIVE_SERVICE = f"""
[load]
users = 30
spawn_rate = 30
duration = "{{duration}}"
seed = 5

[load.credentials]
file = "users.csv"

[[load.flows]]
name = "login"
weight = 1
via_edge = true
wait = [0.0, 0.05]

[[load.flows.steps]]
method = "POST"
path = "/login"
json = {{{{ username = "{{{{username}}}}", password = "{{{{password}}}}" }}}}
capture = {{{{ session = "json:session_id" }}}}

[[load.flows.steps]]
path = "/me"
headers = {{{{ X-Session-ID = "{{{{session}}}}" }}}}

[[load.error_kinds]]
kind = "timeout"
status = 500
body = "TimeoutError"

[load.mobile_network]
latency_ms = 5

[[faults]]
proxy = "redis"
type = "latency"
stream = "upstream"
attributes = {{{{ latency = 60 }}}}

[service]
command = "{PYTHON} {APP} --host {{{{host}}}} --port {{{{port}}}}"
env = {{{{ REDIS_URL = "{{{{redis_url}}}}", REDIS_TIMEOUT_MS = "{BUG_MS}" }}}}

[variants.before]
expect = "fail"

[variants.after]
expect = "pass"
service = {{{{ env = {{{{ REDIS_TIMEOUT_MS = "{FIX_MS}" }}}} }}}}
"""


def write_credentials(folder: Path, count: int = 200) -> Path:
    path = folder / "users.csv"
    path.write_text("username,password\n" + "".join(f"user{n},pass-user{n}\n" for n in range(count)))
    return path
