"""A stack on an external fault proxy (docker-compose's Toxiproxy) takes over a proxy of the user's and puts it
back at stop; here the external one is the embedded fault proxy, reached only through its URL."""

from __future__ import annotations

from pathlib import Path

from harness.stack.fault_client import FaultProxyClient
from harness.stack.stack import Stack, StackSpec


def test_a_retried_proxy_keeps_the_users_original_and_its_port_and_stop_puts_it_back(fault_proxy,
                                                                                     tmp_path: Path) -> None:
    client = FaultProxyClient(fault_proxy.url)
    users_listen = client.create_proxy("redis", "127.0.0.1:1", listen="127.0.0.1:0")  # the user's own
    stack = Stack(StackSpec(log_dir=tmp_path, fault_proxy=fault_proxy.url))
    stack.fault_proxy_url, stack.client = fault_proxy.url, client
    stack._proxy("redis", "127.0.0.1:2")
    stack._proxy("redis", "127.0.0.1:3")  # tried again (a Sentinel data node restarted on another port)
    assert stack.replaced_proxies["redis"]["upstream"] == "127.0.0.1:1"   # not the run's own first proxy
    assert stack.created_proxies == ["redis"]
    taken_over = client.proxy_config("redis")
    assert taken_over is not None and taken_over["upstream"] == "127.0.0.1:3"
    assert taken_over["listen"].rpartition(":")[2] == users_listen.rpartition(":")[2]  # the port is kept
    assert stack.stop() == []
    restored = client.proxy_config("redis")
    assert restored is not None and restored["upstream"] == "127.0.0.1:1"
