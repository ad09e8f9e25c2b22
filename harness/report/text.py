"""Sentences shared by every output: the headline verdict and the before-vs-after line."""

from __future__ import annotations

from harness.analysis.run_analysis import PairResult, RunAnalysis, VariantResult
from harness.analysis.stats import Verdict
from harness.report import fmt


def scenario_name(analysis: RunAnalysis) -> str:
    return (analysis.records.manifest.get("scenario") or {}).get("name") or analysis.records.run_dir.name


def headline(analysis: RunAnalysis) -> str:
    if not analysis.variants:
        return "No variant to judge: the run folder holds no variants"
    if analysis.all_shown:
        return "Every variant showed what it expected"
    missed = [v.name for v in analysis.variants if v.shown is not True]
    return f"Not shown: {', '.join(missed)} did not show what {'it' if len(missed) == 1 else 'they'} expected"


def target_sentence(analysis: RunAnalysis) -> str:
    t = analysis.target
    return (f"Target: {t.metric} flow success rate ≥ {t.minimum:.2%}, judged on the {t.confidence:.0%} "
            "Wilson interval (pass: whole interval at or above; fail: wholly below; else inconclusive).")


def variant_sentence(v: VariantResult, minimum: float) -> str:
    if v.verdict is Verdict.NOT_JUDGED:
        return f"{v.name}: NOT JUDGED – {v.info.error or 'a planned fault could not be applied'}"
    if not v.rate.n:
        return f"{v.name}: {v.verdict.value.upper()} – no flows recorded"
    relation = "≥" if v.verdict.value == "pass" else "<" if v.verdict.value == "fail" else "straddles"
    expected = f", expected {v.info.expect}" if v.info.expect else ""
    return (f"{v.name}: {v.verdict.value.upper()} – {fmt.rate_ci(v.rate)} {relation} {minimum:.2%}"
            f" over {v.rate.n:,} flows{expected}")


def stop_sentence(v: VariantResult) -> str | None:
    """`--until-decided`: when the load stopped and why, and the sequential verdict that judges the variant."""
    stopped, final = v.info.stopped, v.sequential
    if stopped is None or final is None:
        return None
    reason, limit = stopped.get("reason") or "", fmt.seconds(stopped.get("max_duration_s"))
    if reason.startswith("decided"):
        how = f"stopped early at {fmt.seconds(stopped.get('at_s'))} of {limit} ({reason})"
    else:
        how = f"ran to its maximum duration ({limit}) undecided"
    return (f"{v.name}: {how}; verdict by confidence sequence: {final.state} "
            f"[{fmt.pct(final.low)}, {fmt.pct(final.high)}] over {final.n:,} flows "
            "(anytime-valid, so stopping on it keeps the error rate at its nominal level)")


def shown_mark(v: VariantResult) -> str:
    return {True: "yes", False: "NO", None: "–"}[v.shown]


def pair_sentence(pair: PairResult) -> str:
    c = pair.comparison
    if c.difference is None:
        return f"{pair.before} → {pair.after}: not comparable (a variant has no flows)"
    sign = "significant" if c.significant else "not significant"
    if c.failure_ratio is not None:
        ratio = f"{pair.before} has {c.failure_ratio:.1f}× the failure rate of {pair.after}"
    else:
        ratio = f"{pair.after} had no failures" if c.a.failures else "neither had failures"
    return (f"{pair.before} → {pair.after}: failure rate {fmt.pct(c.a.failure_rate)} → {fmt.pct(c.b.failure_rate)}, "
            f"difference {c.difference * 100:+.2f} pp [{c.diff_ci_low * 100:+.2f}, {c.diff_ci_high * 100:+.2f}] "
            f"({fmt.p_value(c.p_value)}, {sign}); {ratio}")
