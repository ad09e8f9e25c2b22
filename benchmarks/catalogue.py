"""Run every catalogue scenario with its default settings and print one table of verdicts.

    .venv/bin/python benchmarks/catalogue.py [--duration 60s] [--only refresh-storm,redis-outage]

Exit 1 if any variant did not show what it expects. Too long for CI (the 21 variants of the 10 scenarios
hold at least 23 min of load, plus a stack start per variant); CI runs each scenario for a short smoke
duration instead, or the end-to-end test that tests/run/test_catalogue_smoke.py names for it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.report.fmt import pct

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def run_scenario(path: Path, out: Path, duration: str | None) -> tuple[int, Path | None, float]:
    command = [sys.executable, "-m", "harness", "run", str(path), "--out", str(out)]
    if duration:
        command += ["--duration", duration]
    started = time.monotonic()
    result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    runs = sorted(out.glob(f"{path.stem}-*"), key=lambda p: p.stat().st_mtime)
    if result.returncode not in (0, 1):
        print(f"{path.stem}: exit {result.returncode}: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
    return result.returncode, (runs[-1] if runs else None), time.monotonic() - started


def rows_of(run_dir: Path) -> list[dict]:
    summary = json.loads((run_dir / "summary.json").read_text())
    rows = []
    for name in summary["variant_order"]:
        v = summary["variants"][name]
        flow = v["target_flow"]
        kinds = v.get("failures_by_kind") or {}
        main = next(iter(kinds), None)
        share = kinds[main] / flow["flows"] if main and flow["flows"] else 0
        rows.append({"scenario": summary["scenario"]["name"], "variant": name, "flows": flow["flows"],
                     "rate": flow["success_rate"], "low": flow["ci_low"], "high": flow["ci_high"],
                     "main_error": f"{main} {share:.1%}" if main else "-", "verdict": v["verdict"],
                     "expect": v["expect"], "shown": v["shown"]})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", help="override every scenario's duration (e.g. 30s)")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--out", type=Path, help="keep the run folders here (default: a temp folder)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else None
    paths = [p for p in sorted(SCENARIOS.glob("*.toml")) if names is None or p.stem in names]
    out = args.out or Path(tempfile.mkdtemp(prefix="catalogue-"))
    all_rows, ok = [], True
    for path in paths:
        code, run_dir, seconds = run_scenario(path, out, args.duration)
        print(f"{path.stem}: exit {code} in {seconds:.0f} s ({run_dir})", file=sys.stderr)
        if run_dir is None or not (run_dir / "summary.json").exists():
            ok = False
            continue
        all_rows.extend(rows_of(run_dir))
    print("| scenario | variant | flows | success [95% CI] | main error_kind | verdict | expected |")
    print("|---|---|---|---|---|---|---|")
    for r in all_rows:
        ok = ok and r["shown"] is not False
        print(f"| {r['scenario']} | {r['variant']} | {r['flows']:,} | {pct(r['rate'])} [{pct(r['low'])}, "
              f"{pct(r['high'])}] | {r['main_error']} | {r['verdict']} | {r['expect'] or '-'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
