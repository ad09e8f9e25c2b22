"""Run folders with their reports built once per module (charts take about a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.analysis.synthetic import SyntheticVariant, demo_variants, write_synthetic_run
from harness.report import build_report


@pytest.fixture(scope="module")
def shown_run(tmp_path_factory) -> tuple[Path, int]:
    """buggy fails and fixed passes, as each expects: exit 0."""
    run_dir = write_synthetic_run(tmp_path_factory.mktemp("shown") / "run", demo_variants(), records=12_000)
    return run_dir, build_report(run_dir)


@pytest.fixture(scope="module")
def not_shown_run(tmp_path_factory) -> tuple[Path, int]:
    """fixed expects pass but loses 3% of logins under the fault: not shown, exit 1."""
    variants = [demo_variants()[0], SyntheticVariant("fixed", "pass", success=0.999, fault_success=0.9)]
    run_dir = write_synthetic_run(tmp_path_factory.mktemp("not_shown") / "run", variants, records=12_000)
    return run_dir, build_report(run_dir)
