"""Open-file descriptors for a big load on one machine: raise the limit at start, refuse what cannot fit.

Every simulated user holds a connection, and a connection through a proxy costs the proxy two descriptors
(client side and upstream side). A run past the limit does not fail cleanly: the edge proxy's accept or
upstream connect fails with EMFILE and a share of flows become connection errors. So `harness run` raises
the soft limit to the hard one (and, where it may, the hard one to what the scenario needs) before anything
starts, spreads its own fault proxy over as many processes as the edge's connections need, and refuses in
one line a scenario that still would not fit.
"""

from __future__ import annotations

import math
import resource
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for annotations only: the scenario model is not needed to count descriptors
    from harness.scenario import Scenario
    from harness.scenario.model import Load

SLACK = 512   # log files, Redis and proxy API connections, Python's own, Locust's master/worker sockets


MAX_PROXY_PROCESSES = 64   # `harness faultproxy --processes` at most


@dataclass(frozen=True)
class DescriptorNeed:
    users: int            # connections the busiest moment holds (users, or slots for flows in progress)
    via_edge: int         # of those, through the edge proxy (two descriptors each in the proxy)
    service: int          # in each service process
    locust: int           # in each Locust process
    proxy_processes: int = 1   # the embedded fault proxy's processes, over which the edge's descriptors spread

    @property
    def proxy(self) -> int:
        return math.ceil(2 * self.via_edge / self.proxy_processes)

    @property
    def per_process(self) -> int:
        """Descriptors the busiest single process needs."""
        return max(self.service, self.proxy, self.locust) + SLACK

    @property
    def busiest(self) -> str:
        """Which process needs the most, and how to spread it."""
        most = max(self.service, self.proxy, self.locust)
        if most == self.locust:
            return "Locust; --workers N spreads it"
        if most == self.service:
            return "the service; [service] workers spreads it"
        return "the fault proxy"

    def describe(self) -> str:
        spread = f", over {self.proxy_processes} fault proxy processes" if self.proxy_processes > 1 else ""
        return (f"{self.users:,} concurrent users ({self.via_edge:,} through the edge proxy, 2 descriptors each "
                f"there{spread}) need about {self.per_process:,} open files in one process ({self.busiest})")


def peak_users(load: Load) -> int:
    if load.arrival_rate is not None:
        return int(load.max_in_flight)
    levels = [stage.users for stage in load.stages if stage.users is not None]
    return max([load.users, *levels]) if levels else int(load.users)


def edge_share(scenario: Scenario) -> float:
    """The share of users through the edge: declarative flows say so; a locustfile's classes are counted as
    mobile (through the edge) when their name says Mobile, as in the catalogue's locustfiles."""
    if not scenario.uses_edge():
        return 0.0
    load = scenario.load
    if load.declarative:
        weights = [(flow.weight, flow.via_edge) for flow in load.flows]
    else:
        weights = [(c.weight, "mobile" in name.lower()) for name, c in load.classes.items()]
    total = sum(w for w, _ in weights)
    return sum(w for w, edge in weights if edge) / total if total else 1.0


def descriptor_need(scenario: Scenario, workers: int = 0, proxy_processes: int = 1) -> DescriptorNeed:
    users = peak_users(scenario.load)
    via_edge = math.ceil(users * edge_share(scenario))
    # The service holds one per user (spread over its worker processes); the edge proxy two per mobile user
    # (spread over its processes); Locust one per user in each of its processes.
    service = math.ceil(users / max(1, int(getattr(scenario.service, "workers", 1) or 1)))
    locust = math.ceil(users / max(1, workers))
    return DescriptorNeed(users, via_edge, service, locust, proxy_processes)


def raise_limit(needed: int) -> int:
    """Soft limit up to the hard one, and the hard one up to `needed` where allowed (root); the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, needed))
            hard = needed
        except (ValueError, OSError):   # not privileged, or past the kernel's nr_open: keep the hard limit
            pass
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass(frozen=True)
class DescriptorPlan:
    refusal: str | None      # the one-line refusal, or None when the scenario fits
    proxy_processes: int     # processes for the embedded fault proxy (1 unless its edge needs more)


def plan_descriptors(scenario: Scenario, workers: int = 0, embedded_proxy: bool = True) -> DescriptorPlan:
    """Raise the limit as far as allowed; spread the embedded fault proxy over as many processes as its edge
    connections need under that limit; refuse in one line what still would not fit."""
    need = descriptor_need(scenario, workers)
    limit = raise_limit(need.per_process)
    if limit == resource.RLIM_INFINITY or need.per_process <= limit:
        return DescriptorPlan(None, 1)
    if embedded_proxy and limit > SLACK:
        processes = min(MAX_PROXY_PROCESSES, max(1, math.ceil(2 * need.via_edge / (limit - SLACK))))
        need = descriptor_need(scenario, workers, processes)
        if need.per_process <= limit:
            return DescriptorPlan(None, processes)
    return DescriptorPlan(
        f"load: {need.describe()}, but the open-file limit here is {limit:,}; raise it to at least "
        f"{need.per_process:,} (`ulimit -n {need.per_process}` in the shell that runs harness; the hard limit "
        f"in /etc/security/limits.conf or with `prlimit`), or run fewer users", need.proxy_processes)
