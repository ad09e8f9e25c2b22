"""Typed models of the run folder's JSON files: manifest.json, a faults.jsonl row, summary.json, sweep.json and
ablation.json. Every writer builds one of these and every reader validates through them (docs/file-formats.md).

Versioning: each file carries `schema_version`. A file without it was written before the field existed and
reads as version 1; a version newer than the one below is refused in one line. Adding a key keeps the version
(readers ignore what they do not know, and models keep it); a key that changes meaning or disappears bumps it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from harness.errors import NewerSchema, RecordsError
from harness.files import write_atomic
from harness.records import (
    ABLATION_JSON,
    APPLY,
    FAULTS,
    LATENCY_QUANTILES,
    MANIFEST,
    REMOVE,
    STATUS_NOT_JUDGED,
    SUMMARY,
    SWEEP_JSON,
    Verdict,
)


def _verdict_word(value: Any) -> Any:
    """Files written before the vocabulary was one said "undecided" where a verdict was inconclusive."""
    return Verdict.INCONCLUSIVE.value if value == "undecided" else value


def _as_text_map(value: Any) -> Any:
    """Flags are recorded as text; hand-made files may hold JSON scalars, read as Python spells them."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return value


def _as_list(value: Any) -> Any:
    """`[target] latency` may be one table or a list of them."""
    return [value] if isinstance(value, dict) else value


VerdictValue = Literal["pass", "fail", "inconclusive", "not judged"]
VerdictWord = Annotated[VerdictValue, BeforeValidator(_verdict_word)]
Expectation = Literal["pass", "fail"]   # what a variant declares it is expected to show
# Literals for the schemas and mypy; the words themselves are Verdict's, spelled once.
assert set(VerdictValue.__args__) == set(Verdict)  # type: ignore[attr-defined]
assert set(Expectation.__args__) == {Verdict.PASS, Verdict.FAIL}  # type: ignore[attr-defined]
TextMap = Annotated[dict[str, str], BeforeValidator(_as_text_map)]
RunStatus = Literal["running", "completed", "interrupted", "failed"]
VariantStatus = Literal["pending", "starting", "running", "completed", "failed", "interrupted", "unknown",
                        "not_judged"]
assert STATUS_NOT_JUDGED in VariantStatus.__args__  # type: ignore[attr-defined]  # one word, two places


class Block(BaseModel):
    """A part of a file: keys this harness does not know are kept (a newer writer may add some)."""

    model_config = ConfigDict(extra="allow")


class RunFile(Block):
    """A whole file: its name in the folder and the schema version this harness reads and writes."""

    FILE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    schema_version: int = Field(1, description="1 when absent (files written before the field existed)")


# manifest.json ------------------------------------------------------------------------------------------


class ScenarioInfo(Block):
    name: str = ""
    file: str | None = None
    description: str = ""
    resolved: dict[str, Any] | None = Field(None, description="the scenario as it ran, every default filled in")


class Target(Block):
    metric: str = Field("login", description="the flow whose success rate is judged")
    minimum: float = Field(0.99, description="success-rate target, a fraction")
    confidence: float = Field(0.95, description="confidence of every interval")


class LatencyObjective(Block):
    """`[target] latency`: quantile bounds (ms) for a flow (default: the judged one) or a request, over a phase."""

    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    flow: str | None = None
    request: str | None = None
    phase: str = Field("all", description='"all", "no_fault", "faults", "before", "after" or "stage:<name>"')


assert set(LATENCY_QUANTILES) <= set(LatencyObjective.model_fields)  # objectives read each bound by its key


class ManifestTarget(Target):
    latency: Annotated[list[LatencyObjective], BeforeValidator(_as_list)] = Field(default_factory=list)


class ServiceEntry(Block):
    kind: Literal["reference", "command", "url"] = "reference"
    command: list[str] | str | None = None
    cwd: str | None = None
    env: dict[str, str | None] = Field(default_factory=dict)
    url: str | None = None


class ProcessEntry(Block):
    name: str
    pid: int


class StopBlock(Block):
    """`harness run --until-decided`: when and why a variant's load stopped, on the counts seen live."""

    at_s: float
    reason: str
    method: str = ""
    low: float | None = None
    high: float | None = None
    flows: int = 0
    successes: int = 0
    min_duration_s: float | None = None
    max_duration_s: float | None = None


class VariantEntry(Block):
    service: ServiceEntry | None = None
    profile: str | None = None
    flags: TextMap = Field(default_factory=dict)
    client: dict[str, Any] = Field(default_factory=dict)
    expect: Expectation | None = None
    description: str | None = None
    t0: float | None = Field(None, description="epoch seconds when the variant's load started")
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float | None = Field(None, description="the analysed time axis: planned, or until an early stop")
    status: VariantStatus = "unknown"
    processes: list[ProcessEntry] = Field(default_factory=list)
    stopped: StopBlock | None = None
    error: str | None = Field(None, description="why the variant stopped early (a fault that was not applied)")


