"""Every proxy of the server by name, and the operations of the API on them (create, populate, reset)."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.faultproxy.errors import MISSING_FIELD, PROXY_ALREADY_EXISTS, PROXY_NOT_FOUND, bad_body
from harness.faultproxy.proxy import Proxy

DEFAULT_LISTEN = "127.0.0.1:0"  # Toxiproxy would listen on every interface; loopback is the safe default


@dataclass(frozen=True)
class ProxyInput:
    """A proxy as POST /proxies and /populate take it."""

    name: str
    listen: str
    upstream: str
    enabled: bool


def _field(body: dict[str, object], key: str, kind: type, default: object, where: str) -> object:
    value = body.get(key, default)
    if not isinstance(value, kind):
        raise bad_body(f"{key}{where} must be a {'boolean' if kind is bool else 'string'}, got {value!r}")
    return value


def parse_proxy(body: object, where: str = "") -> ProxyInput:
    """Fields of one proxy; `where` (" at proxy 2") says which one of a populate list is wrong."""
    if not isinstance(body, dict):
        raise bad_body(f"a proxy must be a JSON object{where}, got {body!r}")
    name = _field(body, "name", str, "", where)
    upstream = _field(body, "upstream", str, "", where)
    if not name:
        raise MISSING_FIELD.joined(f"name{where}")
    if not upstream:
        raise MISSING_FIELD.joined(f"upstream{where}")
    listen = _field(body, "listen", str, DEFAULT_LISTEN, where) or DEFAULT_LISTEN
    enabled = _field(body, "enabled", bool, True, where)
    return ProxyInput(str(name), str(listen), str(upstream), bool(enabled))


@dataclass
class ProxyCollection:
    """The server's proxies; `seed` makes every proxy's random draws reproducible."""

    seed: int | None = None
    proxies: dict[str, Proxy] = field(default_factory=dict)

    def get(self, name: str) -> Proxy:
        try:
            return self.proxies[name]
        except KeyError:
            raise PROXY_NOT_FOUND from None

    def _new_proxy(self, spec: ProxyInput) -> Proxy:
        return Proxy(spec.name, spec.listen, spec.upstream, seed=self.seed)

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

    async def populate(self, body: object) -> list[Proxy]:
        """Create or replace the listed proxies; the whole list is validated before anything changes."""
        if not isinstance(body, list):
            raise bad_body(f"expected a JSON array of proxies, got {type(body).__name__}")
        specs = [parse_proxy(item, f" at proxy {i}") for i, item in enumerate(body, start=1)]
        names = [spec.name for spec in specs]
        duplicate = next((name for name in names if names.count(name) > 1), None)
        if duplicate is not None:
            raise bad_body(f"duplicate proxy name {duplicate!r}")
        for spec in specs:
            self._new_proxy(spec)  # address checks only: nothing listens yet
        return [await self._add_or_replace(spec) for spec in specs]

    async def _add_or_replace(self, spec: ProxyInput) -> Proxy:
        existing = self.proxies.get(spec.name)
        if existing is not None:
            if existing.listen == spec.listen and existing.upstream == spec.upstream:
                return existing
            self.remove(spec.name)
        return await self.create(spec)

    async def reset(self) -> None:
        """Re-enable every proxy and remove every toxic."""
        for proxy in self.proxies.values():
            await proxy.start()
            proxy.toxics.clear(proxy.connections)

    def stop_all(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()
