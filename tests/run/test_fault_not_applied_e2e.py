"""A fault the fault proxy refuses at run time (#16 item 14): the variant stops, is not judged, the run exits 1
with one line naming the fault and the proxy's answer, and the report shades only the faults really applied.

File validation refuses such a fault, so the run is built in Python (as sweeps and ablation build theirs),
in its own process: a slicer with average_size = 0, which the real embedded fault proxy answers with 400.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.stack.procs import pid_alive

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
PLANNED_S = 40

RUN = textwrap.dedent(f"""
    import sys
    from pathlib import Path
    from harness.errors import HarnessError
    from harness.experiment.lifecycle import Experiment
    from harness.experiment.options import RunOptions
    from harness.scenario import Fault, parse_scenario

    scenario = parse_scenario({{
        "scenario": {{"name": "refused"}},
        "load": {{"locustfile": {str(SCENARIOS / "login_users.py")!r}, "users": 4, "spawn_rate": 4,
                  "duration": {PLANNED_S}, "classes": {{"WebUser": {{"wait": [0.1, 0.2]}}}}}},
        "variants": {{"fixed": {{"profile": "fixed", "expect": "pass"}}}},
    }})
    faults = [Fault(type="latency", at=0.5, attributes={{"latency": 5}}),
              Fault(type="slicer", at=1.5, attributes={{"average_size": 0}})]
    scenario = scenario.model_copy(update={{"faults": faults}})
    options = RunOptions(scenario_path=Path("refused.toml"), scenario=scenario, out=Path(sys.argv[1]))
    try:
        sys.exit(Experiment(options).run())
    except HarnessError as exc:
        print(f"harness: {{exc}}", file=sys.stderr)
        sys.exit(exc.exit_code)
""")


@pytest.mark.slow
def test_a_refused_fault_stops_its_variant_unjudged_and_only_applied_faults_are_shaded(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = subprocess.run([sys.executable, "-c", RUN, str(out)], capture_output=True, text=True, timeout=240,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stderr[-3000:]
    refused = [line for line in result.stderr.splitlines() if "not judged" in line and line.startswith("harness:")]
    assert len(refused) == 1, result.stderr[-3000:]
    assert "fault 1 (redis slicer average_size=0) could not be applied" in refused[0]
    assert "average_size" in refused[0].split("could not be applied")[1]   # the fault proxy's own answer
    assert "Traceback" not in result.stderr

    run_dir = next(out.iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    variant = manifest["variants"]["fixed"]
    assert variant["status"] == "not_judged" and "fault 1" in variant["error"]
    assert not [p["pid"] for p in variant.get("processes", []) if pid_alive(p["pid"])]

    summary = json.loads((run_dir / "summary.json").read_text())["variants"]["fixed"]
    assert summary["verdict"] == "not judged" and summary["shown"] is False
    assert [w["fault"] for w in summary["fault_windows"]] == [0]   # the latency that was applied, not the slicer
    assert summary["fault_windows"][0]["end_s"] < PLANNED_S / 2     # stopped soon after the refusal
    journal = [json.loads(line) for line in (run_dir / "faults.jsonl").read_text().splitlines()]
    assert {row["fault"] for row in journal} == {0}
    assert "fixed: NOT JUDGED – fixed: not judged: fault 1" in (run_dir / "summary.md").read_text()


def test_a_new_run_folder_has_an_empty_fault_journal_so_the_report_never_shades_the_plan(tmp_path: Path) -> None:
    # Only a missing journal (records lost) makes the report fall back on the planned timeline.
    from harness.experiment.manifest import new_run_dir

    run_dir = new_run_dir(tmp_path, "x")
    assert (run_dir / "faults.jsonl").read_text() == ""
