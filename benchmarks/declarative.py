"""Login flows per second of the declarative FlowUser beside the reference scenario's own WebUser, in one run.

    .venv/bin/python benchmarks/declarative.py [--users 40] [--duration 20] [--rounds 3]

Each round is one real `harness run` (fixed profile, no fault, no wait) whose Locust process runs both
user classes at once, half the users each, against the same service: the declarative flow
(POST /login, capture json:session_id, GET /me with X-Session-ID) and scenarios/login_users.py's
WebUser doing the same login flow in Python. Rates count the flows recorded after a 3 s warm-up.
A second table runs each class alone and reads the Locust process's CPU time from /proc: what one flow
costs the load generator itself, which is what would make the declarative path a bottleneck.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
WARM_UP_S = 3.0
TICKS = os.sysconf("SC_CLK_TCK")
DURATION_S = [20]   # set from --duration

# Both classes in one locustfile, so that they share one Locust process, one service and one run.
LOCUSTFILE = f"""
import sys
sys.path.insert(0, {str(SCENARIOS)!r})
from login_users import WebUser  # noqa: E402
from harness.load.flows import FlowUser  # noqa: E402
"""

CLASSES = {"WebUser": "[load.classes.WebUser]\nweight = 1\nwait = [0.0, 0.0]\n",
           "FlowUser": "[load.classes.FlowUser]\nweight = 1\n"}
SCENARIO = """
[scenario]
name = "declarative-bench"
[load]
locustfile = "{locustfile}"
users = {users}
spawn_rate = {users}
duration = "{duration}s"
{classes}
[[load.flows]]
name = "declarative_login"
wait = [0.0, 0.0]
[[load.flows.steps]]
method = "POST"
path = "/login"
json = {{ username = "{{username}}", password = "{{password}}" }}
capture = {{ session = "json:session_id" }}
[[load.flows.steps]]
path = "/me"
headers = {{ X-Session-ID = "{{session}}" }}
[variants.fixed]
profile = "fixed"
expect = "pass"
"""


def one_round(scenario: Path, out: Path) -> tuple[dict[str, tuple[float, float]], float]:
    """(flows/s, success rate) per flow name: login (WebUser) and declarative_login (FlowUser), and the
    Locust process's CPU seconds per second over the same window."""
    command = [sys.executable, "-m", "harness", "run", str(scenario), "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL)
    cpu = locust_cpu_share(out, process)
    process.wait(timeout=600)
    run_dir = next(out.glob("declarative-bench-*"))
    files = sorted((run_dir / "requests").glob("*.parquet"))
    frame = pq.ParquetDataset([str(f) for f in files]).read(columns=["t", "kind", "name", "success"]).to_pandas()
    flows = frame[(frame.kind == "flow") & (frame.t >= WARM_UP_S)]
    window = flows.t.max() - WARM_UP_S
    return {name: (len(group) / window, group.success.mean()) for name, group in flows.groupby("name")}, cpu


def locust_cpu_share(out: Path, process: subprocess.Popen) -> float:
    """CPU share (1.0 = one core) of the Locust process from WARM_UP_S after it started to 2 s before the end."""
    pid = None
    while pid is None and process.poll() is None:
        for manifest in out.glob("declarative-bench-*/manifest.json"):
            try:
                procs = json.loads(manifest.read_text())["variants"]["fixed"].get("processes", [])
            except (OSError, ValueError, KeyError):
                continue
            pid = next((p["pid"] for p in procs if p["name"].startswith("locust")), None)
        time.sleep(0.1)
    if pid is None:
        return float("nan")
    time.sleep(WARM_UP_S)
    first, started = cpu_seconds(pid), time.monotonic()
    time.sleep(max(1.0, DURATION_S[0] - WARM_UP_S - 2))
    last = cpu_seconds(pid)
    return float("nan") if first is None or last is None else (last - first) / (time.monotonic() - started)


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def alone(work: Path, users: int, duration: int, user_class: str, index: int) -> tuple[float, float]:
    """Flows/s and Locust CPU seconds per 1,000 flows with only `user_class` running."""
    scenario = work / f"alone-{user_class}-{index}.toml"
    scenario.write_text(SCENARIO.format(locustfile=work / "bench_users.py", users=users, duration=duration,
                                        classes=CLASSES[user_class]))
    rates, cpu = one_round(scenario, work / f"alone-{user_class}-{index}")
    rate = sum(r for r, _ in rates.values())
    return rate, cpu / rate * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    DURATION_S[0] = args.duration
    work = Path(tempfile.mkdtemp(prefix="declarative-bench-"))
    locustfile = work / "bench_users.py"
    locustfile.write_text(LOCUSTFILE)
    scenario = work / "declarative-bench.toml"
    scenario.write_text(SCENARIO.format(locustfile=locustfile, users=args.users, duration=args.duration,
                                        classes="".join(CLASSES.values())))
    print(f"{args.users} users (half each class), no wait, fixed profile, no fault, {args.duration} s per round, "
          f"{os.cpu_count()} cores")
    print("| round | WebUser login flows/s | FlowUser declarative flows/s | declarative / WebUser | success |")
    print("|---|---|---|---|---|")
    ratios = []
    for index in range(1, args.rounds + 1):
        rates, _ = one_round(scenario, work / f"round-{index}")
        (web, web_ok), (flow, flow_ok) = rates["login"], rates["declarative_login"]
        ratios.append(flow / web)
        print(f"| {index} | {web:.0f} | {flow:.0f} | {flow / web:.2f} | {web_ok:.2%} / {flow_ok:.2%} |")
    print(f"\nmedian declarative / WebUser: {statistics.median(ratios):.2f} (must be >= 0.80)\n")
    print("Each class alone (same users, same duration): the Locust process's own cost per flow")
    print("| round | class | flows/s | Locust CPU s per 1,000 flows |")
    print("|---|---|---|---|")
    for index in range(1, args.rounds + 1):
        for user_class in ("WebUser", "FlowUser"):
            rate, cost = alone(work, args.users, args.duration, user_class, index)
            print(f"| {index} | {user_class} | {rate:.0f} | {cost:.2f} |")


if __name__ == "__main__":
    main()
