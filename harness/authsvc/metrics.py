"""Prometheus metrics of the service: logins and failures by reason, Redis call latency, retries, pool waits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

# Redis calls on loopback take ~0.2 ms; faults add 10 ms to seconds: buckets cover both ends.
_REDIS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    """One registry per app, so several services can live in one test process without clashing."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        reg = self.registry
        self.logins = Counter("authsvc_logins", "Login attempts by outcome (ok or the error code).",
                              ["outcome"], registry=reg)
        self.failures = Counter("authsvc_failures", "Error responses by endpoint and error code.",
                                ["endpoint", "reason"], registry=reg)
        self.redis_latency = Histogram("authsvc_redis_call_seconds", "Redis call latency by operation.",
                                       ["op"], buckets=_REDIS_BUCKETS, registry=reg)
        self.redis_errors = Counter("authsvc_redis_errors", "Failed Redis calls by operation and error type.",
                                    ["op", "error"], registry=reg)
        self.retries = Counter("authsvc_redis_retries", "Redis calls attempted again after a retryable error.",
                               ["op"], registry=reg)
        self.lost_session_writes = Counter("authsvc_lost_session_writes",
                                           "Fire-and-forget session writes that failed after the reply was sent.",
                                           registry=reg)
        self.pool_wait = Histogram("authsvc_validation_pool_wait_seconds",
                                   "Time waited for a connection of the revocation-lookup pool.",
                                   buckets=_REDIS_BUCKETS, registry=reg)
        self.pool_exhausted = Counter("authsvc_validation_pool_exhausted",
                                      "Revocation lookups that found no free connection in time.", registry=reg)
        self.validations = Counter("authsvc_token_validations",
                                   "Access-token checks by how they were decided (lookup, cache, degraded...).",
                                   ["source"], registry=reg)

    def exposition(self) -> bytes:
        """Prometheus text; across all worker processes when the service runs several."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)
            return generate_latest(merged)
        return generate_latest(self.registry)
