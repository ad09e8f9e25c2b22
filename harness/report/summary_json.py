"""summary.json: the analysis as the Summary model (harness.records.files; docs/file-formats.md)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

import numpy as np
import pandas as pd

from harness import __version__
from harness.analysis.run_analysis import PairResult, PhaseResult, RunAnalysis, VariantResult
from harness.analysis.stats import RateEstimate
from harness.records.files import Summary, dump, validated


def clean(value):
    """JSON-safe: numpy scalars to Python, NaN and inf to null."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def rate_dict(rate: RateEstimate) -> dict:
    return {"flows": rate.n, "successes": rate.successes, "failures": rate.failures, "success_rate": rate.rate,
            "ci_low": rate.ci_low, "ci_high": rate.ci_high, "confidence": rate.confidence}


def phase_dict(p: PhaseResult) -> dict:
    return {"name": p.phase.name, "label": p.phase.label, "fault": p.phase.fault, "start_s": p.phase.start_s,
            "end_s": p.phase.end_s, "target_flow": rate_dict(p.rate), "failures_by_kind": p.failures_by_kind,
            "requests": p.requests, "requests_per_s": p.requests_per_s, "p95_ms": p.p95_ms}


def latency_rows(table: pd.DataFrame) -> list[dict]:
    # The index is (kind, name); pandas-stubs types an index label as Hashable.
    return [{"kind": str(key[0]), "name": str(key[1]), **{k: row[k] for k in table.columns}}
            for key, row in cast("Iterator[tuple[tuple[str, str], pd.Series]]", table.iterrows())]


def timeline_dict(timeline: pd.DataFrame) -> dict:
    """Columnar so a long run stays small: one list per field, index i is second i."""
    result: dict[str, list] = {"second": timeline.index.tolist()}
    for column in timeline.columns:
        values = timeline[column].to_numpy()
        result[column] = values.tolist() if values.dtype.kind == "i" else np.round(values, 6).tolist()
    return result


def variant_dict(v: VariantResult) -> dict:
    return {
        "expect": v.info.expect, "verdict": v.verdict.value, "shown": v.shown, "status": v.info.status,
        "verdict_method": "correlation-aware" if v.sequential is None else "sequential", "stopped": stopped_dict(v),
        "judged_by": v.burst.method if v.sequential is None and v.burst else (
            v.sequential.method if v.sequential else "wilson"),
        "wilson": rate_dict(v.wilson) if v.wilson is not None else None,
        "correlation": v.burst.to_dict() if v.burst is not None else None,
        "profile": v.info.profile, "flags": v.info.flags, "duration_s": v.end_s,
        "target_flow": rate_dict(v.rate), "failures_by_kind": v.failures_by_kind,
        "top_errors": {k: [{"error": text, "count": n} for text, n in texts] for k, texts in v.top_errors.items()},
        "requests": v.requests, "requests_per_s": v.requests_per_s, "latency": latency_rows(v.latency),
        "phases": [phase_dict(p) for p in v.phases],
        "fault_windows": [{"fault": w.fault, "label": w.label, "type": w.type, "start_s": w.start_s,
                           "end_s": w.end_s, "removed": w.removed, "rolled_back": w.rolled_back} for w in v.windows],
        "recovery": [{"fault": r.fault, "label": r.label, "ended_s": r.ended_s, "recovered": r.recovered,
                      "recovery_s": r.recovery_s, "recovered_at_s": r.recovered_at_s, "note": r.note}
                     for r in v.recoveries],
        "timeline": timeline_dict(v.timeline),
        "rate_verdict": None if v.rate_verdict is None else v.rate_verdict.value,
        "objectives": [r.to_dict() for r in v.objectives],
        "arrivals": None if v.arrivals is None else v.arrivals.to_dict(),
        "failover": v.failover.to_dict() if v.failover is not None else None,
    }


def stopped_dict(v: VariantResult) -> dict | None:
    """The manifest's stop block, plus the sequential verdict on every recorded flow (which decides)."""
    final = v.sequential
    if v.info.stopped is None or final is None:
        return None
    return {**v.info.stopped.model_dump(), "final": {"state": final.state, "low": final.low, "high": final.high,
                                        "flows": final.n, "successes": final.successes, "method": final.method}}


def pair_dict(pair: PairResult) -> dict:
    c = pair.comparison
    return {"before": pair.before, "after": pair.after, "failure_rate_before": c.a.failure_rate,
            "failure_rate_after": c.b.failure_rate, "difference": c.difference, "diff_ci_low": c.diff_ci_low,
            "diff_ci_high": c.diff_ci_high, "p_value": c.p_value, "significant": c.significant,
            "failure_ratio": c.failure_ratio,
            "method": "Newcombe interval and z-test on effective sample sizes (n / design effect)"}


def summary_dict(analysis: RunAnalysis) -> dict:
    """summary.json's content, validated by its model on the way out (a key typed wrong fails here, not in a
    reader)."""
    return dump(summary_of(analysis))


def summary_of(analysis: RunAnalysis) -> Summary:
    manifest, target = analysis.records.manifest, analysis.target
    return validated(Summary, clean({
        "schema_version": Summary.VERSION,
        "harness_version": __version__,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario": manifest.scenario.model_dump(),
        "run_status": manifest.status,
        "seed": manifest.seed,
        "target": {"metric": target.metric, "minimum": target.minimum, "confidence": target.confidence},
        "all_shown": analysis.all_shown,
        "exit_code": analysis.exit_code,
        "problems": list(analysis.records.problems),
        "variant_order": [v.name for v in analysis.variants],
        "variants": {v.name: variant_dict(v) for v in analysis.variants},
        "comparisons": [pair_dict(p) for p in analysis.pairs],
        "replicates": {r.base: r.to_dict() for r in analysis.replicates},
    }), "summary.json (as written)")
