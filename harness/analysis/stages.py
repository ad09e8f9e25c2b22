"""Phases of a variant that follow `[[load.stages]]` (read from the manifest), as phases follow faults."""

from __future__ import annotations

from harness.analysis.phases import Phase
from harness.records.files import Manifest, StageEntry


def stage_name(index: int, stage: StageEntry) -> str:
    return stage.name or f"stage {index + 1}"


def stage_level(stage: StageEntry, key: str) -> float:
    level = stage.arrival_rate if key == "arrival_rate" else stage.users
    return level or 0


def stage_phases(manifest: Manifest, end_s: float) -> list[Phase]:
    """One phase per stage, in order, cut at the variant's end; none without stages."""
    stages = manifest.load.stages
    key = "arrival_rate" if stages and stages[0].arrival_rate is not None else "users"
    unit = "flows/s" if key == "arrival_rate" else "users"
    before = (manifest.load.arrival_rate or 0) if key == "arrival_rate" else 0
    phases, start = [], 0.0
    for index, stage in enumerate(stages):
        end = start + stage.duration
        if start >= end_s:
            break
        level = stage_level(stage, key)
        label = f"{stage_name(index, stage)}: {before:g}→{level:g} {unit}" if level != before else \
            f"{stage_name(index, stage)}: {level:g} {unit}"
        phases.append(Phase(f"stage:{stage_name(index, stage)}", label, start, min(end, end_s)))
        before, start = level, end
    return phases
