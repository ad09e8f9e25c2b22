"""The run folder's files as typed contracts: schemas in docs/ up to date, versions, one-line refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema_rs
import pytest

from harness.analysis.run_folder import load_run
from harness.analysis.synthetic import demo_variants, write_synthetic_run
from harness.errors import NewerSchema, RecordsError
from harness.records import ERROR_KINDS, MANIFEST, SUMMARY, ErrorKind, Verdict
from harness.records.__main__ import schemas
from harness.records.files import (
    Ablation,
    FaultAction,
    Manifest,
    Summary,
    Sweep,
    dump,
    read_run_file,
    validated,
    write_run_file,
)
from harness.report import build_report

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "docs" / "schemas"


def test_the_json_schemas_in_docs_are_generated_from_the_models() -> None:
    """A model changed without regenerating its schema fails here, with the command that fixes it."""
    expected = schemas()
    present = {path.name for path in SCHEMA_DIR.glob("*.schema.json")}
    stale = sorted(name for name, text in expected.items()
                   if not (SCHEMA_DIR / name).exists() or (SCHEMA_DIR / name).read_text() != text)
    extra = sorted(present - set(expected))
    assert not stale and not extra, (f"docs/schemas is out of date ({', '.join(stale + extra)}); "
                                     f"regenerate it from the repository root: python -m harness.records schemas "
                                     f"docs/schemas")


def test_the_schemas_command_writes_one_schema_per_file(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "harness.records", "schemas", str(tmp_path)], capture_output=True,
                            text=True, timeout=120, check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(schemas())
    assert result.stdout.count("\n") == len(schemas())


@pytest.fixture(scope="module")
def reported_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = write_synthetic_run(tmp_path_factory.mktemp("records") / "run", demo_variants(), records=6_000)
    build_report(run_dir)
    return run_dir


@pytest.mark.parametrize("name, schema", [(MANIFEST, "manifest"), (SUMMARY, "summary")])
def test_files_the_harness_writes_validate_against_their_published_schema(reported_run: Path, name: str,
                                                                          schema: str) -> None:
    """The schema describes the files as written, checked by an independent validator (jsonschema-rs)."""
    validator = jsonschema_rs.validator_for(json.loads((SCHEMA_DIR / f"{schema}.schema.json").read_text()))
    document = json.loads((reported_run / name).read_text())
    assert [e.message for e in validator.iter_errors(document)] == []
    assert document["schema_version"] == 1


def test_every_faults_jsonl_line_validates_against_its_schema(reported_run: Path) -> None:
    validator = jsonschema_rs.validator_for(json.loads((SCHEMA_DIR / "faults.schema.json").read_text()))
    lines = (reported_run / "faults.jsonl").read_text().splitlines()
    assert lines and all(validator.is_valid(json.loads(line)) for line in lines)


@pytest.mark.parametrize("model, raw", [
    (Manifest, {"variants": {"buggy": {"expect": "fail"}}}),
    (FaultAction, {"ts": 1.0, "variant": "buggy", "fault": 0, "action": "apply"}),
    (Summary, {"variant_order": []}),
    (Sweep, {"scenario": "mobile-latency"}),
    (Ablation, {"metric": "login", "confidence": 0.95}),
])
def test_a_file_written_before_schema_version_existed_reads_as_version_1(model, raw) -> None:
    assert validated(model, raw, "old.json").schema_version == 1


@pytest.mark.parametrize("model", [Manifest, Summary, Sweep, Ablation, FaultAction])
def test_a_newer_schema_version_is_refused_in_one_line_naming_the_version_read(model) -> None:
    with pytest.raises(RecordsError) as caught:
        validated(model, {"schema_version": 2}, "new.json")
    message = str(caught.value)
    assert "\n" not in message and "schema_version 2" in message and f"version {model.VERSION}" in message
    assert isinstance(caught.value, NewerSchema) and caught.value.exit_code == 2 and "newer harness" in message


@pytest.mark.parametrize("version", [0, -1, "2", 1.5, None, True])
def test_a_schema_version_that_is_not_a_version_says_what_is_allowed_not_to_upgrade(version) -> None:
    with pytest.raises(RecordsError) as caught:
        validated(Manifest, {"schema_version": version}, "odd.json")
    message = str(caught.value)
    assert not isinstance(caught.value, NewerSchema) and "newer harness" not in message
    assert f"schema_version {version!r}" in message and f"an integer from 1 to {Manifest.VERSION}" in message


def test_a_file_that_does_not_validate_is_one_line_naming_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / MANIFEST
    path.write_text(json.dumps({"variants": {"buggy": {"t0": "soon", "expect": "maybe"}}}))
    with pytest.raises(RecordsError) as caught:
        read_run_file(Manifest, path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: field variants.buggy.")
    assert "(and 1 more)" in message


def test_a_manifest_that_does_not_validate_is_a_report_problem_and_the_records_are_still_read(
        tmp_path: Path) -> None:
    run_dir = write_synthetic_run(tmp_path / "run", demo_variants(), records=3_000)
    manifest = json.loads((run_dir / MANIFEST).read_text())
    manifest["target"]["minimum"] = "most"
    (run_dir / MANIFEST).write_text(json.dumps(manifest))
    run = load_run(run_dir)
    assert [p for p in run.problems if "field target.minimum" in p and str(run_dir / MANIFEST) in p]
    assert len(run.requests) and run.target.minimum == 0.99


def test_old_words_and_keys_read_as_the_current_vocabulary() -> None:
    """summary.json and sweep.json written while "undecided" meant inconclusive still read."""
    sweep = validated(Sweep, {"scenario": "s", "levels": [
        {"variant": "buggy", "latency_ms": 50, "verdict": "undecided", "run": "latency-50ms-x"}],
        "breaking_points": {"buggy": {"variant": "buggy", "undecided_ms": [50]}}}, "sweep.json")
    assert sweep.levels[0].verdict == Verdict.INCONCLUSIVE
    assert sweep.breaking_points["buggy"].inconclusive_ms == [50]


def test_writing_and_reading_back_keep_every_key(tmp_path: Path) -> None:
    manifest = validated(Manifest, {"variants": {"fixed": {"flags": {"retry_backoff": True}}}, "future_key": 1},
                         "m")
    write_run_file(tmp_path / MANIFEST, manifest)
    again = read_run_file(Manifest, tmp_path / MANIFEST)
    assert again.variants["fixed"].flags == {"retry_backoff": "True"} and again.model_extra == {"future_key": 1}
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST]


def test_the_vocabulary_is_one_closed_list() -> None:
    assert tuple(k.value for k in ErrorKind) == ERROR_KINDS and "not_started" in ERROR_KINDS
    assert [v.value for v in Verdict] == ["pass", "fail", "inconclusive", "not judged"]


def test_sweep_and_ablation_files_as_built_validate_against_their_published_schemas() -> None:
    """The dicts sweep and ablation build go through their models and match the schemas in docs/."""
    from harness.experiment.ablation import ablation_effects
    from harness.experiment.sweep import sweep_summary
    from harness.scenario import parse_scenario

    rows = [{"variant": "buggy", "latency_ms": latency, "jitter_ms": None, "users": None, "arrival_rate": None,
             "flows": 500, "success_rate": rate, "ci_low": rate - 0.01, "ci_high": min(rate + 0.01, 1.0),
             "verdict": verdict, "main_error": None, "run": f"latency-{latency}ms-x"}
            for latency, rate, verdict in ((0, 0.999, "pass"), (50, 0.99, "inconclusive"), (150, 0.9, "fail"))]
    sweep = dump(validated(Sweep, sweep_summary(parse_scenario({}), rows), "sweep.json"))
    summary = Summary.model_validate({"target": {"metric": "login", "confidence": 0.95},
                                      "variant_order": ["buggy", "buggy+retry_backoff", "fixed"],
                                      "variants": {name: {"target_flow": {"flows": 1000, "successes": ok}}
                                                   for name, ok in (("buggy", 900), ("buggy+retry_backoff", 990),
                                                                    ("fixed", 999))}})
    ablation = dump(validated(Ablation, ablation_effects(summary), "ablation.json"))
    for name, document in (("sweep", sweep), ("ablation", ablation)):
        validator = jsonschema_rs.validator_for(json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text()))
        assert [e.message for e in validator.iter_errors(document)] == [], name
    assert sweep["breaking_points"]["buggy"]["inconclusive_ms"] == [50]
    assert [e["variant"] for e in ablation["effects"]] == ["buggy+retry_backoff"]


@pytest.mark.parametrize("module", ["harness/load/flows.py", "harness/report/colours.py",
                                    "harness/analysis/synthetic.py", "harness/experiment/ablation.py"])
def test_record_words_are_spelled_once_in_harness_records(module) -> None:
    """Error kinds, column names and the charts folder come from harness.records, not a second spelling."""
    import ast

    from harness.records import CHARTS_DIR, SERVICE_MS, SESSION, ErrorKind

    words = {*ErrorKind, SERVICE_MS, SESSION, CHARTS_DIR}
    tree = ast.parse((Path(__file__).resolve().parents[2] / module).read_text())
    spelled = [(node.lineno, node.value) for node in ast.walk(tree)
               if isinstance(node, ast.Constant) and node.value in words]
    assert spelled == []


def test_verdict_literals_are_verdicts_words() -> None:
    from harness import records
    from harness.records.files import Expectation, VerdictValue

    assert set(VerdictValue.__args__) == set(Verdict) and set(Expectation.__args__) == {Verdict.PASS, Verdict.FAIL}
    assert not hasattr(records, "EXPECTATIONS") and not hasattr(Manifest, "variant")
