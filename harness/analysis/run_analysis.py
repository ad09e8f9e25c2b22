"""The analysis of one run: per variant and per phase rates, verdicts, latencies, timeline, recovery, pairs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import cast

import pandas as pd

from harness.analysis import columns as col
from harness.analysis.arrivals import ArrivalSummary, arrival_summary
from harness.analysis.block_sequence import BlockDecision, decide_blocks
from harness.analysis.bursts import BurstInterval, burst_interval
from harness.analysis.latency import latency_table
from harness.analysis.objectives import ObjectiveResult, combined, judge_all
from harness.analysis.phases import FaultWindow, Phase, fault_windows, phases_of, variant_end
from harness.analysis.replicates import ReplicateSummary, replicate_number, summarise
from harness.analysis.run_folder import RunRecords, VariantInfo
from harness.analysis.sessions_lost import FailoverOutcome, failover_outcome
from harness.analysis.stages import stage_phases
from harness.analysis.stats import RateComparison, RateEstimate, Verdict, compare_rates, success_rate, verdict
from harness.analysis.timeline import Recovery, per_second, recoveries
from harness.records import KIND_FLOW, KIND_REQUEST, STATUS_NOT_JUDGED, ErrorKind
from harness.records.files import Target

UNLABELLED_FAILURE = ErrorKind.OTHER.value  # a failed row whose recorder left error_kind empty
SEQUENTIAL_VERDICTS = {v.value: v for v in (Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE)}
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
    rate: RateEstimate                      # the judged interval: correlation-aware (harness.analysis.bursts)
    verdict: Verdict
    shown: bool | None                      # None when the variant declared no expectation
    failures_by_kind: dict[str, int]        # failed target flows per error_kind, most frequent first
    top_errors: dict[str, list[tuple[str, int]]]
    requests: int
    requests_per_s: float | None
    latency: pd.DataFrame                   # latency_table of every request and flow name
    timeline: pd.DataFrame                  # per_second of the target flows
    target_p95_ms: float | None             # p95 latency of the target flow over the whole variant
    sequential: BlockDecision | None = None  # the verdict's source when the run stopped on --until-decided
    wilson: RateEstimate | None = None      # the same flows as if independent, for comparison
    burst: BurstInterval | None = None      # design effect, bursts and block length behind `rate`
    windows: list[FaultWindow] = field(default_factory=list)
    phases: list[PhaseResult] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)
    objectives: list[ObjectiveResult] = field(default_factory=list)   # `[target] latency`, each judged
    rate_verdict: Verdict | None = None     # the success rate's own verdict, before the objectives joined it
    arrivals: ArrivalSummary | None = None  # open model only
    failover: FailoverOutcome | None = None  # sessions lost and time to recover (harness.analysis.sessions_lost)

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
    def replicates(self) -> list[ReplicateSummary]:
        """`harness run --repeat`: each base variant over its replicates ([] for a run without)."""
        return summarise((v.name, v.info.expect, v.rate.rate, v.verdict.value) for v in self.variants)

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
    for key, n in counts.items():
        kind, text = cast("tuple[str, str]", key)  # grouped by two columns; pandas-stubs says Hashable
        texts = result.setdefault(kind or UNLABELLED_FAILURE, [])
        if len(texts) < TOP_ERRORS:
            texts.append((text, int(n)))
    return result


def sequential_verdict(info: VariantInfo, timeline: pd.DataFrame, burst: BurstInterval,
                       target: Target) -> BlockDecision | None:
    """Under --until-decided: a fail when the block and flow confidence sequences agree on it, at any time;
    a pass only at the maximum duration, by the correlation-aware interval (harness.analysis.block_sequence
    says why: under bursts no early pass has been found that keeps false passes near 5%).
    """
    if info.stopped is None:
        return None
    max_s = float(info.stopped.max_duration_s or info.duration_s or len(timeline))
    decision = decide_blocks(timeline["flows"].to_numpy(), timeline["successes"].to_numpy(), target.minimum,
                             target.confidence, max_s)
    ran_to_max = not info.stopped.reason.startswith("decided")
    state = decision.state if decision.state == Verdict.FAIL else (
        verdict(burst.rate, target.minimum).value if ran_to_max else Verdict.INCONCLUSIVE.value)
    return replace(decision, state=state)


def per_s(count: int, seconds: float) -> float | None:
    return count / seconds if seconds > 0 else None


def phase_result(phase: Phase, rows: pd.DataFrame, flows: pd.DataFrame, target: Target) -> PhaseResult:
    in_flows = flows[(flows[col.T] >= phase.start_s) & (flows[col.T] < phase.end_s)]
    in_rows = rows[(rows[col.T] >= phase.start_s) & (rows[col.T] < phase.end_s)]
    requests = int((in_rows[col.KIND] == KIND_REQUEST).sum())
    p95 = float(in_flows[col.LATENCY_MS].quantile(0.95)) if len(in_flows) else None
    return PhaseResult(phase, success_rate(in_flows, target.confidence), failures_by_kind(in_flows), requests,
                       per_s(requests, phase.duration_s), p95)


def max_lost_sessions(run: RunRecords) -> int | None:
    """[target] max_lost_sessions of the scenario as it ran, when it sets one."""
    target = (run.manifest.scenario.resolved or {}).get("target") or {}
    value = target.get("max_lost_sessions")
    return int(value) if isinstance(value, int) else None


def analyse_variant(info: VariantInfo, rows: pd.DataFrame, run: RunRecords) -> VariantResult:
    target = run.target
    flows = target_flows(rows, target.metric)
    end_s = variant_end(info, rows[col.T].max() if len(rows) else None)
    wilson = success_rate(flows, target.confidence)
    timeline = per_second(flows, end_s)
    burst = burst_interval(timeline["flows"].to_numpy(), timeline["successes"].to_numpy(), target.minimum,
                           target.confidence)
    rate = burst.rate
    sequential = sequential_verdict(info, timeline, burst, target)
    result = verdict(rate, target.minimum) if sequential is None else SEQUENTIAL_VERDICTS[sequential.state]
    if info.status == STATUS_NOT_JUDGED:
        result = Verdict.NOT_JUDGED
    windows = fault_windows(run.fault_events, info.name, end_s)
    requests = int((rows[col.KIND] == KIND_REQUEST).sum())
    objectives = judge_all(run.manifest, target.metric, rows, windows, target.confidence)
    overall = combined(result, objectives)
    failover = failover_outcome(info.name, rows, run.fault_events, target.metric, end_s, max_lost_sessions(run))
    if overall is not Verdict.NOT_JUDGED and failover is not None and failover.within_target is False:
        overall = Verdict.FAIL   # [target] max_lost_sessions: a variant that lost more sessions fails
    return VariantResult(
        info=info, end_s=end_s, rate=rate, verdict=overall, shown=shown(info.expect, overall),
        failures_by_kind=failures_by_kind(flows), top_errors=top_errors(flows), requests=requests,
        requests_per_s=per_s(requests, end_s), latency=latency_table(rows), timeline=timeline,
        target_p95_ms=float(flows[col.LATENCY_MS].quantile(0.95)) if len(flows) else None, windows=windows,
        phases=[phase_result(p, rows, flows, target) for p in [*phases_of(windows, end_s),
                                                                *stage_phases(run.manifest, end_s)]],
        recoveries=recoveries(timeline, windows, target.minimum, end_s), sequential=sequential,
        wilson=wilson, burst=burst, objectives=objectives, rate_verdict=result,
        arrivals=arrival_summary(run.manifest, flows), failover=failover)


def analyse_run(run: RunRecords) -> RunAnalysis:
    by_variant = run.requests.groupby(col.VARIANT, observed=True) if len(run.requests) else None
    names = set(by_variant.groups) if by_variant is not None else set()
    empty = run.requests.iloc[0:0]
    variants = [analyse_variant(v, by_variant.get_group(v.name) if by_variant is not None and v.name in names
                                else empty, run) for v in run.variants]
    pairs = [PairResult(a.name, b.name, compare_bursty(a, b, run.target.confidence))
             for a, b in pairs_to_compare(variants)]
    return RunAnalysis(run, variants, pairs)


def pairs_to_compare(variants: list[VariantResult]) -> list[tuple[VariantResult, VariantResult]]:
    """Every pair of variants; with --repeat, only variants of the same replicate (rep 1 with rep 1, ...)."""
    return [(a, b) for a, b in combinations(variants, 2) if replicate_number(a.name) == replicate_number(b.name)]


def compare_bursty(a: VariantResult, b: VariantResult, confidence: float) -> RateComparison:
    """Newcombe interval and z-test on effective counts (n / deff): the difference honest about bursts too."""
    return compare_rates(effective_counts(a), effective_counts(b), confidence)


def effective_counts(v: VariantResult) -> RateEstimate:
    """The rate with n replaced by its effective size; rate and interval unchanged, failures scaled with n."""
    if v.burst is None or not v.rate.n:
        return v.rate
    n = v.burst.effective_n
    return replace(v.rate, n=n, successes=(v.rate.rate or 0.0) * n)
