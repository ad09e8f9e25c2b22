"""Every call the harness makes to a fault proxy is bounded (#12 part 3): a fault proxy that stops answering
(SIGSTOP, as a stopped container or a Toxiproxy under load) costs a call its timeout and a rollback its bound,
and a run that could not roll back says so in one line with the `harness reset` to run."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.stack import start_fault_proxy
from harness.stack.fault_client import ROLLBACK_BOUND_S, FaultProxyClient, FaultProxyUnanswered
from harness.stack.procs import pid_alive
from tests.scenario_files import LOGIN_USERS, Tables, merged, redis_latency, write_scenario
from tests.waiting import wait_until

pytestmark = pytest.mark.judged  # tests/conftest.py: real load held to a target, one at a time

DURATION_S = 12

# Fixed first: the run must not go on to the second variant over faults that may remain.
SCENARIO: Tables = {
    "scenario": {"name": "stalled-proxy"},
    "load": {"locustfile": LOGIN_USERS, "users": 3, "spawn_rate": 3, "duration": f"{DURATION_S}s",
             "classes": {"WebUser": {"wait": [0.1, 0.3]}}},
    "faults": [redis_latency(5, at="0s", stream=None)],
    "variants": {"fixed": {"profile": "fixed", "expect": "pass"}, "buggy": {"profile": "buggy", "expect": "fail"}},
}


@pytest.fixture
def external(tmp_path: Path) -> Iterator[object]:
    """An embedded fault proxy started on its own, as a user's Toxiproxy would be; woken and stopped after."""
    server = start_fault_proxy(tmp_path / "external")
    try:
        yield server
    finally:
        server.process.signal(signal.SIGCONT)
        server.stop()


