"""A bounded client of the Toxiproxy HTTP API, for any Toxiproxy-compatible server.

Talks to any Toxiproxy-compatible server (the embedded one, `toxiproxy-server`, or one from
docker-compose) over its HTTP API; nothing here knows which one it is. The harness's own calls go
through a small httpx client rather than toxiproxy-python: that client sets no timeout on any call
and keeps the address in class attributes (one per process), so a fault proxy that stops answering
would hang a rollback forever. Every call here has a timeout, and a rollback a bound on its total wait
(docs/safety.md). toxiproxy-python stays a dependency for users' own tests and the compatibility tests.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from harness.errors import BadInput, HarnessError, StackError

CALL_TIMEOUT_S = 5.0       # one API call: no answer within this is "not answering"
CONNECT_TIMEOUT_S = 2.0
ROLLBACK_BOUND_S = 10.0    # all undo calls of a variant's teardown together (faults, then proxies), docs/safety.md


class FaultProxyError(HarnessError):
    """The fault proxy refused or failed an action the run needed."""


class FaultProxyUnanswered(StackError):
    """The fault proxy did not answer (or could not be reached) within the bound of the call."""


def check_fault_proxy_url(url: str, what: str = "--fault-proxy") -> None:
    """Refuse, before anything starts, a fault proxy URL the run could not reach: a bad or missing port, no
    host, or a host that does not resolve (found only mid-run, it left a run folder and a traceback)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # out of range or not a number
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port:
        raise BadInput(f"{what}: must be http://HOST:PORT with a port from 1 to 65535, got {url!r}")
    try:
        socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise BadInput(f"{what}: cannot resolve {parts.hostname!r} in {url!r}") from None


def reset_hint(url: str) -> str:
    return f"run `harness reset --fault-proxy {url}` once it answers again"


def left_undone(url: str, failures: list[str]) -> str:
    """The first failure, how many actions were left undone, and the `harness reset` to run (one line's tail)."""
    return f"{failures[0]}; {len(failures)} action(s) left undone; {reset_hint(url)}"


@dataclass
class FaultProxyClient:
    """A Toxiproxy API endpoint; every call waits at most `timeout_s`, and inside bounded() all of them together
    at most its total."""

    url: str
    timeout_s: float = CALL_TIMEOUT_S
    _budget_s: float | None = field(default=None, repr=False)   # inside bounded(): seconds left to wait
    _gave_up: str | None = field(default=None, repr=False)     # inside bounded(): why the rest is not tried

    def __post_init__(self) -> None:
        parts = urlsplit(self.url if "://" in self.url else f"http://{self.url}")
        if not parts.hostname or not parts.port:
            raise FaultProxyError(f"fault proxy URL {self.url!r}: must be http://HOST:PORT")
        self.url = f"{parts.scheme}://{parts.netloc}"
        self.host, self.port = parts.hostname, parts.port

    @contextlib.contextmanager
    def bounded(self, total_s: float = ROLLBACK_BOUND_S) -> Iterator[None]:
        """Inside the block, the calls together wait at most `total_s`, and once one goes unanswered the
        rest fail at once (each would only wait out its own timeout): a rollback's time is bounded. A block
        opened inside another spends the outer one's budget (a second pass must not start a fresh bound)."""
        if self._budget_s is not None:
            yield
            return
        self._budget_s, self._gave_up = total_s, None
        try:
            yield
        finally:
            self._budget_s = None

    def _timeout(self, what: str) -> float:
        if self._budget_s is None:
            return self.timeout_s
        if self._gave_up is not None or self._budget_s <= 0:
            raise FaultProxyUnanswered(f"fault proxy at {self.url}: {what} not tried, "
                                       f"{self._gave_up or 'the rollback time bound was spent'}")
        return min(self.timeout_s, self._budget_s)

    def _request(self, what: str, method: str, path: str, body: dict[str, Any] | None = None,
                 missing_ok: bool = False) -> httpx.Response | None:
        timeout, started = self._timeout(what), time.monotonic()
        try:
            response = httpx.request(method, self.url + path, json=body,
                                     timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_S, timeout)))
        except httpx.TimeoutException as exc:
            self._gave_up = f"it did not answer within {timeout:.0f} s"
            raise FaultProxyUnanswered(f"fault proxy at {self.url} did not answer within {timeout:.0f} s "
                                       f"({what})") from exc
        except httpx.HTTPError as exc:
            self._gave_up = "it was not reachable"
            raise FaultProxyUnanswered(f"fault proxy at {self.url} is not reachable ({what})") from exc
        finally:
            if self._budget_s is not None:
                self._budget_s -= time.monotonic() - started
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise FaultProxyError(f"fault proxy refused to {what}: {_error_text(response)}")
        return response

    def version(self) -> str:
        response = self._request("get its version", "GET", "/version")
        assert response is not None
        return response.text.strip()

    def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0") -> str:
        """Create (or replace) a proxy; returns the address it really listens on."""
        self.delete_proxy(name)
        response = self._request(f"create proxy {name}", "POST", "/proxies",
                                 {"name": name, "upstream": upstream, "listen": listen, "enabled": True})
        assert response is not None
        return str(response.json()["listen"])

    def proxy_config(self, name: str) -> dict[str, Any] | None:
        """{name, listen, upstream, enabled} of a proxy, or None when there is none."""
        response = self._request(f"look up proxy {name}", "GET", _proxy_path(name), missing_ok=True)
        if response is None:
            return None
        data = response.json()
        return {key: data[key] for key in ("name", "listen", "upstream", "enabled")}

    def delete_proxy(self, name: str) -> None:
        self._request(f"delete proxy {name}", "DELETE", _proxy_path(name), missing_ok=True)

    def add_toxic(self, proxy: str, name: str, type: str, stream: str, toxicity: float,
                  attributes: dict[str, Any]) -> None:
        self._request(f"add toxic {name} to {proxy}", "POST", _proxy_path(proxy) + "/toxics",
                      {"name": name, "type": type, "stream": stream, "toxicity": toxicity,
                       "attributes": attributes})

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._request(f"remove toxic {name} from {proxy}", "DELETE", f"{_proxy_path(proxy)}/toxics/{quote(name)}")

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        self._request(f"{'enable' if enabled else 'disable'} {proxy}", "POST", _proxy_path(proxy),
                      {"enabled": enabled})

    def reset(self) -> None:
        self._request("reset", "POST", "/reset")


def _proxy_path(name: str) -> str:
    return f"/proxies/{quote(name, safe='')}"


def _error_text(response: httpx.Response) -> str:
    """Toxiproxy answers errors as {"error": ..., "status": ...}; anything else is shown as sent."""
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        return str(response.json()["error"])
    return f"HTTP {response.status_code} {response.text.strip()[:200]}"
