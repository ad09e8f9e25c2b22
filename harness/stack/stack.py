"""One variant's stack: Redis, the fault proxy with its `redis` and `edge` proxies, and the auth service."""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.errors import BadInput, HarnessError, StackError
from harness.files import write_json_atomic
from harness.stack.fault_client import FaultProxyClient, check_fault_proxy_url, left_undone
from harness.stack.procs import ManagedProcess, free_port
from harness.stack.redis import RedisServer
from harness.stack.sentinel import SentinelSettings, SentinelTopology
from harness.stack.service import Placeholders, ServiceCommand, host_port_of, start_command_service, wait_service_ready

FAULT_PROXY_KINDS = ("embedded", "binary")


def describe_fault_proxy(kind: str) -> str:
    """Validate --fault-proxy: embedded, binary, or an http:// URL of a running Toxiproxy."""
    if kind in FAULT_PROXY_KINDS:
        return kind
    if kind.startswith(("http://", "https://")):
        check_fault_proxy_url(kind)
        return kind
    raise BadInput(f"--fault-proxy: must be embedded, binary or http://HOST:PORT, got {kind!r}")


def address_facing(url: str) -> str:
    """The local address a fault proxy at `url` reaches this machine at: loopback for a local one,
    else the address of the interface that routes to it (in docker-compose, this container's IP)."""
    parts = urlsplit(url)
    addresses = [info[4][0] for info in socket.getaddrinfo(parts.hostname or "", parts.port or 80,
                                                             socket.AF_INET, socket.SOCK_STREAM)]
    if not addresses or all(ipaddress.ip_address(a).is_loopback for a in addresses):
        return "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((addresses[0], parts.port or 80))  # UDP connect sends nothing; it only picks a route
        return str(probe.getsockname()[0])


@dataclass
class StackSpec:
    """What to start for one variant."""

    log_dir: Path
    fault_proxy: str = "embedded"
    fault_proxy_processes: int = 1       # embedded: processes sharing every proxy's connections (descriptors)
    profile: str = "fixed"
    flags: dict[str, str] = field(default_factory=dict)
    service_users: int = 1000
    service_workers: int = 1
    with_edge: bool = True
    seed: int | None = None
    detached: bool = False               # `harness up`: processes outlive the process that started them
    advertise_host: str | None = None    # address the fault proxy reaches Redis and the service at; None: found
    state_file: Path | None = None       # proxies created or replaced on an external fault proxy (the watchdog)
    service_command: ServiceCommand | None = None  # your own service, started here; None with neither: reference
    service_url: str | None = None       # your own service, already running at this URL
    service_ready: str = "/"             # with service_url: the path that must answer before the load starts
    service_ready_timeout_s: float = 30.0
    variant: str = ""                    # for the {variant} and {run_dir} placeholders
    run_dir: Path | None = None
    redis_upstream: str | None = None    # an existing Redis behind the `redis` proxy; None: a throwaway one
    redis_listen: str | None = None      # where the `redis` proxy listens; None: a free port
    sentinel: SentinelSettings | None = None  # [redis] topology = "sentinel": primary, replicas, three Sentinels


