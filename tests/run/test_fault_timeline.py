"""The fault timeline against a real embedded fault proxy, without a run around it (#12 part 6): steps happen in
time order and never early, a `down` fault disables and re-enables its proxy, and rollback undoes what is left
and names what it could not undo."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.experiment.timeline import FaultJournal, FaultTimeline
from harness.scenario import Fault
from harness.stack import ServerProcess, start_fault_proxy
from harness.stack.fault_client import FaultProxyClient
from tests.waiting import wait_until


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[ServerProcess]:
    """An embedded fault proxy of this test's own, with `redis` and `edge` proxies (nothing behind them: the
    timeline only talks to the API)."""
    server = start_fault_proxy(tmp_path / "logs")
    client = FaultProxyClient(server.url)
    for name in ("redis", "edge"):
        client.create_proxy(name, "127.0.0.1:9")
    try:
        yield server
    finally:
        server.stop()


def journal_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def timeline(server: ServerProcess, tmp_path: Path, faults: list[Fault]) -> FaultTimeline:
    return FaultTimeline(FaultProxyClient(server.url), faults, "v", FaultJournal(tmp_path / "faults.jsonl"))


def test_steps_run_in_time_order_never_early_and_a_removal_goes_before_an_apply_at_the_same_instant(
        proxy: ServerProcess, tmp_path: Path) -> None:
    faults = [Fault(type="latency", at=0.0, duration=0.6, attributes={"latency": 5}),
              Fault(proxy="edge", down=True, at=0.2, duration=0.4),
              Fault(type="latency", at=0.6, stream="upstream", attributes={"latency": 7})]
    line = timeline(proxy, tmp_path, faults)
    line.start(time.time())
    wait_until(lambda: len(journal_rows(tmp_path / "faults.jsonl")) == 5, 10, "five steps journaled")
    rows = journal_rows(tmp_path / "faults.jsonl")
    assert [(r["fault"], r["action"]) for r in rows] == [(0, "apply"), (1, "apply"), (0, "remove"), (1, "remove"),
                                                         (2, "apply")]
    planned = [0.0, 0.2, 0.6, 0.6, 0.6]
    assert all(r["t"] >= at for r, at in zip(rows, planned, strict=True))   # a step never happens early
    toxics = httpx.get(f"{proxy.url}/proxies/redis/toxics", timeout=5).json()
    assert [t["name"] for t in toxics] == ["f2_latency_upstream"] and line.active.keys() == {2}
    assert line.rollback() == []
    assert httpx.get(f"{proxy.url}/proxies/redis/toxics", timeout=5).json() == []
    last = journal_rows(tmp_path / "faults.jsonl")[-1]
    assert (last["fault"], last["action"], last["rollback"]) == (2, "remove", True)


def test_a_down_fault_disables_its_proxy_while_it_lasts(proxy: ServerProcess, tmp_path: Path) -> None:
    line = timeline(proxy, tmp_path, [Fault(proxy="edge", down=True, at=0.0, duration=30)])
    line.start(time.time())
    edge = f"{proxy.url}/proxies/edge"
    # The timeline journals a step once the fault proxy has answered it, so the proxy can be seen disabled a
    # moment before its journal line is written (a fresh-clone CI run read an empty journal): wait for both.
    wait_until(lambda: httpx.get(edge, timeout=5).json()["enabled"] is False
               and journal_rows(tmp_path / "faults.jsonl"), 10, "edge disabled and journaled")
    assert journal_rows(tmp_path / "faults.jsonl")[0]["type"] == "down"
    assert line.rollback() == []    # stopped long before its end: the rollback re-enables it
    assert httpx.get(edge, timeout=5).json()["enabled"] is True


def test_rollback_names_what_it_could_not_undo_and_still_undoes_the_rest(proxy: ServerProcess,
                                                                         tmp_path: Path) -> None:
    faults = [Fault(type="latency", at=0.0, attributes={"latency": 5}, name="gone"),
              Fault(proxy="edge", down=True, at=0.0)]
    line = timeline(proxy, tmp_path, faults)
    line.start(time.time())
    wait_until(lambda: len(journal_rows(tmp_path / "faults.jsonl")) == 2, 10, "both faults applied")
    httpx.delete(f"{proxy.url}/proxies/redis/toxics/gone", timeout=5).raise_for_status()  # behind its back
    failures = line.rollback()
    assert len(failures) == 1 and "remove toxic gone from redis" in failures[0], failures
    assert httpx.get(f"{proxy.url}/proxies/edge", timeout=5).json()["enabled"] is True


def test_a_fault_the_proxy_refuses_stops_the_timeline_with_its_answer(proxy: ServerProcess, tmp_path: Path) -> None:
    faults = [Fault(type="latency", at=0.0, attributes={"latency": 5}),
              Fault(type="slicer", at=0.1, attributes={"average_size": 0}),
              Fault(type="latency", at=0.2, stream="upstream", attributes={"latency": 5})]
    line = timeline(proxy, tmp_path, faults)
    line.start(time.time())
    wait_until(lambda: line.failed is not None, 10, "the refusal is seen")
    assert line.failed.startswith("fault 1 (") and "average_size" in line.failed
    line.stop()
    assert [r["fault"] for r in journal_rows(tmp_path / "faults.jsonl")] == [0]   # fault 2 was never tried
    assert line.rollback() == []
