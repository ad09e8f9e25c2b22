"""Latency objectives in every output: one sentence each, shared by console, Markdown, HTML and JUnit."""

from __future__ import annotations

import math
from html import escape

from harness.analysis.arrivals import arrival_sentence
from harness.analysis.objectives import ObjectiveResult
from harness.analysis.run_analysis import RunAnalysis, VariantResult
from harness.report import fmt


def bound(x: float) -> str:
    return "–∞" if x == -math.inf else "∞" if x == math.inf else fmt.ms(x)


def objective_sentence(v: VariantResult, r: ObjectiveResult) -> str:
    e = r.estimate
    if not e.n:
        return f"{v.name}: {r.objective.label}: {r.verdict.value.upper()} – no samples"
    note = "" if math.isfinite(e.ci_high) else " (too few samples for an upper bound)"
    return (f"{v.name}: {r.objective.label}: {r.verdict.value.upper()} – {fmt.ms(e.value)} "
            f"[{bound(e.ci_low)}, {bound(e.ci_high)}] over {e.n:,} samples{note}")


def objective_lines(analysis: RunAnalysis) -> list[str]:
    """Each objective's verdict, and under the open model how many arrivals never started."""
    arrivals = [arrival_sentence(v.name, v.arrivals) for v in analysis.variants if v.arrivals is not None]
    return [*arrivals, *(objective_sentence(v, r) for v in analysis.variants for r in v.objectives)]


def method_sentence() -> str:
    return ("Latency objectives: each quantile's distribution-free interval from order statistics (exact "
            "binomial); pass: whole interval at or below the bound; fail: wholly above; else inconclusive. "
            "A variant passes only when its success rate and every objective pass.")


def objectives_html(analysis: RunAnalysis) -> str:
    lines = objective_lines(analysis)
    if not lines:
        return ""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f"<h2>Latency objectives and arrivals</h2><ul>{items}</ul><p class=muted>{escape(method_sentence())}</p>"
