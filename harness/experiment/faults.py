"""Apply a scenario's fault timeline through the Toxiproxy HTTP API, journal it, and always roll back.

Talks to any Toxiproxy-compatible server (the embedded one, `toxiproxy-server`, or one from
docker-compose) over its HTTP API; nothing here knows which one it is. The harness's own calls go
through a small httpx client rather than toxiproxy-python: that client sets no timeout on any call
and keeps the address in class attributes (one per process), so a fault proxy that stops answering
would hang a rollback forever. Every call here has a timeout, and a rollback a bound on its total wait
(docs/safety.md). toxiproxy-python stays a dependency for users' own tests and the compatibility tests.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx

from harness.errors import HarnessError, StackError
from harness.scenario import Fault, NetworkProfile

CALL_TIMEOUT_S = 5.0       # one API call: no answer within this is "not answering"
CONNECT_TIMEOUT_S = 2.0
ROLLBACK_BOUND_S = 10.0    # all undo calls of a variant's teardown together (faults, then proxies), docs/safety.md
API_TIMEOUT_S = CALL_TIMEOUT_S  # the name older code and tests know


class FaultProxyError(HarnessError):
    """The fault proxy refused or failed an action the run needed."""


class FaultProxyUnanswered(StackError):
    """The fault proxy did not answer (or could not be reached) within the bound of the call."""


def reset_hint(url: str) -> str:
    return f"run `harness reset --fault-proxy {url}` once it answers again"


@dataclass
class FaultProxyClient:
    """A Toxiproxy API endpoint; every call waits at most `timeout_s`, and inside bounded() all of them together
    at most its total."""

    url: str
    timeout_s: float = CALL_TIMEOUT_S
    _budget_s: float | None = field(default=None, repr=False)   # inside bounded(): seconds left to wait
    _gave_up: str | None = field(default=None, repr=False)     # inside bounded(): why the rest is not tried

    def __post_init__(self) -> None:
        parts = urlsplit(self.url if "://" in self.url else f"http://{self.url}")
        if not parts.hostname or not parts.port:
            raise FaultProxyError(f"fault proxy URL {self.url!r}: must be http://HOST:PORT")
        self.url = f"{parts.scheme}://{parts.netloc}"
        self.host, self.port = parts.hostname, parts.port

    @contextlib.contextmanager
    def bounded(self, total_s: float = ROLLBACK_BOUND_S) -> Iterator[None]:
        """Inside the block, the calls together wait at most `total_s`, and once one goes unanswered the
        rest fail at once (each would only wait out its own timeout): a rollback's time is bounded."""
        self._budget_s, self._gave_up = total_s, None
        try:
            yield
        finally:
            self._budget_s = None

    def _timeout(self, what: str) -> float:
        if self._budget_s is None:
            return self.timeout_s
        if self._gave_up is not None or self._budget_s <= 0:
            raise FaultProxyUnanswered(f"fault proxy at {self.url}: {what} not tried, "
                                       f"{self._gave_up or 'the rollback time bound was spent'}")
        return min(self.timeout_s, self._budget_s)

    def _request(self, what: str, method: str, path: str, body: dict[str, Any] | None = None,
                 missing_ok: bool = False) -> httpx.Response | None:
        timeout, started = self._timeout(what), time.monotonic()
        try:
            response = httpx.request(method, self.url + path, json=body,
                                     timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_S, timeout)))
        except httpx.TimeoutException as exc:
            self._gave_up = f"it did not answer within {timeout:.0f} s"
            raise FaultProxyUnanswered(f"fault proxy at {self.url} did not answer within {timeout:.0f} s "
                                       f"({what})") from exc
        except httpx.HTTPError as exc:
            self._gave_up = "it was not reachable"
            raise FaultProxyUnanswered(f"fault proxy at {self.url} is not reachable ({what})") from exc
        finally:
            if self._budget_s is not None:
                self._budget_s -= time.monotonic() - started
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise FaultProxyError(f"fault proxy refused to {what}: {_error_text(response)}")
        return response

    def version(self) -> str:
        response = self._request("get its version", "GET", "/version")
        assert response is not None
        return response.text.strip()

    def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0") -> str:
        """Create (or replace) a proxy; returns the address it really listens on."""
        self.delete_proxy(name)
        response = self._request(f"create proxy {name}", "POST", "/proxies",
                                 {"name": name, "upstream": upstream, "listen": listen, "enabled": True})
        assert response is not None
        return str(response.json()["listen"])

    def proxy_config(self, name: str) -> dict[str, Any] | None:
        """{name, listen, upstream, enabled} of a proxy, or None when there is none."""
        response = self._request(f"look up proxy {name}", "GET", _proxy_path(name), missing_ok=True)
        if response is None:
            return None
        data = response.json()
        return {key: data[key] for key in ("name", "listen", "upstream", "enabled")}

    def delete_proxy(self, name: str) -> None:
        self._request(f"delete proxy {name}", "DELETE", _proxy_path(name), missing_ok=True)

    def add_toxic(self, proxy: str, name: str, type: str, stream: str, toxicity: float,
                  attributes: dict[str, Any]) -> None:
        self._request(f"add toxic {name} to {proxy}", "POST", _proxy_path(proxy) + "/toxics",
                      {"name": name, "type": type, "stream": stream, "toxicity": toxicity,
                       "attributes": attributes})

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._request(f"remove toxic {name} from {proxy}", "DELETE", f"{_proxy_path(proxy)}/toxics/{quote(name)}")

    def toxic_names(self, proxy: str) -> list[str]:
        response = self._request(f"list toxics of {proxy}", "GET", _proxy_path(proxy) + "/toxics")
        assert response is not None
        return [toxic["name"] for toxic in response.json()]

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        self._request(f"{'enable' if enabled else 'disable'} {proxy}", "POST", _proxy_path(proxy),
                      {"enabled": enabled})

    def reset(self) -> None:
        self._request("reset", "POST", "/reset")


