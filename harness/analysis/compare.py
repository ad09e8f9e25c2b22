"""`harness compare RUN_A RUN_B`: the same variant across two runs (say, the fix on two commits).

Each run's rate is compared on its effective sample size (harness.analysis.bursts), so bursts do not make
a difference look significant. When both runs hold replicates of the variant (`harness run --repeat`),
the replicates are the units instead: Welch's t-test on the per-replicate rates, which also carries the
run-to-run spread (a busy machine, another scheduling) that no single run's interval can show. The tables
are printed by harness.report.compare; this module returns the comparisons only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from harness.analysis import columns as col
from harness.analysis.bursts import burst_interval
from harness.analysis.latency import latency_table
from harness.analysis.replicates import split_replicate
from harness.analysis.run_analysis import target_flows
from harness.analysis.run_folder import RunRecords
from harness.analysis.stats import RateComparison, RateEstimate, compare_rates, success_rate
from harness.analysis.timeline import per_second
from harness.errors import BadInput
from harness.records.files import Target

PERCENTILE_COLUMNS = ("p50_ms", "p95_ms", "p99_ms")


@dataclass(frozen=True)
class VariantComparison:
    variant: str
    rates: RateComparison      # a = RUN_A, b = RUN_B; difference is B's failure rate minus A's
    latency: pd.DataFrame      # index (kind, name); columns A p50_ms ... B p99_ms
    replicates: tuple[int, int] | None = None  # replicates in A and B when the replicates were the units

    @property
    def b_worse(self) -> bool:
        """RUN_B fails significantly more often than RUN_A on the target metric."""
        return self.rates.significant and (self.rates.difference or 0.0) > 0

    @property
    def b_better(self) -> bool:
        return self.rates.significant and (self.rates.difference or 0.0) < 0


def names_of(run: RunRecords) -> list[str]:
    """Variant names, with the replicates of `--repeat` (BASE@K) also offered under their base name."""
    names = [v.name for v in run.variants]
    bases = [split_replicate(n)[0] for n in names if split_replicate(n)[1] is not None]
    return list(dict.fromkeys(bases + [n for n in names if split_replicate(n)[1] is None]))


def replicates_of(run: RunRecords, base: str) -> list[str]:
    found = (split_replicate(v.name) for v in run.variants)
    return [f"{name}@{k}" for name, k in found if name == base and k is not None]


def variants_to_compare(run_a: RunRecords, run_b: RunRecords, variant: str | None) -> list[str]:
    names_a, names_b = names_of(run_a), set(names_of(run_b))
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


def effective_rate(rows: pd.DataFrame, target: Target) -> RateEstimate:
    """The correlation-aware rate with n replaced by its effective size (n / design effect)."""
    timeline = per_second(target_flows(rows, target.metric))
    burst = burst_interval(timeline["flows"].to_numpy(), timeline["successes"].to_numpy(), target.minimum,
                           target.confidence)
    if not burst.rate.n:
        return burst.rate
    return replace(burst.rate, n=burst.effective_n, successes=(burst.rate.rate or 0.0) * burst.effective_n)


def replicate_rates(run: RunRecords, names: list[str], target: Target) -> tuple[list[float], float, float]:
    """Each replicate's success rate, and the flows and successes over all of them."""
    rates: list[float] = []
    flows: float = 0
    successes: float = 0
    for name in names:
        rate = success_rate(target_flows(variant_rows(run, name), target.metric), target.confidence)
        if rate.n:
            rates.append(rate.successes / rate.n)
            flows, successes = flows + rate.n, successes + rate.successes
    return rates, flows, successes


def mean_of_replicates(rates: list[float], flows: float, successes: float, confidence: float) -> RateEstimate:
    """The mean replicate rate with a t interval over replicates (the spread between runs)."""
    mean = float(np.mean(rates))
    low, high = stats.t.interval(confidence, len(rates) - 1, loc=mean, scale=stats.sem(rates)) \
        if np.std(rates) > 0 else (mean, mean)
    return RateEstimate(flows, successes, mean, max(float(low), 0.0), min(float(high), 1.0), confidence)


def compare_replicates(run_a: RunRecords, run_b: RunRecords, base: str, target: Target) -> RateComparison | None:
    """Welch's t-test on per-replicate failure rates; None unless both runs have two or more replicates."""
    a, b = (replicate_rates(run, replicates_of(run, base), target) for run in (run_a, run_b))
    if len(a[0]) < 2 or len(b[0]) < 2:
        return None
    fail_a, fail_b = 1 - np.array(a[0]), 1 - np.array(b[0])
    est_a, est_b = (mean_of_replicates(*x, target.confidence) for x in (a, b))
    difference = float(fail_b.mean() - fail_a.mean())
    if np.std(np.concatenate([fail_a, fail_b])) == 0:
        return RateComparison(est_a, est_b, difference, difference, difference, 1.0, False, None)
    test = stats.ttest_ind(fail_b, fail_a, equal_var=False)
    interval = test.confidence_interval(target.confidence)
    p_value = float(test.pvalue) if np.isfinite(test.pvalue) else 1.0
    ratio = float(fail_a.mean() / fail_b.mean()) if fail_b.mean() > 0 else None
    return RateComparison(est_a, est_b, difference, float(interval.low), float(interval.high), p_value,
                          p_value < 1.0 - target.confidence, ratio)


def compare_variant(run_a: RunRecords, run_b: RunRecords, variant: str) -> VariantComparison:
    target = run_a.target
    by_replicates = compare_replicates(run_a, run_b, variant, target)
    names_a = replicates_of(run_a, variant) or [variant]
    names_b = replicates_of(run_b, variant) or [variant]
    rows_a = run_a.requests[run_a.requests[col.VARIANT].isin(names_a)]
    rows_b = run_b.requests[run_b.requests[col.VARIANT].isin(names_b)]
    latency = side_by_side_latency(rows_a, rows_b)
    if by_replicates is not None:
        return VariantComparison(variant, by_replicates, latency, replicates=(len(names_a), len(names_b)))
    if len(names_a) > 1 or len(names_b) > 1:
        raise BadInput(f"{variant}: one run has replicates and the other has one run; compare BASE@K by name "
                       f"(for example --variant {names_a[0]}) or repeat both runs")
    a, b = effective_rate(rows_a, target), effective_rate(rows_b, target)
    return VariantComparison(variant, compare_rates(a, b, target.confidence), latency)


def compare_records(run_a: RunRecords, run_b: RunRecords, variant: str | None = None) -> list[VariantComparison]:
    if run_a.target.metric != run_b.target.metric:
        raise BadInput(f"the runs measure different targets: {run_a.target.metric!r} in {run_a.run_dir}, "
                       f"{run_b.target.metric!r} in {run_b.run_dir}")
    return [compare_variant(run_a, run_b, name) for name in variants_to_compare(run_a, run_b, variant)]
