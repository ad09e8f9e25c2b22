"""The parent of a service the harness starts with `command`: it leads the service's process group and takes
the whole group down with it, however it is told to stop.

`python -m harness.stack.group_guard --parent PID -- COMMAND...`. The harness starts it in a new session
(so its PID is the group's ID) with PDEATHSIG set; the command runs as its child in the same group. A
service often starts processes of its own (`npm start` runs node, a shell runs the server), and those
would survive a signal sent to one PID, or the harness's death. So: on SIGTERM or SIGINT, on the
harness's death (PDEATHSIG, or a parent that is already gone) and when the command itself exits, the
guard sends SIGTERM to every other process of its group, SIGKILL after a grace period, and exits with
the command's code. Standard library and psutil only: it starts in a few tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil

GRACE_S = 3.0          # SIGTERM to SIGKILL; the harness waits longer than this before it kills the guard
POLL_S = 0.05


def group_members(pgid: int, exclude: int | None = None) -> list[int]:
    """Live (not zombie) processes whose process group is `pgid`."""
    members = []
    for process in psutil.process_iter(["status"]):
        if process.pid == exclude or process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        with contextlib.suppress(OSError):  # gone, or not ours to ask
            if os.getpgid(process.pid) == pgid:
                members.append(process.pid)
    return members


def stop_group(pgid: int, grace_s: float = GRACE_S, exclude: int | None = None) -> None:
    """SIGTERM every member of the group but `exclude`, then SIGKILL those still there after `grace_s`."""
    for signum, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 1.0)):
        members = group_members(pgid, exclude)
        if not members:
            return
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
        deadline = time.monotonic() + wait_s
        while group_members(pgid, exclude) and time.monotonic() < deadline:
            time.sleep(POLL_S)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop()


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") != 2 or argv[0] != "--parent" or len(argv) < 4:
        print("usage: python -m harness.stack.group_guard --parent PID -- COMMAND...", file=sys.stderr)
        return 2
    parent, command = int(argv[1]), argv[3:]
    me = os.getpid()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _raise_stop)
    code = 0
    try:
        if parent and os.getppid() != parent:
            return 0  # the harness died before PDEATHSIG was armed: start nothing
        try:
            child = subprocess.Popen(command)
        except OSError as exc:
            print(f"cannot start {command[0]}: {exc.strerror}", file=sys.stderr, flush=True)
            return 127
        code = child.wait()
    except _Stop:
        code = 143
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the group's shutdown short
        stop_group(os.getpgid(0), exclude=me)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
