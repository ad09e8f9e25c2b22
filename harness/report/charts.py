"""The four report charts as PNG bytes (matplotlib's object API on the Agg canvas: no pyplot global state)."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from harness.analysis.phases import FaultWindow
from harness.analysis.run_analysis import RunAnalysis, VariantResult
from harness.report.colours import FAULT_SHADE, VERDICT_COLOURS, error_kind_colour, variant_colours
from harness.report.stage_shading import shade_stages

DPI = 100
WIDE = (11, 4.2)
TIME_LABEL = "time since the variant's load started (s)"


@dataclass(frozen=True)
class Chart:
    file: str       # name under charts/
    title: str
    caption: str
    png: bytes


def render_charts(analysis: RunAnalysis) -> list[Chart]:
    colours = variant_colours([v.name for v in analysis.variants])
    metric = analysis.target.metric
    return [
        Chart("success_over_time.png", f"{metric} success rate over time", success_caption(analysis),
              success_over_time(analysis, colours)),
        Chart("success_by_variant.png", f"{metric} success rate per variant, with confidence intervals",
              interval_caption(analysis), success_by_variant(analysis, colours)),
        Chart("latency_over_time.png", f"{metric} flow latency percentiles over time",
              "p50 (solid), p95 (dashed) and p99 (dotted) of the flow's latency in each second; log scale.",
              latency_over_time(analysis, colours)),
        Chart("failures_by_kind.png", f"failed {metric} flows by error kind",
              "Share of each variant's flows that failed, split by error_kind.", failures_by_kind(analysis)),
    ]


def success_caption(analysis: RunAnalysis) -> str:
    return (f"Share of {analysis.target.metric} flows started in each second that succeeded; grey bands are "
            f"fault windows; the dashed line is the {analysis.target.minimum:.2%} target.")


def interval_caption(analysis: RunAnalysis) -> str:
    return (f"Points are success rates, bars their {analysis.target.confidence:.0%} Wilson intervals. A variant "
            "passes when its whole interval is at or above the target and fails when it is wholly below.")


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def legend_label(v: VariantResult) -> str:
    return f"{v.name} (expects {v.info.expect})" if v.info.expect else v.name


def unique_windows(analysis: RunAnalysis) -> list[FaultWindow]:
    """Variants share the scenario's timeline: draw each fault once, spanning its windows in every variant."""
    merged: dict[tuple[int, int], FaultWindow] = {}
    for v in analysis.variants:
        for w in v.windows:
            key = (w.fault, round(w.start_s))
            seen = merged.get(key)
            merged[key] = w if seen is None else replace(seen, start_s=min(seen.start_s, w.start_s),
                                                         end_s=max(seen.end_s, w.end_s))
    return sorted(merged.values(), key=lambda w: w.start_s)


def shade_faults(ax: Axes, windows: list[FaultWindow]) -> None:
    for i, w in enumerate(windows):
        ax.axvspan(w.start_s, w.end_s, color=FAULT_SHADE, alpha=0.18, lw=0)
        # stagger labels so overlapping or adjacent windows stay legible
        ax.text(w.start_s, 0.985 - 0.07 * (i % 3), f" {w.label}", transform=ax.get_xaxis_transform(),
                va="top", ha="left", fontsize=8.5, color="#424242", clip_on=True)


def target_line(ax: Axes, minimum: float) -> None:
    ax.axhline(minimum, color="black", ls="--", lw=1.1, label=f"target {minimum:.2%}")


def rate_axis(ax: Axes, lowest: float, minimum: float) -> None:
    """Zoom on the region that matters: from a bit below the worst rate (or target) to 100%."""
    low = min(lowest, minimum)
    ax.set_ylim(max(0.0, low - max((1.0 - low) * 0.15, 0.002)), 1.0 + max((1.0 - low) * 0.08, 0.001))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))


def success_over_time(analysis: RunAnalysis, colours: dict[str, str]) -> bytes:
    fig = Figure(figsize=WIDE)
    ax = fig.add_subplot()
    lowest = 1.0
    for v in analysis.variants:
        rate = v.timeline["success_rate"]
        if rate.notna().any():
            ax.plot(rate.index + 0.5, rate.to_numpy(), color=colours[v.name], lw=1.4, label=legend_label(v))
            lowest = min(lowest, float(rate.min()))
    shade_faults(ax, unique_windows(analysis))
    shade_stages(ax, analysis)
    target_line(ax, analysis.target.minimum)
    rate_axis(ax, lowest, analysis.target.minimum)
    ax.set(xlabel=TIME_LABEL, ylabel=f"{analysis.target.metric} success rate (% per s)")
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9, framealpha=0.9)
    return png(fig)


def success_by_variant(analysis: RunAnalysis, colours: dict[str, str]) -> bytes:
    fig = Figure(figsize=WIDE)
    whole, by_phase = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2.2]}, sharey=True)
    lowest = interval_points(whole, analysis, colours)
    lowest = min(lowest, phase_points(by_phase, analysis, colours))
    for ax in (whole, by_phase):
        target_line(ax, analysis.target.minimum)
        ax.grid(axis="y", alpha=0.3)
    rate_axis(whole, lowest, analysis.target.minimum)
    whole.set(title="whole run (the verdict)", ylabel=f"{analysis.target.metric} success rate")
    by_phase.set_title("by phase")
    by_phase.legend(loc="best", fontsize=9, framealpha=0.9)
    return png(fig)


def error_bars(rates, lows, highs) -> np.ndarray:
    """Distances below and above each point; clipped at 0 because bounds at 0 or 1 carry rounding error."""
    rates = np.asarray(rates, dtype=float)
    return np.clip([rates - np.asarray(lows, dtype=float), np.asarray(highs, dtype=float) - rates], 0.0, None)


