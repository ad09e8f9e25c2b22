"""Prometheus metrics at GET /metrics, named and labelled as Toxiproxy's (its `collectors` package).

`--proxy-metrics`: toxiproxy_proxy_received_bytes_total and toxiproxy_proxy_sent_bytes_total with the
labels direction, proxy, listener, upstream. `--runtime-metrics`: the process's own (process_*, and
python_* where Toxiproxy has go_*). prometheus-client does the exposition format. With --processes, the
byte counters are the sums over every process; the runtime metrics are the first process's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Metric,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.parser import text_string_to_metric_families

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

    def exposition(self, others: Iterable[str] = ()) -> bytes:
        """The exposition text; `others`: the other processes' texts, whose byte counters are added in."""
        others = list(others)
        if not others or self.received is None:
            return generate_latest(self.registry)
        mine = generate_latest(self.registry).decode()
        sums: dict[str, dict[tuple[str, ...], float]] = {"toxiproxy_proxy_received_bytes": {},
                                                          "toxiproxy_proxy_sent_bytes": {}}
        for text in (mine, *others):
            for family in text_string_to_metric_families(text):
                if family.name in sums:
                    for sample in family.samples:
                        if sample.name.endswith("_total"):
                            key = tuple(sample.labels.get(label, "") for label in _LABELS)
                            sums[family.name][key] = sums[family.name].get(key, 0.0) + sample.value
        registry = CollectorRegistry()
        registry.register(_Summed([family for family in self.registry.collect() if family.name not in sums],
                                  sums))
        return generate_latest(registry)


class _Summed:
    """A collector of fixed families: the runtime ones of this process and the summed byte counters."""

    def __init__(self, families: list[Metric], sums: dict[str, dict[tuple[str, ...], float]]) -> None:
        self.families = families
        for name, values in sums.items():
            counter = CounterMetricFamily(name, "", labels=_LABELS)
            for labels, value in sorted(values.items()):
                counter.add_metric(list(labels), value)
            self.families.append(counter)

    def collect(self) -> list[Metric]:
        return self.families
