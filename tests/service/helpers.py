"""Scenario files, commands and process checks shared by the tests of your own service under test."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import psutil

from harness.stack.group_guard import group_members
from tests.runs import PYTHON, harness, manifest_of, only_run_dir, run_harness
from tests.scenario_files import ME_STEP, Tables, login_step, merged, redis_latency
from tests.scenario_files import write_scenario as write_scenario_file
from tests.waiting import wait_until

__all__ = ["PYTHON", "harness", "manifest_of", "only_run_dir", "run_harness"]  # shared by this folder's tests

HERE = Path(__file__).resolve().parent
APP = HERE / "session_app.py"
USERS = HERE / "session_users.py"
BUG_MS, FIX_MS = "30", "1000"   # REDIS_TIMEOUT_MS: shorter than the toxic's latency (the bug), far longer (the fix)

# The session app under a Redis latency its 30 ms socket timeout cannot take; 6 s unless a test says otherwise.
LOAD = {
    "load": {"locustfile": str(USERS), "users": 30, "spawn_rate": 30, "duration": "6s", "seed": 5,
             "classes": {"MobileUser": {"weight": 1, "wait": [0.0, 0.05]},
                         "WebUser": {"weight": 1, "wait": [0.0, 0.05]}},
             "mobile_network": {"latency_ms": 5}},
    "faults": [redis_latency(60)],
}
SERVICE_ENV = {"REDIS_URL": "{redis_url}", "REDIS_TIMEOUT_MS": BUG_MS}
BEFORE_AFTER = {"variants": {"before": {"expect": "fail", "description": "30 ms Redis socket timeout"},
                             "after": {"expect": "pass", "service": {"env": {"REDIS_TIMEOUT_MS": FIX_MS}}}}}

COMMAND_SERVICE = merged(LOAD, {"service": {"command": [PYTHON, str(APP), "--host", "{host}", "--port", "{port}"],
                                            "env": SERVICE_ENV}}, BEFORE_AFTER)


def write_scenario(tmp_path: Path, *parts: Tables, name: str = "own.toml") -> Path:
    return write_scenario_file(tmp_path, *parts, name=name)


def processes_with(marker: str) -> list[int]:
    """PIDs of live processes whose command line holds `marker` (a unique argument a test gave them)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if marker in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process.pid)
    return found


def wait_gone(check: Callable[[], list[int]], timeout: float = 20.0) -> list[int]:
    """Poll `check()` (a list of PIDs) until it is empty or `timeout` passes; the PIDs left."""
    with suppress(AssertionError):  # the caller asserts on the PIDs left, which names them
        wait_until(lambda: not check(), timeout, "every process is gone", interval=0.1)
    return check()


def group_left(pgid: int) -> list[int]:
    return group_members(pgid)

# The same service and fault, with load described in the scenario: credentials from a file, each login
# followed at once by GET /me with the captured session, and a rule that names the service's Redis timeout.
DECLARATIVE_SERVICE = merged({
    "load": {"users": 30, "spawn_rate": 30, "duration": "6s", "seed": 5,
             "credentials": {"file": "users.csv"},
             "flows": [{"name": "login", "weight": 1, "via_edge": True, "wait": [0.0, 0.05],
                        "steps": [login_step(), ME_STEP]}],
             "error_kinds": [{"kind": "timeout", "status": 500, "body": "TimeoutError"}],
             "mobile_network": {"latency_ms": 5}},
    "faults": [redis_latency(60)],
    "service": {"command": f"{PYTHON} {APP} --host {{host}} --port {{port}}", "env": SERVICE_ENV},
}, BEFORE_AFTER)


def write_credentials(folder: Path, count: int = 200) -> Path:
    path = folder / "users.csv"
    path.write_text("username,password\n" + "".join(f"user{n},pass-user{n}\n" for n in range(count)))
    return path