def interval_points(ax: Axes, analysis: RunAnalysis, colours: dict[str, str]) -> float:
    """One point with its interval per variant, the verdict written beside it; returns the lowest bound."""
    lowest = 1.0
    for x, v in enumerate(analysis.variants):
        if not v.rate.n:
            ax.text(x, analysis.target.minimum, "no flows", ha="center", va="bottom", fontsize=9)
            continue
        err = error_bars([v.rate.rate], [v.rate.ci_low], [v.rate.ci_high])
        ax.errorbar([x], [v.rate.rate], yerr=err, fmt="o", ms=7, capsize=6, lw=2,  # type: ignore[arg-type]
                    color=colours[v.name])  # the ignore: with flows (n > 0) the rate is a float, not None
        ax.annotate(f" {v.verdict.value}\n {v.rate.rate:.2%}", (x, v.rate.rate), xytext=(10, 0),
                    textcoords="offset points", va="center", fontsize=9, fontweight="bold",
                    color=VERDICT_COLOURS[v.verdict.value],
                    bbox={"fc": "white", "ec": "none", "alpha": 0.85, "pad": 1.5})  # legible over the target line
        lowest = min(lowest, v.rate.ci_low)
    ax.set_xticks(range(len(analysis.variants)), [v.name for v in analysis.variants])
    ax.set_xlim(-0.6, len(analysis.variants) - 0.1)
    return lowest


def phase_points(ax: Axes, analysis: RunAnalysis, colours: dict[str, str]) -> float:
    names = list(dict.fromkeys(p.phase.name for v in analysis.variants for p in v.phases))
    labels = {p.phase.name: p.phase.label for v in analysis.variants for p in v.phases}
    if not names:
        ax.text(0.5, 0.5, "no fault phases in this run", transform=ax.transAxes, ha="center", color="#616161")
        return 1.0
    lowest, width = 1.0, 0.7 / max(len(analysis.variants), 1)
    for i, v in enumerate(analysis.variants):
        offset = (i - (len(analysis.variants) - 1) / 2) * width
        points = [(names.index(p.phase.name) + offset, p.rate) for p in v.phases if p.rate.n]
        if not points:
            continue
        xs = [x for x, _ in points]
        ys = np.array([r.rate for _, r in points])
        err = error_bars(ys, [r.ci_low for _, r in points], [r.ci_high for _, r in points])
        ax.errorbar(xs, ys, yerr=err, fmt="o", ms=6, capsize=4, lw=1.6, color=colours[v.name], label=v.name)
        lowest = min(lowest, min(r.ci_low for _, r in points))
    ax.set_xticks(range(len(names)), [wrap(labels[n]) for n in names], fontsize=8.5)
    return lowest


def wrap(label: str, width: int = 22) -> str:
    words, lines = label.split(), [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + len(word) > width:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    return "\n".join(lines)


def latency_over_time(analysis: RunAnalysis, colours: dict[str, str]) -> bytes:
    fig = Figure(figsize=WIDE)
    ax = fig.add_subplot()
    drawn = False
    for v in analysis.variants:
        t = v.timeline.index + 0.5
        for column, style in (("p50_ms", "-"), ("p95_ms", "--"), ("p99_ms", ":")):
            values = v.timeline[column].to_numpy(dtype=float)
            if np.isfinite(values).any():
                ax.plot(t, values, ls=style, lw=1.3, color=colours[v.name], label=f"{v.name} {column[:3]}")
                drawn = True
    shade_faults(ax, unique_windows(analysis))
    shade_stages(ax, analysis)
    if drawn:
        ax.set_yscale("log")
        plain = FuncFormatter(lambda value, _: f"{value:g}")  # "200", not "2×10²": read at a glance
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.legend(loc="upper right", fontsize=8, ncols=max(len(analysis.variants), 1), framealpha=0.9)
    ax.set(xlabel=TIME_LABEL, ylabel=f"{analysis.target.metric} flow latency (ms, log scale)")
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3, which="both")
    return png(fig)


def failures_by_kind(analysis: RunAnalysis) -> bytes:
    fig = Figure(figsize=(8, 4.2))
    ax = fig.add_subplot()
    variants = analysis.variants
    kinds = list(dict.fromkeys(k for v in variants for k in v.failures_by_kind))
    x = np.arange(len(variants))
    bottom = np.zeros(len(variants))
    for kind in kinds:
        share = np.array([v.failures_by_kind.get(kind, 0) / v.rate.n if v.rate.n else 0.0 for v in variants])
        ax.bar(x, share, 0.55, bottom=bottom, color=error_kind_colour(kind), label=kind)
        bottom += share
    for xi, v in zip(x, variants, strict=True):
        text = f"{v.rate.failures:,} of {v.rate.n:,}" if v.rate.n else "no flows"
        ax.annotate(text, (xi, bottom[xi]), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9)
    ax.set_xticks(x, [v.name for v in variants])
    colours = variant_colours([v.name for v in variants])
    for label, v in zip(ax.get_xticklabels(), variants, strict=True):
        label.set_color(colours[v.name])
        label.set_fontweight("bold")
    ax.set_ylim(0, max(float(bottom.max()) * 1.2, 0.01) if len(bottom) else 0.01)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    ax.set_ylabel(f"failed {analysis.target.metric} flows (% of the variant's flows)")
    if kinds:
        ax.legend(title="error_kind", fontsize=9, loc="upper right")
    else:
        ax.text(0.5, 0.5, "no failed flows", transform=ax.transAxes, ha="center", color="#616161")
    ax.grid(axis="y", alpha=0.3)
    return png(fig)
