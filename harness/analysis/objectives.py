"""Latency objectives (`[target] latency`): each a quantile bound judged on its own order-statistics interval.

An objective passes when the whole interval of its quantile lies at or below the bound, fails when the
whole interval lies above it, and is inconclusive otherwise; a variant passes only when its success rate
and every objective pass. Failed flows count with their latency (a timeout is slow, not absent), and an
arrival that never started counts with the time it waited, so neither can make a quantile look better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.analysis import columns as col
from harness.analysis.phases import FaultWindow, Phase
from harness.analysis.quantile import QuantileEstimate, bursty_quantile_interval
from harness.analysis.stages import stage_phases
from harness.analysis.stats import Verdict
from harness.records import KIND_FLOW, KIND_REQUEST, LATENCY_QUANTILES
from harness.records.files import Manifest

QUANTILE_KEYS = LATENCY_QUANTILES
PHASE_WORDS = {"all": "", "no_fault": " with no fault", "faults": " during faults", "before": " before faults",
               "after": " after faults"}


@dataclass(frozen=True)
class Objective:
    """The q-quantile of the latency of `kind` rows named `name`, over `phase`, must be <= limit_ms."""

    q: float
    limit_ms: float
    kind: str
    name: str
    phase: str = "all"

    @property
    def label(self) -> str:
        quantile = f"p{self.q * 100:g}".replace(".", "")
        return f"{quantile} of {self.name} {self.kind}{PHASE_WORDS.get(self.phase, ' in ' + self.phase)} " \
               f"≤ {self.limit_ms:g} ms"


@dataclass(frozen=True)
class ObjectiveResult:
    objective: Objective
    estimate: QuantileEstimate
    verdict: Verdict
    design_effect: float = 1.0   # of "at or below the quantile" over blocks of seconds (issue 14)

    def to_dict(self) -> dict[str, Any]:
        o, e = self.objective, self.estimate
        return {"label": o.label, "quantile": o.q, "limit_ms": o.limit_ms, "kind": o.kind, "name": o.name,
                "phase": o.phase, "samples": e.n, "value_ms": e.value, "ci_low_ms": _finite(e.ci_low),
                "ci_high_ms": _finite(e.ci_high), "confidence": e.confidence, "verdict": self.verdict.value,
                "design_effect": self.design_effect,
                "method": "order statistics (distribution-free, exact binomial), widened for clustering in time "
                          "(Woodruff 1952 over blocks of seconds)"}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def objectives_of(manifest: Manifest, metric: str) -> list[Objective]:
    """The objectives the manifest's target lists (written by `harness run` from `[target] latency`)."""
    objectives = []
    for entry in manifest.target.latency:
        kind, name = (KIND_REQUEST, entry.request) if entry.request else (KIND_FLOW, entry.flow or metric)
        for key, q in QUANTILE_KEYS.items():
            limit = getattr(entry, key)
            if limit is not None:
                objectives.append(Objective(q, float(limit), kind, name, entry.phase))
    return objectives


def in_phase(rows: pd.DataFrame, phase: str, windows: list[FaultWindow],
             stages: list[Phase] | None = None) -> pd.DataFrame:
    """The rows whose start falls in the phase: outside every fault window, inside one, before or after all,
    or in the stage named `stage:<name>`."""
    if phase == "all":
        return rows
    t = rows[col.T]
    if phase.startswith("stage:"):
        spans = [(p.start_s, p.end_s) for p in stages or [] if p.name == phase]
        return rows[pd.concat([(t >= a) & (t < b) for a, b in spans], axis=1).any(axis=1)] if spans else rows.iloc[0:0]
    inside = pd.Series(False, index=rows.index)
    for w in windows:
        inside |= (t >= w.start_s) & (t < w.end_s)
    if phase == "no_fault":
        return rows[~inside]
    if phase == "faults":
        return rows[inside]
    if not windows:
        return rows if phase == "before" else rows.iloc[0:0]
    if phase == "before":
        return rows[t < min(w.start_s for w in windows)]
    return rows[t >= max(w.end_s for w in windows)]


def objective_verdict(estimate: QuantileEstimate, limit_ms: float) -> Verdict:
    if estimate.ci_high <= limit_ms:
        return Verdict.PASS
    if estimate.ci_low > limit_ms:
        return Verdict.FAIL
    return Verdict.INCONCLUSIVE


def judge(objective: Objective, rows: pd.DataFrame, windows: list[FaultWindow], confidence: float,
          stages: list[Phase] | None = None) -> ObjectiveResult:
    chosen = rows[(rows[col.KIND] == objective.kind) & (rows[col.NAME] == objective.name)]
    chosen = in_phase(chosen, objective.phase, windows, stages)
    estimate, deff = bursty_quantile_interval(chosen[col.LATENCY_MS].to_numpy(dtype=float),
                                              chosen[col.T].to_numpy(dtype=float), objective.q, confidence)
    return ObjectiveResult(objective, estimate, objective_verdict(estimate, objective.limit_ms), deff)


def judge_all(manifest: Manifest, metric: str, rows: pd.DataFrame, windows: list[FaultWindow],
              confidence: float) -> list[ObjectiveResult]:
    stages = stage_phases(manifest, math.inf)
    return [judge(o, rows, windows, confidence, stages) for o in objectives_of(manifest, metric)]


def combined(rate_verdict: Verdict, results: list[ObjectiveResult]) -> Verdict:
    """Pass only when the rate and every objective pass; any fail fails; otherwise inconclusive.

    A variant not judged (its fault could not be applied) stays not judged: its latencies say nothing either.
    """
    if rate_verdict is Verdict.NOT_JUDGED:
        return rate_verdict
    verdicts = [rate_verdict, *(r.verdict for r in results)]
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    return Verdict.PASS if all(v is Verdict.PASS for v in verdicts) else Verdict.INCONCLUSIVE
