"""Running the harness from tests and checking what a run leaves: one run folder, and no process still alive."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from harness.stack.procs import pid_alive
from tests.waiting import wait_until

PYTHON = sys.executable


def harness(*args: str) -> list[str]:
    """The command line of `harness ARGS`, run with this interpreter."""
    return [PYTHON, "-m", "harness", *args]


def run_harness(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(harness(*args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def only_run_dir(out: Path, detail: str = "") -> Path:
    """The single run folder under `out` (a run makes exactly one); `detail` (say the run's stderr) is shown if not."""
    runs = [p for p in out.iterdir() if p.is_dir()] if out.is_dir() else []
    assert len(runs) == 1, f"{runs} {detail}"
    return runs[0]


def manifest_of(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text())


def summary_of(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "summary.json").read_text())


def started_pids(manifest: dict[str, Any]) -> list[int]:
    """Every PID the run's manifest says it started, over all variants."""
    return [p["pid"] for v in manifest["variants"].values() for p in v.get("processes", [])]


def alive(pids: Iterable[int]) -> list[int]:
    return [pid for pid in pids if pid_alive(pid)]


def assert_all_gone(pids: Iterable[int], timeout: float = 0.0, what: str = "every started process exits") -> None:
    """No PID of `pids` is alive; with a timeout, poll until none is (a stop in progress is given the time)."""
    pids = list(pids)
    if timeout:
        with suppress(AssertionError):  # the assertion below names the PIDs left
            wait_until(lambda: not alive(pids), timeout, what)
    assert not alive(pids), f"not within {timeout:g} s: {what}; still alive: {alive(pids)}"


def locust_total(run_dir: Path, variant: str) -> int:
    """Locust's own count of requests (the Aggregated row of its stats CSV) for one variant of the run."""
    with open(run_dir / "locust" / f"{variant}_stats.csv") as stats:
        return next(int(r["Request Count"]) for r in csv.DictReader(stats) if r["Name"] == "Aggregated")


def read_records(run_dir: Path):
    """The run's request records as one DataFrame, with the Parquet files they came from."""
    files = sorted((run_dir / "requests").glob("*.parquet"))
    assert files, "no request records written"
    return pq.ParquetDataset([str(f) for f in files]).read().to_pandas(), files