def test_a_call_to_a_stopped_fault_proxy_ends_at_its_timeout(external: object) -> None:
    client = FaultProxyClient(external.url, timeout_s=1.0)
    client.create_proxy("redis", "127.0.0.1:9")
    external.process.signal(signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(FaultProxyUnanswered, match="did not answer within 1 s"):
        client.add_toxic("redis", "t", "latency", "downstream", 1.0, {"latency": 5})
    assert 1.0 <= time.monotonic() - started < 10


def test_inside_a_bound_the_calls_after_an_unanswered_one_fail_at_once(external: object) -> None:
    client = FaultProxyClient(external.url, timeout_s=1.0)
    client.create_proxy("redis", "127.0.0.1:9")
    external.process.signal(signal.SIGSTOP)
    started = time.monotonic()
    errors = []
    with client.bounded(3.0):
        for name in ("a", "b", "c", "d"):
            try:
                client.remove_toxic("redis", name)
            except FaultProxyUnanswered as exc:
                errors.append(str(exc))
    assert time.monotonic() - started < 1.0 + 8   # one timeout, not four
    assert len(errors) == 4 and all("not tried" in e for e in errors[1:])


def test_a_bound_opened_inside_another_spends_what_is_left_of_it(external: object) -> None:
    # A Ctrl-C during a rollback starts its fast pass inside the first pass's bound: it must not start afresh.
    client = FaultProxyClient(external.url, timeout_s=1.0)
    client.create_proxy("redis", "127.0.0.1:9")
    external.process.signal(signal.SIGSTOP)
    started = time.monotonic()
    with client.bounded(60.0):
        with pytest.raises(FaultProxyUnanswered, match="did not answer within 1 s"):
            client.remove_toxic("redis", "a")
        with client.bounded(60.0), pytest.raises(FaultProxyUnanswered, match="not tried"):
            client.remove_toxic("redis", "b")
    assert time.monotonic() - started < 1.0 + 8   # one timeout, not two


def test_a_stack_that_fails_to_start_puts_back_its_proxies_within_the_bound_or_names_what_is_left(
        tmp_path: Path, external: object) -> None:
    from harness.errors import StackError
    from harness.stack.service import ServiceCommand
    from harness.stack.stack import Stack, StackSpec

    # The service suspends the fault proxy, then exits: the start fails, and its cleanup cannot reach the proxy.
    command = ServiceCommand(["sh", "-c", f"kill -STOP {external.process.pid}; exit 1"], base_dir=tmp_path)
    state = tmp_path / "state.json"
    spec = StackSpec(log_dir=tmp_path / "logs", fault_proxy=external.url, with_edge=False, state_file=state,
                     service_command=command)
    stack = Stack(spec)
    started = time.monotonic()
    with pytest.raises(StackError) as raised:
        stack.start()
    assert time.monotonic() - started < ROLLBACK_BOUND_S + 30
    message = str(raised.value)
    assert "service exited with code 1" in message and "\n" not in message
    assert f"could not put back its proxies at {external.url}" in message
    assert message.endswith(f"run `harness reset --fault-proxy {external.url}` once it answers again")
    assert json.loads(state.read_text())["created"] == ["redis"]   # the record of what is left stays
    assert not [p for p in stack.processes() if p.alive()]


def test_a_refusal_is_a_fault_proxy_error_with_its_answer(external: object) -> None:
    from harness.stack.fault_client import FaultProxyError

    client = FaultProxyClient(external.url)
    with pytest.raises(FaultProxyError, match="remove toxic t from nowhere"):
        client.remove_toxic("nowhere", "t")
    assert client.proxy_config("nowhere") is None


@contextlib.contextmanager
def suspended_after_first_fault(tmp_path: Path, external: object, scenario_tables: Tables,
                                name: str = "stalled") -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    """A `harness run` on the external fault proxy, which is suspended (SIGSTOP) once the run's first fault is
    journaled; yields the run, its folder and its stderr file. The run is killed if still alive at the end of
    the block, and the proxy woken again."""
    scenario = write_scenario(tmp_path, scenario_tables, name=f"{name}.toml")
    out = tmp_path / "reports"
    err_path = tmp_path / "run.err"
    with open(err_path, "wb") as err:
        run = subprocess.Popen([sys.executable, "-m", "harness", "run", str(scenario), "--out", str(out),
                                "--fault-proxy", external.url], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        wait_until(lambda: out.exists() and any(out.iterdir()), 30, "the run folder exists")
        run_dir = next(out.iterdir())
        journal = run_dir / "faults.jsonl"
        wait_until(lambda: journal.exists() and journal.read_text().strip(), 90, "the first fault is applied")
        external.process.signal(signal.SIGSTOP)
        yield run, run_dir, err_path
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(5)
        external.process.signal(signal.SIGCONT)


@pytest.mark.slow
def test_a_run_whose_fault_proxy_stops_answering_ends_within_the_bound_with_the_reset_line(
        tmp_path: Path, external: object) -> None:
    with suspended_after_first_fault(tmp_path, external, SCENARIO) as (run, run_dir, err_path):
        stopped_at = time.monotonic()
        # Locust stops at the end of the load (about DURATION_S), the rollback waits ROLLBACK_BOUND_S at most,
        # then the service, Redis and the report; generous for a busy 2-core machine, finite without the bound.
        code = run.wait(DURATION_S + ROLLBACK_BOUND_S + 90)
        took = time.monotonic() - stopped_at
    stderr = err_path.read_text()
    assert code == 3, stderr[-3000:]
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if f"harness reset --fault-proxy {external.url}" in line]
    assert len(lines) == 1 and lines[0].startswith("harness: fixed: could not roll back"), stderr[-3000:]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["variants"]["buggy"]["status"] == "pending"   # not started over faults that may remain
    pids = [p["pid"] for v in manifest["variants"].values() for p in v.get("processes", [])]
    assert not [pid for pid in pids if pid_alive(pid)]
    assert took < DURATION_S + ROLLBACK_BOUND_S + 90

    # Awake again, it may still carry out requests that were sent before their timeout: only a reset is sure.
    reset = subprocess.run([sys.executable, "-m", "harness", "reset", "--fault-proxy", external.url],
                           capture_output=True, text=True, timeout=60)
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.startswith(f"reset {external.url}")
    proxies = httpx.get(f"{external.url}/proxies", timeout=5).json().values()
    assert all(p["enabled"] and not p["toxics"] for p in proxies)


@pytest.mark.slow
def test_an_interrupted_run_that_could_not_roll_back_exits_3_and_does_not_claim_it_did(
        tmp_path: Path, external: object) -> None:
    with suspended_after_first_fault(tmp_path, external, SCENARIO) as (run, run_dir, err_path):
        run.send_signal(signal.SIGINT)   # one Ctrl-C: the clean path, whose rollback cannot reach the proxy
        code = run.wait(ROLLBACK_BOUND_S + 90)
    stderr = err_path.read_text()
    assert code == 3, stderr[-3000:]
    assert "Traceback" not in stderr
    assert "faults rolled back" not in stderr, stderr[-3000:]
    assert any(line.startswith("harness: fixed: could not roll back") for line in stderr.splitlines()), stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["error"] and manifest["error"] == manifest["rollback_failed"][0]
    reset = subprocess.run([sys.executable, "-m", "harness", "reset", "--fault-proxy", external.url],
                           capture_output=True, text=True, timeout=60)
    assert reset.returncode == 0, reset.stderr


# A second fault at 1.5 s of a 3 s load, and only the fixed variant.
LATE_FAULT: Tables = {
    **merged(SCENARIO, {"scenario": {"name": "late-fault"}, "load": {"users": 2, "spawn_rate": 2, "duration": "3s"},
                        "faults": [redis_latency(5, at="0s", stream=None), redis_latency(10, at="1.5s", stream=None)]}),
    "variants": {"fixed": SCENARIO["variants"]["fixed"]},
}


@pytest.mark.slow
def test_a_fault_whose_apply_times_out_after_the_load_ended_leaves_its_variant_not_judged(
        tmp_path: Path, external: object) -> None:
    # The second fault's apply is sent to a suspended fault proxy at 1.5 s and times out (5 s) after Locust exits
    # at about 3 s: the run must still see it failed, not judge the variant on a fault that never happened.
    with suspended_after_first_fault(tmp_path, external, LATE_FAULT, "late") as (run, run_dir, err_path):
        code = run.wait(ROLLBACK_BOUND_S + 90)
    journal = run_dir / "faults.jsonl"
    stderr = err_path.read_text()
    assert "Traceback" not in stderr
    assert [json.loads(line)["fault"] for line in journal.read_text().splitlines()] == [0], stderr[-3000:]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["variants"]["fixed"]["status"] == "not_judged", stderr[-3000:]
    assert "fault 1" in manifest["variants"]["fixed"]["error"]
    assert code == 3, stderr[-3000:]   # and the rollback of fault 0 could not reach the suspended proxy
    reset = subprocess.run([sys.executable, "-m", "harness", "reset", "--fault-proxy", external.url],
                           capture_output=True, text=True, timeout=60)
    assert reset.returncode == 0, reset.stderr
