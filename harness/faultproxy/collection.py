"""Every proxy of the server by name, and the operations of the API on them (create, populate, reset)."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.faultproxy.addresses import Address
from harness.faultproxy.errors import MISSING_FIELD, PROXY_ALREADY_EXISTS, PROXY_NOT_FOUND, ApiError, bad_body
from harness.faultproxy.metrics import FaultProxyMetrics
from harness.faultproxy.proxy import Proxy, listen_address
from harness.faultproxy.toxics.base import go_field, json_kind

DEFAULT_LISTEN = "127.0.0.1:0"  # Toxiproxy would listen on every interface; loopback is the safe default


@dataclass(frozen=True)
class ProxyInput:
    """A proxy as POST /proxies and /populate take it."""

    name: str
    listen: str
    upstream: str
    enabled: bool


def _field(body: dict[str, object], key: str, kind: type, default: object) -> object:
    value = go_field(body, key)  # a null leaves the default, as in Go
    if value is None:
        return default
    if not isinstance(value, kind):
        raise bad_body(f"{key} must be a {'boolean' if kind is bool else 'string'}, got {json_kind(value)}")
    return value


def parse_proxy(body: object, where: str = "") -> ProxyInput:
    """Fields of one proxy; `where` (" at proxy 2") says which one of a populate list is wrong."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise bad_body(f"a proxy must be a JSON object{where}, got {json_kind(body)}")
    name = str(_field(body, "name", str, ""))
    listen = str(_field(body, "listen", str, ""))
    upstream = str(_field(body, "upstream", str, ""))
    enabled = bool(_field(body, "enabled", bool, True))
    if not name:
        raise MISSING_FIELD.joined(f"name{where}")
    if not upstream:
        raise MISSING_FIELD.joined(f"upstream{where}")
    return ProxyInput(name, listen or DEFAULT_LISTEN, upstream, enabled)


@dataclass
class PopulateResult:
    """What /populate did: the proxies created or kept, in request order, and the error that stopped it."""

    proxies: list[Proxy]
    error: ApiError | None = None


@dataclass
class ProxyCollection:
    """The server's proxies; `seed` makes every proxy's random draws reproducible; `reuse_port` when the server
    is one of several processes (--processes)."""

    seed: int | None = None
    metrics: FaultProxyMetrics | None = None
    reuse_port: bool = False
    proxies: dict[str, Proxy] = field(default_factory=dict)

    def get(self, name: str) -> Proxy:
        try:
            return self.proxies[name]
        except KeyError:
            raise PROXY_NOT_FOUND from None

    def sorted(self) -> list[Proxy]:
        """By name, as Toxiproxy's JSON encoder orders the map of GET /proxies."""
        return [self.proxies[name] for name in sorted(self.proxies)]

    def _new_proxy(self, spec: ProxyInput) -> Proxy:
        return Proxy(spec.name, spec.listen, spec.upstream, seed=self.seed, metrics=self.metrics,
                     reuse_port=self.reuse_port, port_taken=self._port_taken if self.reuse_port else None)

    def _port_taken(self, proxy: Proxy, address: Address) -> bool:
        """Another listening proxy of this server on the port (what the kernel would say without SO_REUSEPORT)."""
        return any(other is not proxy and other.enabled and listen_address(other.listen).port == address.port
                   for other in self.proxies.values())

    async def create(self, spec: ProxyInput) -> Proxy:
        if spec.name in self.proxies:
            raise PROXY_ALREADY_EXISTS
        proxy = self._new_proxy(spec)
        if spec.enabled:
            await proxy.start()  # a proxy that cannot listen is not added, as in Toxiproxy
        self.proxies[spec.name] = proxy
        return proxy

    def remove(self, name: str) -> None:
        self.get(name).stop()
        del self.proxies[name]

    def parse_populate(self, body: object) -> list[ProxyInput]:
        """The whole list, checked before anything changes (listen addresses too, where Toxiproxy
        would stop half-way with a 500)."""
        if body is None:
            return []
        if not isinstance(body, list):
            raise bad_body(f"expected a JSON array of proxies, got {json_kind(body)}")
        specs = [parse_proxy(item, f" at proxy {i}") for i, item in enumerate(body, start=1)]
        for spec in specs:
            if spec.enabled:
                listen_address(spec.listen)
        return specs

    async def populate(self, specs: list[ProxyInput]) -> PopulateResult:
        """Create or replace each proxy in order; a name given twice: the last one wins, as in Toxiproxy."""
        result = PopulateResult([])
        for spec in specs:
            try:
                result.proxies.append(await self._add_or_replace(spec))
            except ApiError as error:
                result.error = error
                break
        return result

    async def _add_or_replace(self, spec: ProxyInput) -> Proxy:
        existing = self.proxies.get(spec.name)
        if existing is not None:
            if existing.listen == spec.listen and existing.upstream == spec.upstream:
                return existing
            existing.stop()
        proxy = self._new_proxy(spec)
        if spec.enabled:
            await proxy.start()
        self.proxies[spec.name] = proxy
        return proxy

    async def reset(self) -> None:
        """Re-enable every proxy and remove every toxic."""
        for proxy in self.proxies.values():
            await proxy.start()
            proxy.toxics.clear(proxy.connections)

    def stop_all(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()
