"""The harness side of arrival-rate load and stages: what the manifest records and what Locust is told.

Runs in the harness process and never imports locust; harness/load/arrivals.py and stages_shape.py
are the Locust side.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

MIN_SPAWN_RATE = 1.0   # users per second while a level holds; Locust needs a positive rate
STAGES_SHAPE_FILE = Path(__file__).resolve().parent / "stages_shape.py"


def stages_json(load: Any) -> list[dict[str, Any]]:
    return [stage.model_dump(exclude_none=True) for stage in load.stages]


def open_model_entry(load: Any) -> dict[str, Any]:
    """manifest.json `load` keys for the open model and stages (none for a plain closed-loop run)."""
    entry: dict[str, Any] = {}
    if load.arrival_rate is not None:
        entry.update(arrival_rate=load.arrival_rate, arrivals=load.arrivals, max_in_flight=load.max_in_flight,
                     arrival_timeout_s=load.arrival_timeout)
    if load.stages:
        entry["stages"] = stages_json(load)
    return entry


def locust_open_model(load: Any, processes: int, flow: str) -> dict[str, Any] | None:
    """What each Locust process that runs users needs: its share of the rate, spacing, timeout, flow name."""
    if load.arrival_rate is None:
        return None
    return {"rate": load.arrival_rate, "arrivals": load.arrivals, "timeout_s": load.arrival_timeout,
            "processes": max(1, processes), "flow": flow, "max_in_flight": load.max_in_flight,
            "stages": stages_json(load)}


def level_at(stages: list[dict[str, Any]], key: str, t: float, start: float = 0.0) -> float | None:
    """The stages' level (users or arrival_rate) at t seconds: linear within each stage from the level before
    it (`start` before the first); None once the last stage has ended."""
    before, elapsed = start, 0.0
    for stage in stages:
        level, duration = float(stage[key]), float(stage["duration"])
        if t < elapsed + duration:
            return before + (level - before) * (t - elapsed) / duration
        before, elapsed = level, elapsed + duration
    return None


def users_at(stages: list[dict[str, Any]], t: float) -> tuple[int, float]:
    """Locust's (target users, spawn rate) at t: each stage's level, reached at a spawn rate that spreads the
    change from the level before it (0 at the start) over the stage, so Locust's ramp is the stage's line."""
    before, elapsed = 0, 0.0
    for stage in stages:
        users, duration = int(stage["users"]), float(stage["duration"])
        if t < elapsed + duration:
            return users, max(MIN_SPAWN_RATE, math.ceil(abs(users - before) / duration))
        before, elapsed = users, elapsed + duration
    return before, MIN_SPAWN_RATE
