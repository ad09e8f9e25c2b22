"""`harness compare RUN_A RUN_B` on the terminal: the rates and latency tables of harness.analysis.compare."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.analysis.compare import PERCENTILE_COLUMNS, VariantComparison, compare_records
from harness.analysis.run_folder import RunRecords, load_run
from harness.report import fmt
from harness.report.console import wide_console


def compare_runs(run_a: Path, run_b: Path, variant: str | None = None) -> int:
    """Print the comparison; 1 when RUN_B is significantly worse than RUN_A on the target metric."""
    records_a, records_b = load_run(Path(run_a)), load_run(Path(run_b))
    warn = Console(stderr=True, highlight=False)
    for problem in records_a.problems + records_b.problems:
        warn.print(f"harness: warning: {problem}", markup=False)
    comparisons = compare_records(records_a, records_b, variant)
    console = wide_console()
    console.print(rates_table(comparisons, records_a))
    console.print(latency_side_by_side(comparisons))
    worse = [c.variant for c in comparisons if c.b_worse]
    if worse:
        console.print(Text(f"RUN_B is significantly worse for {', '.join(worse)}", style="bold red"))
    else:
        console.print(Text("RUN_B is not significantly worse than RUN_A", style="bold green"))
    return 1 if worse else 0


def rates_table(comparisons: list[VariantComparison], run_a: RunRecords) -> Table:
    t = run_a.target
    table = Table(title=f"{t.metric} success rate, RUN_A vs RUN_B ({t.confidence:.0%} intervals)", title_justify="left")
    for column in ("variant", "RUN_A", "RUN_B", "failure rate B − A [CI]", "test", "result"):
        table.add_column(column)
    for c in comparisons:
        r = c.rates
        diff = "–" if r.difference is None or r.diff_ci_low is None or r.diff_ci_high is None else (
            f"{r.difference * 100:+.2f} pp [{r.diff_ci_low * 100:+.2f}, {r.diff_ci_high * 100:+.2f}]")
        result = Text("B significantly worse", style="bold red") if c.b_worse else Text(
            "B significantly better", style="bold green") if c.b_better else Text("no significant difference")
        table.add_row(c.variant, fmt.rate_ci(r.a), fmt.rate_ci(r.b), diff, fmt.p_value(r.p_value), result)
    table.caption = "; ".join(units_note(c) for c in comparisons)
    table.caption_justify = "left"
    return table


def units_note(c: VariantComparison) -> str:
    if c.replicates is None:
        return f"{c.variant}: flows weighted by bursts (effective sample sizes)"
    return f"{c.variant}: replicates as units, {c.replicates[0]} vs {c.replicates[1]} (Welch t-test)"


def latency_side_by_side(comparisons: list[VariantComparison]) -> Table:
    table = Table(title="latency percentiles, RUN_A vs RUN_B", title_justify="left")
    for column in ("variant", "name", *(f"{run} {p[:3]}" for run in "AB" for p in PERCENTILE_COLUMNS)):
        table.add_column(column, justify="left" if column in ("variant", "name") else "right")
    for c in comparisons:
        for key, row in c.latency.iterrows():
            kind, name = cast("tuple[str, str]", key)  # the index is (kind, name); pandas-stubs says Hashable
            table.add_row(c.variant, f"{name} ({kind})", *(fmt.ms(row[k]) for k in c.latency.columns))
    return table
