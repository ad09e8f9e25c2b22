"""Sentences on a failover's toll (sessions lost, time to recover), for summary.md and report.html."""

from __future__ import annotations

from harness.analysis.run_analysis import RunAnalysis, VariantResult


def failover_sentence(v: VariantResult) -> str | None:
    outcome = v.failover
    if outcome is None:
        return None
    parts = [f"{v.name}: {outcome.sessions_lost:,} of {outcome.sessions_checked:,} sessions checked after "
             f"their login were lost (session_not_found)"]
    if outcome.max_lost is not None:
        parts.append(f"target at most {outcome.max_lost}: {'met' if outcome.within_target else 'missed'}")
    if outcome.failover_at_s is not None:
        recovery = (f"logins recovered {outcome.recovery_s:.1f} s after it" if outcome.recovery_s is not None
                    else "logins had not recovered by the end of the run")
        parts.append(f"failover at {outcome.failover_at_s:.1f} s, {recovery}")
    return "; ".join(parts)


def failover_sentences(analysis: RunAnalysis) -> list[str]:
    return [sentence for v in analysis.variants if (sentence := failover_sentence(v))]
