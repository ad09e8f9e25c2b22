"""Fault windows from faults.jsonl, and the phases of a variant: before, during each fault, after."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from harness.analysis.run_folder import FaultEvent, VariantInfo

BEFORE, AFTER = "before", "after"


@dataclass(frozen=True)
class FaultWindow:
    """The span a fault was active; `removed` is False when it lasted to the variant's end."""

    fault: int
    label: str
    type: str
    start_s: float
    end_s: float
    removed: bool
    rolled_back: bool = False   # removed by the run's clean-up, not by the scenario's timeline


@dataclass(frozen=True)
class Phase:
    name: str           # "before", "fault 0", "after"
    label: str          # what a reader sees: "before faults", the fault's label, "after faults"
    start_s: float
    end_s: float
    fault: int | None = None

    @property
    def duration_s(self) -> float:
        return max(self.end_s - self.start_s, 0.0)


def variant_end(info: VariantInfo, last_t: float | None) -> float:
    """Where a variant's time axis ends: its planned duration if it completed, else its last record."""
    last = 0.0 if last_t is None or math.isnan(last_t) else float(last_t)
    planned = info.duration_s if info.status == "completed" and info.duration_s else 0.0
    if last == 0.0 and not planned and info.duration_s:
        planned = info.duration_s  # nothing recorded: fall back on the plan so fault windows still show
    return max(last, planned)


def fault_windows(events: list[FaultEvent], variant: str, end_s: float) -> list[FaultWindow]:
    """Pair each apply with the next remove (timeline or rollback) of the same fault in this variant."""
    open_at: dict[int, FaultEvent] = {}
    windows = []
    for event in sorted((e for e in events if e.variant == variant), key=lambda e: e.t):
        if event.action == "apply" and event.fault not in open_at:
            open_at[event.fault] = event
        elif event.action == "remove" and event.fault in open_at:
            start = open_at.pop(event.fault)
            windows.append(FaultWindow(event.fault, start.label, start.type, start.t, event.t, removed=True,
                                       rolled_back=event.rollback))
    for start in open_at.values():
        windows.append(FaultWindow(start.fault, start.label, start.type, start.t, max(end_s, start.t), removed=False))
    return sorted(windows, key=lambda w: (w.start_s, w.fault))


def phases_of(windows: list[FaultWindow], end_s: float) -> list[Phase]:
    """before (until the first fault), one phase per fault window, after (from the last fault's end)."""
    if not windows:
        return []
    first = min(w.start_s for w in windows)
    last = max(w.end_s for w in windows)
    phases = [Phase(BEFORE, "before faults", 0.0, first)]
    times: Counter[int] = Counter()
    for w in windows:
        times[w.fault] += 1  # a fault applied twice gets two phases with distinct names
        name = f"fault {w.fault}" + (f" #{times[w.fault]}" if times[w.fault] > 1 else "")
        phases.append(Phase(name, w.label or name, w.start_s, w.end_s, w.fault))
    if last < end_s:
        phases.append(Phase(AFTER, "after faults", last, end_s))
    return phases
