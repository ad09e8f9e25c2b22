"""`harness run`: one experiment from a scenario file to a verdict, variant by variant.

The life cycle of each variant is fixed: start a fresh stack, start the load, apply the fault
timeline in step with it, then always roll back every fault and stop every process, in a
`finally`. A first Ctrl-C (or SIGTERM) takes that clean path; a second one stops at once.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console

from harness.analysis.live_tally import LiveTally
from harness.errors import BadInput, FaultNotApplied, HarnessError, RunStopped, StackError
from harness.experiment.live import LiveProgress
from harness.experiment.manifest import ManifestFile, build_manifest, new_run_dir, proxy_kind, utc_iso
from harness.experiment.options import RunOptions, apply_overrides, check_service_targets, ensure_loopback
from harness.load.capacity import plan_descriptors
from harness.load.open_model import locust_open_model, stages_json
from harness.records import FAULTS, LOCUST_DIR, LOGS_DIR, REQUESTS_DIR, STATUS_NOT_JUDGED, Verdict
from harness.records.files import ProcessEntry, RunStatus, StopBlock, WatchdogEntry
from harness.scenario import Scenario, Variant, flag_text, load_scenario, locustfile_path, one_line

if TYPE_CHECKING:  # imported where they are used, so `harness run --help` does not load them
    from harness.analysis.block_sequence import BlockDecision
    from harness.experiment.timeline import FaultTimeline
    from harness.load.runner import LocustRun
    from harness.stack.fault_client import FaultProxyClient
    from harness.stack.stack import Stack


def _import_record_readers() -> None:
    """Import what the live tally and the report read records with before anything starts. Imported lazily
    mid-run, a Ctrl-C landing inside the first import left pandas half-initialised, and the report after the
    rollback then failed on it: exit 1 instead of 130 (tests/run/test_run_e2e.py, SIGINT test, at load 7)."""
    import pandas  # noqa: F401
    import pyarrow.compute
    import pyarrow.parquet  # noqa: F401

    from harness.analysis import block_sequence  # noqa: F401


def sentinel_settings(scenario: Scenario) -> Any:
    """[redis] topology = "sentinel" as the stack takes it; None for the single Redis."""
    redis = scenario.redis
    if redis.topology != "sentinel":
        return None
    from harness.stack.sentinel import SentinelSettings

    return SentinelSettings(replicas=redis.replicas, down_after_ms=redis.down_after_ms,
                            failover_timeout_ms=redis.failover_timeout_ms)


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise RunStopped()


@contextlib.contextmanager
def stop_signals_ignored() -> Iterator[None]:
    """Ctrl-C and SIGTERM are ignored inside the block (the fast teardown must finish, whichever came again);
    after it, the handlers in place before are back, whatever they were (a host program's, pytest's)."""
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@dataclass
class Experiment:
    """One `harness run`: the scenario, its run folder, and the variants in order."""

    options: RunOptions
    console: Console = field(default_factory=lambda: Console(stderr=True))
    run_dir: Path | None = None
    fault_proxy_processes: int = 1   # the embedded fault proxy's, as many as the edge's descriptors need
    prepared: tuple[Scenario, Path] | None = None   # prepare()'s answer: a sweep prepares every level first

    def prepare(self) -> tuple[Scenario, Path]:
        """Everything that can be wrong with the input is found here, before anything starts."""
        options = self.options
        scenario = apply_overrides(options.scenario or load_scenario(options.scenario_path), options)
        if options.fault_proxy not in ("embedded", "binary"):
            from harness.stack.stack import describe_fault_proxy

            describe_fault_proxy(options.fault_proxy)
            ensure_loopback(options.fault_proxy, "--fault-proxy", options.allow_remote)
        if options.master_bind is not None:
            ensure_loopback(options.master_bind[0], "--master-bind", options.allow_remote)
        check_service_targets(scenario, options.allow_remote)
        plan = plan_descriptors(scenario, options.workers, embedded_proxy=options.fault_proxy == "embedded")
        if plan.refusal:   # docs/load-models.md: thousands of users
            raise BadInput(f"{one_line(str(options.scenario_path))}: {plan.refusal}")
        self.fault_proxy_processes = plan.proxy_processes
        self.prepared = scenario, locustfile_path(options.scenario_path, scenario)
        return self.prepared

    def run(self) -> int:
        scenario, locustfile = self.prepared or self.prepare()
        _import_record_readers()
        run_dir = self.run_dir = new_run_dir(self.options.out, self.options.run_name or scenario.name)
        manifest = build_manifest(run_dir, scenario, self.options)
        self.console.print(f"[bold]harness run[/] {scenario.name}: variants {', '.join(scenario.variants)}, "
                           f"{scenario.load.duration:.0f} s each -> {run_dir}")
        self._say_platform_gaps(manifest)
        if self.fault_proxy_processes > 1:
            self.console.print(f"fault proxy: {self.fault_proxy_processes} processes, so that each holds its share "
                               "of the edge's connections under the open-file limit (docs/load-models.md)")
        watchdog = self._start_watchdog(run_dir, manifest)
        previous = signal.signal(signal.SIGTERM, _raise_stop)
        exit_code = 0
        try:
            exit_code = self._run_variants(scenario, locustfile, run_dir, manifest)
        finally:
            signal.signal(signal.SIGTERM, previous)
            if watchdog is not None:
                watchdog.stop()
        if exit_code and not any((run_dir / REQUESTS_DIR).glob("*.parquet")):
            return exit_code  # nothing ran (the stack did not start): the error line says it all
        report_code = self._report(run_dir)
        return exit_code or report_code

    def _say_platform_gaps(self, manifest: ManifestFile) -> None:
        """Once, at start: what this platform cannot guarantee that Linux does (README, Supported platforms)."""
        from harness.stack.procs import platform_gaps

        for gap in platform_gaps():
            manifest.data.warnings.append(gap)
            self.console.print(f"[yellow]note[/]: {gap}")

    def _start_watchdog(self, run_dir: Path, manifest: ManifestFile) -> Any:
        """An external fault proxy outlives this process: if it dies without rolling back, a watchdog does."""
        if proxy_kind(self.options.fault_proxy) != "url":
            return None  # our own fault proxy dies with us (PDEATHSIG), and its faults with it
        from harness.experiment.watchdog import start_watchdog

        watchdog = start_watchdog(self.options.fault_proxy, run_dir)
        manifest.data.watchdog = WatchdogEntry(pid=watchdog.pid)
        manifest.save()
        return watchdog

    def _run_variants(self, scenario: Scenario, locustfile: Path, run_dir: Path, manifest: ManifestFile) -> int:
        status: RunStatus = "failed"  # until the loop ends normally: an unexpected error never reads "completed"
        exit_code = 0
        try:
            for name, variant in scenario.variants.items():
                if manifest.data.rollback_failed:
                    break  # faults may still be in place on that fault proxy: no later variant can be trusted
                try:
                    VariantRun(name=name, variant=variant, scenario=scenario, locustfile=locustfile,
                               run_dir=run_dir, manifest=manifest, options=self.options,
                               console=self.console, fault_proxy_processes=self.fault_proxy_processes).execute()
                except FaultNotApplied as exc:
                    # That variant is stopped and not judged; the others still run (exit 1 at the end).
                    exit_code = exc.exit_code
                    manifest.data.warnings.append(str(exc))
                    self.console.print(f"harness: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
            status = "completed"
        except KeyboardInterrupt:
            status, exit_code = "interrupted", 130
        except RunStopped as exc:
            status, exit_code = "interrupted", exc.exit_code
        except HarnessError as exc:
            status, exit_code = "failed", exc.exit_code
            manifest.data.error = str(exc)
            self.console.print(f"harness: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        finally:
            if manifest.data.rollback_failed:  # docs/safety.md: exit 3 whatever ended the run, interrupts too
                status = "interrupted" if status == "interrupted" else "failed"
                exit_code = StackError.exit_code
                manifest.data.error = manifest.data.error or manifest.data.rollback_failed[0]
            manifest.data.status, manifest.data.ended_at = status, utc_iso()
            manifest.save()
        if status == "interrupted":
            done = ("faults rolled back" if not manifest.data.rollback_failed
                    else "faults NOT all rolled back (see above)")
            self.console.print(f"[yellow]interrupted[/]: {done}, processes stopped; records so far in {run_dir}")
        return exit_code

    def _report(self, run_dir: Path) -> int:
        """Analysis and reports for what ran; its exit code is the verdicts' (0 all as expected)."""
        from harness.report import build_report

        try:
            return build_report(run_dir)
        except KeyboardInterrupt:
            self.console.print(f"report skipped; the records are kept: harness report {run_dir}")
            return 130


