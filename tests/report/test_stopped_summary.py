"""summary.json after `harness run --until-decided`: the stop block per variant, and the sequential verdict decides."""

from __future__ import annotations

import json
from pathlib import Path

from harness.analysis.synthetic import SyntheticVariant, write_synthetic_run
from harness.records import MANIFEST, SUMMARY
from harness.report import build_report

STOPPED = {"at_s": 41.5, "reason": "decided: pass", "method": "beta-binomial mixture confidence sequence",
           "low": 0.9901, "high": 0.9987, "flows": 1980, "successes": 1971}


def stopped_run(run_dir: Path, stopped: dict | None, success: float = 0.996) -> tuple[dict, int]:
    """1990 of 2000 logins (seed 2): Wilson's lower bound is 0.9908, the confidence sequence's 0.9887."""
    write_synthetic_run(run_dir, [SyntheticVariant("fixed", "pass", success=success, fault_success=success)],
                        records=6000, faults=[], seed=2, files_per_variant=1)
    manifest = json.loads((run_dir / MANIFEST).read_text())
    manifest["variants"]["fixed"]["stopped"] = stopped
    (run_dir / MANIFEST).write_text(json.dumps(manifest))
    code = build_report(run_dir)
    return json.loads((run_dir / SUMMARY).read_text())["variants"]["fixed"], code


def test_without_early_stopping_wilson_decides(tmp_path):
    """No stop block: the fixed-sample correlation-aware verdict (99.9% of 2000, independent: passes 99%)."""
    fixed, code = stopped_run(tmp_path / "run", None, success=0.999)
    assert (fixed["verdict"], fixed["verdict_method"], fixed["stopped"], code) == ("pass", "correlation-aware", None, 0)


def test_after_early_stopping_the_sequence_decides_on_every_recorded_flow(tmp_path):
    """Same records, stopped early on a "pass": under bursts no early pass is given (issue 14), so inconclusive."""
    fixed, code = stopped_run(tmp_path / "run", STOPPED)
    assert fixed["wilson"]["ci_low"] >= 0.99  # Wilson alone would have passed it
    assert (fixed["verdict"], fixed["verdict_method"], code) == ("inconclusive", "sequential", 1)
    assert {k: fixed["stopped"][k] for k in STOPPED} == STOPPED
    final = fixed["stopped"]["final"]
    assert (final["state"], final["flows"], final["successes"]) == ("inconclusive", 2000, 1990)


def test_summary_md_and_report_html_say_when_and_why_the_load_stopped(tmp_path):
    """A reader of the ticket table or the page learns the load stopped early and which statistic judged it."""
    run_dir = tmp_path / "run"
    stopped_run(run_dir, {**STOPPED, "max_duration_s": 120.0})
    markdown = (run_dir / "summary.md").read_text()
    expected = ("fixed: stopped early at 42 s of 120 s (decided: pass); verdict: inconclusive "
                "[")
    assert expected in markdown
    assert "over 2,000 flows" in markdown
    assert expected in (run_dir / "report.html").read_text()


def test_without_early_stopping_the_outputs_say_nothing_about_stopping(tmp_path):
    run_dir = tmp_path / "run"
    stopped_run(run_dir, None)
    assert "confidence sequence" not in (run_dir / "summary.md").read_text()
    assert "stopped early" not in (run_dir / "report.html").read_text()


def test_a_variant_that_reached_its_maximum_without_a_decision_is_said_to_have_run_its_full_duration(tmp_path):
    run_dir = tmp_path / "run"
    stopped_run(run_dir, {**STOPPED, "at_s": 120.0, "reason": "max duration", "max_duration_s": 120.0})
    assert ("fixed: ran to its maximum duration (120 s) without an early decision; verdict: "
            in (run_dir / "summary.md").read_text())
