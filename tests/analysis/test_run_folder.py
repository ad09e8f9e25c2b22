"""Reading run folders: counts from several files, and clear problems for missing or broken pieces."""

from __future__ import annotations

import pytest

from harness.analysis import analyse_run, load_run
from harness.errors import RecordsError
from harness.records import FAULTS, MANIFEST, REQUESTS_DIR
from tests.analysis.crafted import fault_event, flows, make_run, requests, variant


def two_file_run(tmp_path):
    """buggy: 6 flows over two files, 2 failed (session_not_found, timeout); 4 /login requests in 10 s."""
    return make_run(tmp_path, {
        "a.parquet": flows([0.5, 1.5, 2.5], [True, False, True], ["", "session_not_found", ""]),
        "b.parquet": flows([3.5, 4.5, 5.5], [True, True, False], ["", "", "timeout"]),
        "c.parquet": requests([0.1, 1.1, 2.1, 3.1]),
    }, {"buggy": variant("fail")})


def test_counts_span_every_file(tmp_path):
    """Success counts, failures by kind and requests/s add up across files."""
    result = analyse_run(load_run(two_file_run(tmp_path))).variants[0]
    assert (result.rate.n, result.rate.successes) == (6, 4)
    assert result.failures_by_kind == {"session_not_found": 1, "timeout": 1}
    assert result.requests == 4
    assert result.requests_per_s == pytest.approx(0.4)  # 4 requests over the 10 s duration
    assert result.top_errors["timeout"] == [("401 timeout", 1)]


def test_truncated_file_is_named_and_the_rest_still_counted(tmp_path):
    """Half a Parquet file: one problem naming it; the other files' flows still analysed."""
    run_dir = two_file_run(tmp_path)
    broken = run_dir / REQUESTS_DIR / "b.parquet"
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])
    records = load_run(run_dir)
    assert len(records.problems) == 1
    assert str(broken) in records.problems[0] and "truncated" in records.problems[0]
    assert analyse_run(records).variants[0].rate.n == 3


def test_file_without_required_columns_is_skipped_with_its_name(tmp_path):
    """A Parquet file lacking `success` cannot be judged: skipped, and said so."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    run_dir = two_file_run(tmp_path)
    odd = run_dir / REQUESTS_DIR / "odd.parquet"
    pq.write_table(pa.table({"t": [1.0], "variant": ["buggy"], "kind": ["flow"], "name": ["login"]}), odd)
    records = load_run(run_dir)
    assert records.problems == [f"{odd}: lacks columns ['success']; file skipped"]
    assert len(records.requests) == 10


def test_missing_requests_folder_still_reports_variants_as_inconclusive(tmp_path):
    """No records at all: the variant is listed with no flows, inconclusive, and the problem names the folder."""
    make_run(tmp_path, {}, {"buggy": variant("fail")})
    analysis = analyse_run(load_run(tmp_path))
    assert f"{tmp_path / REQUESTS_DIR}/" in analysis.records.problems[0]
    assert analysis.variants[0].verdict.value == "inconclusive"
    assert analysis.exit_code == 1


def test_missing_manifest_uses_default_target_and_cannot_exit_zero(tmp_path):
    """Records without manifest: variants come from the records, expectations unknown, exit 1."""
    run_dir = two_file_run(tmp_path)
    (run_dir / MANIFEST).unlink()
    analysis = analyse_run(load_run(run_dir))
    assert analysis.target.minimum == 0.99 and analysis.target.metric == "login"
    assert [v.name for v in analysis.variants] == ["buggy"]
    assert analysis.variants[0].shown is None
    assert analysis.exit_code == 1
    assert str(run_dir / MANIFEST) in analysis.records.problems[0]


def test_not_a_run_folder_raises_one_clear_error(tmp_path):
    """Neither manifest nor requests: RecordsError naming the folder."""
    with pytest.raises(RecordsError, match="not a run folder"):
        load_run(tmp_path)
    with pytest.raises(RecordsError, match="no such run folder"):
        load_run(tmp_path / "nope")


def test_truncated_fault_line_is_named_and_the_others_kept(tmp_path):
    """A half-written last line of faults.jsonl is skipped with its line number."""
    run_dir = two_file_run(tmp_path)
    make_run(run_dir, {}, {"buggy": variant("fail")}, faults=[fault_event("buggy", 0, "apply", 2.0),
                                                            fault_event("buggy", 0, "remove", 4.0)])
    with (run_dir / FAULTS).open("a") as f:
        f.write('{"ts": 1763800005.0, "variant": "buggy", "fau')
    records = load_run(run_dir)
    assert records.problems == [f"{run_dir / FAULTS}:3: not a fault action (truncated line?); skipped"]
    windows = analyse_run(records).variants[0].windows
    assert [(w.start_s, w.end_s) for w in windows] == [(2.0, 4.0)]


def test_missing_fault_journal_falls_back_on_the_planned_timeline(tmp_path):
    """No faults.jsonl but faults in the manifest: windows from at_s/duration_s, and a problem says so."""
    import json

    run_dir = two_file_run(tmp_path)
    manifest = json.loads((run_dir / MANIFEST).read_text())
    manifest["faults"] = [{"index": 0, "label": "redis down", "at_s": 3, "duration_s": 2, "type": "down"}]
    (run_dir / MANIFEST).write_text(json.dumps(manifest))
    records = load_run(run_dir)
    assert "planned timeline" in records.problems[0]
    phases = analyse_run(records).variants[0].phases
    assert [(p.phase.name, p.phase.start_s, p.phase.end_s, p.rate.n) for p in phases] == [
        ("before", 0.0, 3.0, 3), ("fault 0", 3.0, 5.0, 2), ("after", 5.0, 10.0, 1)]


def with_stages(run_dir, stages: list[dict]):
    import json

    manifest = json.loads((run_dir / MANIFEST).read_text())
    (run_dir / MANIFEST).write_text(json.dumps({**manifest, "load": {"users": 10, "stages": stages}}))
    return run_dir


@pytest.mark.parametrize(("stage", "field"), [({"users": 5}, "load.stages.0.duration"),
                                              ({"duration": 5, "users": "many"}, "load.stages.0.users")])
def test_a_manifest_stage_that_does_not_validate_is_a_problem_not_a_traceback(tmp_path, stage, field):
    """A stage without duration, or with a level that is not a number, is named; the report goes on."""
    run_dir = with_stages(two_file_run(tmp_path), [stage])
    records = load_run(run_dir)
    assert f"field {field}:" in records.problems[0]
    assert analyse_run(records).variants[0].name == "buggy"


def test_manifest_stages_become_named_phases(tmp_path):
    from harness.analysis.stages import stage_phases

    run_dir = with_stages(two_file_run(tmp_path), [{"duration": 4, "users": 5, "name": "warm"},
                                                   {"duration": 6, "users": 10}])
    records = load_run(run_dir)
    assert records.problems == []
    phases = [(p.name, p.label, p.start_s, p.end_s) for p in stage_phases(records.manifest, 8.0)]
    assert phases == [("stage:warm", "warm: 0→5 users", 0.0, 4.0), ("stage:stage 2", "stage 2: 5→10 users", 4.0, 8.0)]
    assert analyse_run(records).variants[0].name == "buggy"
