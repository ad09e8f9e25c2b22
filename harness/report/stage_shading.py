"""Load stages on the time charts: alternating light bands along the bottom, labelled, beside fault shading."""

from __future__ import annotations

from matplotlib.axes import Axes

from harness.analysis.run_analysis import RunAnalysis
from harness.analysis.stages import stage_phases
from harness.report.colours import STAGE_SHADE

BAND_HEIGHT = 0.06   # of the axes: a strip at the bottom, so the grey fault bands stay readable above it


def shade_stages(ax: Axes, analysis: RunAnalysis) -> None:
    end_s = max((v.end_s for v in analysis.variants), default=0.0)
    for i, phase in enumerate(stage_phases(analysis.records.manifest, end_s)):
        ax.axvspan(phase.start_s, phase.end_s, ymin=0, ymax=BAND_HEIGHT, color=STAGE_SHADE,
                   alpha=0.35 if i % 2 == 0 else 0.18, lw=0)
        ax.text(phase.start_s, BAND_HEIGHT + 0.01, f" {phase.label}", transform=ax.get_xaxis_transform(),
                va="bottom", ha="left", fontsize=7.5, color=STAGE_SHADE, clip_on=True)
