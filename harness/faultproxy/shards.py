"""`harness faultproxy --processes N`: one fault proxy over N processes, for loads past one process's open
files or one core.

The process started as `harness faultproxy` serves the API and carries its own share of every proxy. It starts
N-1 more, each a fault proxy with a private API on loopback, and repeats on each of them every change its API
made, as it made it: a proxy with the address it really listens on, a toxic with every attribute. Every
process listens on each proxy's address with SO_REUSEPORT, so the kernel spreads clients' connections over
them, and a toxic acts in every process on that process's connections (Toxiproxy's toxics act per connection
too). A client of the API sees one fault proxy; docs/faultproxy.md says what differs.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

from harness.deathsig import die_with_parent
from harness.errors import StackError
from harness.faultproxy.errors import ApiError
from harness.faultproxy.proxy import Proxy
from harness.polling import poll_until

MIRROR_TIMEOUT_S = 5.0   # one repeated change; a process that does not answer within it is a 500, named
START_TIMEOUT_S = 30.0   # all the processes up (each imports the server: about a second on a busy machine)


def proxy_path(name: str, *rest: str) -> str:
    return "/".join(["/proxies", quote(name, safe=""), *(quote(part, safe="") for part in rest)])


def proxy_settings(proxy: Proxy) -> dict[str, object]:
    """A proxy as the other processes must make it: the address this one really listens on, port included."""
    return {"name": proxy.name, "listen": proxy.listen, "upstream": proxy.upstream, "enabled": proxy.enabled}


@dataclass
class Shard:
    """One more process of the fault proxy: its number (1..N-1), the process and its private API."""

    index: int
    popen: subprocess.Popen[bytes]
    url: str = ""


@dataclass
class ShardSet:
    """The other processes of a fault proxy run with --processes N."""

    shards: list[Shard]
    _client: httpx.AsyncClient | None = field(default=None, repr=False)

    @classmethod
    def start(cls, processes: int, seed: int | None, proxy_metrics: bool) -> ShardSet:
        """Start processes 1..N-1 and wait until each answers; StackError (one line) when one does not."""
        shards: list[Shard] = []
        with tempfile.TemporaryDirectory(prefix="faultproxy-shards-") as folder:
            try:
                for index in range(1, processes):
                    ready = Path(folder) / f"{index}.json"
                    command = [sys.executable, "-m", "harness", "faultproxy", "--host", "127.0.0.1", "--port", "0",
                               "--ready-file", str(ready), "--shard", str(index)]
                    if seed is not None:
                        command += ["--seed", str(seed + index)]   # each process its own reproducible draws
                    if proxy_metrics:
                        command.append("--proxy-metrics")
                    # Output goes where this process's goes (its log); a child dies with this process.
                    popen = subprocess.Popen(command, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent())
                    shards.append(Shard(index, popen))
                for shard in shards:
                    shard.url = _wait_ready(shard, Path(folder) / f"{shard.index}.json")
            except BaseException:
                cls(shards).stop()
                raise
        return cls(shards)

    async def mirror(self, method: str, path: str, body: object = None, missing_ok: bool = False) -> None:
        """Make the same change in every other process; an ApiError (500) naming the first that failed."""
        client = self._http()

        async def one(shard: Shard) -> str | None:
            content = None if body is None else json.dumps(body)
            try:
                response = await client.request(method, shard.url + path, content=content)
            except httpx.HTTPError as exc:
                return f"fault proxy process {shard.index} did not take {method} {path}: {exc!r}"
            if response.status_code < 400 or (missing_ok and response.status_code == 404):
                return None
            return f"fault proxy process {shard.index} refused {method} {path}: {response.text.strip()}"

        failures = [f for f in await asyncio.gather(*(one(shard) for shard in self.shards)) if f is not None]
        if failures:
            raise ApiError(failures[0], 500)

    async def metrics_texts(self) -> list[str]:
        """Every other process's /metrics exposition (a process that does not answer is left out)."""
        client = self._http()

        async def one(shard: Shard) -> str:
            try:
                return (await client.get(shard.url + "/metrics")).text
            except httpx.HTTPError:
                return ""

        return list(await asyncio.gather(*(one(shard) for shard in self.shards)))

    def _http(self) -> httpx.AsyncClient:
        """One client for the server's life, made on first use inside its event loop."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=MIRROR_TIMEOUT_S)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM every process, then SIGKILL what is left after `timeout_s`."""
        for shard in self.shards:
            if shard.popen.poll() is None:
                shard.popen.terminate()
        for shard in self.shards:
            try:
                shard.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                shard.popen.kill()
                shard.popen.wait(timeout_s)


def _wait_ready(shard: Shard, ready: Path) -> str:
    def up() -> bool:
        if shard.popen.poll() is not None:
            raise StackError(f"fault proxy process {shard.index} exited with code {shard.popen.returncode} "
                             "during start-up (its output is in this fault proxy's log)")
        return ready.exists() and ready.stat().st_size > 0

    if not poll_until(up, START_TIMEOUT_S, 0.02):
        raise StackError(f"fault proxy process {shard.index} did not start within {START_TIMEOUT_S:.0f} s")
    return str(json.loads(ready.read_text())["url"])
