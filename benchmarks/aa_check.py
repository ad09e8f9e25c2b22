"""A/A check: two identical variants, repeated; how often does the before/after comparison call them different?

Usage: .venv/bin/python benchmarks/aa_check.py [--repeat 20] [--duration 10s] [--out reports] [--run-dir DIR]

Runs (or, with --run-dir, re-reads) `harness run --repeat N` of scenarios/mobile-latency.toml with its two
variants replaced by the same buggy service twice ("a" and "b"), and counts, over the N replicate pairs
a@K vs b@K, the comparisons that call a significant difference at 95%: the harness's (effective sample
sizes, harness.analysis.bursts) and, for contrast, the plain two-proportion z-test that assumes independent
flows. An honest test calls a difference in at most about 5% of them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.analysis.stats import compare_rates, rate_from_counts
from harness.records import SUMMARY

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "mobile-latency.toml"
IDENTICAL = """
[variants.a]
profile = "buggy"
expect = "fail"

[variants.b]
profile = "buggy"
expect = "fail"
"""


def aa_scenario(folder: Path) -> Path:
    """mobile-latency with its variants replaced by one buggy service, twice; the locustfile next to it."""
    text = SCENARIO.read_text()
    head = text[: text.index("[variants.buggy]")]
    tail = text[text.index("[target]"):]
    path = folder / "aa.toml"
    path.write_text(head.replace('name = "mobile-latency"', 'name = "aa-check"') + IDENTICAL + "\n" + tail)
    (folder / "login_users.py").write_text((SCENARIO.parent / "login_users.py").read_text())
    return path


def run(repeat: int, duration: str, out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        scenario = aa_scenario(Path(tmp))
        before = set(out.glob("aa-check-*")) if out.exists() else set()
        subprocess.run([str(Path(sys.executable).with_name("harness")), "run", str(scenario), "--repeat",
                        str(repeat), "--duration", duration, "--out", str(out)], check=False,
                       stdin=subprocess.DEVNULL)
        [run_dir] = set(out.glob("aa-check-*")) - before
        return run_dir


def count(run_dir: Path) -> int:
    summary = json.loads((run_dir / SUMMARY).read_text())
    variants, pairs = summary["variants"], summary["comparisons"]
    naive = 0
    for pair in pairs:
        a, b = (variants[pair[k]]["target_flow"] for k in ("before", "after"))
        plain = compare_rates(*(rate_from_counts(x["successes"], x["flows"]) for x in (a, b)))
        naive += plain.significant
        print(f"{pair['before']:>5} vs {pair['after']:<5} {a['success_rate']:.2%} vs {b['success_rate']:.2%}  "
              f"harness p = {pair['p_value']:.3f}{' *' if pair['significant'] else '  '}  "
              f"z-test p = {plain.p_value:.3g}{' *' if plain.significant else ''}")
    called = sum(p["significant"] for p in pairs)
    print(f"{run_dir}: {len(pairs)} A/A pairs; the harness called a difference in {called} "
          f"({called / max(len(pairs), 1):.0%}), the independent-flows z-test in {naive} "
          f"({naive / max(len(pairs), 1):.0%})")
    return 0 if called <= 0.05 * len(pairs) + 1 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--run-dir", type=Path, help="count an earlier A/A run instead of running one")
    args = parser.parse_args()
    return count(args.run_dir or run(args.repeat, args.duration, args.out))


if __name__ == "__main__":
    raise SystemExit(main())
