"""`harness run` options after parsing, the flags that override the scenario, and the loopback checks.

Everything here is decided before anything starts: a wrong flag or a non-loopback target is one line.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from harness.errors import BadInput
from harness.scenario import Scenario

MIN_DURATION_S = 20.0  # --until-decided: early flows (spawning, warm-up) are not the steady state


def ensure_loopback(url_or_host: str, what: str, allow_remote: bool) -> None:
    """Refuse a non-loopback target unless the user said --allow-remote."""
    if allow_remote:
        return
    host = urlsplit(url_or_host).hostname if "://" in url_or_host else url_or_host.rsplit(":", 1)[0]
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host or "", None)}
    except socket.gaierror:
        raise BadInput(f"{what}: cannot resolve {host!r}") from None
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise BadInput(f"{what}: {host} is not a loopback address; pass --allow-remote to target it")


def check_service_targets(scenario: Scenario, allow_remote: bool) -> None:
    """Every address the scenario makes the run reach (service url, [redis]) is loopback, or allowed."""
    for name in scenario.variants:
        url = scenario.service_for(name).url
        if url is not None:
            field = f"variants.{name}.service.url" if url != scenario.service.url else "service.url"
            ensure_loopback(url, field, allow_remote)
    for field, address in (("redis.upstream", scenario.redis.upstream), ("redis.listen", scenario.redis.listen)):
        if address is not None:
            ensure_loopback(address, field, allow_remote)


@dataclass
class RunOptions:
    """`harness run` flags after parsing; None means "as the scenario says"."""

    scenario_path: Path
    duration_s: float | None = None
    users: int | None = None
    spawn_rate: float | None = None
    variants: list[str] | None = None
    fault_proxy: str = "embedded"
    workers: int = 0
    out: Path = Path("reports")
    seed: int | None = None
    allow_remote: bool = False
    until_decided: bool = False           # stop each variant once its sequential verdict is decided...
    min_duration_s: float = MIN_DURATION_S  # ...but never before this; the scenario's duration is the maximum
    master_bind: tuple[str, int] | None = None
    expect_workers: int | None = None
    command: list[str] = field(default_factory=lambda: list(sys.argv))
    scenario: Scenario | None = None      # already built (sweeps, ablation); else read from scenario_path
    run_name: str | None = None           # run folder name before the timestamp; default the scenario's name


def apply_overrides(scenario: Scenario, options: RunOptions) -> Scenario:
    """The scenario as this run will execute it (flags override the file)."""
    load = scenario.load.model_copy(update={k: v for k, v in {
        "duration": options.duration_s, "users": options.users, "spawn_rate": options.spawn_rate,
        "seed": options.seed}.items() if v is not None})
    variants = scenario.variants
    if options.variants:
        unknown = [v for v in options.variants if v not in variants]
        if unknown:
            raise BadInput(f"--variants: unknown variant {unknown[0]!r}, the scenario has: {', '.join(variants)}")
        variants = {name: variants[name] for name in options.variants}
    return scenario.model_copy(update={"load": load, "variants": variants})
