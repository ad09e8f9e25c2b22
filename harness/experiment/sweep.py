"""`harness sweep`: run a scenario's variants at each level of Redis latency (and of users), find where login breaks.

Each level is an ordinary run folder inside the sweep folder; the sweep summary and the
dose-response chart are built from their summary.json files.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.errors import BadInput
from harness.experiment.lifecycle import Experiment
from harness.experiment.manifest import out_refused
from harness.experiment.options import RunOptions, apply_overrides
from harness.files import write_atomic
from harness.records import SUMMARY, SWEEP_JSON, Verdict
from harness.records.files import Summary, Sweep, VariantSummary, read_run_file, validated, write_run_file
from harness.report.fmt import console_table, markdown_table, pct
from harness.scenario import Fault, Scenario, load_scenario

SWEEP_MD = "sweep.md"
DOSE_RESPONSE_PNG = "dose_response.png"
LOAD_RESPONSE_PNG = "load_response.png"   # only when the sweep varied users or arrival rate


def parse_levels(text: str, flag: str, minimum: int = 0, paired: bool = False) -> list[int]:
    """"0,50,100" -> [0, 50, 100]; `paired` lists (jitter per latency) keep their order and repeats."""
    levels = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or int(item) < minimum:
            raise BadInput(f"{flag}: must be comma-separated whole numbers >= {minimum}, got {item!r}")
        levels.append(int(item))
    if paired:
        return levels
    if len(set(levels)) != len(levels):
        raise BadInput(f"{flag}: each level once, got {text!r}")
    return sorted(levels)


def with_redis_latency(scenario: Scenario, latency_ms: int, jitter_ms: int | None) -> Scenario:
    """The scenario at one level: its Redis latency held at `latency_ms` (± `jitter_ms`) for the whole run.

    The swept toxic is the scenario's first Redis latency toxic that applies to every connection (toxicity 1);
    others, such as spikes on a share of connections, stay as written. It is held from the start to the end
    of the run, so a level's success rate is the rate under that latency, not diluted by fault-free seconds
    before or after its window (and `--until-decided` judges the level, not the warm-up). With no such toxic,
    one is added.
    """
    faults = list(scenario.faults)
    swept = next((i for i, f in enumerate(faults)
                  if f.proxy == "redis" and f.type == "latency" and f.toxicity == 1.0), None)
    if swept is None:
        faults.append(Fault(proxy="redis", at=0, type="latency", stream="upstream",
                            attributes={"latency": latency_ms, "jitter": jitter_ms or 0}))
    else:
        fault = faults[swept]
        attributes = {**fault.attributes, "latency": latency_ms}
        if jitter_ms is not None:
            attributes["jitter"] = jitter_ms
        faults[swept] = fault.model_copy(update={"attributes": attributes, "at": 0.0, "duration": None})
    return scenario.model_copy(update={"faults": faults})


@dataclass
class SweepOptions:
    scenario_path: Path
    latencies: list[int]
    jitters: list[int] | None = None       # one per latency level, or one for all
    users: list[int] | None = None         # the second axis
    rates: list[int] | None = None         # or arrival rates (flows/s, the open model) as the second axis
    run: RunOptions = field(default_factory=lambda: RunOptions(scenario_path=Path()))


@dataclass(frozen=True)
class Level:
    latency_ms: int
    jitter_ms: int | None
    users: int | None
    rate: int | None = None

    @property
    def name(self) -> str:
        users = f"-users-{self.users}" if self.users is not None else ""
        rate = f"-rate-{self.rate}" if self.rate is not None else ""
        return f"latency-{self.latency_ms}ms{users}{rate}"


def levels_of(options: SweepOptions) -> list[Level]:
    jitters = options.jitters
    if jitters is not None and len(jitters) not in (1, len(options.latencies)):
        raise BadInput(f"--jitter: give one value or one per latency level ({len(options.latencies)}), "
                       f"got {len(jitters)}")
    pick = (lambda i: jitters[0] if len(jitters) == 1 else jitters[i]) if jitters else (lambda i: None)
    if options.users and options.rates:
        raise BadInput("--users and --arrival-rate: sweep one load axis at a time")
    unswept: list[int | None] = [None]
    return [Level(latency, pick(i), users, rate) for users in (options.users or unswept)
            for rate in (options.rates or unswept) for i, latency in enumerate(options.latencies)]


def run_sweep(options: SweepOptions, console: Console | None = None) -> int:
    """Every level in turn; 0 when every run completed (a sweep explores, it has no expectation to miss)."""
    console = console or Console(stderr=True)
    scenario = load_scenario(options.scenario_path)
    levels = levels_of(options)
    apply_overrides(scenario, options.run)  # refuse a bad --variants before any level starts
    sweep_dir = options.run.out / f"sweep-{scenario.name}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    planned = []
    for level in levels:
        leveled = with_arrival_rate(with_redis_latency(scenario, level.latency_ms, level.jitter_ms), level.rate)
        experiment = Experiment(_level_options(options.run, options.scenario_path, leveled, level, sweep_dir),
                                console=console)
        experiment.prepare()  # every level is checked before the first starts: a late refusal ran nothing
        planned.append((level, experiment))
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(out_refused(options.run.out, exc)) from None
    rows: list[dict[str, Any]] = []
    worst = 0
    for level, experiment in planned:
        console.rule(f"sweep {scenario.name}: {level.name}")
        code = experiment.run()
        if code not in (0, 1):   # 1 only says a verdict differed from its expectation: part of the answer
            worst = code
        run_dir = max(sweep_dir.glob(f"{level.name}-*"), key=lambda p: p.stat().st_mtime)
        rows.extend(level_rows(run_dir, level))
        if code >= 2 or code == 130 or code == 143:
            break
    summary = sweep_summary(scenario, rows)
    write_sweep(sweep_dir, summary)
    print_sweep(summary, sweep_dir, console)
    return worst


def _level_options(base: RunOptions, path: Path, scenario: Scenario, level: Level, sweep_dir: Path) -> RunOptions:
    users = level.users if level.users is not None else base.users
    return dataclasses.replace(base, scenario_path=path, scenario=scenario, run_name=level.name, out=sweep_dir,
                               users=users)


def level_rows(run_dir: Path, level: Level) -> list[dict[str, Any]]:
    """One row per variant of a level's run, from its summary.json."""
    summary_path = run_dir / SUMMARY
    if not summary_path.exists():
        return []
    summary = read_run_file(Summary, summary_path)
    rows = []
    for name in summary.variant_order:
        variant = summary.variants.get(name) or VariantSummary()
        flow = variant.target_flow
        rows.append({"variant": name, "latency_ms": level.latency_ms, "jitter_ms": level.jitter_ms,
                     "users": level.users, "arrival_rate": level.rate, "flows": flow.flows,
                     "success_rate": flow.success_rate, "ci_low": flow.ci_low, "ci_high": flow.ci_high,
                     "verdict": variant.verdict, "main_error": next(iter(variant.failures_by_kind), None),
                     "run": run_dir.name})
    return rows


