"""The toxiproxy-python client from PyPI drives the server unchanged."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from harness.pytest_plugin import FaultProxy
from harness.stack import RedisServer
from tests.faultproxy.helpers import connect, timed_ping


def _address(listen: str) -> tuple[str, int]:
    host, port = listen.rsplit(":", 1)
    return host, int(port)


def test_create_list_get_destroy(toxiproxy: Toxiproxy, redis_server: RedisServer) -> None:
    proxy = toxiproxy.create(upstream=redis_server.address, name="redis")
    assert proxy.enabled is True and not proxy.listen.endswith(":0")
    assert set(toxiproxy.proxies()) == {"redis"}
    assert toxiproxy.get_proxy("redis").listen == proxy.listen
    with connect(_address(proxy.listen)) as sock:
        timed_ping(sock)
    with pytest.raises(ProxyExists):
        toxiproxy.create(upstream=redis_server.address, name="redis")
    assert toxiproxy.destroy(proxy) is True
    assert toxiproxy.get_proxy("redis") is None


def test_toxics_add_update_destroy(toxiproxy: Toxiproxy, redis_server: RedisServer) -> None:
    proxy = toxiproxy.create(upstream=redis_server.address, name="redis")
    proxy.add_toxic(type="latency", attributes={"latency": 120})
    toxic = proxy.get_toxic("latency_downstream")
    assert toxic.attributes == {"latency": 120, "jitter": 0} and toxic.toxicity == 1.0
    with connect(_address(proxy.listen)) as sock:
        assert timed_ping(sock) >= 120
        APIConsumer.post("/proxies/redis/toxics/latency_downstream", json={"attributes": {"latency": 0}})
        assert proxy.get_toxic("latency_downstream").attributes["latency"] == 0
        assert timed_ping(sock) < 120
        assert proxy.destroy_toxic("latency_downstream") is True
    assert proxy.toxics() == {}
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="no_such_toxic")
    with pytest.raises(NotFound):
        proxy.destroy_toxic("latency_downstream")


def test_down_context_manager_takes_the_proxy_down(toxiproxy: Toxiproxy, redis_server: RedisServer) -> None:
    proxy = toxiproxy.create(upstream=redis_server.address, name="redis")
    with proxy.down():
        assert toxiproxy.get_proxy("redis").enabled is False
        with pytest.raises(ConnectionRefusedError):
            connect(_address(proxy.listen))
    assert toxiproxy.get_proxy("redis").enabled is True
    with connect(_address(proxy.listen)) as sock:
        timed_ping(sock)


def test_reset_and_populate(toxiproxy: Toxiproxy, redis_server: RedisServer) -> None:
    created = toxiproxy.populate([{"name": "a", "upstream": redis_server.address, "listen": "127.0.0.1:0"},
                                  {"name": "b", "upstream": redis_server.address, "listen": "127.0.0.1:0"}])
    assert sorted(p.name for p in created) == ["a", "b"]
    toxiproxy.get_proxy("a").add_toxic(type="timeout", attributes={"timeout": 0})
    toxiproxy.get_proxy("b").disable()
    assert toxiproxy.reset() is True
    assert all(p.enabled for p in toxiproxy.proxies().values())
    assert toxiproxy.get_proxy("a").toxics() == {}


def test_version_and_running(toxiproxy: Toxiproxy) -> None:
    assert toxiproxy.running() is True
    assert b'"version"' in toxiproxy.version()


def test_the_plugin_fixture_serves_the_same_api(fault_proxy: FaultProxy, redis_server: RedisServer) -> None:
    """The pytest plugin's own fault_proxy fixture is driven the same way."""
    api = urlsplit(fault_proxy.url)
    client = Toxiproxy()
    client.update_api_consumer(api.hostname, api.port)
    proxy = client.create(upstream=redis_server.address, name="faultproxy-plugin-check")
    try:
        proxy.add_toxic(type="latency", stream="upstream", attributes={"latency": 80})
        with connect(_address(proxy.listen)) as sock:
            assert timed_ping(sock) >= 80
    finally:
        proxy.destroy()
