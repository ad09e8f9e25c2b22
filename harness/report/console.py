"""The short table `harness report` prints: one row per variant, verdict beside expectation."""

from __future__ import annotations

import sys

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from harness.analysis.run_analysis import RunAnalysis
from harness.records import Verdict
from harness.report import fmt, text
from harness.report.failover import failover_sentences
from harness.report.objectives import objective_lines

VERDICT_STYLE: dict[str, str] = {Verdict.PASS: "bold green", Verdict.FAIL: "bold red",
                                  Verdict.INCONCLUSIVE: "bold yellow", Verdict.NOT_JUDGED: "bold red"}
LOG_WIDTH = 130  # CI logs are not terminals: rich would assume 80 columns and wrap every cell


def wide_console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=LOG_WIDTH)


def variant_table(analysis: RunAnalysis) -> Table:
    table = Table(title=f"{text.scenario_name(analysis)} · {analysis.target.metric} ≥ {analysis.target.minimum:.2%} "
                        f"at {analysis.target.confidence:.0%} confidence", title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("variant", "left"), ("flows", "right"), ("success rate [CI]", "left"), ("main errors", "left"),
        ("p95", "right"), ("verdict", "left"), ("expected", "left"), ("shown", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for v in analysis.variants:
        table.add_row(v.name, f"{v.rate.n:,}", fmt.rate_ci(v.rate), fmt.main_errors(v.failures_by_kind, v.rate.n),
                      fmt.ms(v.target_p95_ms), Text(v.verdict.value, style=VERDICT_STYLE[v.verdict.value]),
                      v.info.expect or "–", Text(text.shown_mark(v), style="green" if v.shown else "red"))
    return table


def print_summary(analysis: RunAnalysis, report_path: str, console: Console | None = None) -> None:
    console = console or wide_console()
    console.print(variant_table(analysis))
    for sentence in [text.burst_sentence(v) for v in analysis.variants]:
        if sentence:
            console.print(sentence, markup=False, highlight=False)
    for replicate in analysis.replicates:
        console.print(text.replicate_sentence(replicate), markup=False, highlight=False)
    for line in objective_lines(analysis):
        console.print(line, markup=False, highlight=False)
    style = "bold green" if analysis.all_shown else "bold red"
    for sentence in failover_sentences(analysis):
        console.print(sentence, markup=False, highlight=False)
    console.print(Text(text.headline(analysis), style=style), Text(f" ·  report: {report_path}"))
