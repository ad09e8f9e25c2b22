"""Analysis of run records: success rates with Wilson intervals, verdicts, latencies, timelines, recovery.

The public surface; the functions take DataFrames of records, so live progress, sweeps and early
stopping can reuse them on any slice.
"""

from harness.analysis.latency import latency_table
from harness.analysis.phases import FaultWindow, Phase, fault_windows, phases_of
from harness.analysis.run_analysis import (
    PairResult,
    PhaseResult,
    RunAnalysis,
    VariantResult,
    analyse_run,
    target_flows,
)
from harness.analysis.run_folder import FaultEvent, RunRecords, VariantInfo, load_run
from harness.analysis.stats import (
    RateComparison,
    RateEstimate,
    Verdict,
    compare_rates,
    rate_from_counts,
    rates_by,
    success_rate,
    verdict,
    wilson_interval,
)
from harness.analysis.timeline import Recovery, per_second, recoveries
from harness.records.files import Target

__all__ = [
    "FaultEvent", "FaultWindow", "PairResult", "Phase", "PhaseResult", "RateComparison", "RateEstimate", "Recovery",
    "RunAnalysis", "RunRecords", "Target", "VariantInfo", "VariantResult", "Verdict", "analyse_run", "compare_rates",
    "fault_windows", "latency_table", "load_run", "per_second", "phases_of", "rate_from_counts", "rates_by",
    "recoveries", "success_rate", "target_flows", "verdict", "wilson_interval",
]
