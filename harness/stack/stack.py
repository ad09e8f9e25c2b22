"""One variant's stack: Redis, the fault proxy with its `redis` and `edge` proxies, and the auth service."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.errors import BadInput, HarnessError, StackError
from harness.faults import FaultProxyClient
from harness.stack.procs import ManagedProcess, free_port
from harness.stack.redis import RedisServer

FAULT_PROXY_KINDS = ("embedded", "binary")


def describe_fault_proxy(kind: str) -> str:
    """Validate --fault-proxy: embedded, binary, or an http:// URL of a running Toxiproxy."""
    if kind in FAULT_PROXY_KINDS or kind.startswith(("http://", "https://")):
        return kind
    raise BadInput(f"--fault-proxy: must be embedded, binary or http://HOST:PORT, got {kind!r}")


@dataclass
class StackSpec:
    """What to start for one variant."""

    log_dir: Path
    fault_proxy: str = "embedded"
    profile: str = "fixed"
    flags: dict[str, str] = field(default_factory=dict)
    service_users: int = 1000
    service_workers: int = 1
    with_edge: bool = True
    seed: int | None = None


@dataclass
class Stack:
    """The started parts and their URLs; stop() stops exactly what start() started, by PID."""

    spec: StackSpec
    redis: RedisServer | None = None
    fault_proxy_process: ManagedProcess | None = None
    fault_proxy_url: str = ""
    client: FaultProxyClient | None = None
    service_process: ManagedProcess | None = None
    service_url: str = ""
    edge_url: str = ""
    redis_proxy_address: str = ""
    created_proxies: list[str] = field(default_factory=list)

    def start(self) -> Stack:
        try:
            self._start_redis()
            self._start_fault_proxy()
            self._start_service()
            if self.spec.with_edge:
                self.edge_url = "http://" + self._proxy("edge", self.service_url.removeprefix("http://"))
            else:
                self.edge_url = self.service_url
        except BaseException:
            self.stop()
            raise
        return self

    def _start_redis(self) -> None:
        self.redis = RedisServer(log_dir=self.spec.log_dir).start()

    def _start_fault_proxy(self) -> None:
        kind = self.spec.fault_proxy
        if kind == "embedded":
            from harness.stack import start_fault_proxy

            server = start_fault_proxy(self.spec.log_dir, seed=self.spec.seed)
            self.fault_proxy_process, self.fault_proxy_url = server.process, server.url
        elif kind == "binary":
            self._start_toxiproxy_binary()
        else:
            self.fault_proxy_url = kind.rstrip("/")
        self.client = FaultProxyClient(self.fault_proxy_url)
        self.client.version()  # fails early, with the URL, when nothing answers there

    def _start_toxiproxy_binary(self) -> None:
        binary = shutil.which("toxiproxy-server")
        if binary is None:
            raise StackError("--fault-proxy binary: no toxiproxy-server on PATH (use embedded, or a URL)")
        port = free_port()
        process = ManagedProcess("toxiproxy-server", [binary, "-host", "127.0.0.1", "-port", str(port)],
                                 self.spec.log_dir).start()
        self.fault_proxy_process, self.fault_proxy_url = process, f"http://127.0.0.1:{port}"
        process.wait_ready(lambda: httpx.get(f"{self.fault_proxy_url}/version", timeout=1).status_code == 200)

    def _proxy(self, name: str, upstream: str) -> str:
        assert self.client is not None
        listen = self.client.create_proxy(name, upstream)
        self.created_proxies.append(name)
        return listen

    def _start_service(self) -> None:
        from harness.stack import start_authsvc

        assert self.redis is not None
        self.redis_proxy_address = self._proxy("redis", self.redis.address)
        server = start_authsvc(f"redis://{self.redis_proxy_address}/0", self.spec.log_dir,
                               profile=self.spec.profile, flags=self.spec.flags, users=self.spec.service_users,
                               workers=self.spec.service_workers)
        self.service_process, self.service_url = server.process, server.url

    def processes(self) -> list[ManagedProcess]:
        procs = [self.service_process, self.fault_proxy_process, self.redis.process if self.redis else None]
        return [p for p in procs if p is not None]

    def stop(self, fast: bool = False) -> None:
        """Service first (it talks to Redis through the proxy), then the proxy, then Redis."""
        timeout = 0.5 if fast else 5.0
        if self.service_process is not None:
            self.service_process.stop(timeout)
        if self.client is not None and self.fault_proxy_process is None:
            # An external Toxiproxy outlives the run: remove the proxies this run made there.
            for name in self.created_proxies:
                with contextlib.suppress(HarnessError):
                    self.client.delete_proxy(name)
        if self.fault_proxy_process is not None:
            self.fault_proxy_process.stop(timeout)
        if self.redis is not None:
            self.redis.stop()
