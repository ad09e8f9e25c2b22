"""Charts of sweeps and ablations: success rate against Redis latency or load, and each fix flag's effect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from harness.records import Verdict
from harness.report.charts import png
from harness.report.colours import variant_colours


def _errors(rows: list[dict[str, Any]]) -> np.ndarray:
    rate = np.array([r["success_rate"] for r in rows], dtype=float)
    low = np.array([r["ci_low"] for r in rows], dtype=float)
    high = np.array([r["ci_high"] for r in rows], dtype=float)
    return np.clip(np.vstack([rate - low, high - rate]), 0, None)  # rounding must not make a bar negative


@dataclass(frozen=True)
class SweepAxis:
    """What a sweep chart's x axis shows, and how its panels split and name the other level."""

    x: str                     # the level field on the x axis
    label: str
    panel_by: tuple[str, ...]  # the other level field, the first one the rows carry: one panel per value
    panel_title: Callable[[str, Any], str]   # (panel field, value) -> the title's tail
    # (summary, variant, panel field, value) -> where the variant breaks on the x axis and its legend text, if it does
    breaking_point: Callable[[dict[str, Any], str, str, Any], tuple[float, str] | None]
    symlog: bool = False

    def panel_field(self, rows: list[dict[str, Any]]) -> str:
        return next((f for f in self.panel_by if any(r.get(f) is not None for r in rows)), self.panel_by[-1])


def _load_level(field: str, value: Any) -> str:
    """A load level as sweep.json's breaking-point keys spell it (an --arrival-rate sweep: flows/s)."""
    return f"{value} flows/s" if field == "arrival_rate" else f"{value} users"


def _latency_breaking_point(summary: dict[str, Any], variant: str, field: str,
                            load: Any) -> tuple[float, str] | None:
    point = summary["breaking_points"].get(variant if load is None else f"{variant} @ {_load_level(field, load)}")
    if not point or point["breaks_at_ms"] is None:
        return None
    return point["breaks_at_ms"], f"{variant} breaks at {point['breaks_at_ms']} ms"


def _load_breaking_point(summary: dict[str, Any], variant: str, _field: str,
                         latency: Any) -> tuple[float, str] | None:
    point = (summary.get("load_breaking_points") or {}).get(f"{variant} @ {latency} ms")
    if not point or point["breaks_at"] is None:
        return None
    return point["breaks_at"], f"{variant} breaks at {point['breaks_at']:,}"


def _latency_title(_field: str, latency: Any) -> str:
    return "" if latency is None else f", Redis latency {latency} ms"


LATENCY_AXIS = SweepAxis("latency_ms", "Redis latency added (ms, symlog scale)", ("arrival_rate", "users"),
                         lambda field, load: "" if load is None else f", {_load_level(field, load)}",
                         _latency_breaking_point, symlog=True)
LOAD_AXES = {
    axis: SweepAxis(axis, label, ("latency_ms",), _latency_title, _load_breaking_point)
    for axis, label in (("users", "concurrent users"), ("arrival_rate", "arrival rate (flows/s, open model)"))
}


def dose_response_chart(summary: dict[str, Any]) -> bytes:
    """Success rate per variant against Redis latency, one panel per users level, breaking points marked."""
    return sweep_chart(summary, LATENCY_AXIS)


def load_response_chart(summary: dict[str, Any], axis: str) -> bytes:
    """Success rate per variant against users or arrival rate (`axis`), one panel per latency level."""
    return sweep_chart(summary, LOAD_AXES[axis])


def sweep_chart(summary: dict[str, Any], axis: SweepAxis) -> bytes:
    return png(sweep_figure(summary, axis))


