"""A load sweep's chart: success rate per variant against users or arrival rate, one panel per latency level."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from harness.report.charts import png
from harness.report.colours import variant_colours
from harness.report.sweep_charts import _errors

AXIS_LABEL = {"users": "concurrent users", "arrival_rate": "arrival rate (flows/s, open model)"}


def load_response_chart(summary: dict[str, Any], axis: str) -> bytes:
    rows = [r for r in summary["levels"] if r["success_rate"] is not None]
    latencies = sorted({r["latency_ms"] for r in rows}) or [0]
    colours = variant_colours(list(dict.fromkeys(r["variant"] for r in rows)))
    fig = Figure(figsize=(6.5 * len(latencies), 4.4))
    target = summary["target"]["minimum"]
    for index, latency in enumerate(latencies):
        ax = fig.add_subplot(1, len(latencies), index + 1)
        for variant, colour in colours.items():
            series = sorted((r for r in rows if r["variant"] == variant and r["latency_ms"] == latency),
                            key=lambda r: r[axis])
            if not series:
                continue
            ax.errorbar([r[axis] for r in series], [r["success_rate"] for r in series], yerr=_errors(series),
                        fmt="o-", color=colour, capsize=4, lw=1.8, label=variant)
            point = (summary.get("load_breaking_points") or {}).get(f"{variant} @ {latency} ms")
            if point and point["breaks_at"] is not None:
                ax.axvline(point["breaks_at"], color=colour, ls=":", lw=1.4,
                           label=f"{variant} breaks at {point['breaks_at']:,}")
        ax.axhline(target, color="black", ls="--", lw=1, label=f"target {target:.0%}")
        ax.set_xlabel(AXIS_LABEL[axis])
        ax.set_ylabel(f"{summary['target']['metric']} flow success rate")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(f"{summary['scenario']}, Redis latency {latency} ms")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=9)
    return png(fig)
