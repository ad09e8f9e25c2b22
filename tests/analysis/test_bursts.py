"""The correlation-aware interval on crafted bursty data: wider than Wilson when failures cluster, not otherwise.

Every random draw has a fixed seed, so these tests give the same answer on every run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from harness.analysis.block_sequence import add_per_second, block_signs, decide_blocks
from harness.analysis.bursts import (
    MIN_BLOCKS,
    block_length,
    burst_interval,
    burst_runs,
    cluster_variance,
)
from harness.analysis.replicates import split_replicate, summarise
from harness.analysis.stats import wilson_interval

TARGET, CONFIDENCE = 0.99, 0.95


def independent(seconds: int, per_s: int, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    flows = np.full(seconds, per_s)
    return flows, rng.binomial(flows, rate)


def three_bursts(seconds: int = 300, per_s: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Every flow succeeds except in three 5-second outages where every flow fails."""
    flows = np.full(seconds, per_s)
    successes = flows.copy()
    for start in (40, 150, 260):
        successes[start:start + 5] = 0
    return flows, successes


def test_clustered_failures_have_a_design_effect_well_above_one():
    """Three 5 s outages in 300 s: the interval is several times wider than Wilson's and says 3 bursts."""
    result = burst_interval(*three_bursts(), TARGET, CONFIDENCE)
    assert result.bursts == 3 and result.longest_burst_s == 5
    assert result.design_effect > 10
    assert result.width_ratio > 3


def test_independent_failures_have_a_design_effect_near_one():
    """Failures drawn independently at 1.5%: no bursts, design effect within [1, 1.5], width within 1.4x Wilson's
    for every one of 8 seeds (the width ratio also carries the few-blocks degrees-of-freedom factor)."""
    for seed in range(8):
        result = burst_interval(*independent(300, 20, 0.985, seed=seed), TARGET, CONFIDENCE)
        assert result.bursts <= 1
        assert 1.0 <= result.design_effect < 1.5
        assert result.width_ratio < 1.4


def test_the_interval_is_never_narrower_than_wilson():
    for seed in range(20):
        result = burst_interval(*independent(120, 20, 0.99, seed=seed), TARGET, CONFIDENCE)
        assert result.design_effect >= 1.0 and result.width_ratio >= 1.0 - 1e-9


def test_no_failures_gives_wilson():
    result = burst_interval(np.full(60, 10), np.full(60, 10), TARGET, CONFIDENCE)
    assert (result.design_effect, result.bursts, result.rate.rate) == (1.0, 0, 1.0)
    assert result.width_ratio == pytest.approx(1.0, rel=1e-6)


def test_cluster_variance_matches_statsmodels_cluster_robust_sandwich():
    """The ratio estimator's variance is the CR1 cluster-robust variance of an intercept-only regression."""
    flows = np.array([3, 4, 2, 5, 3, 4])
    successes = np.array([3, 1, 2, 5, 0, 4])
    y = np.concatenate([[1.0] * s + [0.0] * (f - s) for f, s in zip(flows, successes, strict=True)])
    groups = np.repeat(np.arange(len(flows)), flows)
    fit = sm.OLS(y, np.ones_like(y)).fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True})
    assert cluster_variance(flows.astype(float), successes.astype(float)) == pytest.approx(fit.cov_params()[0, 0])


def test_block_length_rule():
    """max(ceil(T^(1/3)), 2 x longest burst), capped so that there are at least MIN_BLOCKS blocks."""
    assert block_length(300, 0) == 7
    assert block_length(300, 12) == 24
    assert block_length(300, 100) == 300 // MIN_BLOCKS
    assert block_length(5, 3) == 1


def test_bursts_bridge_a_single_good_second():
    bad = np.zeros(30, dtype=bool)
    bad[[3, 4, 6, 20]] = True
    assert burst_runs(bad) == [(3, 6), (20, 20)]


