"""summary.md: the short table a person pastes into an incident ticket."""

from __future__ import annotations

from harness.analysis.run_analysis import RunAnalysis
from harness.analysis.stats import Verdict
from harness.report import fmt, text
from harness.report.failover import failover_sentences
from harness.report.objectives import method_sentence, objective_lines


def render_markdown(analysis: RunAnalysis) -> str:
    lines = [
        f"## {text.scenario_name(analysis)}: {text.headline(analysis)}", "",
        text.target_sentence(analysis), "",
        "| variant | flows | success rate [CI, judged] | Wilson [CI] | design effect | main errors | p95 | verdict "
        "| expected | shown |",
        "|---|---:|---|---|---:|---|---:|---|---|---|",
    ]
    for v in analysis.variants:
        lines.append(f"| {v.name} | {v.rate.n:,} | {fmt.rate_ci(v.rate)} | {fmt.wilson_ci(v)} | "
                     f"{fmt.design_effect(v)} | "
                     f"{fmt.main_errors(v.failures_by_kind, v.rate.n)} | {fmt.ms(v.target_p95_ms)} | "
                     f"**{v.verdict.value}** | {v.info.expect or '–'} | {text.shown_mark(v)} |")
    unjudged = [text.variant_sentence(v, analysis.target.minimum) for v in analysis.variants
                if v.verdict is Verdict.NOT_JUDGED]
    if unjudged:
        lines += ["", *[f"- {sentence}" for sentence in unjudged]]
    bursts = [sentence for v in analysis.variants if (sentence := text.burst_sentence(v))]
    if bursts:
        lines += ["", *[f"- {sentence}" for sentence in bursts]]
    if analysis.replicates:
        lines += ["", *[f"- {text.replicate_sentence(r)}" for r in analysis.replicates]]
    if objective_lines(analysis):
        lines += ["", *[f"- {line}" for line in objective_lines(analysis)], "", method_sentence()]
    if analysis.pairs:
        lines += ["", *[f"- {text.pair_sentence(p)}" for p in analysis.pairs]]
    stops = [sentence for v in analysis.variants if (sentence := text.stop_sentence(v))]
    if stops:
        lines += ["", *[f"- {sentence}" for sentence in stops]]
    recoveries = [(v.name, r) for v in analysis.variants for r in v.recoveries]
    if recoveries:
        lines += ["", *[f"- {name}: “{r.label}” ended at {r.ended_s:.0f} s; "
                        + (f"recovered in {fmt.seconds(r.recovery_s)}" if r.recovered else r.note)
                        for name, r in recoveries]]
    if failovers := failover_sentences(analysis):
        lines += ["", *[f"- {sentence}" for sentence in failovers]]
    if analysis.records.problems:
        lines += ["", "Problems reading the records:", *[f"- {p}" for p in analysis.records.problems]]
    return "\n".join(lines) + "\n"
