"""Sentences shared by every output: the headline verdict and the before-vs-after line."""

from __future__ import annotations

from harness.analysis.run_analysis import PairResult, RunAnalysis, VariantResult
from harness.analysis.stats import Verdict
from harness.report import fmt


def scenario_name(analysis: RunAnalysis) -> str:
    return analysis.records.manifest.scenario.name or analysis.records.run_dir.name


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
            "correlation-aware interval, which widens Wilson's by how much failures clustered in time "
            "(pass: whole interval at or above; fail: wholly below; else inconclusive).")


def burst_sentence(v: VariantResult) -> str | None:
    """How much of the uncertainty comes from bursts, in one sentence a person can repeat."""
    b = v.burst
    if b is None or not v.rate.n:
        return None
    if not v.rate.failures:
        return f"{v.name}: no failures, so nothing clustered; the interval is Wilson's."
    width = "as wide as" if b.width_ratio is None or b.width_ratio < 1.05 else f"{b.width_ratio:.1f}× wider than"
    blocks = f"(design effect {b.design_effect:.1f}, {b.blocks} blocks of {b.block_s} s)"
    if not b.bursts and width == "as wide as":
        return (f"{v.name}: failures were scattered, not in bursts; the interval is {width} if they were "
                f"independent {blocks}.")
    if not b.bursts:  # no second stands out, yet blocks differ: the rate moved, e.g. with a fault window
        return (f"{v.name}: no short bursts, but the failure rate changed over the run (a fault window, say); "
                f"the interval is {width} if failures were independent {blocks}.")
    bursts = "1 burst" if b.bursts == 1 else f"{b.bursts} bursts"
    return (f"{v.name}: failures came in {bursts} (longest {b.longest_burst_s} s); the interval is {width} "
            f"if they were independent {blocks}.")


def replicate_sentence(r) -> str:
    """`--repeat`: each replicate's rate, the spread, and the verdict over them."""
    rates = ", ".join(fmt.pct(x) for x in r.rates)
    spread = "" if r.spread is None else f"; spread {r.spread * 100:.2f} pp"
    sd = "" if r.sd is None else f", sd {r.sd * 100:.2f} pp"
    expected = f", expected {r.expect}" if r.expect else ""
    return (f"{r.base} over {len(r.names)} replicates: {rates}{spread}{sd}; verdicts {', '.join(r.verdicts)}"
            f" → {r.verdict.upper()} (every replicate must agree){expected}")


def variant_sentence(v: VariantResult, minimum: float) -> str:
    if v.verdict is Verdict.NOT_JUDGED:
        return f"{v.name}: NOT JUDGED – {v.info.error or 'a planned fault could not be applied'}"
    if not v.rate.n:
        return f"{v.name}: {v.verdict.value.upper()} – no flows recorded"
    relation = "≥" if v.verdict is Verdict.PASS else "<" if v.verdict is Verdict.FAIL else "straddles"
    expected = f", expected {v.info.expect}" if v.info.expect else ""
    burst = burst_sentence(v)
    return (f"{v.name}: {v.verdict.value.upper()} – {fmt.rate_ci(v.rate)} {relation} {minimum:.2%}"
            f" over {v.rate.n:,} flows{expected}" + (f". {burst}" if burst else ""))


def stop_sentence(v: VariantResult) -> str | None:
    """`--until-decided`: when the load stopped and why, and the sequential verdict that judges the variant."""
    stopped, final = v.info.stopped, v.sequential
    if stopped is None or final is None:
        return None
    reason, limit = stopped.reason, fmt.seconds(stopped.max_duration_s)
    if reason.startswith("decided"):
        how = f"stopped early at {fmt.seconds(stopped.at_s)} of {limit} ({reason})"
    else:
        how = f"ran to its maximum duration ({limit}) without an early decision"
    return (f"{v.name}: {how}; verdict: {final.state} "
            f"[{fmt.pct(final.low)}, {fmt.pct(final.high)}] over {final.n:,} flows "
            "(early fails by confidence sequences over 5 s blocks and over flows, which must agree; "
            "a pass only at the maximum duration, so stopping keeps the error rate at its nominal level)")


def shown_mark(v: VariantResult) -> str:
    return {True: "yes", False: "NO", None: "–"}[v.shown]


def pair_sentence(pair: PairResult) -> str:
    c = pair.comparison
    if c.difference is None or c.diff_ci_low is None or c.diff_ci_high is None:  # all None together
        return f"{pair.before} → {pair.after}: not comparable (a variant has no flows)"
    sign = "significant" if c.significant else "not significant"
    if c.failure_ratio is not None:
        ratio = f"{pair.before} has {c.failure_ratio:.1f}× the failure rate of {pair.after}"
    else:
        ratio = f"{pair.after} had no failures" if c.a.failures else "neither had failures"
    return (f"{pair.before} → {pair.after}: failure rate {fmt.pct(c.a.failure_rate)} → {fmt.pct(c.b.failure_rate)}, "
            f"difference {c.difference * 100:+.2f} pp [{c.diff_ci_low * 100:+.2f}, {c.diff_ci_high * 100:+.2f}] "
            f"({fmt.p_value(c.p_value)}, {sign}); {ratio}")