def test_coverage_under_bursts_in_a_fixed_seed_simulation():
    """Gilbert-Elliott bursts (mean 3 s, 60% success in bursts): the interval holds the long-run rate in
    at least 90% of 400 seeded runs (98.5% measured; nominal 95%), where Wilson's holds it in under half
    (25% measured). Fixed seed: the same answer every run."""
    rng = np.random.default_rng(2024)
    runs, seconds, rate = 400, 600, 0.985
    bad_share = (0.999 - rate) / (0.999 - 0.6)
    leave, enter = 1 / 3, (1 / 3) * bad_share / (1 - bad_share)
    covered = wilson_covered = 0
    for _ in range(runs):
        state = np.empty(seconds, dtype=bool)
        state[0] = rng.random() < bad_share
        draws = rng.random(seconds)
        for s in range(1, seconds):
            state[s] = draws[s] >= leave if state[s - 1] else draws[s] < enter
        flows = rng.poisson(20, seconds)
        successes = rng.binomial(flows, np.where(state, 0.6, 0.999))
        result = burst_interval(flows, successes, TARGET, CONFIDENCE)
        covered += result.rate.ci_low <= rate <= result.rate.ci_high
        low, high = wilson_interval(successes.sum(), flows.sum(), CONFIDENCE)
        wilson_covered += low <= rate <= high
    assert covered / runs >= 0.90
    assert wilson_covered / runs < 0.5


def test_block_sequence_fails_a_clearly_bad_variant_and_never_passes_on_bursts_alone():
    """A variant at 90% fails within the first minute; three outages in an otherwise clean run do not fail it."""
    flows, successes = independent(60, 20, 0.90, seed=1)
    assert decide_blocks(flows, successes, TARGET, CONFIDENCE, max_duration_s=120).state == "fail"
    flows, successes = three_bursts(seconds=120)
    assert decide_blocks(flows, successes, TARGET, CONFIDENCE, max_duration_s=120).state != "fail"


def test_block_signs_need_both_sequences_to_agree():
    """All blocks perfect: the block sequence alone would pass at once; the flow sequence needs ~400 flows."""
    flows = np.full((1, 100), 10.0)
    signs = block_signs(flows, flows, TARGET, CONFIDENCE, planned_blocks=100)
    assert signs[0, 0] == 0 and signs[0, -1] == 1


def test_per_second_counts_grow_as_parts_arrive():
    counts: dict = {}
    add_per_second(counts, [0.2, 0.7, 2.5], [True, False, True])
    add_per_second(counts, [1.1, 5.0], [True, True])
    assert counts["flows"].tolist() == [2, 1, 1, 0, 0, 1]
    assert counts["successes"].tolist() == [1, 1, 1, 0, 0, 1]


def test_replicates_are_judged_unanimously():
    rows = [("buggy@1", "fail", 0.8, "fail"), ("fixed@1", "pass", 1.0, "pass"),
            ("buggy@2", "fail", 0.7, "fail"), ("fixed@2", "pass", 0.98, "inconclusive"), ("other", None, 1.0, "pass")]
    by_base = {r.base: r for r in summarise(rows)}
    assert set(by_base) == {"buggy", "fixed"}
    assert (by_base["buggy"].verdict, by_base["buggy"].shown) == ("fail", True)
    assert (by_base["fixed"].verdict, by_base["fixed"].shown) == ("inconclusive", False)
    assert by_base["buggy"].spread == pytest.approx(0.1)
    assert split_replicate("a@b@3") == ("a@b", 3) and split_replicate("fixed") == ("fixed", None)


def test_per_second_frame_feeds_the_interval():
    """The analysis passes per_second's columns; a frame with an empty second works too."""
    frame = pd.DataFrame({"flows": [10, 0, 10], "successes": [10, 0, 9]})
    result = burst_interval(frame["flows"].to_numpy(), frame["successes"].to_numpy(), TARGET, CONFIDENCE)
    assert result.rate.n == 20 and result.blocks >= 1