@dataclass
class VariantRun:
    """One variant: fresh stack, load, fault timeline; always rolled back and stopped."""

    name: str
    variant: Variant
    scenario: Scenario
    locustfile: Path
    run_dir: Path
    manifest: ManifestFile
    options: RunOptions
    console: Console
    fault_proxy_processes: int = 1
    stack: Stack | None = None
    locust: LocustRun | None = None
    timeline: FaultTimeline | None = None

    def execute(self) -> None:
        entry = self.manifest.variant(self.name)
        entry.status = "starting"
        self.manifest.save()
        try:
            self._start_stack()
            t0 = self._start_load()
            entry.t0, entry.started_at, entry.status, entry.processes = t0, utc_iso(t0), "running", self._processes()
            self.manifest.save()
            self._start_faults(t0)
            self._watch(t0)
            entry.status = "completed"
        except BaseException as exc:
            entry.status = "failed" if isinstance(exc, HarnessError) else "interrupted"
            if isinstance(exc, FaultNotApplied):
                entry.status, entry.error = STATUS_NOT_JUDGED, str(exc)
            if isinstance(exc, KeyboardInterrupt | RunStopped):
                self.console.print("[yellow]stopping[/]: rolling back faults and stopping processes "
                                   "(Ctrl-C again to stop at once)")
            raise
        finally:
            try:
                self._teardown()
            finally:  # a teardown cut short (a second Ctrl-C) still records when the variant ended
                entry.ended_at = utc_iso()
                self.manifest.save()

    @property
    def log_dir(self) -> Path:
        return self.run_dir / LOGS_DIR / self.name

    # The steps after _start_stack (and _start_load) use these: None there would be a bug in the order.
    @property
    def _live_stack(self) -> Stack:
        assert self.stack is not None
        return self.stack

    @property
    def _live_locust(self) -> LocustRun:
        assert self.locust is not None
        return self.locust

    @property
    def _fault_client(self) -> FaultProxyClient:
        client = self._live_stack.client
        assert client is not None  # Stack.start() connects it
        return client

    def _processes(self) -> list[ProcessEntry]:
        """Every process this variant started, by name and PID (for tests, `harness down` and people)."""
        procs = [*(self.stack.processes() if self.stack else []), *(self.locust.processes if self.locust else [])]
        return [ProcessEntry(name=p.name, pid=p.pid) for p in procs]

    def _start_stack(self) -> None:
        from harness.experiment.watchdog import FAULT_PROXY_STATE
        from harness.stack.service import service_settings
        from harness.stack.stack import Stack, StackSpec

        scenario = self.scenario
        spec = StackSpec(log_dir=self.log_dir, fault_proxy=self.options.fault_proxy,
                         fault_proxy_processes=self.fault_proxy_processes,
                         profile=self.variant.profile, flags={k: flag_text(v) for k, v in self.variant.flags.items()},
                         service_users=scenario.service.users, service_workers=scenario.service.workers,
                         with_edge=scenario.uses_edge(), seed=scenario.load.seed,
                         state_file=self.run_dir / FAULT_PROXY_STATE,  # read by the watchdog after a crash
                         variant=self.name, run_dir=self.run_dir, redis_upstream=scenario.redis.upstream,
                         redis_listen=scenario.redis.listen,
                         **service_settings(scenario.service_for(self.name), self.options.scenario_path.parent),
                         sentinel=sentinel_settings(scenario))
        self.stack = Stack(spec).start()   # a stack that fails to start stops what it started, within the bound
        self.manifest.data.fault_proxy.url = self.stack.fault_proxy_url
        service = self.manifest.variant(self.name).service
        if service is not None:
            service.url = self.stack.service_url
        if scenario.uses_edge():
            from harness.experiment.timeline import apply_network_profile

            apply_network_profile(self._fault_client, "edge", scenario.load.mobile_network)

    def _start_load(self) -> float:
        from harness.load.runner import LoadPlan, LocustRun

        load, options = self.scenario.load, self.options
        plan = LoadPlan(
            locustfile=self.locustfile, host=self._live_stack.service_url, edge_host=self._live_stack.edge_url,
            users=load.users, spawn_rate=load.spawn_rate, duration_s=load.duration, variant=self.name,
            records_dir=self.run_dir / REQUESTS_DIR, started_file=self.log_dir / "started.json",
            csv_prefix=self.run_dir / LOCUST_DIR / self.name, log_dir=self.log_dir,
            classes={k: c.model_dump(mode="json") for k, c in load.classes.items()},
            client_flags=dict(self.variant.client), options=dict(load.options), seed=load.seed,
            users_in_service=self.scenario.service.users, workers=options.workers,
            master_bind=options.master_bind, expect_workers=options.expect_workers,
            flows=load.flows_spec(options.expect_workers or options.workers),
            open_model=locust_open_model(load, options.expect_workers or options.workers, self.scenario.target.metric),
            stages=stages_json(load))
        self.locust = LocustRun(plan)  # held before it starts: a stop mid-start still stops what did start
        self.locust.start()
        return self.locust.wait_started()

    def _start_faults(self, t0: float) -> None:
        from harness.experiment.timeline import FaultJournal, FaultTimeline

        self.timeline = FaultTimeline(self._fault_client, list(self.scenario.faults), self.name,
                                      FaultJournal(self.run_dir / FAULTS), processes=self._live_stack.topology)
        self.timeline.start(t0, end_s=self.scenario.load.duration)

    def _watch(self, t0: float) -> None:
        from harness.load.runner import STOP_TIMEOUT_S

        duration = self.scenario.load.duration
        tally = LiveTally(self.run_dir / REQUESTS_DIR, self.name, self.scenario.target.metric)
        with LiveProgress(self.console, self.name, duration) as progress:
            while self._live_locust.alive():
                elapsed = time.time() - t0
                if elapsed > duration + STOP_TIMEOUT_S + 30:
                    self._warn(f"{self.name}: Locust did not stop on time; stopping it")
                    break
                tally.update()
                progress.show(elapsed, tally)
                if self._stop_if_decided(tally, elapsed):
                    break
                self._raise_if_fault_failed()
                time.sleep(0.5)
            tally.update()
            progress.show(time.time() - t0, tally)  # less than the duration when --until-decided stopped it early
        if self.timeline is not None:
            self.timeline.stop()  # an apply still in flight as Locust exits ends here (or times out)...
        self._raise_if_fault_failed()  # ...and one that failed late makes the variant not judged (DESIGN.md)
        if self.options.until_decided and self.manifest.variant(self.name).stopped is None:
            self._record_stop(duration, "max duration", self._decide(tally))
        for error in self.timeline.errors if self.timeline else []:
            self._warn(f"{self.name}: fault timeline: {error}")

    def _raise_if_fault_failed(self) -> None:
        failed = self.timeline.failed if self.timeline is not None else None
        if failed is not None:
            raise FaultNotApplied(one_line(f"{self.name}: not judged: {failed}"))

    def _stop_if_decided(self, tally: LiveTally, elapsed: float) -> bool:
        """--until-decided: past the minimum duration, stop the load as soon as the confidence sequence decides."""
        if not self.options.until_decided or elapsed < self.options.min_duration_s:
            return False
        decision = self._decide(tally)
        if decision.state != Verdict.FAIL:  # under bursts only a fail is safe to stop on; a pass waits for the end
            return False
        self._record_stop(elapsed, f"decided: {decision.state}", decision)
        self.manifest.variant(self.name).duration_s = round(elapsed, 3)  # the analysis' time axis ends here
        self.manifest.save()
        if self.timeline is not None:
            self.timeline.stop()  # the remaining fault steps are skipped; teardown rolls back what is in place
        self._live_locust.stop()  # SIGTERM: Locust stops its users, flushes the records and exits
        return True

    def _decide(self, tally: LiveTally) -> BlockDecision:
        from harness.analysis.block_sequence import decide_blocks

        target, counts = self.scenario.target, tally.by_second
        return decide_blocks(counts.get("flows", []), counts.get("successes", []), target.minimum,
                             target.confidence, self.scenario.load.duration)

    def _record_stop(self, at_s: float, reason: str, decision: BlockDecision) -> None:
        """Manifest `stopped`: when and why, on the live counts; `harness report` re-decides on every flow."""
        self.manifest.variant(self.name).stopped = StopBlock(
            at_s=round(at_s, 3), reason=reason, method=decision.method, low=decision.low, high=decision.high,
            flows=decision.n, successes=decision.successes, min_duration_s=self.options.min_duration_s,
            max_duration_s=self.scenario.load.duration)
        self.manifest.save()
        self.console.print(f"{self.name}: {reason} at {at_s:.0f} s on {decision.n:,} flows, "
                           f"confidence sequence [{decision.low:.4f}, {decision.high:.4f}]")

    def _warn(self, message: str) -> None:
        self.manifest.data.warnings.append(message)
        self.console.print(f"[yellow]warning[/]: {message}")

    def _teardown(self) -> None:
        """Every fault proxy call in here waits its timeout at most, all of them together ROLLBACK_BOUND_S: a
        Ctrl-C during the rollback finishes it fast, on what is left of the same bound."""
        from harness.stack.fault_client import ROLLBACK_BOUND_S

        client = self.stack.client if self.stack is not None else None
        with client.bounded(ROLLBACK_BOUND_S) if client is not None else contextlib.nullcontext():
            try:
                self._rollback_and_stop(fast=False)
            except (KeyboardInterrupt, RunStopped):
                with stop_signals_ignored():
                    self._rollback_and_stop(fast=True)
                raise

    def _rollback_and_stop(self, fast: bool) -> None:
        """Faults first (while the proxy still runs), then Locust (it flushes records), then the stack."""
        failures: list[str] = []
        if self.timeline is not None:
            failures += self.timeline.rollback()
        if self.locust is not None:
            self.locust.kill() if fast else self.locust.stop()
        if self.stack is not None:
            failures += self.stack.stop(fast=fast)
        if failures:
            self._report_rollback_failure(failures)

    def _report_rollback_failure(self, failures: list[str]) -> None:
        """One line: what was left in place and the command that clears it (an embedded proxy took it along)."""
        from harness.stack.fault_client import left_undone

        url = self._live_stack.fault_proxy_url
        if self._live_stack.fault_proxy_process is not None:
            self._warn(f"{self.name}: rollback: {failures[0]} (the fault proxy was stopped with its faults)")
            return
        line = one_line(f"{self.name}: could not roll back at {url}: {left_undone(url, failures)}")
        self.manifest.data.rollback_failed.append(line)
        self.manifest.data.warnings.append(line)
        self.console.print(f"harness: {line}", style="red", markup=False, highlight=False, soft_wrap=True)
