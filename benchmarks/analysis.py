"""Time `harness report` on a synthetic run folder of a million request records (target: <= 10 s, < 2 GB).

Usage: .venv/bin/python benchmarks/analysis.py [--records 1000000] [--duration 300] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.analysis.synthetic import SyntheticFault, demo_variants, write_synthetic_run

LIMIT_S, LIMIT_MB = 10.0, 2048


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load per variant")
    parser.add_argument("--keep", type=Path, help="write the run folder here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.keep or Path(tmp) / "mobile-latency-bench"
        started = time.perf_counter()
        faults = [SyntheticFault(60.0, 60.0), SyntheticFault(180.0, 30.0, "redis down", "down")]
        write_synthetic_run(run_dir, demo_variants(), records=args.records, duration_s=args.duration,
                            faults=faults, files_per_variant=4)
        print(f"generated {args.records:,} records in {time.perf_counter() - started:.1f} s: {run_dir}")
        return time_report(run_dir)


def time_report(run_dir: Path) -> int:
    harness = Path(sys.executable).with_name("harness")
    started = time.perf_counter()
    done = subprocess.run([str(harness), "report", str(run_dir)], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB
    if done.returncode not in (0, 1):
        print(done.stdout, done.stderr, sep="\n")
        return 2
    within = seconds <= LIMIT_S and peak_mb < LIMIT_MB
    print(f"harness report: {seconds:.2f} s wall, peak RSS {peak_mb:.0f} MB "
          f"({'within' if within else 'OVER'} the {LIMIT_S:.0f} s / {LIMIT_MB} MB budget)")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
