"""`harness run --ablate`: one fix flag at a time, on from buggy and off from fixed, to see which fix carries it.

Every ablation step is a variant of one ordinary run (expectation: none, so it is reported, not
judged); the effects are read back from that run's summary.json.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.analysis.stats import RateEstimate, compare_rates, rate_from_counts
from harness.errors import BadInput
from harness.files import write_atomic
from harness.records import ABLATION_JSON, CHARTS_DIR, SUMMARY
from harness.records.files import Ablation, RateBlock, Summary, read_run_file, validated, write_run_file
from harness.report.fmt import console_table, markdown_table
from harness.scenario import Scenario, Variant, flag_text
from harness.scenario.service import ServiceOverride

REPLICATED_ONLY = ("sentinel_discovery", "wait_for_replica")
ABLATION_MD = "ablation.md"


def service_fix_flags() -> dict[str, tuple[Any, Any]]:
    """Every service flag whose buggy and fixed values differ: name -> (buggy value, fixed value)."""
    from harness.authsvc.flags import BUGGY, FIXED

    return {f.name: (getattr(BUGGY, f.name), getattr(FIXED, f.name)) for f in dataclasses.fields(BUGGY)
            if getattr(BUGGY, f.name) != getattr(FIXED, f.name)}


# An ablation step's name is its base's name, a sign and the flag: buggy+FLAG (turned on), fixed-FLAG (off).
STEP_PREFIXES = {"buggy+": ("buggy", "on"), "fixed-": ("fixed", "off")}


def step_of(name: str) -> tuple[str, str, str] | None:
    """(base, direction, flag) of an ablation step's variant name; None for buggy, fixed or any other name."""
    for prefix, (base, direction) in STEP_PREFIXES.items():
        if name.startswith(prefix):
            return base, direction, name[len(prefix):]
    return None


def _toggled(variant: Variant, field: str, name: str, value: Any) -> Variant:
    """The variant with one service flag (field "flags"), client flag ("client") or, for your own service,
    environment variable ("env"; None removes it) set; a step is not judged."""
    if field == "env":
        override = variant.service or ServiceOverride()
        service = override.model_copy(update={"env": {**override.env, name: value}})
        return variant.model_copy(update={"service": service, "expect": None})
    return variant.model_copy(update={field: {**getattr(variant, field), name: value}, "expect": None})


def env_fix_flags(scenario: Scenario) -> dict[str, tuple[str | None, str | None]]:
    """Your own service: every environment variable whose buggy and fixed values differ (None: not set)."""
    buggy, fixed = scenario.service_for("buggy").env, scenario.service_for("fixed").env
    return {key: (buggy.get(key), fixed.get(key)) for key in sorted({*buggy, *fixed})
            if buggy.get(key) != fixed.get(key)}


def ablation_variants(scenario: Scenario) -> dict[str, Variant]:
    """buggy, buggy+FLAG for each fix, fixed-FLAG for each fix, fixed; client flags that differ included."""
    variants = scenario.variants
    if "buggy" not in variants or "fixed" not in variants:
        raise BadInput("--ablate: the scenario needs variants named buggy and fixed to ablate between")
    buggy, fixed = variants["buggy"], variants["fixed"]
    steps: dict[str, Variant] = {"buggy": buggy}
    client = {name: (buggy.client.get(name, False), fixed.client.get(name, False))
              for name in {*buggy.client, *fixed.client}
              if buggy.client.get(name, False) != fixed.client.get(name, False)}
    if scenario.service_for("buggy").is_reference:
        service = service_fix_flags()
        if scenario.redis.topology != "sentinel":   # these fixes act only on a replicated Redis: no steps for them
            service = {name: values for name, values in service.items() if name not in REPLICATED_ONLY}
        toggles: list[tuple[str, str, Any, Any]] = [("flags", name, flag_text(off), flag_text(on))
                                                   for name, (off, on) in service.items()]
    else:
        # Your own service's fixes are its environment; a different command or url is a build, not a flag.
        toggles = [("env", name, off, on) for name, (off, on) in env_fix_flags(scenario).items()]
    toggles += [("client", name, off, on) for name, (off, on) in client.items()]
    for field, name, _, on in toggles:
        steps[f"buggy+{name}"] = _toggled(buggy, field, name, on)
    for field, name, off, _ in toggles:
        steps[f"fixed-{name}"] = _toggled(fixed, field, name, off)
    steps["fixed"] = fixed
    return steps


