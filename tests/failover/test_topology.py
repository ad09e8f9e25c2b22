"""The Sentinel topology against the reference service: pause, failover, replication lag and lost sessions."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import redis

from harness.errors import StackError
from harness.stack.sentinel import MASTER_NAME, SentinelSettings
from harness.stack.stack import Stack, StackSpec
from tests.runs import assert_all_gone
from tests.waiting import wait_until

from .helpers import DOWN_AFTER_MS, PROMOTION_TIMEOUT_S, log_in, sentinel_stack, topology_pids

SESSIONS = 25


def config_epochs(stack: Stack) -> set[int]:
    """Each Sentinel's config epoch of the primary: 0 until a failover has happened."""
    epochs = set()
    for address in stack.topology.sentinel_addresses:
        host, _, port = address.rpartition(":")
        client = redis.Redis(host=host, port=int(port), socket_timeout=1, decode_responses=True)
        try:
            epochs.add(int(client.sentinel_master(MASTER_NAME)["config-epoch"]))
        finally:
            client.close()
    return epochs


def lost_after_failover(stack: Stack, latency_ms: int | None) -> tuple[int, int]:
    """Log in SESSIONS times with replication lagging (latency_ms) or cut (None), kill the primary at once,
    and after the promotion count the sessions handed out that are gone: (handed out, lost).

    A latency toxic alone loses nothing here: the fault proxy delivers the bytes it already read from the
    primary even after the primary dies, so the replica catches up before the promotion. A cut link is
    the lag that loses writes: the primary acknowledged them and never sent them.
    """
    if latency_ms is None:
        stack.client.set_enabled("replication-1", False)
    else:
        stack.client.add_toxic("replication-1", "lag", "latency", "downstream", 1.0, {"latency": latency_ms})
    with httpx.Client(base_url=stack.service_url, timeout=10) as client:
        sessions = [r.json()["session_id"] for n in range(SESSIONS) if (r := log_in(client, n)).status_code == 200]
        old = stack.topology.primary_announce()
        stack.topology.apply("failover")
        stack.topology.wait_for_promotion(old, PROMOTION_TIMEOUT_S)
        statuses = []
        for session in sessions:
            answers: list[int] = []

            def answered(session: str = session, answers: list[int] = answers) -> bool:
                answers.append(client.get("/me", headers={"X-Session-ID": session}).status_code)
                return answers[-1] != 503

            # Until the service has found the new primary, /me answers 503; then 200 or 401 (lost).
            wait_until(answered, PROMOTION_TIMEOUT_S, "the service finds the new primary", interval=0.05)
            statuses.append(answers[-1])
    assert set(statuses) <= {200, 401}
    return len(sessions), statuses.count(401)


def test_pause_shorter_than_down_after_and_lag_without_wait(tmp_path: Path) -> None:
    """A pause shorter than down-after promotes nothing; with replication cut, without WAIT, a failover loses
    every session handed out meanwhile."""
    stack = sentinel_stack(tmp_path, flags={"wait_for_replica": "false"})
    try:
        primary = stack.topology.primary_announce()
        stack.topology.apply("pause")
        time.sleep(DOWN_AFTER_MS / 1000 / 3)   # the fault itself: frozen for a third of down-after
        stack.topology.undo("pause")
        # Watch for three down-after periods (a promotion here takes about 2.4 s from the pause).
        deadline = time.monotonic() + 3 * DOWN_AFTER_MS / 1000
        while time.monotonic() < deadline:
            assert stack.topology.primary_announce() == primary and config_epochs(stack) == {0}
            time.sleep(0.1)

        handed_out, lost = lost_after_failover(stack, latency_ms=None)
        assert handed_out == SESSIONS and lost == SESSIONS
    finally:
        stack.stop()
    assert_all_gone(topology_pids(tmp_path))


def test_lag_with_wait_for_replica_loses_no_session(tmp_path: Path) -> None:
    """With WAIT 1 after the write and 100 ms of replication latency, every session handed out survives."""
    stack = sentinel_stack(tmp_path, flags={"wait_for_replica": "true"})
    try:
        handed_out, lost = lost_after_failover(stack, latency_ms=100)
        assert handed_out > 0 and lost == 0
    finally:
        stack.stop()
    assert_all_gone(topology_pids(tmp_path))


def test_a_stack_that_fails_to_start_stops_every_redis_and_sentinel(tmp_path: Path) -> None:
    """The service refuses its flags after the topology is up: every Redis and Sentinel is stopped anyway."""
    spec = StackSpec(log_dir=tmp_path, flags={"replica_wait_ms": "0"}, service_users=5, with_edge=False,
                     sentinel=SentinelSettings(replicas=1, down_after_ms=DOWN_AFTER_MS))
    with pytest.raises(StackError):
        Stack(spec).start()
    pids = topology_pids(tmp_path)
    assert len(pids) == 5   # primary, replica, three Sentinels
    assert_all_gone(pids, timeout=5, what="every Redis and Sentinel exits")
