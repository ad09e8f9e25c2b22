"""`harness up` / `harness down`: one variant's stack and the Locust web UI, left running for exploration,
and stopped later by PID from the state file `up` writes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from harness.errors import BadInput, HarnessError, StackError
from harness.files import write_json_atomic
from harness.polling import poll_until
from harness.scenario import Scenario, flag_text, load_scenario, locustfile_path
from harness.stack.procs import ManagedProcess, free_port, pid_alive

if TYPE_CHECKING:  # imported where used, like the rest of the stack
    from harness.stack.stack import Stack

STATE_FILE = "up.json"
STOP_TIMEOUT_S = 5.0


class NothingUp(HarnessError):
    """`harness down` found no state file: there is nothing it started to stop (exit 1)."""


@dataclass(frozen=True)
class UpProcess:
    """A process `up` started: `down` kills the PID only while its command line is still this one."""

    name: str
    pid: int
    cmdline: list[str]


@dataclass(frozen=True)
class UpState:
    scenario: str
    variant: str
    profile: str
    urls: dict[str, str]
    processes: list[UpProcess]
    started_at: float

    def save(self, path: Path) -> None:
        write_json_atomic(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> UpState:
        try:
            raw = json.loads(path.read_text())
            return cls(**{**raw, "processes": [UpProcess(**p) for p in raw["processes"]]})
        except FileNotFoundError:
            raise NothingUp(f"nothing to stop: no state file {path} (harness up writes it)") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BadInput(f"{path}: not a harness up state file ({exc})") from None


def read_cmdline(pid: int) -> list[str] | None:
    """The command line of a live process, None when it is gone (zombies included)."""
    if not pid_alive(pid):
        return None
    try:
        return psutil.Process(pid).cmdline() or None
    except psutil.Error:
        return None


def pick_variant(scenario: Scenario, wanted: str | None) -> str:
    if wanted is None:
        return "fixed" if "fixed" in scenario.variants else next(iter(scenario.variants))
    if wanted not in scenario.variants:
        raise BadInput(f"--variant: unknown variant {wanted!r}, the scenario has: {', '.join(scenario.variants)}")
    return wanted


def bring_up(scenario_path: Path, variant: str | None, state_dir: Path) -> UpState:
    """Start the stack and the Locust UI detached from this process; write and return the state."""
    from harness.experiment.options import check_service_targets

    state_path = state_dir / STATE_FILE
    if state_path.exists():
        raise BadInput(f"{state_path}: a stack is already up; stop it first with harness down")
    scenario = load_scenario(scenario_path)
    check_service_targets(scenario, allow_remote=False)
    locustfile = locustfile_path(scenario_path, scenario)
    name = pick_variant(scenario, variant)
    stack = start_stack(scenario, name, state_dir / "logs", scenario_path.parent)
    try:
        ui, ui_url = start_locust_ui(scenario, name, locustfile, stack, state_dir / "logs")
    except BaseException:
        stack.stop()
        raise
    redis_url = stack.redis.url if stack.redis else f"redis://{scenario.redis.upstream}/0"
    urls = {"locust_ui": ui_url, "service": stack.service_url, "edge": stack.edge_url,
            "fault_proxy": stack.fault_proxy_url, "redis": redis_url,
            "redis_via_proxy": f"redis://{stack.redis_proxy_address}/0"}
    processes = [UpProcess(p.name, int(p.pid or 0), read_cmdline(int(p.pid or 0)) or list(p.command))
                 for p in [ui, *stack.processes()]]
    service = scenario.service_for(name)
    profile = scenario.variants[name].profile if service.is_reference else (
        "own service at " + service.url if service.url else "own service: " + " ".join(service.command or []))
    state = UpState(scenario=str(scenario_path), variant=name, profile=profile, urls=urls,
                    processes=processes, started_at=time.time())
    state.save(state_path)
    return state


def start_stack(scenario: Scenario, variant: str, log_dir: Path, scenario_dir: Path) -> Any:
    from harness.experiment.timeline import apply_network_profile
    from harness.stack.service import service_settings
    from harness.stack.stack import Stack, StackSpec

    if scenario.redis.topology == "sentinel":
        # Its processes are tied to the run's life (a restart thread, a temporary folder per Sentinel config).
        raise BadInput('harness up: [redis] topology = "sentinel" runs under harness run only; '
                       "allowed here: the single Redis (leave topology out)")
    chosen = scenario.variants[variant]
    flags = {k: flag_text(v) for k, v in chosen.flags.items()}
    spec = StackSpec(log_dir=log_dir, profile=chosen.profile, flags=flags, service_users=scenario.service.users,
                     service_workers=scenario.service.workers, with_edge=True, seed=scenario.load.seed,
                     detached=True, variant=variant, run_dir=log_dir.parent, redis_upstream=scenario.redis.upstream,
                     redis_listen=scenario.redis.listen,
                     **service_settings(scenario.service_for(variant), scenario_dir))
    stack = Stack(spec).start()
    try:
        assert stack.client is not None  # start() connected it
        apply_network_profile(stack.client, "edge", scenario.load.mobile_network)
    except BaseException:
        stack.stop()
        raise
    return stack


def start_locust_ui(scenario: Scenario, variant: str, locustfile: Path, stack: Stack,
                    log_dir: Path) -> tuple[ManagedProcess, str]:
    """Locust with its web UI (not headless) on a free loopback port, pre-filled with the scenario's load."""
    import httpx

    from harness.load.runner import STARTUP_TIMEOUT_S, locust_command

    load = scenario.load
    harness_load = {"classes": {k: c.model_dump(mode="json") for k, c in load.classes.items()},
                    "client": dict(scenario.variants[variant].client), "options": dict(load.options),
                    "seed": load.seed, "users_in_service": scenario.service.users, "flows": load.flows_spec()}
    port = free_port()
    args = ["-f", str(locustfile), "--host", stack.service_url, "--edge-host", stack.edge_url,
            "--web-host", "127.0.0.1", "--web-port", str(port), "-u", str(load.users), "-r", str(load.spawn_rate),
            "--harness-variant", variant, "--harness-load", json.dumps(harness_load)]
    process = ManagedProcess("locust-ui", locust_command(*args), log_dir, die_with_parent=False).start()
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_ready(lambda: httpx.get(url, timeout=1).status_code == 200, timeout=STARTUP_TIMEOUT_S)
    except BaseException:
        process.stop()
        raise
    return process, url


