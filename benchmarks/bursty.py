"""Simulate bursty failures: how often each verdict method passes a variant below the target, or fails one above.

Usage: .venv/bin/python benchmarks/bursty.py [--runs 4000] [--seed 5]

The failure process is a Gilbert-Elliott channel (Gilbert 1960; Elliott 1963), the classic model of bursty
errors: each second the service is either "good" (flows succeed with GOOD_SUCCESS) or "bad" (BAD_SUCCESS),
and it switches state as a two-state Markov chain whose bad spells last `burst_s` seconds on average. The
good spells are sized so that the long-run success rate is `rate`, just below or just above the 99% target.
Flows arrive as a Poisson stream of FLOWS_PER_S a second. Every method judges at 95% confidence:

  wilson       Wilson interval at the end of the run (independent flows)
  clustered    the correlation-aware interval of harness.analysis.bursts at the end of the run
  wilson-look  Wilson checked every second from the minimum duration, stopping on the first verdict (naive)
  flow-cs      the beta-binomial confidence sequence over flows, checked every second (the old --until-decided)
  block-cs     early stopping as `harness run --until-decided` now does it: stop on a fail as soon as the block
               and flow confidence sequences agree (harness.analysis.block_sequence), checked every 5 s block;
               otherwise run to the maximum and judge there on the clustered interval
  block-cs-any the block and flow sequences allowed to stop on a pass too (why the harness does not)

A false pass is a "pass" for a rate below the target; a false fail is a "fail" for a rate above it.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from harness.analysis.block_sequence import BLOCK_S, block_signs
from harness.analysis.bursts import burst_interval
from harness.analysis.sequential import sequential_signs
from harness.analysis.stats import wilson_interval

TARGET, CONFIDENCE = 0.99, 0.95
FLOWS_PER_S = 20
GOOD_SUCCESS, BAD_SUCCESS = 0.999, 0.6
MIN_S = 20
METHODS = ("wilson", "clustered", "wilson-look", "flow-cs", "block-cs", "block-cs-any")


@dataclass(frozen=True)
class Setting:
    rate: float        # long-run success rate
    burst_s: float     # mean length of a bad spell
    duration_s: int    # the run's length (the maximum, for early stopping)
    independent: bool = False  # same rate, no bursts: every second at `rate`

    @property
    def label(self) -> str:
        kind = "independent" if self.independent else f"bursts {self.burst_s:g} s"
        return f"{self.rate:.3f} {kind:>14} {self.duration_s:>4} s"


SETTINGS = (
    Setting(0.987, 0, 300, independent=True), Setting(0.993, 0, 300, independent=True),
    Setting(0.985, 2, 300), Setting(0.995, 2, 300),
    Setting(0.985, 5, 600), Setting(0.995, 5, 600),
    Setting(0.980, 10, 900), Setting(0.997, 10, 900),
)


def simulate(setting: Setting, runs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-second flows and successes, shape (runs, duration_s)."""
    shape = (runs, setting.duration_s)
    flows = rng.poisson(FLOWS_PER_S, shape)
    if setting.independent:
        return flows, rng.binomial(flows, setting.rate)
    bad_share = (GOOD_SUCCESS - setting.rate) / (GOOD_SUCCESS - BAD_SUCCESS)
    leave_bad = 1.0 / setting.burst_s
    enter_bad = leave_bad * bad_share / (1.0 - bad_share)   # stationary share of bad seconds = bad_share
    bad = np.empty(shape, dtype=bool)
    bad[:, 0] = rng.random(runs) < bad_share
    draws = rng.random(shape)
    for s in range(1, setting.duration_s):
        bad[:, s] = np.where(bad[:, s - 1], draws[:, s] >= leave_bad, draws[:, s] < enter_bad)
    return flows, rng.binomial(flows, np.where(bad, BAD_SUCCESS, GOOD_SUCCESS))


def first_sign(signs: np.ndarray, first_look: int) -> np.ndarray:
    """The verdict each run stops on (0: undecided at the maximum), looking from index first_look."""
    signs = signs.copy()
    signs[:, :first_look] = 0
    decided = signs != 0
    first = np.where(decided.any(axis=1), decided.argmax(axis=1), signs.shape[1] - 1)
    return signs[np.arange(len(signs)), first]


def interval_sign(low, high) -> np.ndarray:
    return np.where(np.asarray(low) >= TARGET, 1, np.where(np.asarray(high) < TARGET, -1, 0))


def verdicts(flows: np.ndarray, successes: np.ndarray, duration_s: int) -> dict[str, np.ndarray]:
    n, s = flows.sum(axis=1), successes.sum(axis=1)
    clustered = [burst_interval(f, k, TARGET, CONFIDENCE).rate for f, k in zip(flows, successes, strict=True)]
    cum_n, cum_s = flows.cumsum(axis=1), successes.cumsum(axis=1)
    blocks = duration_s // BLOCK_S
    block_flows = flows[:, : blocks * BLOCK_S].reshape(len(flows), blocks, BLOCK_S).sum(axis=2)
    block_successes = successes[:, : blocks * BLOCK_S].reshape(len(flows), blocks, BLOCK_S).sum(axis=2)
    clustered_sign = interval_sign([r.ci_low for r in clustered], [r.ci_high for r in clustered])
    block = block_signs(block_flows, block_successes, TARGET, CONFIDENCE, blocks)
    early_fail = first_sign(np.where(block < 0, block, 0), MIN_S // BLOCK_S - 1)
    return {
        "wilson": interval_sign(*wilson_interval(s, n, CONFIDENCE)),
        "clustered": clustered_sign,
        "wilson-look": first_sign(interval_sign(*wilson_interval(cum_s, cum_n, CONFIDENCE)), MIN_S - 1),
        "flow-cs": first_sign(sequential_signs(cum_s, cum_n, TARGET, CONFIDENCE), MIN_S - 1),
        "block-cs": np.where(early_fail < 0, early_fail, clustered_sign),
        "block-cs-any": first_sign(block, MIN_S // BLOCK_S - 1),
    }


def right_rate(setting: Setting, signs: np.ndarray) -> float:
    """Power: fails below the target, passes above it."""
    return float(np.mean(signs == (-1 if setting.rate < TARGET else 1)))


def error_rate(setting: Setting, signs: np.ndarray) -> float:
    """False passes below the target, false fails above it."""
    wrong = 1 if setting.rate < TARGET else -1
    return float(np.mean(signs == wrong))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    print(f"{args.runs} simulated runs per setting, {FLOWS_PER_S} flows/s, target {TARGET}, {CONFIDENCE:.0%} "
          f"confidence; bad spells at {BAD_SUCCESS:.0%} success, good at {GOOD_SUCCESS:.1%}; "
          f"early stopping looks from {MIN_S} s")
    print("wrong verdicts (false pass below 0.99, false fail above), % of runs; in brackets, right verdicts %")
    print("| rate | process | duration | error | " + " | ".join(METHODS) + " |")
    print("|---|---|---:|---|" + "---:|" * len(METHODS))
    for setting in SETTINGS:
        flows, successes = simulate(setting, args.runs, rng)
        result = verdicts(flows, successes, setting.duration_s)
        kind = "false pass" if setting.rate < TARGET else "false fail"
        process = "independent" if setting.independent else f"bursts of {setting.burst_s:g} s"
        cells = " | ".join(f"{100 * error_rate(setting, result[m]):.1f} ({100 * right_rate(setting, result[m]):.0f})"
                           for m in METHODS)
        print(f"| {setting.rate:.3f} | {process} | {setting.duration_s} s | {kind} | {cells} |")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
