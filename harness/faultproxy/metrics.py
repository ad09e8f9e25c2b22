"""Prometheus metrics at GET /metrics, named and labelled as Toxiproxy's (its `collectors` package).

`--proxy-metrics`: toxiproxy_proxy_received_bytes_total and toxiproxy_proxy_sent_bytes_total with the
labels direction, proxy, listener, upstream. `--runtime-metrics`: the process's own (process_*, and
python_* where Toxiproxy has go_*). prometheus-client does the exposition format.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    generate_latest,
)

_LABELS = ("direction", "proxy", "listener", "upstream")


class FaultProxyMetrics:
    """The registry behind /metrics; which collectors it holds follows the two command-line flags."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, *, proxy: bool, runtime: bool) -> None:
        self.registry = CollectorRegistry()
        self.received: Counter | None = None
        self.sent: Counter | None = None
        if runtime:
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                self.registry.register(collector)
        if proxy:
            self.received = Counter("toxiproxy_proxy_received_bytes", "", _LABELS, registry=self.registry)
            self.sent = Counter("toxiproxy_proxy_sent_bytes", "", _LABELS, registry=self.registry)

    def byte_counters(self, stream: str, proxy: str, listener: str,
                      upstream: str) -> tuple[Callable[[float], None], Callable[[float], None]] | None:
        if self.received is None or self.sent is None:
            return None
        labels = (stream, proxy, listener, upstream)
        return self.received.labels(*labels).inc, self.sent.labels(*labels).inc

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
