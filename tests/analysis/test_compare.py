"""`harness compare`: the same variant across two runs; exit 1 only when RUN_B is significantly worse."""

from __future__ import annotations

import pytest

from harness.analysis import load_run
from harness.analysis.compare import compare_records
from harness.errors import BadInput
from harness.report.compare import compare_runs
from tests.analysis.crafted import flows, make_run, variant


def run_with(tmp_path, name: str, failures: int, total: int = 2000, variants=("fixed",)):
    """Failures spread evenly over 20 s (not one burst: the comparison weighs bursts, see test_bursts.py)."""
    t = [i * 0.01 for i in range(total)]
    failed = {round(k * (total - 1) / max(failures - 1, 1)) for k in range(failures)}
    parts = {f"{v}.parquet": flows(t, [i not in failed for i in range(total)], variant=v) for v in variants}
    return make_run(tmp_path / name, parts, {v: variant("pass") for v in variants})


def test_b_significantly_worse_exits_one(tmp_path, capsys):
    """2/2000 failures vs 40/2000: B is worse (p far below 0.05), exit 1, and the table says so."""
    a, b = run_with(tmp_path, "a", 2), run_with(tmp_path, "b", 40)
    assert compare_runs(a, b) == 1
    out = capsys.readouterr().out
    assert "B significantly worse" in out and "RUN_B is significantly worse for fixed" in out


def test_b_better_or_equal_exits_zero(tmp_path):
    """B better, or no significant difference (3 vs 5 failures of 2000): exit 0."""
    assert compare_runs(run_with(tmp_path, "a", 40), run_with(tmp_path, "b", 2)) == 0
    assert compare_runs(run_with(tmp_path, "c", 3), run_with(tmp_path, "d", 5)) == 0


def test_comparison_figures_and_latency_side_by_side(tmp_path):
    """The difference is B's failure rate minus A's; latency rows appear for each run."""
    [c] = compare_records(load_run(run_with(tmp_path, "a", 2)), load_run(run_with(tmp_path, "b", 40)))
    assert c.rates.difference == pytest.approx(38 / 2000)
    assert c.b_worse and not c.b_better
    assert list(c.latency.columns) == ["A p50_ms", "A p95_ms", "A p99_ms", "B p50_ms", "B p95_ms", "B p99_ms"]
    assert c.latency.loc[("flow", "login"), "B p95_ms"] == 10.0


def test_unknown_variant_is_bad_input(tmp_path):
    """--variant naming a variant a run lacks: one clear error listing what it has."""
    a, b = run_with(tmp_path, "a", 2), run_with(tmp_path, "b", 2, variants=("buggy", "fixed"))
    with pytest.raises(BadInput, match=r"--variant buggy: not in .*a \(it has fixed\)"):
        compare_runs(a, b, variant="buggy")
    assert [c.variant for c in compare_records(load_run(a), load_run(b))] == ["fixed"]
