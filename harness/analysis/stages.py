"""Phases of a variant that follow `[[load.stages]]` (read from the manifest), as phases follow faults."""

from __future__ import annotations

from typing import Any

from harness.analysis.phases import Phase
from harness.records.files import Manifest


def stage_name(index: int, stage: dict[str, Any]) -> str:
    return str(stage.get("name") or f"stage {index + 1}")


def stage_phases(manifest: Manifest, end_s: float) -> list[Phase]:
    """One phase per stage, in order, cut at the variant's end; none without stages."""
    stages = manifest.load.stages
    key = "arrival_rate" if stages and stages[0].get("arrival_rate") is not None else "users"
    unit = "flows/s" if key == "arrival_rate" else "users"
    before = (manifest.load.arrival_rate or 0) if key == "arrival_rate" else 0
    phases, start = [], 0.0
    for index, stage in enumerate(stages):
        end = start + float(stage["duration"])
        if start >= end_s:
            break
        level = stage.get(key, 0)
        label = f"{stage_name(index, stage)}: {before:g}→{level:g} {unit}" if level != before else \
            f"{stage_name(index, stage)}: {level:g} {unit}"
        phases.append(Phase(f"stage:{stage_name(index, stage)}", label, start, min(end, end_s)))
        before, start = level, end
    return phases