class PlannedFault(Block):
    index: int
    label: str = ""
    proxy: str = ""
    at_s: float = 0.0
    duration_s: float | None = None
    type: str = Field("", description='toxic type, "down", or a process action ("failover", "pause")')
    stream: str | None = None
    toxicity: float = 1.0
    attributes: dict[str, Any] = Field(default_factory=dict)


class FaultProxyEntry(Block):
    kind: Literal["embedded", "binary", "url"] = "embedded"
    url: str | None = None


class StageEntry(Block):
    """One `[[load.stages]]` stage as the scenario resolved it: the load moves to its level over `duration`."""

    duration: float = Field(gt=0, description="seconds")
    users: int | None = Field(None, ge=0, description="closed model: the level this stage ends at")
    arrival_rate: float | None = Field(None, ge=0, description="open model: flows per second it ends at")
    name: str = ""


class LoadEntry(Block):
    users: int | None = None
    spawn_rate: float | None = None
    duration_s: float | None = None
    workers: int = 0
    classes: dict[str, Any] = Field(default_factory=dict)
    arrival_rate: float | None = Field(None, description="open model only: flows per second")
    arrivals: str | None = None
    max_in_flight: int | None = None
    arrival_timeout_s: float | None = None
    stages: list[StageEntry] = Field(default_factory=list, description="`[[load.stages]]` as resolved")


class WatchdogEntry(Block):
    pid: int


class Manifest(RunFile):
    """manifest.json: what ran, how, and how each variant went; rewritten whenever something changes."""

    FILE: ClassVar[str] = MANIFEST
    harness_version: str = ""
    scenario: ScenarioInfo = Field(default_factory=ScenarioInfo)
    target: ManifestTarget = Field(default_factory=ManifestTarget)
    variant_order: list[str] = Field(default_factory=list)
    variants: dict[str, VariantEntry] = Field(default_factory=dict)
    faults: list[PlannedFault] = Field(default_factory=list, description="the planned fault timeline")
    network_profile: dict[str, Any] = Field(default_factory=dict)
    fault_proxy: FaultProxyEntry = Field(default_factory=FaultProxyEntry)
    load: LoadEntry = Field(default_factory=LoadEntry)
    seed: int | None = None
    command: list[str] = Field(default_factory=list)
    started_at: str | None = None
    ended_at: str | None = None
    status: RunStatus | None = None
    warnings: list[str] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict)
    watchdog: WatchdogEntry | None = None
    rollback_failed: list[str] = Field(default_factory=list, description="one line per fault proxy left dirty")
    error: str | None = None


# faults.jsonl --------------------------------------------------------------------------------------------


class FaultAction(RunFile):
    """One line of faults.jsonl: a fault applied or removed, in the order they happened."""

    FILE: ClassVar[str] = FAULTS
    ts: float = Field(description="epoch seconds")
    t: float | None = Field(None, description="seconds since the variant's load started; older files lack it")
    variant: str
    fault: int = Field(description="index of the fault in the scenario's [[faults]] list")
    label: str = ""
    proxy: str = ""
    action: Literal["apply", "remove"]
    toxic: str | None = Field(None, description="toxic name; the node acted on for a process fault; null: down")
    type: str = ""
    attributes: dict[str, Any] = Field(default_factory=dict, description="with stream and toxicity; {} for down")
    rollback: bool = Field(False, description="the removal was the run's clean-up, not the timeline")


assert {APPLY, REMOVE} == set(FaultAction.model_fields["action"].annotation.__args__)  # type: ignore[union-attr]


# summary.json --------------------------------------------------------------------------------------------


class RateBlock(Block):
    flows: int = 0
    successes: int = 0
    failures: int = 0
    success_rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None


class FinalDecision(Block):
    state: VerdictWord
    low: float | None = None
    high: float | None = None
    flows: int = 0
    successes: int = 0
    method: str = ""


class SummaryStop(StopBlock):
    final: FinalDecision | None = Field(None, description="the sequential verdict on every recorded flow")


class Correlation(Block):
    ci_low: float | None = None
    ci_high: float | None = None
    design_effect: float | None = None
    effective_flows: float | None = None
    block_s: float | None = None
    blocks: int | None = None
    bursts: int | None = None
    longest_burst_s: float | None = None
    width_ratio: float | None = None
    method: str = ""


class ErrorText(Block):
    error: str
    count: int


class LatencyRow(Block):
    kind: str
    name: str
    count: int = 0
    failures: int = 0
    success_rate: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    mean_ms: float | None = None


