"""The order-statistics interval of a quantile, and latency objectives judged on it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.analysis.objectives import Objective, combined, in_phase, judge, objectives_of
from harness.analysis.phases import FaultWindow
from harness.analysis.quantile import order_statistic_ranks, quantile_interval, samples_needed
from harness.analysis.stats import Verdict
from harness.records.files import Manifest


@pytest.mark.parametrize(("n", "q"), [(400, 0.99), (2000, 0.99), (100, 0.5), (1500, 0.95)])
def test_the_interval_covers_the_true_quantile_at_its_confidence(n: int, q: float) -> None:
    """Fixed-seed simulation: over 2,000 draws of lognormal latencies the 95% interval covers the true
    quantile at least 95% of the time, minus three standard errors of the simulation itself."""
    rng = np.random.default_rng(20261129)
    true_q = math.exp(3.0 + 0.8 * _normal_quantile(q))
    trials, covered = 2000, 0
    for _ in range(trials):
        estimate = quantile_interval(rng.lognormal(3.0, 0.8, size=n), q, 0.95)
        covered += estimate.ci_low <= true_q <= estimate.ci_high
    assert covered / trials >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / trials)


def _normal_quantile(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def test_too_few_samples_leave_the_upper_bound_open() -> None:
    """A p99 needs 368 samples before its upper bound exists at 95%: below that the bound is infinite."""
    assert samples_needed(0.99, 0.95) == 368
    few = quantile_interval(np.arange(1.0, 367.0), 0.99, 0.95)
    enough = quantile_interval(np.arange(1.0, 369.0), 0.99, 0.95)
    assert few.ci_high == math.inf and math.isfinite(enough.ci_high)
    assert quantile_interval(np.array([]), 0.99, 0.95).value is None


def test_ranks_are_the_binomial_tails() -> None:
    low, high = order_statistic_ranks(100, 0.5, 0.95)
    assert (low, high) == (40, 61)   # the textbook pair for the median of 100 at 95%


def _rows(latencies: list[float], t: list[float] | None = None, name: str = "login") -> pd.DataFrame:
    """Without t, the latencies are spread over 10 s in a seeded random order: sorted in time they would be
    one long "burst" of slow flows, which the correlation-aware interval rightly widens (issue 14)."""
    if t is None:
        latencies = list(np.random.default_rng(3).permutation(latencies))
    return pd.DataFrame({"t": t if t is not None else np.linspace(0, 10, len(latencies)), "kind": "flow",
                         "name": name, "latency_ms": latencies})


def test_an_objective_passes_fails_or_is_inconclusive_by_its_interval() -> None:
    """Pass: whole interval at or below the bound; fail: wholly above; else inconclusive."""
    fast = _rows(list(np.linspace(1, 20, 1000)))
    slow = _rows(list(np.linspace(100, 200, 1000)))
    p99 = Objective(0.99, 50.0, "flow", "login")
    assert judge(p99, fast, [], 0.95).verdict is Verdict.PASS
    assert judge(p99, slow, [], 0.95).verdict is Verdict.FAIL
    assert judge(p99, fast.iloc[:100], [], 0.95).verdict is Verdict.INCONCLUSIVE   # too few for an upper bound


def test_an_objective_over_the_no_fault_phase_ignores_the_fault_window() -> None:
    t = list(np.linspace(0, 10, 2000))
    latencies = [500.0 if 4 <= x < 6 else 5.0 for x in t]
    window = FaultWindow(0, "redis latency", "latency", 4.0, 6.0, removed=True)
    rows = _rows(latencies, t)
    assert judge(Objective(0.99, 50.0, "flow", "login", "no_fault"), rows, [window], 0.95).verdict is Verdict.PASS
    assert judge(Objective(0.99, 50.0, "flow", "login", "all"), rows, [window], 0.95).verdict is Verdict.FAIL
    assert len(in_phase(rows, "faults", [window])) + len(in_phase(rows, "no_fault", [window])) == len(rows)


def test_objectives_come_from_the_manifest_and_every_one_must_pass() -> None:
    manifest = Manifest.model_validate({"target": {"latency": [
        {"p99_ms": 50, "p50_ms": 10}, {"request": "/protected", "p95_ms": 20, "phase": "no_fault"}]}})
    objectives = objectives_of(manifest, "protected")
    assert [(o.q, o.limit_ms, o.kind, o.name, o.phase) for o in objectives] == [
        (0.5, 10.0, "flow", "protected", "all"), (0.99, 50.0, "flow", "protected", "all"),
        (0.95, 20.0, "request", "/protected", "no_fault")]
    assert objectives[1].label == "p99 of protected flow ≤ 50 ms"
    assert combined(Verdict.PASS, []) is Verdict.PASS
    fast = _rows(list(np.linspace(1, 20, 1000)))
    passed = judge(Objective(0.99, 50.0, "flow", "login"), fast, [], 0.95)
    failed = judge(Objective(0.5, 5.0, "flow", "login"), fast, [], 0.95)
    assert combined(Verdict.PASS, [passed, failed]) is Verdict.FAIL
    assert combined(Verdict.INCONCLUSIVE, [passed]) is Verdict.INCONCLUSIVE


def test_slow_flows_clustered_in_time_widen_the_quantile_interval() -> None:
    """The same latencies: shuffled in time, p97 <= 50 ms passes; with the slow 2% all in the last second
    the interval widens (Woodruff over blocks of seconds), the design effect is well above 1, and the p97
    is no longer proven."""
    rng = np.random.default_rng(7)
    latencies = np.concatenate([rng.uniform(5, 20, 2940), rng.uniform(60, 80, 60)])
    t = np.linspace(0, 60, len(latencies))
    shuffled = judge(Objective(0.97, 50.0, "flow", "login"), _rows(list(rng.permutation(latencies)), list(t)), [], 0.95)
    clustered = judge(Objective(0.97, 50.0, "flow", "login"), _rows(list(latencies), list(t)), [], 0.95)
    assert shuffled.verdict is Verdict.PASS and shuffled.design_effect < 2
    assert clustered.design_effect > 5 and clustered.verdict is not Verdict.PASS