def sweep_figure(summary: dict[str, Any], axis: SweepAxis) -> Figure:
    """One panel per value of the axis' panel field, side by side; variants coloured in the run's order."""
    rows = [r for r in summary["levels"] if r["success_rate"] is not None]
    field = axis.panel_field(rows)
    panels = sorted({r.get(field) for r in rows}, key=lambda v: -1 if v is None else v) or [None]
    colours = variant_colours(list(dict.fromkeys(r["variant"] for r in rows)))
    fig = Figure(figsize=(6.5 * len(panels), 4.4))
    for index, value in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), index + 1)
        _sweep_panel(ax, summary, [r for r in rows if r.get(field) == value], axis, (field, value), colours)
    return fig


def _sweep_panel(ax: Axes, summary: dict[str, Any], rows: list[dict[str, Any]], axis: SweepAxis,
                 panel: tuple[str, Any], colours: dict[str, str]) -> None:
    for variant, colour in colours.items():
        series = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r[axis.x])
        if series:
            _plot_series(ax, series, axis.x, variant, colour)
            point = axis.breaking_point(summary, variant, *panel)
            if point is not None:  # named in the legend, not on the plot, where a label would cover data points
                ax.axvline(point[0], color=colour, ls=":", lw=1.4, label=point[1])
    target = summary["target"]["minimum"]
    ax.axhline(target, color="black", ls="--", lw=1, label=f"target {target:.0%}")
    if any(not _decided(r) for r in rows):
        ax.plot([], [], "o", mfc="white", mec="grey", mew=1.8, label="inconclusive (interval straddles target)")
    if axis.symlog:
        ax.set_xscale("symlog", linthresh=50)
        levels = sorted({r[axis.x] for r in summary["levels"] if r["success_rate"] is not None})
        ax.set_xticks(levels, [str(level) for level in levels])
        ax.minorticks_off()
    ax.set_xlabel(axis.label)
    ax.set_ylabel(f"{summary['target']['metric']} flow success rate")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(f"{summary['scenario']}{axis.panel_title(*panel)}")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)


def _plot_series(ax: Axes, series: list[dict[str, Any]], x: str, variant: str, colour: str) -> None:
    ax.errorbar([r[x] for r in series], [r["success_rate"] for r in series], yerr=_errors(series), fmt="o-",
                color=colour, capsize=4, lw=1.8, label=variant)
    inconclusive = [r for r in series if not _decided(r)]
    if inconclusive:  # hollow: the interval straddles the target, so this level neither passes nor fails
        ax.plot([r[x] for r in inconclusive], [r["success_rate"] for r in inconclusive], "o",
                mfc="white", mec=colour, mew=1.8, ms=7, zorder=3)


def _decided(row: dict[str, Any]) -> bool:
    return row["verdict"] in (Verdict.PASS, Verdict.FAIL)


def ablation_chart(ablation: dict[str, Any]) -> bytes:
    """Each fix flag's effect on the success rate, with its interval: turned on from buggy, off from fixed."""
    effects = ablation["effects"]
    fig = Figure(figsize=(8.5, 0.55 * len(effects) + 1.6))
    ax = fig.add_subplot(1, 1, 1)
    labels, ys = [], np.arange(len(effects))[::-1]
    for y, effect in zip(ys, effects, strict=True):
        colour = "#0072B2" if effect["direction"] == "on" else "#D55E00"
        diff, low, high = effect["effect"], effect["ci_low"], effect["ci_high"]
        if diff is None:
            continue
        ax.errorbar([diff], [y], xerr=[[max(diff - low, 0)], [max(high - diff, 0)]], fmt="o", color=colour,
                    capsize=4, lw=1.8)
        labels.append(f"{effect['flag']} {'on (from buggy)' if effect['direction'] == 'on' else 'off (from fixed)'}")
    ax.set_yticks(ys[: len(labels)], labels)
    ax.axvline(0, color="black", lw=1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(f"change in {ablation['metric']} flow success rate (percentage points, "
                  f"{ablation['confidence']:.0%} interval)")
    ax.set_title("Which fix carries it: each flag's effect on the success rate")
    ax.grid(axis="x", alpha=0.3)
    return png(fig)
