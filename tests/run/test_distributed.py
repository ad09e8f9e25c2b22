"""Distributed load on Locust's own engine: every worker's records reach the run folder, totals match Locust's."""

from __future__ import annotations

import csv
import json
import subprocess
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harness.stack import free_port
from tests.run.test_run_e2e import scenario_file as scenario
from tests.runs import assert_all_gone, harness, only_run_dir, started_pids


def locust_total(run_dir: Path, variant: str) -> int:
    with open(run_dir / "locust" / f"{variant}_stats.csv") as stats:
        return next(int(r["Request Count"]) for r in csv.DictReader(stats) if r["Name"] == "Aggregated")


def records(run_dir: Path):
    files = [str(f) for f in (run_dir / "requests").glob("*.parquet")]
    return pq.ParquetDataset(files).read().to_pandas()


@pytest.mark.slow
def test_two_local_workers_records_merge_and_equal_locusts_totals(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = subprocess.run(harness("run", str(scenario(tmp_path, "10s")), "--out", str(out),
                                    "--variants", "fixed", "--workers", "2"),
                            capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    run_dir = only_run_dir(out)
    rows = records(run_dir)
    assert set(rows.worker) == {"worker-1", "worker-2"}
    assert len(rows) == locust_total(run_dir, "fixed")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert [p["name"] for p in manifest["variants"]["fixed"]["processes"]][-3:] == [
        "locust-fixed-master", "locust-fixed-worker-1", "locust-fixed-worker-2"]
    assert_all_gone(started_pids(manifest))


@pytest.mark.slow
def test_master_bind_waits_for_workers_started_with_harness_worker(tmp_path: Path) -> None:
    out, port = tmp_path / "reports", free_port()
    path = scenario(tmp_path, "8s")
    run = subprocess.Popen(harness("run", str(path), "--out", str(out), "--variants",
                                   "fixed", "--master-bind", f"127.0.0.1:{port}", "--expect-workers", "1"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    worker = subprocess.Popen(harness("worker", "--master", f"127.0.0.1:{port}", str(path)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.append(run.communicate(timeout=240)[1]))
    reader.start()
    try:
        reader.join(timeout=240)
        worker.wait(timeout=60)  # the master tells its workers to quit when the run ends
    finally:
        for process in (run, worker):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert run.returncode in (0, 1), "".join(stderr)[-2000:]
    run_dir = only_run_dir(out)
    rows = records(run_dir)
    assert len(rows) > 0 and rows.worker.nunique() == 1
    assert rows.worker.iloc[0] != "local"
    assert len(rows) == locust_total(run_dir, "fixed")
