"""`[[load.stages]]` on Locust's own LoadTestShape: `harness run` adds this file to the locustfile it runs.

Users stages: Locust ramps linearly between levels at the spawn rate this shape gives each stage. Arrival-rate
stages: the users stay at the cap on flows in progress while each process's arrival schedule follows the
stages (harness/load/arrivals.py); the shape only ends the run when the last stage ends.
"""

from __future__ import annotations

import json
from typing import Any

from locust import LoadTestShape

from harness.load.open_model import users_at


class StagesShape(LoadTestShape):
    """The scenario's stages, read from the harness's options (`--harness-load`)."""

    use_common_options = True   # -t stays a backstop; -u and -r are not read

    def _settings(self) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        parsed = self.runner.environment.parsed_options if self.runner is not None else None
        raw = json.loads(getattr(parsed, "harness_load", "") or "{}")
        return raw.get("stages") or [], raw.get("open_model")

    def _run_time_limit(self) -> float:
        # Locust does not stop a shape at -t; `harness run --duration` (or --until-decided) shortens the stages.
        parsed = self.runner.environment.parsed_options if self.runner is not None else None
        return float(getattr(parsed, "run_time", None) or "inf")

    def tick(self) -> tuple[int, float] | None:
        stages, open_model = self._settings()
        t = self.get_run_time()
        if not stages or t >= sum(float(stage["duration"]) for stage in stages) or t >= self._run_time_limit():
            return None
        if open_model is not None:   # the cap holds; the arrival schedule follows the stages
            cap = int(open_model["max_in_flight"])
            return cap, float(cap)
        return users_at(stages, t)
