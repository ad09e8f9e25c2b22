"""Redis clients with explicit timeouts and no hidden retries, and the one place calls are timed and retried."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from harness.authsvc.flags import Flags
from harness.authsvc.metrics import Metrics

T = TypeVar("T")

# Errors after which the same idempotent command may be sent again; a ResponseError would only repeat.
RETRYABLE = (RedisConnectionError, RedisTimeoutError)
RETRY_ATTEMPTS = 3
RETRY_BASE_S = 0.1


def _connection_kwargs(flags: Flags) -> dict[str, object]:
    timeout_s = flags.redis_timeout_ms / 1000
    return {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        # redis-py's defaults retry silently (and differ across versions): every retry here is ours, counted.
        "retry": Retry(NoBackoff(), 0),
        "retry_on_timeout": False,
        # No CLIENT SETINFO / HELLO on connect: each would be one more round trip through an injected latency.
        "lib_name": None,
        "lib_version": None,
        "protocol": 2,
    }


def session_client(redis_url: str, flags: Flags, sentinels: Sequence[tuple[str, int]] = (),
                   master: str = "harness-primary") -> Redis:
    """The client of sessions and refresh tokens: a large pool, so each concurrent call has its own connection.

    With sentinel_discovery and Sentinels to ask, every new connection asks them where the primary is, so
    after a promotion the client reconnects to the new one; without, it keeps the one fixed address.
    """
    if sentinels and flags.sentinel_discovery:
        kwargs = _connection_kwargs(flags)
        sentinel_kwargs = {k: v for k, v in kwargs.items() if k.startswith("socket_") or k in ("retry", "protocol")}
        manager = Sentinel(list(sentinels), sentinel_kwargs=sentinel_kwargs, **kwargs)
        pool: ConnectionPool = SentinelConnectionPool(master, manager, max_connections=flags.redis_pool_size,
                                                      **manager.connection_kwargs)
    else:
        pool = ConnectionPool.from_url(redis_url, max_connections=flags.redis_pool_size, **_connection_kwargs(flags))
    return Redis(connection_pool=pool, retry=Retry(NoBackoff(), 0))


async def close_session_client(client: Redis) -> None:
    await client.aclose()
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    if manager is not None:
        await manager.aclose()


def validation_pool(redis_url: str, flags: Flags) -> BlockingConnectionPool:
    """The small bounded pool of revocation lookups: callers wait up to the pool timeout for a connection."""
    return BlockingConnectionPool.from_url(
        redis_url,
        max_connections=flags.validation_pool_size,
        timeout=flags.validation_pool_timeout_ms / 1000,
        **_connection_kwargs(flags),
    )


def backoff_delay(attempt: int) -> float:
    """Exponential from 100 ms with equal jitter, so retrying clients do not all come back at once."""
    ceiling = RETRY_BASE_S * 2 ** (attempt - 1)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass
class RedisCalls:
    """Runs Redis operations with latency metrics; retries retryable errors when `retry_backoff` is on."""

    metrics: Metrics
    retry_backoff: bool

    async def once(self, op: str, call: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            return await call()
        except RedisError as exc:
            self.metrics.redis_errors.labels(op, type(exc).__name__).inc()
            raise
        finally:
            self.metrics.redis_latency.labels(op).observe(time.perf_counter() - started)

    async def run(self, op: str, call: Callable[[], Awaitable[T]]) -> T:
        """One attempt, or up to three when retry_backoff is on; the last error is raised as is."""
        attempts = RETRY_ATTEMPTS if self.retry_backoff else 1
        for attempt in range(1, attempts + 1):
            try:
                return await self.once(op, call)
            except RETRYABLE:
                if attempt == attempts:
                    raise
                self.metrics.retries.labels(op).inc()
                await asyncio.sleep(backoff_delay(attempt))
        raise AssertionError("unreachable: the loop returns or raises")
