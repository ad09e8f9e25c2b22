"""Charts of sweeps and ablations: success rate against Redis latency, and each fix flag's effect."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from harness.report.charts import png
from harness.report.colours import variant_colours


def _errors(rows: list[dict[str, Any]]) -> np.ndarray:
    rate = np.array([r["success_rate"] for r in rows], dtype=float)
    low = np.array([r["ci_low"] for r in rows], dtype=float)
    high = np.array([r["ci_high"] for r in rows], dtype=float)
    return np.clip(np.vstack([rate - low, high - rate]), 0, None)  # rounding must not make a bar negative


def dose_response_chart(summary: dict[str, Any]) -> bytes:
    """Success rate per variant against Redis latency, one panel per users level, breaking points marked."""
    rows = [r for r in summary["levels"] if r["success_rate"] is not None]
    users_levels = sorted({r["users"] for r in rows}, key=lambda u: -1 if u is None else u) or [None]
    colours = variant_colours(list(dict.fromkeys(r["variant"] for r in rows)))  # in the run's variant order
    fig = Figure(figsize=(6.5 * len(users_levels), 4.4))
    target = summary["target"]["minimum"]
    for index, users in enumerate(users_levels):
        ax = fig.add_subplot(1, len(users_levels), index + 1)
        for variant, colour in colours.items():
            series = sorted((r for r in rows if r["variant"] == variant and r["users"] == users),
                            key=lambda r: r["latency_ms"])
            if not series:
                continue
            xs = [r["latency_ms"] for r in series]
            ys = [r["success_rate"] for r in series]
            ax.errorbar(xs, ys, yerr=_errors(series), fmt="o-", color=colour, capsize=4, lw=1.8, label=variant)
            undecided = [r for r in series if r["verdict"] not in ("pass", "fail")]
            if undecided:  # hollow: the interval straddles the target, so this level neither passes nor fails
                ax.plot([r["latency_ms"] for r in undecided], [r["success_rate"] for r in undecided], "o",
                        mfc="white", mec=colour, mew=1.8, ms=7, zorder=3)
            point = summary["breaking_points"].get(variant if users is None else f"{variant} @ {users} users")
            if point and point["breaks_at_ms"] is not None:
                # Named in the legend, not on the plot, where a label would cover data points.
                ax.axvline(point["breaks_at_ms"], color=colour, ls=":", lw=1.4,
                           label=f"{variant} breaks at {point['breaks_at_ms']} ms")
        ax.axhline(target, color="black", ls="--", lw=1, label=f"target {target:.0%}")
        if any(r["verdict"] not in ("pass", "fail") for r in rows if r["users"] == users):
            ax.plot([], [], "o", mfc="white", mec="grey", mew=1.8, label="undecided (interval straddles target)")
        ax.set_xscale("symlog", linthresh=50)
        levels = sorted({r["latency_ms"] for r in rows})
        ax.set_xticks(levels, [str(level) for level in levels])
        ax.minorticks_off()
        ax.set_xlabel("Redis latency added (ms, symlog scale)")
        ax.set_ylabel(f"{summary['target']['metric']} flow success rate")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(f"{summary['scenario']}" + (f", {users} users" if users is not None else ""))
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=9)
    return png(fig)


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