def _proxy_path(name: str) -> str:
    return f"/proxies/{quote(name, safe='')}"


def _error_text(response: httpx.Response) -> str:
    """Toxiproxy answers errors as {"error": ..., "status": ...}; anything else is shown as sent."""
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        return str(response.json()["error"])
    return f"HTTP {response.status_code} {response.text.strip()[:200]}"


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

    def write(self, **row: Any) -> None:
        line = json.dumps(row, sort_keys=False) + "\n"
        with self._lock, open(self.path, "a") as out:
            out.write(line)
            out.flush()


@dataclass(frozen=True)
class Step:
    """One action of the timeline: at `at_s` after t0, apply or remove fault `index`."""

    at_s: float
    action: str  # "apply" | "remove"
    index: int


def timeline_steps(faults: list[Fault], end_s: float | None = None) -> list[Step]:
    """Applies and removals in time order; a removal sorts before an apply at the same instant."""
    steps = []
    for index, fault in enumerate(faults):
        steps.append(Step(fault.at, "apply", index))
        if fault.duration is not None:
            # Rounded so that "at 0.2 s for 0.4 s" ends at the same instant as a fault "at 0.6 s" starts.
            steps.append(Step(round(fault.at + fault.duration, 6), "remove", index))
    steps = [s for s in steps if end_s is None or s.at_s < end_s]
    return sorted(steps, key=lambda s: (s.at_s, s.action != "remove", s.index))


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
                if step.action == "apply":
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
            elif action == "apply":
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
            self.journal.write(ts=now, t=now - self.t0, variant=self.variant, fault=index, label=fault.label,
                               proxy=fault.proxy, action=action, toxic=name,
                               type="down" if fault.down else fault.action or fault.type,
                               attributes={} if fault.down or fault.action else {
                                   **fault.attributes, "stream": fault.stream, "toxicity": fault.toxicity},
                               rollback=rollback)

    def _process_fault(self, index: int, fault: Fault, action: str) -> str | None:
        """Apply or end a failover/pause; returns the node it acted on (journaled as the toxic), or None."""
        if self.processes is None:
            raise FaultProxyError(f"{fault.action}: this stack has no Sentinel topology ([redis] topology)")
        assert fault.action is not None
        if action == "apply":
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
                self._do(index, "remove", rollback=True)
            except HarnessError as exc:
                failed.append(str(exc))
        return failed
