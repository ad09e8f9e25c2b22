"""The live progress counts (also what --until-decided decides on) count only their own variant's target flows."""

from __future__ import annotations

from pathlib import Path

from harness.analysis.live_tally import LiveTally
from harness.load.recorder import FLOW_REQUEST_TYPE, Recorder


def flows(out: Path, variant: str, outcomes: list[bool], name: str = "login") -> None:
    # One recorder per Locust process in real runs; here each call stands for another process.
    worker = f"w{len(list(out.glob('*.parquet')))}"
    recorder = Recorder(out, variant=variant, worker=worker, t0=0.0)
    for i, ok in enumerate(outcomes):
        recorder.on_request(FLOW_REQUEST_TYPE, name, 10.0, exception=None if ok else RuntimeError("x"),
                            context={"error_kind": "" if ok else "timeout"}, start_time=float(i))
    recorder.on_request("GET", "/me", 1.0, start_time=0.0)  # a request row, never a flow
    recorder.flush()


def test_tally_counts_only_its_variant_even_when_names_share_a_prefix(tmp_path: Path) -> None:
    flows(tmp_path, "fixed", [True, True, False])
    flows(tmp_path, "fixed-await_session_write", [False] * 5)   # an ablation step: file name starts "fixed-"
    flows(tmp_path, "fixed", [True] * 4, name="refresh")        # another flow than the target
    tally = LiveTally(tmp_path, "fixed", "login")
    tally.update()
    assert (tally.flows, tally.successes) == (3, 2)


def test_tally_reads_each_part_once_and_picks_up_new_ones(tmp_path: Path) -> None:
    tally = LiveTally(tmp_path, "buggy", "login")
    flows(tmp_path, "buggy", [True, False])
    tally.update()
    tally.update()
    assert (tally.flows, tally.successes) == (2, 1)
    flows(tmp_path, "buggy", [True])
    tally.update()
    assert (tally.flows, tally.successes) == (3, 2)


def test_a_damaged_part_is_skipped_not_counted(tmp_path: Path) -> None:
    (tmp_path / "buggy-local-1-00000.parquet").write_bytes(b"not parquet")
    flows(tmp_path, "buggy", [True])
    tally = LiveTally(tmp_path, "buggy", "login")
    tally.update()
    assert (tally.flows, tally.successes) == (1, 1)
