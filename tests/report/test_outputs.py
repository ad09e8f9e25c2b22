"""summary.json, summary.md, junit.xml, charts and report.html from `harness report`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from harness.records import CHARTS_DIR, JUNIT, REPORT_HTML, SUMMARY, SUMMARY_MD
from harness.report.colours import KNOWN_VARIANTS, variant_colours

TOP_KEYS = {"schema_version", "harness_version", "generated_at", "scenario", "run_status", "seed", "target",
            "all_shown", "exit_code", "problems", "variant_order", "variants", "comparisons", "replicates"}
VARIANT_KEYS = {"expect", "verdict", "shown", "status", "profile", "flags", "duration_s", "target_flow",
                "failures_by_kind", "top_errors", "requests", "requests_per_s", "latency", "phases",
                "fault_windows", "recovery", "timeline", "verdict_method", "stopped", "judged_by", "wilson",
                "correlation", "rate_verdict",
                "objectives", "arrivals", "failover"}
RATE_KEYS = {"flows", "successes", "failures", "success_rate", "ci_low", "ci_high", "confidence"}


def test_every_output_is_written_and_exit_is_zero_when_shown(shown_run):
    """exit 0; the four charts (real PNGs), summary.json/md, junit.xml and report.html exist."""
    run_dir, code = shown_run
    assert code == 0
    charts = sorted(p.name for p in (run_dir / CHARTS_DIR).glob("*.png"))
    assert charts == ["failures_by_kind.png", "latency_over_time.png", "success_by_variant.png",
                      "success_over_time.png"]
    for chart in charts:
        assert (run_dir / CHARTS_DIR / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in (SUMMARY, SUMMARY_MD, JUNIT, REPORT_HTML):
        assert (run_dir / name).stat().st_size > 0


def test_summary_json_has_the_documented_keys(shown_run):
    """The stable keys documented in docs/file-formats.md, with verdicts and numbers that agree with each other."""
    summary = json.loads((shown_run[0] / SUMMARY).read_text())
    assert set(summary) == TOP_KEYS
    assert summary["variant_order"] == ["buggy", "fixed"]
    buggy, fixed = summary["variants"]["buggy"], summary["variants"]["fixed"]
    assert set(buggy) == VARIANT_KEYS and set(buggy["target_flow"]) == RATE_KEYS
    assert (buggy["verdict"], buggy["shown"], fixed["verdict"], fixed["shown"]) == ("fail", True, "pass", True)
    flow = buggy["target_flow"]
    assert flow["successes"] + flow["failures"] == flow["flows"] == 2000
    assert flow["ci_low"] < flow["success_rate"] < flow["ci_high"] < 0.99
    assert [p["name"] for p in buggy["phases"]] == ["before", "fault 0", "after"]
    assert len(buggy["timeline"]["second"]) == len(buggy["timeline"]["success_rate"]) >= 60
    [pair] = summary["comparisons"]
    assert (pair["before"], pair["after"], pair["significant"]) == ("buggy", "fixed", True)


def test_junit_has_one_passing_case_per_expectation(shown_run):
    """Two test cases named after the expectations, none failing."""
    suite = ET.parse(shown_run[0] / JUNIT).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["buggy expects fail", "fixed expects pass"]
    assert suite.get("failures") == "0" and all(c.find("failure") is None for c in cases)


def test_not_shown_exits_one_and_fails_its_junit_case(not_shown_run):
    """fixed did not pass: exit 1, its case fails with the verdict, the banner says so."""
    run_dir, code = not_shown_run
    assert code == 1
    cases = {c.get("name"): c for c in ET.parse(run_dir / JUNIT).getroot().iter("testcase")}
    failure = cases["fixed expects pass"].find("failure")
    assert failure is not None and failure.get("message") in ("expected pass, verdict fail",
                                                              "expected pass, verdict inconclusive")
    assert cases["buggy expects fail"].find("failure") is None
    html = (run_dir / REPORT_HTML).read_text()
    assert "Not shown: fixed did not show what it expected" in html


def test_summary_md_is_a_pasteable_table(shown_run):
    """A heading with the verdict, then one table row per variant."""
    md = (shown_run[0] / SUMMARY_MD).read_text()
    assert md.startswith("## mobile-latency: Every variant showed what it expected")
    rows = [line for line in md.splitlines() if line.startswith("| buggy") or line.startswith("| fixed")]
    assert len(rows) == 2 and "**fail**" in rows[0] and "**pass**" in rows[1]


def test_report_html_is_self_contained(shown_run):
    """Charts are inlined; nothing is fetched from elsewhere."""
    html = (shown_run[0] / REPORT_HTML).read_text()
    assert html.count("data:image/png;base64,") == 4
    assert "http://" not in html.split("<details>")[0] and "https://" not in html


def test_truncated_records_still_report_and_warn_naming_the_file(tmp_path, capsys):
    """One of four files cut in half: a warning names it, the report still builds from the rest."""
    from harness.analysis.synthetic import demo_variants, write_synthetic_run
    from harness.report import build_report

    run_dir = write_synthetic_run(tmp_path / "run", demo_variants(), records=3_000)
    broken = run_dir / "requests" / "fixed-worker-2.parquet"
    broken.write_bytes(broken.read_bytes()[:200])
    build_report(run_dir)
    err = capsys.readouterr().err
    assert f"harness: warning: {broken}: unreadable" in err.replace("\n", "")
    summary = json.loads((run_dir / SUMMARY).read_text())
    assert summary["problems"] and str(broken) in summary["problems"][0]
    assert summary["variants"]["fixed"]["target_flow"]["flows"] > 0
    assert str(broken) in (run_dir / REPORT_HTML).read_text()


def test_variant_colours_are_fixed_for_buggy_and_fixed_and_distinct():
    """buggy and fixed keep their colours whatever else is in the run; others differ from them and each other."""
    colours = variant_colours(["fixed", "retry-only", "buggy", "lock-only"])
    assert colours["buggy"] == KNOWN_VARIANTS["buggy"] and colours["fixed"] == KNOWN_VARIANTS["fixed"]
    assert len(set(colours.values())) == 4
    assert variant_colours(["retry-only"]) == {"retry-only": colours["retry-only"]}


@pytest.mark.parametrize("newer", ["manifest", "fault line"])
def test_a_run_file_from_a_newer_harness_is_refused_and_nothing_is_written(tmp_path, capsys, newer):
    """manifest.json or a faults.jsonl line with a newer schema_version: one line, exit 2, no report files
    (defaults would misjudge the run and overwrite the newer harness's own report)."""
    from harness.analysis.synthetic import demo_variants, write_synthetic_run
    from harness.cli import cli
    from harness.records import FAULTS, MANIFEST

    run_dir = write_synthetic_run(tmp_path / "run", demo_variants(), records=2_000)
    path = run_dir / (MANIFEST if newer == "manifest" else FAULTS)
    if newer == "manifest":
        path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": 99}))
    else:
        line = {"ts": 1.0, "t": 1.0, "variant": "buggy", "fault": 0, "action": "apply", "schema_version": 99}
        path.write_text(path.read_text() + json.dumps(line) + "\n")
    for args in (["report", str(run_dir)], ["compare", str(run_dir), str(run_dir)]):
        with pytest.raises(SystemExit) as exited:
            cli.main(args=args)
        err = capsys.readouterr().err
        assert exited.value.code == 2, err
        assert err.count("\n") == 1 and "schema_version 99" in err and "use a newer harness" in err
    assert not [p for p in (SUMMARY, SUMMARY_MD, JUNIT, REPORT_HTML) if (run_dir / p).exists()]


def test_report_html_shows_the_manifest_as_read_not_defaults_when_it_does_not_validate(tmp_path):
    """An invalid manifest.json is analysed with defaults; the HTML says so and shows the file's own text."""
    from html import escape

    from harness.analysis.synthetic import demo_variants, write_synthetic_run
    from harness.records import MANIFEST
    from harness.report import build_report

    run_dir = write_synthetic_run(tmp_path / "run", demo_variants(), records=2_000)
    manifest = json.loads((run_dir / MANIFEST).read_text())
    text = json.dumps({**manifest, "target": {**manifest["target"], "minimum": "most"}}, indent=1)
    (run_dir / MANIFEST).write_text(text)
    build_report(run_dir)
    html = (run_dir / REPORT_HTML).read_text()
    assert "manifest.json did not validate" in html
    assert f"<pre>{escape(text)}</pre>" in html
