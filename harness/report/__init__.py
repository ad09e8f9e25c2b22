"""Reports of a run: summary.json, summary.md, junit.xml, charts/*.png and report.html, built from the records."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from harness.analysis import RunAnalysis, analyse_run, load_run
from harness.files import write_atomic
from harness.records import CHARTS_DIR, JUNIT, REPORT_HTML, SUMMARY, SUMMARY_MD

__all__ = ["build_report", "write_report"]


def build_report(run_dir: Path) -> int:
    """Re-analyse RUN_DIR, write every output, print the verdict table; 0 when every variant showed its expectation."""
    run_dir = Path(run_dir)
    records = load_run(run_dir)
    warn = Console(stderr=True, highlight=False)
    for problem in records.problems:
        warn.print(f"harness: warning: {problem}", markup=False)
    analysis = analyse_run(records)
    write_report(analysis, run_dir)
    from harness.report.console import print_summary

    print_summary(analysis, str(run_dir / REPORT_HTML))
    return analysis.exit_code


def write_report(analysis: RunAnalysis, run_dir: Path) -> list[Path]:
    """Write every output file into run_dir (atomically: a browser or CI never sees half of one); their paths."""
    from harness.report.charts import render_charts
    from harness.report.html import render_html
    from harness.report.junit import render_junit
    from harness.report.markdown import render_markdown
    from harness.report.summary_json import summary_dict

    run_dir = Path(run_dir)
    charts = render_charts(analysis)
    written = [write_atomic(run_dir / CHARTS_DIR / c.file, c.png) for c in charts]
    written.append(write_atomic(run_dir / SUMMARY, json.dumps(summary_dict(analysis), indent=2).encode()))
    written.append(write_atomic(run_dir / SUMMARY_MD, render_markdown(analysis).encode()))
    written.append(write_atomic(run_dir / JUNIT, render_junit(analysis)))
    written.append(write_atomic(run_dir / REPORT_HTML, render_html(analysis, charts).encode()))
    return written
