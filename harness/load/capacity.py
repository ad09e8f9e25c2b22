"""Open-file descriptors for a big load on one machine: raise the limit at start, refuse what cannot fit.

Every simulated user holds a connection, and a connection through a proxy costs the proxy two descriptors
(client side and upstream side). A run past the limit does not fail cleanly: the edge proxy's accept or
upstream connect fails with EMFILE and a share of flows become connection errors. So `harness run` raises
the soft limit to the hard one (and, where it may, the hard one to what the scenario needs) before anything
starts, and refuses in one line a scenario that still would not fit.
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


@dataclass(frozen=True)
class DescriptorNeed:
    users: int            # connections the busiest moment holds (users, or slots for flows in progress)
    via_edge: int         # of those, through the edge proxy (two descriptors each in the proxy)
    per_process: int      # descriptors the busiest single process needs

    def describe(self) -> str:
        return (f"{self.users:,} concurrent users ({self.via_edge:,} through the edge proxy, 2 descriptors each "
                f"there) need about {self.per_process:,} open files in one process")


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


def descriptor_need(scenario: Scenario, workers: int = 0) -> DescriptorNeed:
    users = peak_users(scenario.load)
    via_edge = math.ceil(users * edge_share(scenario))
    # The service holds one per user (spread over its worker processes); the edge proxy two per mobile user;
    # Locust one per user in each of its processes.
    service = math.ceil(users / max(1, int(getattr(scenario.service, "workers", 1) or 1)))
    locust = math.ceil(users / max(1, workers))
    return DescriptorNeed(users, via_edge, max(service, 2 * via_edge, locust) + SLACK)


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


def check_descriptors(scenario: Scenario, workers: int = 0) -> str | None:
    """None when the scenario fits the limit (raised as far as allowed), else the one-line refusal."""
    need = descriptor_need(scenario, workers)
    limit = raise_limit(need.per_process)
    if limit == resource.RLIM_INFINITY or need.per_process <= limit:
        return None
    return (f"load: {need.describe()}, but the open-file limit here is {limit:,}; raise it to at least "
            f"{need.per_process:,} (`ulimit -n {need.per_process}` in the shell that runs harness; the hard limit "
            f"in /etc/security/limits.conf or with `prlimit`), or run fewer users")