class PhaseEntry(Block):
    name: str = Field(description='"before", "fault N", "after" or "stage:<name>"')
    label: str = ""
    fault: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    target_flow: RateBlock = Field(default_factory=RateBlock)
    failures_by_kind: dict[str, int] = Field(default_factory=dict)
    requests: int = 0
    requests_per_s: float | None = None
    p95_ms: float | None = None


class FaultWindowEntry(Block):
    fault: int
    label: str = ""
    type: str = ""
    start_s: float | None = None
    end_s: float | None = None
    removed: bool = False
    rolled_back: bool = Field(False, description="removed by the run's clean-up")


class RecoveryEntry(Block):
    fault: int
    label: str = ""
    ended_s: float | None = None
    recovered: bool = False
    recovery_s: float | None = None
    recovered_at_s: float | None = None
    note: str | None = None


class ObjectiveEntry(Block):
    label: str = ""
    quantile: float
    limit_ms: float
    kind: str = ""
    name: str = ""
    phase: str = "all"
    samples: int = 0
    value_ms: float | None = None
    ci_low_ms: float | None = None
    ci_high_ms: float | None = None
    confidence: float | None = None
    verdict: VerdictWord
    design_effect: float | None = None
    method: str = ""


class ArrivalsEntry(Block):
    rate: float
    offered: int = 0
    started: int = 0
    not_started: int = 0
    not_started_per_s: dict[str, int] = Field(default_factory=dict)
    max_in_flight: int = 0


class FailoverEntry(Block):
    sessions_created: int = 0
    sessions_checked: int = 0
    sessions_lost: int = 0
    lost_examples: list[str] = Field(default_factory=list)
    failover_at_s: float | None = None
    recovered: bool = False
    recovery_s: float | None = None
    max_lost_sessions: int | None = None
    within_target: bool | None = None


class VariantSummary(Block):
    expect: Expectation | None = None
    verdict: VerdictWord = Verdict.INCONCLUSIVE.value
    shown: bool | None = Field(None, description="the verdict equals expect; null without an expectation")
    status: str = "unknown"
    verdict_method: Literal["correlation-aware", "sequential"] = "correlation-aware"
    stopped: SummaryStop | None = None
    judged_by: str = ""
    wilson: RateBlock | None = None
    correlation: Correlation | None = None
    profile: str | None = None
    flags: TextMap = Field(default_factory=dict)
    duration_s: float | None = Field(None, description="the analysed time axis")
    target_flow: RateBlock = Field(default_factory=RateBlock, description="the judged, correlation-aware interval")
    failures_by_kind: dict[str, int] = Field(default_factory=dict)
    top_errors: dict[str, list[ErrorText]] = Field(default_factory=dict)
    requests: int = 0
    requests_per_s: float | None = None
    latency: list[LatencyRow] = Field(default_factory=list)
    phases: list[PhaseEntry] = Field(default_factory=list)
    fault_windows: list[FaultWindowEntry] = Field(default_factory=list)
    recovery: list[RecoveryEntry] = Field(default_factory=list)
    timeline: dict[str, list[int | float | None]] = Field(default_factory=dict,
                                                         description="columnar, a value a second")
    rate_verdict: VerdictWord | None = None
    objectives: list[ObjectiveEntry] = Field(default_factory=list)
    arrivals: ArrivalsEntry | None = None
    failover: FailoverEntry | None = None


class Comparison(Block):
    before: str
    after: str
    failure_rate_before: float | None = None
    failure_rate_after: float | None = None
    difference: float | None = Field(None, description="failure rate after minus before")
    diff_ci_low: float | None = None
    diff_ci_high: float | None = None
    p_value: float | None = None
    significant: bool | None = None
    failure_ratio: float | None = Field(None, description="failure rate before / after")
    method: str = ""


class ReplicateEntry(Block):
    base: str
    expect: Expectation | None = None
    replicates: list[str] = Field(default_factory=list)
    rates: list[float | None] = Field(default_factory=list)
    verdicts: list[VerdictWord] = Field(default_factory=list)
    mean: float | None = None
    sd: float | None = None
    spread: float | None = None
    min: float | None = None
    max: float | None = None
    verdict: VerdictWord
    shown: bool | None = None
    rule: str = "unanimous"


class Summary(RunFile):
    """summary.json: the analysis of one run folder, for machines."""

    FILE: ClassVar[str] = SUMMARY
    harness_version: str = ""
    generated_at: str = ""
    scenario: ScenarioInfo = Field(default_factory=ScenarioInfo)
    run_status: RunStatus | None = None
    seed: int | None = None
    target: Target = Field(default_factory=Target)
    all_shown: bool = False
    exit_code: int = 1
    problems: list[str] = Field(default_factory=list, description="one line per problem met while reading")
    variant_order: list[str] = Field(default_factory=list)
    variants: dict[str, VariantSummary] = Field(default_factory=dict)
    comparisons: list[Comparison] = Field(default_factory=list)
    replicates: dict[str, ReplicateEntry] = Field(default_factory=dict)