@dataclass
class Stack:
    """The started parts and their URLs; stop() stops exactly what start() started, by PID."""

    spec: StackSpec
    redis: RedisServer | None = None
    topology: SentinelTopology | None = None
    fault_proxy_process: ManagedProcess | None = None
    fault_proxy_url: str = ""
    client: FaultProxyClient | None = None
    service_process: ManagedProcess | None = None
    service_url: str = ""
    edge_url: str = ""
    redis_proxy_address: str = ""
    created_proxies: list[str] = field(default_factory=list)
    replaced_proxies: dict[str, dict[str, Any]] = field(default_factory=dict)
    bind_host: str = "127.0.0.1"

    def start(self) -> Stack:
        try:
            # The fault proxy first: where it runs decides the address Redis and the service bind.
            self._start_fault_proxy()
            self._start_redis()
            self._start_service()
            if self.spec.with_edge:
                # The edge proxy fronts whichever service is under test; a path in its URL is kept.
                parts = urlsplit(self.service_url)  # a TCP proxy: the scheme and any path prefix carry over
                listen = self._proxy("edge", host_port_of(self.service_url))
                self.edge_url = f"{parts.scheme}://{listen}{parts.path.rstrip('/')}"
            else:
                self.edge_url = self.service_url
        except BadInput:
            self._stop_unstarted()
            raise
        except HarnessError as exc:
            left = self._stop_unstarted()
            # Say a server at the URL that is not a fault proxy, or one that refused a proxy: the stack did not
            # start, exit 3 (DESIGN.md), whatever part of it said no; and what it could not put back.
            raise StackError(str(exc) + left) from exc
        except BaseException:
            self._stop_unstarted()
            raise
        return self

    def _stop_unstarted(self) -> str:
        """Stop what did start, its fault proxy calls within the rollback bound; returns what was left on an
        external fault proxy as the end of a line ("" when nothing)."""
        with self.client.bounded() if self.client is not None else contextlib.nullcontext():
            failures = self.stop()
        if not failures:
            return ""
        url = self.fault_proxy_url
        return f"; could not put back its proxies at {url}: {left_undone(url, failures)}"

    def _start_redis(self) -> None:
        if self.spec.sentinel is not None:
            self.topology = SentinelTopology(self.spec.sentinel, self._proxy, self.spec.log_dir, self.bind_host,
                                             die_with_parent=not self.spec.detached).start()
            self.redis_proxy_address = self.topology.primary_proxy_address   # it made the `redis` proxy
            return
        if self.spec.redis_upstream is not None:
            return  # an existing Redis: the run only reaches it through the `redis` proxy
        self.redis = RedisServer(log_dir=self.spec.log_dir, host=self.bind_host,
                                 die_with_parent=not self.spec.detached).start()

    def _start_fault_proxy(self) -> None:
        kind = self.spec.fault_proxy
        if kind == "embedded":
            from harness.stack import start_fault_proxy

            server = start_fault_proxy(self.spec.log_dir, seed=self.spec.seed, die_with_parent=not self.spec.detached,
                                       processes=self.spec.fault_proxy_processes)
            self.fault_proxy_process, self.fault_proxy_url = server.process, server.url
        elif kind == "binary":
            self._start_toxiproxy_binary()
        else:
            self.fault_proxy_url = kind.rstrip("/")
            self.bind_host = self.spec.advertise_host or address_facing(self.fault_proxy_url)
        self.client = FaultProxyClient(self.fault_proxy_url)
        self.client.version()  # fails early, with the URL, when nothing answers there

    def _start_toxiproxy_binary(self) -> None:
        binary = shutil.which("toxiproxy-server")
        if binary is None:
            raise StackError("--fault-proxy binary: no toxiproxy-server on PATH (use embedded, or a URL)")
        port = free_port()
        process = ManagedProcess("toxiproxy-server", [binary, "-host", "127.0.0.1", "-port", str(port)],
                                 self.spec.log_dir, die_with_parent=not self.spec.detached).start()
        self.fault_proxy_process, self.fault_proxy_url = process, f"http://127.0.0.1:{port}"
        process.wait_ready(lambda: httpx.get(f"{self.fault_proxy_url}/version", timeout=1).status_code == 200)

    def _proxy(self, name: str, upstream: str, listen_at: str | None = None) -> str:
        """Create a proxy (at `listen_at` when given); returns the address the rest of the stack reaches it at."""
        assert self.client is not None
        if self.fault_proxy_process is not None:  # our own fault proxy: nothing else uses it
            listen = self.client.create_proxy(name, upstream, listen=listen_at or "127.0.0.1:0")
            self.created_proxies.append(name)
            return listen
        # An external fault proxy (docker-compose): take over a proxy of that name, keeping its port, and
        # put the original back at stop. In another container, listen on every interface so we can reach it.
        original = self.client.proxy_config(name)
        if name not in self.created_proxies:  # a retry (a Sentinel data node on another port) finds our own
            if original is not None:
                self.replaced_proxies[name] = original
            self.created_proxies.append(name)
        self._save_state()  # before the change, so a watchdog knows what to undo if we die during it
        port = original["listen"].rpartition(":")[2] if original else "0"
        listen_host = "127.0.0.1" if self.bind_host == "127.0.0.1" else "0.0.0.0"
        listen = self.client.create_proxy(name, upstream, listen=listen_at or f"{listen_host}:{port}")
        return f"{urlsplit(self.fault_proxy_url).hostname}:{listen.rpartition(':')[2]}"

    def _save_state(self) -> None:
        if self.spec.state_file is not None:
            state = {"url": self.fault_proxy_url, "created": self.created_proxies, "replaced": self.replaced_proxies}
            write_json_atomic(self.spec.state_file, state)

    def _start_service(self) -> None:
        if self.topology is None:   # a Sentinel topology made its `redis` proxy itself
            upstream = self.spec.redis_upstream or (self.redis.address if self.redis else "")
            self.redis_proxy_address = self._proxy("redis", upstream, self.spec.redis_listen)
        if self.spec.service_command is not None:
            self._start_command_service(self.spec.service_command)
        elif self.spec.service_url is not None:
            wait_service_ready(self.spec.service_url, self.spec.service_ready, self.spec.service_ready_timeout_s)
            self.service_url = self.spec.service_url
        else:
            self._start_reference_service()

    def _start_command_service(self, command: ServiceCommand) -> None:
        redis_host, _, redis_port = self.redis_proxy_address.rpartition(":")
        values = Placeholders(port=free_port(self.bind_host), host=self.bind_host, redis_host=redis_host,
                              redis_port=int(redis_port), variant=self.spec.variant,
                              run_dir=(self.spec.run_dir or self.spec.log_dir).resolve(),
                              sentinel_addresses=",".join(self.topology.sentinel_addresses) if self.topology else "",
                              sentinel_master=self.topology.master_name if self.topology else "")
        self.service_process, self.service_url = start_command_service(
            command, values, self.spec.log_dir, die_with_parent=not self.spec.detached)

    def _start_reference_service(self) -> None:
        from harness.stack import start_authsvc

        server = start_authsvc(f"redis://{self.redis_proxy_address}/0", self.spec.log_dir,
                               profile=self.spec.profile, flags=self.spec.flags, users=self.spec.service_users,
                               workers=self.spec.service_workers, host=self.bind_host,
                               die_with_parent=not self.spec.detached,
                               sentinels=self.topology.sentinel_addresses if self.topology else (),
                               sentinel_master=self.topology.master_name if self.topology else None)
        self.service_process, self.service_url = server.process, server.url

    def processes(self) -> list[ManagedProcess]:
        procs = [self.service_process, self.fault_proxy_process, self.redis.process if self.redis else None,
                 *(self.topology.processes() if self.topology else [])]
        return [p for p in procs if p is not None]

    def stop(self, fast: bool = False) -> list[str]:
        """Service first (it talks to Redis through the proxy), then the proxy, then Redis. Returns what
        could not be put back on an external fault proxy."""
        timeout, failures = (0.5 if fast else 5.0), []
        if self.service_process is not None:
            self.service_process.stop(timeout)
        if self.client is not None and self.fault_proxy_process is None:
            # An external Toxiproxy outlives the run: remove the proxies this run made there.
            failures = restore_proxies(self.client, self.created_proxies, self.replaced_proxies)
            if not failures:  # else the state file keeps naming them, for the watchdog and whoever reads it
                self.created_proxies, self.replaced_proxies = [], {}
                self._save_state()
        if self.fault_proxy_process is not None:
            self.fault_proxy_process.stop(timeout)
        if self.redis is not None:
            self.redis.stop()
        if self.topology is not None:
            self.topology.stop()
        return failures


def restore_proxies(client: FaultProxyClient, created: list[str], replaced: dict[str, dict[str, Any]]) -> list[str]:
    """Delete the proxies a stack created on an external fault proxy and put back those it replaced;
    returns what could not be done."""
    failures = []
    for name in created:
        try:
            client.delete_proxy(name)
        except HarnessError as exc:
            failures.append(str(exc))
    for name, original in replaced.items():
        try:
            client.create_proxy(name, original["upstream"], listen=original["listen"])
            if not original.get("enabled", True):
                client.set_enabled(name, False)
        except HarnessError as exc:
            failures.append(str(exc))
    return failures
