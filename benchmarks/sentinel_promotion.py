"""Sentinel promotion time on this machine: kill the primary of a Sentinel topology, time until a quorum of
Sentinels names a new one; the old primary then rejoins as a replica and the next round starts.

Run: .venv/bin/python benchmarks/sentinel_promotion.py [--rounds 5] [--down-after-ms 2000] [--replicas 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from harness.stack import start_fault_proxy
from harness.stack.fault_client import FaultProxyClient
from harness.stack.sentinel import SentinelSettings, SentinelTopology


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--down-after-ms", type=int, default=2000)
    parser.add_argument("--failover-timeout-ms", type=int, default=180_000)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sentinel-bench-") as tmp:
        proxy = start_fault_proxy(Path(tmp) / "faultproxy")
        client = FaultProxyClient(proxy.url)
        settings = SentinelSettings(args.replicas, args.down_after_ms, args.failover_timeout_ms)
        topology = SentinelTopology(settings, client.create_proxy, Path(tmp) / "topology")
        try:
            started = time.monotonic()
            topology.start()
            print(f"topology up (primary, {args.replicas} replicas, 3 Sentinels) in {time.monotonic() - started:.1f} s")
            times = [one_round(topology, n) for n in range(1, args.rounds + 1)]
        finally:
            topology.stop()
            proxy.stop()
    print(f"down-after {args.down_after_ms} ms, failover-timeout {args.failover_timeout_ms} ms: promotion "
          f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s "
          f"over {len(times)} rounds")


def one_round(topology: SentinelTopology, number: int) -> float:
    old = topology.primary_announce()
    assert old is not None
    killed_at = time.monotonic()
    topology.apply("failover")
    new = topology.wait_for_promotion(old, timeout_s=60)
    elapsed = time.monotonic() - killed_at
    print(f"round {number}: {old} killed, {new} promoted after {elapsed:.2f} s")
    topology.undo("failover")          # back as a replica of the new primary
    topology.wait_until_watched()      # every Sentinel sees every replica again before the next kill
    return elapsed


if __name__ == "__main__":
    main()
