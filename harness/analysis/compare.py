"""`harness compare RUN_A RUN_B`: the same variant across two runs (say, the fix on two commits)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.analysis import columns as col
from harness.analysis.latency import latency_table
from harness.analysis.run_analysis import target_flows
from harness.analysis.run_folder import RunRecords, load_run
from harness.analysis.stats import RateComparison, compare_rates, success_rate
from harness.errors import BadInput
from harness.report import fmt
from harness.report.console import wide_console

PERCENTILE_COLUMNS = ("p50_ms", "p95_ms", "p99_ms")


@dataclass(frozen=True)
class VariantComparison:
    variant: str
    rates: RateComparison      # a = RUN_A, b = RUN_B; difference is B's failure rate minus A's
    latency: pd.DataFrame      # index (kind, name); columns A p50_ms ... B p99_ms

    @property
    def b_worse(self) -> bool:
        """RUN_B fails significantly more often than RUN_A on the target metric."""
        return self.rates.significant and (self.rates.difference or 0.0) > 0

    @property
    def b_better(self) -> bool:
        return self.rates.significant and (self.rates.difference or 0.0) < 0


def variants_to_compare(run_a: RunRecords, run_b: RunRecords, variant: str | None) -> list[str]:
    names_a, names_b = [v.name for v in run_a.variants], {v.name for v in run_b.variants}
    if variant is not None:
        for run, names in ((run_a, names_a), (run_b, names_b)):
            if variant not in names:
                raise BadInput(f"--variant {variant}: not in {run.run_dir} (it has {', '.join(sorted(names))})")
        return [variant]
    common = [n for n in names_a if n in names_b]
    if not common:
        raise BadInput(f"{run_a.run_dir} and {run_b.run_dir} have no variant in common "
                       f"({', '.join(names_a)} vs {', '.join(sorted(names_b))})")
    return common


def side_by_side_latency(rows_a: pd.DataFrame, rows_b: pd.DataFrame) -> pd.DataFrame:
    a = latency_table(rows_a)[list(PERCENTILE_COLUMNS)].add_prefix("A ")
    b = latency_table(rows_b)[list(PERCENTILE_COLUMNS)].add_prefix("B ")
    return a.join(b, how="inner")


def variant_rows(run: RunRecords, variant: str) -> pd.DataFrame:
    return run.requests[run.requests[col.VARIANT] == variant]


def compare_variant(run_a: RunRecords, run_b: RunRecords, variant: str) -> VariantComparison:
    rows_a, rows_b = variant_rows(run_a, variant), variant_rows(run_b, variant)
    target = run_a.target
    a = success_rate(target_flows(rows_a, target.metric), target.confidence)
    b = success_rate(target_flows(rows_b, target.metric), target.confidence)
    return VariantComparison(variant, compare_rates(a, b, target.confidence), side_by_side_latency(rows_a, rows_b))


def compare_records(run_a: RunRecords, run_b: RunRecords, variant: str | None = None) -> list[VariantComparison]:
    if run_a.target.metric != run_b.target.metric:
        raise BadInput(f"the runs measure different targets: {run_a.target.metric!r} in {run_a.run_dir}, "
                       f"{run_b.target.metric!r} in {run_b.run_dir}")
    return [compare_variant(run_a, run_b, name) for name in variants_to_compare(run_a, run_b, variant)]


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
        diff = "–" if r.difference is None else (
            f"{r.difference * 100:+.2f} pp [{r.diff_ci_low * 100:+.2f}, {r.diff_ci_high * 100:+.2f}]")
        result = Text("B significantly worse", style="bold red") if c.b_worse else Text(
            "B significantly better", style="bold green") if c.b_better else Text("no significant difference")
        table.add_row(c.variant, fmt.rate_ci(r.a), fmt.rate_ci(r.b), diff, fmt.p_value(r.p_value), result)
    return table


def latency_side_by_side(comparisons: list[VariantComparison]) -> Table:
    table = Table(title="latency percentiles, RUN_A vs RUN_B", title_justify="left")
    for column in ("variant", "name", *(f"{run} {p[:3]}" for run in "AB" for p in PERCENTILE_COLUMNS)):
        table.add_column(column, justify="left" if column in ("variant", "name") else "right")
    for c in comparisons:
        for (kind, name), row in c.latency.iterrows():
            table.add_row(c.variant, f"{name} ({kind})", *(fmt.ms(row[k]) for k in c.latency.columns))
    return table
