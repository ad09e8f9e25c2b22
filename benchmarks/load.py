"""Login flows per second with one local Locust process, and with 1 and 2 workers under a master.

    .venv/bin/python benchmarks/load.py [--duration 20] [--users 60]

Each mode is a real `harness run` (fixed profile, no fault, web users with no wait) on this machine;
CPU share per process is read from /proc between 5 s into the load and 2 s before its end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
TICKS = os.sysconf("SC_CLK_TCK")

SCENARIO = """
[scenario]
name = "load-bench"
[load]
locustfile = "{locustfile}"
users = {users}
spawn_rate = {users}
duration = "{duration}s"
[load.classes.WebUser]
weight = 1
wait = [0.0, 0.0]
[variants.fixed]
profile = "fixed"
expect = "pass"
"""


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def processes(run_dir: Path) -> list[dict]:
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return []
    return manifest["variants"]["fixed"].get("processes", [])


def run_mode(workers: int, scenario: Path, out: Path, duration: int) -> dict:
    command = [sys.executable, "-m", "harness", "run", str(scenario), "--out", str(out / f"w{workers}"),
               "--workers", str(workers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    procs: list[dict] = []
    while not procs and process.poll() is None:
        runs = list((out / f"w{workers}").glob("load-bench-*"))
        procs = processes(runs[0]) if runs else []
        time.sleep(0.2)
    time.sleep(5)
    first = {p["name"]: cpu_seconds(p["pid"]) for p in procs}
    started = time.monotonic()
    time.sleep(max(1, duration - 7))
    last = {p["name"]: cpu_seconds(p["pid"]) for p in procs}
    window = time.monotonic() - started
    process.wait()
    run_dir = next((out / f"w{workers}").glob("load-bench-*"))
    summary = json.loads((run_dir / "summary.json").read_text())["variants"]["fixed"]
    shares = {name: (last[name] - first[name]) / window for name in first
              if first[name] is not None and last.get(name) is not None}
    return {"workers": workers, "flows": summary["target_flow"]["flows"],
            "flows_per_s": summary["target_flow"]["flows"] / summary["duration_s"],
            "success": summary["target_flow"]["success_rate"], "cpu": shares}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--users", type=int, default=60)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="load-bench-"))
    scenario = out / "load-bench.toml"
    scenario.write_text(SCENARIO.format(locustfile=SCENARIOS / "login_users.py", users=args.users,
                                        duration=args.duration))
    print(f"{args.users} web users, no wait, fixed profile, no fault, {args.duration} s per mode, "
          f"{os.cpu_count()} cores")
    print("| Locust | login flows/s | success | CPU share per process (1.0 = one core) |")
    print("|---|---|---|---|")
    for workers in (0, 1, 2):
        result = run_mode(workers, scenario, out, args.duration)
        mode = "1 local process" if workers == 0 else f"master + {workers} worker{'s' if workers > 1 else ''}"
        cpu = ", ".join(f"{name} {share:.2f}" for name, share in sorted(result["cpu"].items()))
        print(f"| {mode} | {result['flows_per_s']:.0f} | {result['success']:.2%} | {cpu} |")


if __name__ == "__main__":
    main()
