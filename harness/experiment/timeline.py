"""Apply a scenario's fault timeline through the fault proxy client, journal it, and always roll back."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.errors import HarnessError
from harness.records import APPLY, REMOVE
from harness.records.files import FaultAction, fault_line
from harness.scenario import Fault, NetworkProfile
from harness.stack.fault_client import FaultProxyClient, FaultProxyError


def apply_network_profile(client: FaultProxyClient, proxy: str, profile: NetworkProfile) -> list[str]:
    """The mobile network profile as toxics on both directions of the edge proxy; returns their names."""
    names = []
    for stream in ("upstream", "downstream"):
        if profile.latency_ms or profile.jitter_ms:
            name = f"network_latency_{stream}"
            client.add_toxic(proxy, name, "latency", stream, 1.0,
                             {"latency": profile.latency_ms, "jitter": profile.jitter_ms})
            names.append(name)
        if profile.rate_kbps(stream):
            name = f"network_bandwidth_{stream}"
            client.add_toxic(proxy, name, "bandwidth", stream, 1.0, {"rate": profile.rate_kbps(stream)})
            names.append(name)
    return names


@dataclass
class FaultJournal:
    """faults.jsonl: every action applied or rolled back, one JSON object per line, written at once."""

    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        # An empty journal says "nothing was applied"; only a missing one makes the report fall back on the plan.
        self.path.touch(exist_ok=True)

    def write(self, action: FaultAction) -> None:
        line = fault_line(action)
        with self._lock, open(self.path, "a") as out:
            out.write(line)
            out.flush()


@dataclass(frozen=True)
class Step:
    """One action of the timeline: at `at_s` after t0, apply or remove fault `index`."""

    at_s: float
    action: str  # APPLY | REMOVE (harness.records)
    index: int


def timeline_steps(faults: list[Fault], end_s: float | None = None) -> list[Step]:
    """Applies and removals in time order; a removal sorts before an apply at the same instant."""
    steps = []
    for index, fault in enumerate(faults):
        steps.append(Step(fault.at, APPLY, index))
        if fault.duration is not None:
            # Rounded so that "at 0.2 s for 0.4 s" ends at the same instant as a fault "at 0.6 s" starts.
            steps.append(Step(round(fault.at + fault.duration, 6), REMOVE, index))
    steps = [s for s in steps if end_s is None or s.at_s < end_s]
    return sorted(steps, key=lambda s: (s.at_s, s.action != REMOVE, s.index))


def toxic_name(index: int, fault: Fault) -> str | None:
    """Unique per fault, so two faults of one type on one proxy never collide."""
    if fault.down or fault.action:
        return None
    return fault.name or f"f{index}_{fault.type}_{fault.stream}"


class ProcessFaults(Protocol):
    """What runs `failover` and `pause` faults on Redis processes (harness.stack.sentinel.SentinelTopology)."""

    def apply(self, action: str) -> str: ...

    def undo(self, action: str) -> str | None: ...


@dataclass
class FaultTimeline:
    """Runs the timeline of one variant in a thread, in step with its load; rollback() undoes what is left."""

    client: FaultProxyClient
    faults: list[Fault]
    variant: str
    journal: FaultJournal
    processes: ProcessFaults | None = None
    active: dict[int, Fault] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    failed: str | None = None    # the fault that could not be applied, and the fault proxy's answer
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    t0: float = 0.0

    def start(self, t0: float, end_s: float | None = None) -> None:
        self.t0 = t0
        steps = timeline_steps(self.faults, end_s)
        self._thread = threading.Thread(target=self._run, args=(steps,), name=f"faults-{self.variant}", daemon=True)
        self._thread.start()

    def _run(self, steps: list[Step]) -> None:
        for step in steps:
            if self._stop.wait(max(0.0, self.t0 + step.at_s - time.time())):
                return
            try:
                self._do(step.index, step.action, rollback=False)
            except HarnessError as exc:
                if step.action == APPLY:
                    # Judging the variant without its fault would be a verdict on something that never
                    # happened: the timeline stops here and the variant is stopped, not judged.
                    fault = self.faults[step.index]
                    self.failed = f"fault {step.index} ({fault.label}) could not be applied: {exc}"
                    return
                self.errors.append(str(exc))

    def _do(self, index: int, action: str, rollback: bool) -> None:
        fault = self.faults[index]
        name = toxic_name(index, fault)
        with self._lock:
            if fault.action:
                name = self._process_fault(index, fault, action)
                if name is None:
                    return
            elif action == APPLY:
                if fault.down:
                    self.client.set_enabled(fault.proxy, False)
                else:
                    self.client.add_toxic(fault.proxy, str(name), str(fault.type), fault.stream, fault.toxicity,
                                          dict(fault.attributes))
                self.active[index] = fault
            else:
                if index not in self.active:
                    return
                if fault.down:
                    self.client.set_enabled(fault.proxy, True)
                else:
                    self.client.remove_toxic(fault.proxy, str(name))
                del self.active[index]
            now = time.time()
            self.journal.write(FaultAction(
                ts=now, t=now - self.t0, variant=self.variant, fault=index, label=fault.label, proxy=fault.proxy,
                action=action, toxic=name, type="down" if fault.down else fault.action or fault.type,
                attributes={} if fault.down or fault.action else {
                    **fault.attributes, "stream": fault.stream, "toxicity": fault.toxicity},
                rollback=rollback))

    def _process_fault(self, index: int, fault: Fault, action: str) -> str | None:
        """Apply or end a failover/pause; returns the node it acted on (journaled as the toxic), or None."""
        if self.processes is None:
            raise FaultProxyError(f"{fault.action}: this stack has no Sentinel topology ([redis] topology)")
        assert fault.action is not None
        if action == APPLY:
            node = self.processes.apply(fault.action)
            self.active[index] = fault
            return node
        if index not in self.active:
            return None
        node = self.processes.undo(fault.action) or "none"
        del self.active[index]
        return node

    def stop(self) -> None:
        """Stop the thread; a call it has in flight ends within the client's call timeout."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.client.timeout_s + 1)

    def rollback(self) -> list[str]:
        """Stop the timeline and undo every fault still in place; returns what could not be undone.
        Call it inside `client.bounded()` to bound its total time."""
        self.stop()
        failed = []
        for index in sorted(self.active):
            try:
                self._do(index, REMOVE, rollback=True)
            except HarnessError as exc:
                failed.append(str(exc))
        return failed
