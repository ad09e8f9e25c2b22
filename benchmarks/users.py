"""Hold N concurrent users on this machine and measure what the harness itself costs per 1,000 users.

    .venv/bin/python benchmarks/users.py --users 5000 [--duration 90] [--web-only] [--workers 2]
        [--service-workers 2] [--spawn 20] [--wait 25,35]

Duration: at least the spawn time plus the longest wait plus 15 s, so that the steady state (every user spawned
and past its first wait) shows.

Runs the login load of the pool-exhaustion report (login_users.py; 3 mobile : 1 web, each user logging in
every 25-35 s, mobile users through the edge proxy with 40±15 ms each way; `--web-only` sends every user
direct) against the fixed reference service, with every user spawned in the first 20 s (`--spawn`; `--wait`
changes the pacing), and samples every process the run started (Locust and its workers, the fault proxy and
its other processes, the service, Redis) by PID from the manifest. Prints users held, flows/s, success, p95,
and CPU, memory and peak open descriptors per process and per 1,000 users. Not a CI test: big runs load the
shared machine, run them sparingly.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SPAWN_S = 20
SAMPLE_S = 1.0

SCENARIO = """
[scenario]
name = "hold-{users}"
[load]
locustfile = "{locustfile}"
users = {users}
spawn_rate = {spawn_rate}
duration = "{duration}s"
seed = 31
{network}
[load.classes.MobileUser]
weight = {mobile}
wait = [{wait_low}, {wait_high}]
[load.classes.WebUser]
weight = 1
wait = [{wait_low}, {wait_high}]
[service]
workers = {service_workers}
[variants.fixed]
profile = "fixed"
expect = "pass"
"""


def scenario_text(args: argparse.Namespace) -> str:
    network = "" if args.web_only else "[load.mobile_network]\nlatency_ms = 40\njitter_ms = 15"
    return SCENARIO.format(users=args.users, locustfile=SCENARIOS / "login_users.py", duration=args.duration,
                           spawn_rate=max(1, args.users // args.spawn), network=network,
                           wait_low=args.wait[0], wait_high=args.wait[1],
                           mobile=0 if args.web_only else 3, service_workers=args.service_workers)


def processes_of(run_dir: Path) -> list[dict]:
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        return manifest["variants"]["fixed"].get("processes") or []
    except (OSError, ValueError, KeyError):
        return []


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def sample(named: list[dict], cpu: dict[str, float], rss: dict[str, float], fds: dict[str, int]) -> None:
    """CPU seconds so far, peak resident memory and the peak open descriptors of its busiest process, per named
    process (with its children: service workers, the fault proxy's other processes)."""
    for entry in named:
        seconds, resident, most = 0.0, 0.0, 0
        for proc in tree(entry["pid"]):
            try:
                times = proc.cpu_times()
                seconds += times.user + times.system
                resident += proc.memory_info().rss
                most = max(most, proc.num_fds())
            except psutil.Error:
                continue
        if seconds:
            cpu[entry["name"]] = max(cpu.get(entry["name"], 0.0), seconds)
        rss[entry["name"]] = max(rss.get(entry["name"], 0.0), resident / 2**20)
        fds[entry["name"]] = max(fds.get(entry["name"], 0), most)


def run(args: argparse.Namespace, out: Path) -> tuple[Path, dict[str, float], dict[str, float], dict[str, int],
                                                      float]:
    scenario = out / "hold.toml"
    scenario.write_text(scenario_text(args))
    command = [sys.executable, "-m", "harness", "run", str(scenario), "--out", str(out / "runs")]
    if args.workers:
        command += ["--workers", str(args.workers)]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    cpu: dict[str, float] = {}
    rss: dict[str, float] = {}
    fds: dict[str, int] = {}
    started = None
    while proc.poll() is None:
        runs = list((out / "runs").glob("hold-*"))
        named = processes_of(runs[0]) if runs else []
        if named and started is None:
            started = time.monotonic()
        sample(named, cpu, rss, fds)
        time.sleep(SAMPLE_S)
    stderr = proc.stderr.read() if proc.stderr else ""
    runs = list((out / "runs").glob("hold-*"))
    if proc.returncode not in (0, 1) or not runs:
        sys.exit(f"harness run exited {proc.returncode}: {stderr.strip().splitlines()[-1:]}")
    return runs[0], cpu, rss, fds, time.monotonic() - (started or time.monotonic())


def report(args: argparse.Namespace, run_dir: Path, cpu: dict[str, float], rss: dict[str, float],
           fds: dict[str, int], wall_s: float) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())["variants"]["fixed"]
    rows = pd.concat(pd.read_parquet(p) for p in (run_dir / "requests").glob("*.parquet"))
    flows = rows[(rows["kind"] == "flow") & (rows["name"] == "login")]
    # Steady state: every user spawned and past its first wait (each logs in at once when it starts).
    steady_from = args.spawn + args.wait[1]
    steady = flows[flows["t"] >= steady_from]
    span = max(1e-9, float(flows["t"].max()) - steady_from)
    flow = summary["target_flow"]
    kinds = ", ".join(f"{k} {n / max(1, flow['flows']):.2%}" for k, n in summary["failures_by_kind"].items())
    print(f"users {args.users:,} ({'web only' if args.web_only else '3 mobile : 1 web'}), "
          f"Locust workers {args.workers or 'none (one process)'}, service workers {args.service_workers}, "
          f"{args.duration} s, spawned over {args.spawn:g} s, "
          f"each logging in every {args.wait[0]:g}-{args.wait[1]:g} s")
    print(f"flows {flow['flows']:,}, success {flow['success_rate']:.2%} [{flow['ci_low']:.2%}, {flow['ci_high']:.2%}]"
          f"{' (' + kinds + ')' if kinds else ''}; steady (from {steady_from:g} s): {len(steady) / span:.1f} flows/s, "
          f"p95 {steady['latency_ms'].quantile(0.95):.0f} ms")
    per_k = 1000 / args.users
    print(f"{'process':<28}{'CPU s':>8}{'CPU %':>8}{'peak MB':>9}{'CPU %/1k users':>16}{'MB/1k users':>13}"
          f"{'peak fds':>10}")
    for name in sorted(cpu, key=lambda n: -cpu[n]):
        share = 100 * cpu[name] / max(wall_s, 1e-9)
        print(f"{name:<28}{cpu[name]:>8.1f}{share:>8.1f}{rss.get(name, 0):>9.0f}{share * per_k:>16.2f}"
              f"{rss.get(name, 0) * per_k:>13.1f}{fds.get(name, 0):>10,}")
    print(f"(wall {wall_s:.0f} s from the first process seen; CPU % of one core)")


def _wait(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    try:
        pair = float(low), float(high)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--wait must be LOW,HIGH seconds, got {text!r}") from None
    if not 0 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"--wait must be LOW,HIGH with 0 <= LOW <= HIGH, got {text!r}")
    return pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--duration", type=int, default=90, help="seconds of load, the 20 s spawn included")
    parser.add_argument("--web-only", action="store_true", help="every user direct, none through the edge proxy")
    parser.add_argument("--workers", type=int, default=0, help="Locust worker processes (harness run --workers)")
    parser.add_argument("--service-workers", type=int, default=1, help="[service] workers of the reference service")
    parser.add_argument("--spawn", type=float, default=SPAWN_S, help="seconds over which every user is spawned")
    parser.add_argument("--wait", type=_wait, default=(25.0, 35.0), help="LOW,HIGH seconds between a user's logins")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hold-") as tmp:
        report(args, *run(args, Path(tmp)))


if __name__ == "__main__":
    main()
