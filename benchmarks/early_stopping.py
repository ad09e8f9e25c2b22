"""Simulate --until-decided: how often a variant at each true rate stops on "pass", sequential vs naive Wilson looks.

Usage: .venv/bin/python benchmarks/early_stopping.py [--runs 4000] [--flows-per-s 20] [--min-s 10] [--max-s 600]
The same simulation as tests/analysis/test_sequential.py, printed as a table (target 0.99, confidence 0.95).
"""

from __future__ import annotations

import argparse

import numpy as np

from harness.analysis.sequential import sequential_signs
from harness.analysis.stats import wilson_interval

TARGET, CONFIDENCE = 0.99, 0.95
RATES = (0.95, 0.985, 0.989, 0.9895, 0.9899, 0.995, 0.999)


def first_verdicts(signs: np.ndarray, min_s: int) -> tuple[np.ndarray, np.ndarray]:
    """The verdict each run stops on (0: none by the maximum) and the second it stops."""
    signs = signs.copy()
    signs[:, : min_s - 1] = 0
    decided = signs != 0
    first = np.where(decided.any(axis=1), decided.argmax(axis=1), signs.shape[1] - 1)
    return signs[np.arange(len(signs)), first], first + 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4000)
    parser.add_argument("--flows-per-s", type=int, default=20)
    parser.add_argument("--min-s", type=int, default=10)
    parser.add_argument("--max-s", type=int, default=600)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    n = args.flows_per_s * np.arange(1, args.max_s + 1)
    print(f"{args.runs} runs, {args.flows_per_s} flows/s, look every second from {args.min_s} s to {args.max_s} s")
    print(f"{'true rate':>9}  {'seq pass':>8}  {'seq fail':>8}  {'seq median stop':>15}  {'naive pass':>10}  "
          f"{'naive fail':>10}")
    for rate in RATES:
        successes = np.random.default_rng(args.seed).binomial(args.flows_per_s, rate, (args.runs, args.max_s))
        successes = successes.cumsum(axis=1)
        seq, stop_s = first_verdicts(sequential_signs(successes, n, TARGET, CONFIDENCE), args.min_s)
        low, high = wilson_interval(successes, n, CONFIDENCE)
        naive, _ = first_verdicts(np.where(low >= TARGET, 1, np.where(high < TARGET, -1, 0)), args.min_s)
        print(f"{rate:>9}  {np.mean(seq == 1):>8.2%}  {np.mean(seq == -1):>8.2%}  {np.median(stop_s):>13.0f} s  "
              f"{np.mean(naive == 1):>10.2%}  {np.mean(naive == -1):>10.2%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
