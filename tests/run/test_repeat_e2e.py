"""`harness run --repeat 2` on real processes: replicates on fresh stacks in one folder, judged together."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.run.test_run_e2e import scenario_file
from tests.runs import assert_all_gone, harness, only_run_dir, started_pids


@pytest.mark.judged
@pytest.mark.slow
def test_repeat_two_runs_every_variant_twice_and_gives_a_verdict_over_replicates(tmp_path: Path) -> None:
    """4 variants (buggy@1, fixed@1, buggy@2, fixed@2), each with its own processes; summary.json and
    summary.md give each replicate's rate, the spread and the verdict over replicates; compare uses them."""
    out = tmp_path / "reports"
    result = subprocess.run(harness("run", str(scenario_file(tmp_path, "6s")), "--out", str(out), "--repeat", "2"),
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    run_dir = only_run_dir(out)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())

    assert result.returncode in (0, 1), result.stdout + result.stderr  # a 6 s fixed run may stay inconclusive
    assert manifest["variant_order"] == ["buggy@1", "fixed@1", "buggy@2", "fixed@2"]
    assert all(v["status"] == "completed" for v in manifest["variants"].values())
    pids = [{p["pid"] for p in v["processes"]} for v in manifest["variants"].values()]
    assert all(a.isdisjoint(b) for i, a in enumerate(pids) for b in pids[i + 1:])  # a fresh stack each time
    assert_all_gone(started_pids(manifest))

    buggy = summary["replicates"]["buggy"]
    assert buggy["replicates"] == ["buggy@1", "buggy@2"] and len(buggy["rates"]) == 2
    assert buggy["verdict"] == "fail" and buggy["shown"] is True
    assert buggy["spread"] == pytest.approx(max(buggy["rates"]) - min(buggy["rates"]))
    assert [p["before"] + " " + p["after"] for p in summary["comparisons"]] == ["buggy@1 fixed@1",
                                                                                "buggy@2 fixed@2"]
    assert summary["variants"]["buggy@1"]["correlation"]["design_effect"] >= 1.0
    assert "buggy over 2 replicates" in (run_dir / "summary.md").read_text()

    compared = subprocess.run(harness("compare", str(run_dir), str(run_dir), "--variant", "buggy"),
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "replicates as units, 2 vs 2 (Welch t-test)" in compared.stdout


@pytest.mark.parametrize("args, message", [
    (["--repeat", "0"], "Invalid value for '--repeat'"),
    (["--repeat", "2", "--ablate"], "--repeat and --ablate do not go together"),
    (["--repeat", "2", "--variants", "nope"], "--variants: unknown variant 'nope'"),
])
def test_bad_repeat_flags_are_refused_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run(harness("run", str(scenario_file(tmp_path, "10s")), "--out", str(tmp_path), *args),
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("short-*"))  # refused before any run folder was made
