"""Per-second timeline, fault phases and recovery times on crafted timelines."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.analysis import FaultEvent, FaultWindow, analyse_run, fault_windows, load_run, per_second, phases_of
from harness.analysis.timeline import recovery_after
from tests.analysis.crafted import fault_event, flows, make_run, variant


def timeline_from(per_second_outcomes: dict[int, list[bool]]) -> pd.DataFrame:
    """Flows at second s + 0.5 with the given outcomes."""
    t, ok = [], []
    for second, outcomes in per_second_outcomes.items():
        t += [second + 0.5] * len(outcomes)
        ok += outcomes
    frame = pd.DataFrame({"t": t, "success": ok, "latency_ms": [10.0] * len(t)})
    frame["second"] = frame["t"].astype("int32")
    return per_second(frame, end_s=max(per_second_outcomes) + 1)


GOOD, BAD = [True] * 4, [True, True, True, False]  # 100% and 75%


def window(end_s: float, removed: bool = True) -> FaultWindow:
    return FaultWindow(0, "redis down", "down", 10.0, end_s, removed)


def test_per_second_counts_rates_and_empty_seconds():
    """Second 1 has no flows: zero count and no rate; p95 is exact within each second."""
    frame = pd.DataFrame({"t": [0.1, 0.2, 0.3, 0.9, 2.5], "success": [True, False, True, True, True],
                          "latency_ms": [1.0, 2.0, 3.0, 4.0, 7.0]})
    frame["second"] = frame["t"].astype("int32")
    timeline = per_second(frame, end_s=4.0)
    assert timeline["flows"].tolist() == [4, 0, 1, 0]
    assert timeline.loc[0, "success_rate"] == 0.75 and pd.isna(timeline.loc[1, "success_rate"])
    assert timeline.loc[0, "p50_ms"] == 2.5 and timeline.loc[0, "p95_ms"] == pytest.approx(3.85)


def test_recovery_is_the_start_of_five_good_seconds_after_the_fault_ends():
    """Fault ends at 10.0; 10-11 bad, 12 good, 13 bad, 14-18 good: recovered at 14, after 4 s."""
    timeline = timeline_from({10: BAD, 11: BAD, 12: GOOD, 13: BAD, **{s: GOOD for s in range(14, 19)}, 19: BAD})
    result = recovery_after(timeline, window(10.0), minimum=0.99, until_s=20)
    assert (result.recovered, result.recovered_at_s, result.recovery_s) == (True, 14.0, 4.0)


def test_seconds_without_flows_neither_count_nor_break_the_run():
    """Good seconds 12, 13, (14 empty), 15, 16, 17: recovered at 12, 1.5 s after a fault ending at 10.5."""
    timeline = timeline_from({10: BAD, 11: BAD, 12: GOOD, 13: GOOD, 15: GOOD, 16: GOOD, 17: GOOD})
    result = recovery_after(timeline, window(10.5), minimum=0.99, until_s=18)
    assert (result.recovered_at_s, result.recovery_s) == (12.0, 1.5)


def test_rate_exactly_at_target_counts_as_recovered():
    """99 of 100 in each second is at the target, which is enough."""
    timeline = timeline_from({s: [True] * 99 + [False] for s in range(10, 15)})
    assert recovery_after(timeline, window(10.0), minimum=0.99, until_s=15).recovery_s == 0.0


def test_four_good_seconds_before_the_end_is_not_recovered():
    """Only 4 seconds in a row at target before the variant ends: not recovered."""
    timeline = timeline_from({10: BAD, 11: GOOD, 12: GOOD, 13: GOOD, 14: GOOD})
    result = recovery_after(timeline, window(10.0), minimum=0.99, until_s=15)
    assert (result.recovered, result.recovery_s, result.note) == (False, None, "not recovered")


def test_fault_never_removed_lasts_to_the_end():
    """An apply with no remove is a window to the variant's end, and has no recovery."""
    events = [FaultEvent(5.0, "buggy", 0, "redis down", "apply")]
    [w] = fault_windows(events, "buggy", end_s=30.0)
    assert (w.start_s, w.end_s, w.removed) == (5.0, 30.0, False)
    assert recovery_after(timeline_from({20: GOOD}), w, 0.99, 30.0).note == "still active at the end"


def test_rollback_removal_ends_the_window_and_phases_cover_the_run():
    """apply at 2, rollback remove at 6 (variant ran 10 s): before 0-2, fault 2-6, after 6-10."""
    events = [FaultEvent(2.0, "buggy", 0, "latency", "apply"), FaultEvent(6.0, "buggy", 0, "latency", "remove",
                                                                         rollback=True),
              FaultEvent(1.0, "fixed", 0, "latency", "apply")]
    windows = fault_windows(events, "buggy", end_s=10.0)
    assert [(w.start_s, w.end_s, w.removed) for w in windows] == [(2.0, 6.0, True)]
    assert [(p.name, p.start_s, p.end_s) for p in phases_of(windows, 10.0)] == [
        ("before", 0.0, 2.0), ("fault 0", 2.0, 6.0), ("after", 6.0, 10.0)]


def test_phase_rates_and_recovery_from_a_run_folder(tmp_path):
    """End to end on records: fault 3-6 s fails every flow; flows at 6.5..10.5 all succeed -> recovered at 6 s."""
    t = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5]
    ok = [True, True, True, False, False, False, True, True, True, True, True]
    make_run(tmp_path, {"f.parquet": flows(t, ok)}, {"buggy": variant("fail", duration_s=12.0)},
             faults=[fault_event("buggy", 0, "apply", 3.0), fault_event("buggy", 0, "remove", 6.0)])
    result = analyse_run(load_run(tmp_path)).variants[0]
    assert [(p.phase.name, p.rate.n, p.rate.successes) for p in result.phases] == [
        ("before", 3, 3), ("fault 0", 3, 0), ("after", 5, 5)]
    assert result.phases[1].failures_by_kind == {"session_not_found": 3}
    [recovery] = result.recoveries
    assert (recovery.recovered, recovery.recovery_s) == (True, 0.0)


def test_interrupted_variant_ends_at_its_last_record(tmp_path):
    """Planned 60 s but interrupted after 4.5 s: the time axis and phases stop at what ran."""
    make_run(tmp_path, {"f.parquet": flows([0.5, 1.5, 2.5, 3.5, 4.5], [True] * 5)},
             {"buggy": variant("fail", duration_s=60.0, status="interrupted")},
             faults=[fault_event("buggy", 0, "apply", 2.0)])
    result = analyse_run(load_run(tmp_path)).variants[0]
    assert result.end_s == 4.5 and len(result.timeline) == 5
    assert [(p.phase.name, p.phase.end_s) for p in result.phases] == [("before", 2.0), ("fault 0", 4.5)]
    assert result.info.status == "interrupted" and result.verdict.value == "inconclusive"


def test_fault_removed_by_the_final_rollback_has_no_recovery_to_measure():
    """A rollback removal after the load ended is the end of the window, not a recovery opportunity."""
    events = [FaultEvent(5.0, "buggy", 0, "latency", "apply"),
              FaultEvent(20.5, "buggy", 0, "latency", "remove", rollback=True)]
    [w] = fault_windows(events, "buggy", end_s=20.5)
    assert (w.end_s, w.removed, w.rolled_back) == (20.5, True, True)
    result = recovery_after(timeline_from({s: GOOD for s in range(21)}), w, 0.99, until_s=20.5)
    assert not result.recovered and result.note.startswith("recovery not observable")