def describe(state: UpState, state_path: Path) -> list[str]:
    urls = state.urls
    return [
        f"up: {state.scenario}, variant {state.variant} ({_service_words(state.profile)})",
        f"  Locust UI        {urls['locust_ui']}",
        f"  service          {urls['service']}",
        f"  edge (mobile)    {urls['edge']}",
        f"  fault proxy API  {urls['fault_proxy']}  (Toxiproxy API; proxies: redis, edge)",
        f"  Redis            {urls['redis']}  (through the proxy: {urls['redis_via_proxy']})",
        f"  state            {state_path}; stop everything with: harness down",
    ]


def _service_words(profile: str) -> str:
    return profile if profile.startswith("own service") else f"profile {profile}"


def stop_process(process: UpProcess) -> bool:
    """SIGTERM then SIGKILL, only while the PID still runs the command `up` started; False if it was gone."""
    if read_cmdline(process.pid) != process.cmdline:
        return False  # exited, or the PID now belongs to someone else
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)
        if poll_until(lambda: read_cmdline(process.pid) is None, STOP_TIMEOUT_S):
            return True
    raise StackError(f"{process.name} (pid {process.pid}) did not stop")


def bring_down(state_dir: Path) -> list[str]:
    """Stop exactly the processes `up` recorded, Locust first; remove the state file."""
    state_path = state_dir / STATE_FILE
    state = UpState.load(state_path)
    lines = []
    for process in state.processes:
        stopped = stop_process(process)
        lines.append(f"  {process.name:<12} pid {process.pid:<8} {'stopped' if stopped else 'already gone'}")
    state_path.unlink()
    return [f"down: {state.scenario}, variant {state.variant}", *lines]
