"""The open model's own figures: arrivals offered, started, and those that never started, per second.

An arrival that waited longer than `arrival_timeout` for a free slot (the cap on flows in progress was
reached) is a `not_started` flow row of the judged flow: it stays in the success rate's denominator as a
failure, because a real user arriving then was not served; leaving it out would judge only the users the
harness managed to serve and hide the overload the scenario exists to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.analysis import columns as col
from harness.records import ErrorKind
from harness.records.files import Manifest

NOT_STARTED = ErrorKind.NOT_STARTED.value


@dataclass(frozen=True)
class ArrivalSummary:
    rate: float                       # flows per second asked for (the first stage's when stages shape it)
    max_in_flight: int
    offered: int                      # every arrival of the judged flow: started or not
    not_started: int
    not_started_per_s: dict[int, int]  # second since the load started -> arrivals that never started

    @property
    def started(self) -> int:
        return self.offered - self.not_started

    def to_dict(self) -> dict[str, Any]:
        return {"rate": self.rate, "offered": self.offered, "started": self.started,
                "not_started": self.not_started, "not_started_per_s": self.not_started_per_s,
                "max_in_flight": self.max_in_flight}


def arrival_summary(manifest: Manifest, flows: pd.DataFrame) -> ArrivalSummary | None:
    """None for a closed-loop run (no arrival rate in the manifest)."""
    load = manifest.load
    if not load.arrival_rate:
        return None
    missed = flows[flows[col.ERROR_KIND].astype(str) == NOT_STARTED]
    per_s = missed[col.SECOND].value_counts().sort_index() if col.SECOND in missed else pd.Series(dtype=int)
    return ArrivalSummary(load.arrival_rate, load.max_in_flight or 0, len(flows), len(missed),
                          {int(s): int(n) for s, n in zip(per_s.index.tolist(), per_s.tolist(), strict=True)})


def arrival_sentence(name: str, summary: ArrivalSummary) -> str:
    return (f"{name}: open model at {summary.rate:g} flows/s, cap {summary.max_in_flight:,} in flight: "
            f"{summary.offered:,} arrivals, {summary.not_started:,} never started (counted as failures)"
            + (f", worst second {max(summary.not_started_per_s.values()):,}" if summary.not_started_per_s else ""))