def with_ablation(scenario: Scenario, only: list[str] | None = None) -> Scenario:
    """The scenario with its ablation steps as variants; `only` keeps the steps of those flags."""
    steps = ablation_variants(scenario)
    if only:
        flag_of = {name: step[2] for name in steps if (step := step_of(name)) is not None}
        unknown = [flag for flag in only if flag not in flag_of.values()]
        if unknown:
            allowed = ", ".join(sorted(set(flag_of.values())))
            raise BadInput(f"--ablate-flags: unknown flag {unknown[0]!r}; allowed: {allowed}")
        steps = {name: v for name, v in steps.items() if name not in flag_of or flag_of[name] in only}
    return scenario.model_copy(update={"variants": steps})


def _estimate(summary: Summary, name: str) -> RateEstimate:
    """The step's rate on its effective flows (flows / design effect), as the run's own comparisons count them:
    bursty failures are fewer independent pieces of evidence than their count, so raw counts overclaim."""
    variant = summary.variants.get(name)
    flow = variant.target_flow if variant is not None else RateBlock()
    estimate = rate_from_counts(flow.successes, flow.flows, summary.target.confidence)
    effective = variant.correlation.effective_flows if variant is not None and variant.correlation else None
    if effective is None or not estimate.n:
        return estimate
    return dataclasses.replace(estimate, n=effective, successes=(estimate.rate or 0.0) * effective)


def ablation_effects(summary: Summary) -> dict[str, Any]:
    """Each step's change in the target success rate against its base, with a Newcombe interval."""
    confidence = summary.target.confidence
    effects = []
    for name in summary.variant_order:
        step = step_of(name)
        if step is None:
            continue
        base, direction, flag = step
        comparison = compare_rates(_estimate(summary, base), _estimate(summary, name), confidence)
        flipped = None if comparison.difference is None else -comparison.difference  # failure -> success rate
        effects.append({
            "flag": flag, "direction": direction, "variant": name, "base": base,
            "base_rate": comparison.a.rate, "rate": comparison.b.rate, "effect": flipped,
            "ci_low": None if comparison.diff_ci_high is None else -comparison.diff_ci_high,
            "ci_high": None if comparison.diff_ci_low is None else -comparison.diff_ci_low,
            "p_value": comparison.p_value, "significant": comparison.significant})
    return {"schema_version": Ablation.VERSION, "metric": summary.target.metric, "confidence": confidence,
            "effects": effects}


def _pp(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.2f} pp"


COLUMNS = ("flag", "step", "effect", "interval", "significant")


def effect_cells(effect: dict[str, Any]) -> list[str]:
    """One effect as table cells, the same in the Markdown file and on the console."""
    step = "on, from buggy" if effect["direction"] == "on" else "off, from fixed"
    return [effect["flag"], step, _pp(effect["effect"]), f"[{_pp(effect['ci_low'])}, {_pp(effect['ci_high'])}]",
            "yes" if effect["significant"] else "no"]


def ablation_markdown(ablation: dict[str, Any]) -> str:
    lines = [f"# Ablation: each fix flag's effect on {ablation['metric']} flow success", "",
             f"Effect = success rate of the step minus its base, {ablation['confidence']:.0%} Newcombe interval.",
             "", *markdown_table(COLUMNS, (effect_cells(e) for e in ablation["effects"]))]
    return "\n".join(lines) + "\n"


def write_ablation(run_dir: Path, console: Console) -> None:
    from harness.report.sweep_charts import ablation_chart

    summary_path = run_dir / SUMMARY
    if not summary_path.exists():
        console.print(f"ablation: no {SUMMARY} in {run_dir}; effects not computed")
        return
    ablation = ablation_effects(read_run_file(Summary, summary_path))
    write_run_file(run_dir / ABLATION_JSON, validated(Ablation, ablation, f"{run_dir / ABLATION_JSON} (as built)"))
    write_atomic(run_dir / ABLATION_MD, ablation_markdown(ablation))
    write_atomic(run_dir / CHARTS_DIR / "ablation.png", ablation_chart(ablation))
    console.print(console_table(f"ablation: effect on {ablation['metric']} flow success", COLUMNS,
                                (effect_cells(e) for e in ablation["effects"])))
