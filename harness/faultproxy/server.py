"""`harness faultproxy`: the API and every proxy on one uvloop event loop, until SIGTERM or SIGINT; with
--processes N, N-1 more processes carry a share of every proxy's connections (shards.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
from collections.abc import Awaitable, Iterator
from pathlib import Path

import prometheus_client
import uvicorn

from harness.errors import BadInput, StackError
from harness.faultproxy.api import build_app
from harness.faultproxy.collection import ProxyCollection
from harness.faultproxy.errors import ApiError
from harness.faultproxy.metrics import FaultProxyMetrics
from harness.faultproxy.shards import ShardSet, proxy_settings
from harness.ready import write_ready_file

log = logging.getLogger("harness.faultproxy")


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: serve() owns SIGTERM/SIGINT and stops the proxies too."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _event_loop_runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; asyncio still works without it
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def serve(host: str = "127.0.0.1", port: int = 8474, config: Path | None = None, seed: int | None = None,
          ready_file: Path | None = None, proxy_metrics: bool = False, runtime_metrics: bool = False,
          processes: int = 1, shard: int = 0) -> None:
    """Run the fault proxy until SIGTERM/SIGINT; return normally (exit 0) after closing everything.
    Either metrics flag serves GET /metrics, as Toxiproxy's `-proxy-metrics` and `-runtime-metrics` do.
    `processes` > 1 starts the other processes; `shard` > 0 is one of them (started by the first)."""
    name = f"%(name)s[{shard}]" if shard or processes > 1 else "%(name)s"
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(levelname)s {name}: %(message)s")
    proxies = _read_config(config) if config is not None else None
    metrics = None
    if proxy_metrics or runtime_metrics:
        # Toxiproxy's Go collectors have no *_created series. (prometheus_client leaves this function unannotated.)
        prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
        metrics = FaultProxyMetrics(proxy=proxy_metrics, runtime=runtime_metrics)
    collection = ProxyCollection(seed=seed, metrics=metrics, reuse_port=processes > 1 or shard > 0)
    shards = ShardSet.start(processes, seed, proxy_metrics) if processes > 1 else None
    try:
        with _event_loop_runner() as runner:
            runner.run(_serve(host, port, collection, proxies, ready_file, config, metrics, shards))
    finally:
        if shards is not None:
            shards.stop()


def _read_config(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise BadInput(f"{path.name}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise BadInput(f"{path.name}: not valid JSON: {exc}") from exc


def _bind_api(host: str, port: int) -> socket.socket:
    try:
        sock = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        raise StackError(f"fault proxy API cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.setblocking(False)
    return sock


async def _serve(host: str, port: int, collection: ProxyCollection, proxies: object, ready_file: Path | None,
                 config: Path | None, metrics: FaultProxyMetrics | None, shards: ShardSet | None) -> None:
    if proxies is not None and config is not None:
        await _populate_from_config(collection, proxies, config, shards)
    sock = _bind_api(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = _ApiServer(uvicorn.Config(build_app(collection, metrics, shards), lifespan="off",
                                       log_level="warning", access_log=False))
    api = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await _wait_started(server, api)
        real_port = sock.getsockname()[1]
        write_ready_file(ready_file, host, real_port)
        log.info("fault proxy API on http://%s:%d (seed %s%s)", host, real_port, collection.seed,
                 f", {1 + len(shards.shards)} processes" if shards else "")
        await _first_of(stop.wait(), api)
    finally:
        server.should_exit = True
        await asyncio.gather(api, return_exceptions=True)
        collection.stop_all()
        sock.close()
        if shards is not None:
            await shards.aclose()
    log.info("fault proxy stopped")


async def _populate_from_config(collection: ProxyCollection, proxies: object, config: Path,
                                shards: ShardSet | None) -> None:
    try:
        result = await collection.populate(collection.parse_populate(proxies))
        if result.error is not None:
            raise result.error
        if shards is not None:
            await shards.mirror("POST", "/populate", [proxy_settings(proxy) for proxy in result.proxies])
    except ApiError as error:
        collection.stop_all()
        kind = BadInput if error.status < 500 else StackError
        raise kind(f"{config.name}: {error.message}") from error
    log.info("created %d proxies from %s", len(result.proxies), config)


async def _wait_started(server: uvicorn.Server, api: asyncio.Task[None]) -> None:
    while not server.started:
        if api.done():
            api.result()
            raise StackError("fault proxy API stopped before it started")
        await asyncio.sleep(0.005)


async def _first_of(*aws: Awaitable[object]) -> None:
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        if not task.done():
            task.cancel()
