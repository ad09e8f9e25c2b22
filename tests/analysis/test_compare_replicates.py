"""`harness compare` with replicates on both sides: the replicates are the units (Welch's t-test)."""

from __future__ import annotations

import pytest

from harness.analysis import load_run
from harness.analysis.compare import compare_records
from harness.errors import BadInput
from tests.analysis.crafted import flows, make_run, variant


def replicated_run(tmp_path, name: str, failures: list[int], total: int = 1000):
    """One replicate fixed@K per entry of `failures`, each with that many failures spread evenly."""
    parts, variants = {}, {}
    for k, count in enumerate(failures, start=1):
        failed = {round(i * (total - 1) / max(count - 1, 1)) for i in range(count)}
        t = [i * 0.02 for i in range(total)]
        parts[f"fixed@{k}.parquet"] = flows(t, [i not in failed for i in range(total)], variant=f"fixed@{k}")
        variants[f"fixed@{k}"] = variant("pass")
    return load_run(make_run(tmp_path / name, parts, variants))


def test_a_consistent_difference_between_replicates_is_significant(tmp_path):
    """A: 1-3 failures per 1000 in 3 replicates; B: 30-34: B is worse, on 3 vs 3 replicates."""
    [c] = compare_records(replicated_run(tmp_path, "a", [1, 2, 3]), replicated_run(tmp_path, "b", [30, 32, 34]))
    assert c.variant == "fixed" and c.replicates == (3, 3)
    assert c.rates.difference == pytest.approx((32 - 2) / 1000)
    assert c.b_worse


def test_replicates_that_scatter_as_much_as_they_differ_are_not_significant(tmp_path):
    [c] = compare_records(replicated_run(tmp_path, "a", [2, 40, 10]), replicated_run(tmp_path, "b", [30, 5, 20]))
    assert c.replicates == (3, 3) and not c.rates.significant


def test_replicates_on_one_side_only_is_bad_input(tmp_path):
    single = load_run(make_run(tmp_path / "one", {"fixed.parquet": flows([0.0, 1.0], [True, True],
                                                                         variant="fixed")},
                               {"fixed": variant("pass")}))
    with pytest.raises(BadInput, match="one run has replicates and the other has one run"):
        compare_records(replicated_run(tmp_path, "a", [1, 2]), single)
