"""The per-second timeline of a variant's target flows, and recovery after each fault ends."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.analysis import columns as col
from harness.analysis.latency import percentiles
from harness.analysis.phases import FaultWindow

RECOVERY_HOLD_S = 5  # seconds in a row at or above target that count as recovered
PERCENTILES = (0.50, 0.95, 0.99)
TIMELINE_COLUMNS = ("flows", "successes", "success_rate", "p50_ms", "p95_ms", "p99_ms")


@dataclass(frozen=True)
class Recovery:
    """How long after a fault ended the success rate held the target for RECOVERY_HOLD_S seconds."""

    fault: int
    label: str
    ended_s: float
    recovered: bool
    recovery_s: float | None      # None when not recovered
    recovered_at_s: float | None  # start of the first second of the held run
    note: str = ""


def per_second(flows: pd.DataFrame, end_s: float | None = None) -> pd.DataFrame:
    """Index: whole seconds 0..end; columns TIMELINE_COLUMNS (rate and percentiles NaN where no flows)."""
    grouped = flows.groupby(col.SECOND, observed=True)
    counts = grouped[col.SUCCESS].agg(flows="size", successes="sum")
    frame = counts.join(percentiles(grouped[col.LATENCY_MS], PERCENTILES))
    last = int(max(math.ceil(end_s or 0.0), frame.index.max() + 1 if len(frame) else 0))
    frame = frame.reindex(pd.RangeIndex(last, name=col.SECOND))
    frame[["flows", "successes"]] = frame[["flows", "successes"]].fillna(0).astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["success_rate"] = frame["successes"] / frame["flows"].where(frame["flows"] > 0)
    ordered: pd.DataFrame = frame[list(TIMELINE_COLUMNS)]
    return ordered


def recovery_after(timeline: pd.DataFrame, window: FaultWindow, minimum: float, until_s: float) -> Recovery:
    """Seconds with no flows neither count nor break the run: they carry no evidence either way."""
    if not window.removed:
        return Recovery(window.fault, window.label, window.end_s, False, None, None, "still active at the end")
    if until_s - window.end_s < RECOVERY_HOLD_S:
        # typically the clean-up removed it as the load ended: no time left to watch a recovery
        return Recovery(window.fault, window.label, window.end_s, False, None, None,
                        f"recovery not observable (ended less than {RECOVERY_HOLD_S} s before the load did)")
    seconds = timeline.loc[math.floor(window.end_s): math.ceil(until_s) - 1]
    seconds = seconds[seconds["flows"] > 0]
    held = (seconds["success_rate"] >= minimum).astype(int).rolling(RECOVERY_HOLD_S).sum()
    done = np.flatnonzero(held.to_numpy() >= RECOVERY_HOLD_S)
    if not len(done):
        return Recovery(window.fault, window.label, window.end_s, False, None, None, "not recovered")
    start = float(seconds.index[done[0] - RECOVERY_HOLD_S + 1])
    return Recovery(window.fault, window.label, window.end_s, True, max(start - window.end_s, 0.0), start)


def recoveries(timeline: pd.DataFrame, windows: list[FaultWindow], minimum: float, end_s: float) -> list[Recovery]:
    """Look for recovery only until the next fault starts: after that, failures are the next fault's."""
    results = []
    for window in windows:
        later = [w.start_s for w in windows if w.start_s >= window.end_s and w is not window]
        results.append(recovery_after(timeline, window, minimum, min([end_s, *later])))
    return results
