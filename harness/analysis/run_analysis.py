"""The analysis of one run: per variant and per phase rates, verdicts, latencies, timeline, recovery, pairs."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import pandas as pd

from harness.analysis import columns as col
from harness.analysis.latency import latency_table
from harness.analysis.phases import FaultWindow, Phase, fault_windows, phases_of, variant_end
from harness.analysis.run_folder import RunRecords, Target, VariantInfo
from harness.analysis.sequential import Decision, decide
from harness.analysis.stats import RateComparison, RateEstimate, Verdict, compare_rates, success_rate, verdict
from harness.analysis.timeline import Recovery, per_second, recoveries
from harness.records import KIND_FLOW, KIND_REQUEST, STATUS_NOT_JUDGED

UNLABELLED_FAILURE = "other"  # a failed row whose recorder left error_kind empty
SEQUENTIAL_VERDICTS = {"pass": Verdict.PASS, "fail": Verdict.FAIL, "undecided": Verdict.INCONCLUSIVE}
TOP_ERRORS = 3


@dataclass(frozen=True)
class PhaseResult:
    phase: Phase
    rate: RateEstimate
    failures_by_kind: dict[str, int]
    requests: int
    requests_per_s: float | None
    p95_ms: float | None


@dataclass
class VariantResult:
    info: VariantInfo
    end_s: float
    rate: RateEstimate
    verdict: Verdict
    shown: bool | None                      # None when the variant declared no expectation
    failures_by_kind: dict[str, int]        # failed target flows per error_kind, most frequent first
    top_errors: dict[str, list[tuple[str, int]]]
    requests: int
    requests_per_s: float | None
    latency: pd.DataFrame                   # latency_table of every request and flow name
    timeline: pd.DataFrame                  # per_second of the target flows
    target_p95_ms: float | None             # p95 latency of the target flow over the whole variant
    sequential: Decision | None = None      # the verdict's source when the run stopped on --until-decided
    windows: list[FaultWindow] = field(default_factory=list)
    phases: list[PhaseResult] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.info.name


@dataclass(frozen=True)
class PairResult:
    """Before vs after: `before` is the earlier variant in the run's order (usually the buggy one)."""

    before: str
    after: str
    comparison: RateComparison


@dataclass
class RunAnalysis:
    records: RunRecords
    variants: list[VariantResult]
    pairs: list[PairResult]

    @property
    def target(self) -> Target:
        return self.records.target

    @property
    def all_shown(self) -> bool:
        """Every variant that declared an expectation showed it (ablation variants declare none)."""
        judged = [v for v in self.variants if v.info.expect is not None]
        return bool(judged) and all(v.shown is True for v in judged)

    @property
    def exit_code(self) -> int:
        return 0 if self.all_shown else 1


def target_flows(records: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The rows that decide the verdict: flows named after the target metric."""
    return records[(records[col.KIND] == KIND_FLOW) & (records[col.NAME] == metric)]


def shown(expect: str | None, result: Verdict) -> bool | None:
    return None if expect is None else result.value == expect


def failures_by_kind(flows: pd.DataFrame) -> dict[str, int]:
    failed = flows.loc[~flows[col.SUCCESS], col.ERROR_KIND].astype(str).replace("", UNLABELLED_FAILURE)
    return {str(k): int(n) for k, n in failed.value_counts().items() if n}


def top_errors(flows: pd.DataFrame) -> dict[str, list[tuple[str, int]]]:
    """The most frequent error texts per kind, for a reader who wants the actual message."""
    failed = flows.loc[~flows[col.SUCCESS], [col.ERROR_KIND, col.ERROR]].astype(str)
    if failed.empty:
        return {}
    counts = failed.groupby([col.ERROR_KIND, col.ERROR]).size().sort_values(ascending=False)
    result: dict[str, list[tuple[str, int]]] = {}
    for (kind, text), n in counts.items():
        texts = result.setdefault(kind or UNLABELLED_FAILURE, [])
        if len(texts) < TOP_ERRORS:
            texts.append((text, int(n)))
    return result


def sequential_verdict(info: VariantInfo, rate: RateEstimate, target: Target) -> Decision | None:
    """Under --until-decided the confidence sequence decides, on every flow recorded (it holds at any n).

    A Wilson interval on a sample whose size depended on the looks is not valid: repeated looks pass a
    variant just below the target in 5-14% of runs instead of 5% (tests/analysis/test_sequential.py).
    """
    if info.stopped is None:
        return None
    return decide(rate.successes, rate.n, target.minimum, target.confidence)


def per_s(count: int, seconds: float) -> float | None:
    return count / seconds if seconds > 0 else None


def phase_result(phase: Phase, rows: pd.DataFrame, flows: pd.DataFrame, target: Target) -> PhaseResult:
    in_flows = flows[(flows[col.T] >= phase.start_s) & (flows[col.T] < phase.end_s)]
    in_rows = rows[(rows[col.T] >= phase.start_s) & (rows[col.T] < phase.end_s)]
    requests = int((in_rows[col.KIND] == KIND_REQUEST).sum())
    p95 = float(in_flows[col.LATENCY_MS].quantile(0.95)) if len(in_flows) else None
    return PhaseResult(phase, success_rate(in_flows, target.confidence), failures_by_kind(in_flows), requests,
                       per_s(requests, phase.duration_s), p95)


def analyse_variant(info: VariantInfo, rows: pd.DataFrame, run: RunRecords) -> VariantResult:
    target = run.target
    flows = target_flows(rows, target.metric)
    end_s = variant_end(info, rows[col.T].max() if len(rows) else None)
    rate = success_rate(flows, target.confidence)
    sequential = sequential_verdict(info, rate, target)
    result = verdict(rate, target.minimum) if sequential is None else SEQUENTIAL_VERDICTS[sequential.state]
    if info.status == STATUS_NOT_JUDGED:
        result = Verdict.NOT_JUDGED
    timeline = per_second(flows, end_s)
    windows = fault_windows(run.fault_events, info.name, end_s)
    requests = int((rows[col.KIND] == KIND_REQUEST).sum())
    return VariantResult(
        info=info, end_s=end_s, rate=rate, verdict=result, shown=shown(info.expect, result),
        failures_by_kind=failures_by_kind(flows), top_errors=top_errors(flows), requests=requests,
        requests_per_s=per_s(requests, end_s), latency=latency_table(rows), timeline=timeline,
        target_p95_ms=float(flows[col.LATENCY_MS].quantile(0.95)) if len(flows) else None, windows=windows,
        phases=[phase_result(p, rows, flows, target) for p in phases_of(windows, end_s)],
        recoveries=recoveries(timeline, windows, target.minimum, end_s), sequential=sequential)


def analyse_run(run: RunRecords) -> RunAnalysis:
    by_variant = run.requests.groupby(col.VARIANT, observed=True) if len(run.requests) else None
    names = set(by_variant.groups) if by_variant is not None else set()
    empty = run.requests.iloc[0:0]
    variants = [analyse_variant(v, by_variant.get_group(v.name) if v.name in names else empty, run)
                for v in run.variants]
    pairs = [PairResult(a.name, b.name, compare_rates(a.rate, b.rate, run.target.confidence))
             for a, b in combinations(variants, 2)]
    return RunAnalysis(run, variants, pairs)