# sweep.json ----------------------------------------------------------------------------------------------


class SweepLevel(Block):
    """One variant at one level of the sweep, from that level's summary.json."""

    variant: str
    latency_ms: int
    jitter_ms: int | None = None
    users: int | None = None
    arrival_rate: int | None = None
    flows: int | None = None
    success_rate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    verdict: VerdictWord | None = None
    main_error: str | None = None
    run: str = Field(description="the level's run folder, inside the sweep folder")


class BreakingPoint(Block):
    variant: str
    users: int | None = None
    breaks_at_ms: int | None = Field(None, description="lowest latency whose verdict is fail")
    passes_up_to_ms: int | None = None
    inconclusive_ms: list[int] = Field(default_factory=list, validation_alias=AliasChoices(
        "inconclusive_ms", "undecided_ms"), description="levels whose interval straddles the target")


class LoadBreakingPoint(Block):
    variant: str
    latency_ms: int
    axis: Literal["users", "arrival_rate"]
    breaks_at: int | None = None
    passes_up_to: int | None = None
    inconclusive: list[int] = Field(default_factory=list, validation_alias=AliasChoices(
        "inconclusive", "undecided"))


class SweepTarget(ManifestTarget):
    max_lost_sessions: int | None = None


class Sweep(RunFile):
    """sweep.json: every level's verdicts and where each variant breaks."""

    FILE: ClassVar[str] = SWEEP_JSON
    scenario: str
    parameter: str = "redis latency (ms)"
    target: SweepTarget = Field(default_factory=SweepTarget)
    levels: list[SweepLevel] = Field(default_factory=list)
    breaking_points: dict[str, BreakingPoint] = Field(default_factory=dict)
    load_breaking_points: dict[str, LoadBreakingPoint] = Field(default_factory=dict)


# ablation.json -------------------------------------------------------------------------------------------


class Effect(Block):
    """One ablation step: the target success rate's change against its base, with a Newcombe interval."""

    flag: str
    direction: Literal["on", "off"] = Field(description="on: turned on from buggy; off: turned off from fixed")
    variant: str
    base: str
    base_rate: float | None = None
    rate: float | None = None
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    significant: bool | None = None


class Ablation(RunFile):
    """ablation.json: each fix flag's effect on the target flow's success rate."""

    FILE: ClassVar[str] = ABLATION_JSON
    metric: str
    confidence: float
    effects: list[Effect] = Field(default_factory=list)


RUN_FILES: tuple[type[RunFile], ...] = (Manifest, FaultAction, Summary, Sweep, Ablation)

# Reading and writing -------------------------------------------------------------------------------------

M = TypeVar("M", bound=RunFile)


def validated(model: type[M], raw: Any, where: str) -> M:
    """RAW as MODEL, or RecordsError in one line naming WHERE and the first field that does not validate
    (NewerSchema when a newer harness wrote it)."""
    if not isinstance(raw, dict):
        raise RecordsError(f"{where}: not a JSON object")
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RecordsError(f"{where}: schema_version {version!r} is not one this harness reads "
                           f"(it must be an integer from 1 to {model.VERSION})")
    if version > model.VERSION:  # a newer harness wrote it: reading it as defaults would misreport the run
        raise NewerSchema(f"{where}: schema_version {version!r} is not one this harness reads "
                          f"(it reads {model.FILE} version {model.VERSION}); use a newer harness")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise RecordsError(f"{where}: {first_problem(exc)}") from None


def first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"]) or "(top level)"
    got = repr(error.get("input"))
    got = got if len(got) <= 40 else got[:37] + "..."
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"field {field}: {error['msg']}, got {got}{more}"


def read_run_file(model: type[M], path: Path) -> M:
    """The file at PATH as MODEL; RecordsError (one line naming the file) when missing, unreadable or invalid."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RecordsError(f"{path}: missing") from None
    except (OSError, ValueError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RecordsError(f"{path}: not readable JSON ({detail})") from None
    return validated(model, raw, str(path))


def dump(model: RunFile) -> dict[str, Any]:
    """The JSON form of a file, its schema_version always the one this harness writes."""
    return {**model.model_dump(mode="json", by_alias=True), "schema_version": type(model).VERSION}


def write_run_file(path: Path, model: RunFile) -> None:
    """Atomically, so a reader, or a run killed mid-write, never sees half a file."""
    write_atomic(Path(path), json.dumps(dump(model), indent=2) + "\n")


def fault_line(action: FaultAction) -> str:
    """One line of faults.jsonl."""
    return json.dumps(dump(action)) + "\n"
