"""Crash-safe faults on an external fault proxy: once a `harness run` process is gone without rolling back
(kill -9, lost terminal), undo what it did there. Started by the run; exits by itself when the run ends.

Run as `python -m harness.experiment.watchdog --pid PID --fault-proxy URL --run-dir DIR`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from harness.errors import RecordsError
from harness.polling import poll_until
from harness.records import APPLY, FAULTS, LOGS_DIR, MANIFEST
from harness.records.files import FaultAction, Manifest, read_run_file, validated
from harness.stack.procs import ManagedProcess, pid_alive, python_module_command

FAULT_PROXY_STATE = "fault-proxy.json"  # in the run folder: proxies the run created or replaced there
FINAL_STATUSES = ("completed", "interrupted", "failed")   # every RunStatus but "running"
POLL_INTERVAL_S = 0.2


def start_watchdog(fault_proxy_url: str, run_dir: Path) -> ManagedProcess:
    """Watch this process; not tied to it (no PDEATHSIG), since its job starts when this process dies."""
    command = python_module_command("harness.experiment.watchdog", "--pid", str(os.getpid()), "--fault-proxy",
                                    fault_proxy_url, "--run-dir", str(run_dir))
    return ManagedProcess("watchdog", command, run_dir / LOGS_DIR, die_with_parent=False).start()


def run_finished(run_dir: Path) -> bool:
    """The run wrote a final status: it rolled back its faults itself (a manifest it cannot read: not yet)."""
    with contextlib.suppress(RecordsError):
        return read_run_file(Manifest, run_dir / MANIFEST).status in FINAL_STATUSES
    return False


def wait_for_run(pid: int, run_dir: Path) -> bool:
    """Block until the run ends; True when it died without finishing (so its faults may be in place)."""
    try:
        pidfd = os.pidfd_open(pid)  # a handle on this very process: immune to PID reuse
    except ProcessLookupError:
        return not run_finished(run_dir)
    except (AttributeError, OSError):  # not Linux 5.3+: poll the PID (platform_gaps() said so at start)
        return _poll_for_run(pid, run_dir)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    try:
        while not poller.poll(POLL_INTERVAL_S * 1000):
            if run_finished(run_dir):
                return False
    finally:
        os.close(pidfd)
    return not run_finished(run_dir)


def _poll_for_run(pid: int, run_dir: Path) -> bool:
    poll_until(lambda: run_finished(run_dir) or not pid_alive(pid), math.inf, POLL_INTERVAL_S)
    return not run_finished(run_dir)


@dataclass(frozen=True)
class OpenFault:
    """A fault the journal shows applied and never removed."""

    proxy: str
    toxic: str | None  # None: the proxy was disabled ("down")


def open_faults(journal: Path) -> list[OpenFault]:
    last: dict[tuple[str, int], FaultAction] = {}
    with contextlib.suppress(OSError):
        for number, line in enumerate(journal.read_text().splitlines(), start=1):
            # A line cut short by a kill, or one that does not validate, is not an action to undo.
            with contextlib.suppress(ValueError, RecordsError):
                row = validated(FaultAction, json.loads(line), f"{journal}:{number}")
                last[(row.variant, row.fault)] = row
    # A process fault (failover, pause) needs no undoing: the Redis processes die with the run.
    return [OpenFault(row.proxy, None if row.type == "down" else row.toxic)
            for row in last.values() if row.action == APPLY and row.type not in ("failover", "pause")]


def undo_run(fault_proxy_url: str, run_dir: Path) -> list[str]:
    """Remove the run's toxics, re-enable what it disabled, delete the proxies it made and restore those it
    replaced (which also drops the edge network-profile toxics on them); returns what was done."""
    from harness.errors import HarnessError
    from harness.stack.fault_client import FaultProxyClient, reset_hint
    from harness.stack.stack import restore_proxies

    client, done = FaultProxyClient(fault_proxy_url), []
    with client.bounded():  # a fault proxy that stops answering must not keep the watchdog forever
        for fault in open_faults(run_dir / FAULTS):
            try:
                if fault.toxic is None:
                    client.set_enabled(fault.proxy, True)
                else:
                    client.remove_toxic(fault.proxy, fault.toxic)
                done.append(f"undid {fault.toxic or 'down'} on {fault.proxy}")
            except HarnessError as exc:
                done.append(f"could not undo {fault.toxic or 'down'} on {fault.proxy}: {exc}; "
                            f"{reset_hint(fault_proxy_url)}")
        with contextlib.suppress(OSError, ValueError):
            state = json.loads((run_dir / FAULT_PROXY_STATE).read_text())
            failed = restore_proxies(client, state.get("created", []), state.get("replaced", {}))
            done.append(f"deleted proxies {state.get('created', [])}, restored {sorted(state.get('replaced', {}))}"
                        + (f"; {len(failed)} not done: {failed[0]}; {reset_hint(fault_proxy_url)}" if failed else ""))
    return done


@click.command()
@click.option("--pid", required=True, type=int, help="PID of the `harness run` to watch.")
@click.option("--fault-proxy", "fault_proxy_url", required=True, help="Toxiproxy API URL the run uses.")
@click.option("--run-dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def main(pid: int, fault_proxy_url: str, run_dir: Path) -> None:
    """Wait for a run to end; if it died without rolling back, undo its faults on the fault proxy."""
    if not wait_for_run(pid, run_dir):
        print(f"run {pid} ended normally; nothing to undo", flush=True)
        return
    print(f"run {pid} is gone without rolling back; undoing its faults at {fault_proxy_url}", flush=True)
    for line in undo_run(fault_proxy_url, run_dir):
        print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
