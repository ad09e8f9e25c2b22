"""Client-side helpers for the auth service tests: login flows, concurrent calls, metric reads."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.authsvc import password_of, username_of

T = TypeVar("T")
# Generous: a slow answer under a fault is data for the test, not a client error.
CLIENT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Outcome:
    """One call or flow: ok, or the error code the service answered with (or the HTTP status)."""

    ok: bool
    error: str | None = None
    status: int | None = None
    body: dict[str, Any] | None = None


def outcome_of(response: httpx.Response) -> Outcome:
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else None
    if response.status_code == 200:
        return Outcome(ok=True, status=200, body=body)
    error = body.get("error") if isinstance(body, dict) else f"http_{response.status_code}"
    return Outcome(ok=False, error=error, status=response.status_code, body=body)


def credentials(index: int) -> dict[str, str]:
    name = username_of(index)
    return {"username": name, "password": password_of(name)}


async def login(client: httpx.AsyncClient, index: int) -> Outcome:
    return outcome_of(await client.post("/login", json=credentials(index)))


async def login_then_me(client: httpx.AsyncClient, index: int) -> Outcome:
    """The login flow users care about: log in, then use the new session at once."""
    logged_in = await login(client, index)
    if not logged_in.ok or logged_in.body is None:
        return logged_in
    return outcome_of(await client.get("/me", headers={"X-Session-ID": logged_in.body["session_id"]}))


def run_all(base_url: str, calls: Iterable[Callable[[httpx.AsyncClient], Awaitable[T]]],
            concurrency: int = 200) -> list[T]:
    """Run the calls, at most `concurrency` at a time, on one pooled client. Its cookie jar is shared, which is
    harmless: every call names its session in the X-Session-ID header, and the header wins over the cookie."""
    async def main() -> list[T]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(base_url=base_url, timeout=CLIENT_TIMEOUT_S, limits=limits) as client:
            async def gated(call: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
                async with gate:
                    return await call(client)
            return list(await asyncio.gather(*(gated(call) for call in calls)))
    return asyncio.run(main())


def errors(outcomes: Iterable[Outcome]) -> list[str | None]:
    return [o.error for o in outcomes if not o.ok]


def metric(base_url: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` (e.g. authsvc_logins_total) whose labels include `labels`."""
    text = httpx.get(f"{base_url}/metrics", timeout=CLIENT_TIMEOUT_S).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total
