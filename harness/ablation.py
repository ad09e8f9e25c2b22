"""`harness run --ablate`: one fix flag at a time, on from buggy and off from fixed, to see which fix carries it.

Every ablation step is a variant of one ordinary run (expectation: none, so it is reported, not
judged); the effects are read back from that run's summary.json.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.analysis.stats import compare_rates, rate_from_counts
from harness.errors import BadInput
from harness.scenario import Scenario, Variant

ABLATION_JSON = "ablation.json"
ABLATION_MD = "ablation.md"


def service_fix_flags() -> dict[str, tuple[Any, Any]]:
    """Every service flag whose buggy and fixed values differ: name -> (buggy value, fixed value)."""
    from harness.authsvc.flags import BUGGY, FIXED

    return {f.name: (getattr(BUGGY, f.name), getattr(FIXED, f.name)) for f in dataclasses.fields(BUGGY)
            if getattr(BUGGY, f.name) != getattr(FIXED, f.name)}


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def ablation_variants(scenario: Scenario) -> dict[str, Variant]:
    """buggy, buggy+FLAG for each fix, fixed-FLAG for each fix, fixed; client flags that differ included."""
    variants = scenario.variants
    if "buggy" not in variants or "fixed" not in variants:
        raise BadInput("--ablate: the scenario needs variants named buggy and fixed to ablate between")
    buggy, fixed = variants["buggy"], variants["fixed"]
    steps: dict[str, Variant] = {"buggy": buggy}
    service = service_fix_flags()
    client = {name: (buggy.client.get(name, False), fixed.client.get(name, False))
              for name in {*buggy.client, *fixed.client}
              if buggy.client.get(name, False) != fixed.client.get(name, False)}
    for name, (_, on) in service.items():
        steps[f"buggy+{name}"] = buggy.model_copy(update={"flags": {**buggy.flags, name: _text(on)}, "expect": None})
    for name, (_, on) in client.items():
        steps[f"buggy+{name}"] = buggy.model_copy(update={"client": {**buggy.client, name: on}, "expect": None})
    for name, (off, _) in service.items():
        steps[f"fixed-{name}"] = fixed.model_copy(update={"flags": {**fixed.flags, name: _text(off)}, "expect": None})
    for name, (off, _) in client.items():
        steps[f"fixed-{name}"] = fixed.model_copy(update={"client": {**fixed.client, name: off}, "expect": None})
    steps["fixed"] = fixed
    return steps


def with_ablation(scenario: Scenario, only: list[str] | None = None) -> Scenario:
    """The scenario with its ablation steps as variants; `only` keeps the steps of those flags."""
    steps = ablation_variants(scenario)
    if only:
        known = {name.split("+", 1)[-1].split("-", 1)[-1] for name in steps if name not in ("buggy", "fixed")}
        unknown = [flag for flag in only if flag not in known]
        if unknown:
            raise BadInput(f"--ablate-flags: unknown flag {unknown[0]!r}; allowed: {', '.join(sorted(known))}")
        steps = {name: v for name, v in steps.items()
                 if name in ("buggy", "fixed") or name.split("+", 1)[-1].split("-", 1)[-1] in only}
    return scenario.model_copy(update={"variants": steps})


def _estimate(summary: dict[str, Any], name: str) -> Any:
    flow = summary["variants"].get(name, {}).get("target_flow") or {}
    return rate_from_counts(int(flow.get("successes") or 0), int(flow.get("flows") or 0),
                            summary["target"]["confidence"])


def ablation_effects(summary: dict[str, Any]) -> dict[str, Any]:
    """Each step's change in the target success rate against its base, with a Newcombe interval."""
    confidence = summary["target"]["confidence"]
    effects = []
    for name in summary["variant_order"]:
        base, direction, flag = ("buggy", "on", name[6:]) if name.startswith("buggy+") else (
            ("fixed", "off", name[6:]) if name.startswith("fixed-") else (None, None, None))
        if base is None:
            continue
        comparison = compare_rates(_estimate(summary, base), _estimate(summary, name), confidence)
        flipped = None if comparison.difference is None else -comparison.difference  # failure -> success rate
        effects.append({
            "flag": flag, "direction": direction, "variant": name, "base": base,
            "base_rate": comparison.a.rate, "rate": comparison.b.rate, "effect": flipped,
            "ci_low": None if flipped is None else -comparison.diff_ci_high,
            "ci_high": None if flipped is None else -comparison.diff_ci_low,
            "p_value": comparison.p_value, "significant": comparison.significant})
    return {"metric": summary["target"]["metric"], "confidence": confidence, "effects": effects}


def _pp(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.2f} pp"


def ablation_markdown(ablation: dict[str, Any]) -> str:
    lines = [f"# Ablation: each fix flag's effect on {ablation['metric']} flow success", "",
             f"Effect = success rate of the step minus its base, {ablation['confidence']:.0%} Newcombe interval.",
             "", "| flag | step | effect | interval | significant |", "|---|---|---|---|---|"]
    for e in ablation["effects"]:
        step = "on, from buggy" if e["direction"] == "on" else "off, from fixed"
        lines.append(f"| {e['flag']} | {step} | {_pp(e['effect'])} | [{_pp(e['ci_low'])}, {_pp(e['ci_high'])}] | "
                     f"{'yes' if e['significant'] else 'no'} |")
    return "\n".join(lines) + "\n"


def write_ablation(run_dir: Path, console: Console) -> None:
    from harness.report.sweep_charts import ablation_chart

    summary_path = run_dir / "summary.json"
    if not summary_path.exists():
        console.print(f"ablation: no summary.json in {run_dir}; effects not computed")
        return
    ablation = ablation_effects(json.loads(summary_path.read_text()))
    (run_dir / ABLATION_JSON).write_text(json.dumps(ablation, indent=2))
    (run_dir / ABLATION_MD).write_text(ablation_markdown(ablation))
    (run_dir / "charts").mkdir(exist_ok=True)
    (run_dir / "charts" / "ablation.png").write_bytes(ablation_chart(ablation))
    table = Table(title=f"ablation: effect on {ablation['metric']} flow success")
    for column in ("flag", "step", "effect", "interval", "significant"):
        table.add_column(column)
    for e in ablation["effects"]:
        table.add_row(e["flag"], "on, from buggy" if e["direction"] == "on" else "off, from fixed", _pp(e["effect"]),
                      f"[{_pp(e['ci_low'])}, {_pp(e['ci_high'])}]", "yes" if e["significant"] else "no")
    console.print(table)