def breaking_points(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per variant (and users level): where it breaks, where it still passes, and where the data cannot tell.

    The breaking point is the lowest level whose verdict is *fail*: its interval lies wholly below the target.
    A level whose interval straddles the target is *inconclusive*, not broken: calling a break there would be a
    claim the data does not make (a buggy variant at 99.6% on 500 flows is neither shown to pass nor to fail).
    `passes_up_to_ms` is the highest level below the break at which the variant passed.
    """
    points: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r["latency_ms"]):
        key = row["variant"] if row["users"] is None else f"{row['variant']} @ {row['users']} users"
        if row.get("arrival_rate") is not None:
            key = f"{row['variant']} @ {row['arrival_rate']} flows/s"
        entry = points.setdefault(key, {"variant": row["variant"], "users": row["users"], "breaks_at_ms": None,
                                        "passes_up_to_ms": None, "inconclusive_ms": []})
        if entry["breaks_at_ms"] is not None:
            continue
        if row["verdict"] == Verdict.PASS:
            entry["passes_up_to_ms"] = row["latency_ms"]
        elif row["verdict"] == Verdict.FAIL:
            entry["breaks_at_ms"] = row["latency_ms"]
        else:
            entry["inconclusive_ms"].append(row["latency_ms"])
    return points


def sweep_summary(scenario: Scenario, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema_version": Sweep.VERSION, "scenario": scenario.name, "parameter": "redis latency (ms)",
            "target": scenario.target.model_dump(), "levels": rows, "breaking_points": breaking_points(rows),
            "load_breaking_points": load_breaking_points(rows)}


def write_sweep(sweep_dir: Path, summary: dict[str, Any]) -> None:
    from harness.report.sweep_charts import dose_response_chart, load_response_chart

    write_run_file(sweep_dir / SWEEP_JSON, validated(Sweep, summary, f"{sweep_dir / SWEEP_JSON} (as built)"))
    write_atomic(sweep_dir / SWEEP_MD, sweep_markdown(summary))
    write_atomic(sweep_dir / DOSE_RESPONSE_PNG, dose_response_chart(summary))
    axis = load_axis(summary["levels"])
    if axis is not None:
        write_atomic(sweep_dir / LOAD_RESPONSE_PNG, load_response_chart(summary, axis))


COLUMNS = ("variant", "users", "latency ms", "flows", "success [CI]", "verdict", "main error")


def level_cells(row: dict[str, Any]) -> list[str]:
    """One variant at one level as table cells, the same in sweep.md and on the console."""
    return [row["variant"], str(row["users"] or "-"), str(row["latency_ms"]), f"{row['flows'] or 0:,}",
            f"{pct(row['success_rate'])} [{pct(row['ci_low'])}, {pct(row['ci_high'])}]", str(row["verdict"]),
            row["main_error"] or "-"]


def describe_break(point: dict[str, Any]) -> str:
    breaks, passes = point["breaks_at_ms"], point["passes_up_to_ms"]
    inconclusive = point.get("inconclusive_ms") or []
    if breaks is None:
        text = "does not fail at any level" if inconclusive else "passes at every level"
    elif passes is None and not inconclusive:
        text = f"fails already at {breaks} ms"
    else:
        text = f"breaks at {breaks} ms" + (f" (passes up to {passes} ms)" if passes is not None else "")
    if inconclusive:
        levels = ", ".join(f"{level} ms" for level in inconclusive)
        text += f"; inconclusive at {levels} (interval straddles the target: run longer or use --until-decided)"
    return text


def sweep_markdown(summary: dict[str, Any]) -> str:
    target = summary["target"]
    lines = [f"# Sweep: {summary['scenario']} over {summary['parameter']}", "",
             f"Target: {target['metric']} flow success >= {target['minimum']:.2%} at {target['confidence']:.0%} "
             "confidence.", "", *markdown_table(COLUMNS, (level_cells(row) for row in summary["levels"]))]
    lines += ["", "Breaking points (lowest latency at which the variant fails: its interval lies below the target):",
              ""]
    lines += [f"- **{key}**: {describe_break(point)}" for key, point in summary["breaking_points"].items()]
    load_lines = load_break_lines(summary)
    if load_lines:
        lines += ["", "Breaking points in load (lowest load at which the variant fails, at each latency):", "",
                  *[f"- {line}" for line in load_lines]]
    return "\n".join(lines) + "\n"


def print_sweep(summary: dict[str, Any], sweep_dir: Path, console: Console) -> None:
    console.print(console_table(f"sweep {summary['scenario']}: {summary['parameter']}", COLUMNS,
                                (level_cells(row) for row in summary["levels"])))
    for key, point in summary["breaking_points"].items():
        console.print(f"{key}: {describe_break(point)}")
    for line in load_break_lines(summary):
        console.print(line, markup=False, highlight=False)
    console.print(f"sweep folder: {sweep_dir}")


def with_arrival_rate(scenario: Scenario, rate: int | None) -> Scenario:
    """The scenario under the open model at `rate` flows/s (its cap and spacing as written), or as it is."""
    if rate is None:
        return scenario
    load = scenario.load.model_copy(update={"arrival_rate": float(rate), "stages": []})
    return scenario.model_copy(update={"load": load})


def load_axis(rows: list[dict[str, Any]]) -> str | None:
    """Which load the sweep varied: "users", "arrival_rate", or None (one load level)."""
    for key in ("users", "arrival_rate"):
        if len({row.get(key) for row in rows if row.get(key) is not None}) > 1:
            return key
    return None


def load_breaking_points(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per variant and latency level: the lowest load (users or arrival rate) whose verdict is fail, the highest
    passing load below it, and the loads where the interval straddles the target (as for latency)."""
    axis = load_axis(rows)
    if axis is None:
        return {}
    points: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r[axis]):
        key = f"{row['variant']} @ {row['latency_ms']} ms"
        entry = points.setdefault(key, {"variant": row["variant"], "latency_ms": row["latency_ms"], "axis": axis,
                                        "breaks_at": None, "passes_up_to": None, "inconclusive": []})
        if entry["breaks_at"] is not None:
            continue
        if row["verdict"] == Verdict.PASS:
            entry["passes_up_to"] = row[axis]
        elif row["verdict"] == Verdict.FAIL:
            entry["breaks_at"] = row[axis]
        else:
            entry["inconclusive"].append(row[axis])
    return points


def load_break_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    for key, point in (summary.get("load_breaking_points") or {}).items():
        unit = "users" if point["axis"] == "users" else "flows/s"
        breaks, passes, inconclusive = point["breaks_at"], point["passes_up_to"], point["inconclusive"]
        if breaks is None:
            text = "does not fail at any load" if inconclusive else "passes at every load"
        else:
            text = f"breaks at {breaks:,} {unit}" + (f" (passes up to {passes:,})" if passes is not None else "")
        if inconclusive:
            text += "; inconclusive at " + ", ".join(f"{level:,}" for level in inconclusive) + f" {unit}"
        lines.append(f"{key}: {text}")
    return lines
