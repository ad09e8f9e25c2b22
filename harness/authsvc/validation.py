"""Access-token revocation checks: a lookup through a small bounded pool, and the cache + breaker that fix it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from redis.asyncio import BlockingConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from harness.authsvc.api_errors import invalid_token, token_validation_timeout
from harness.authsvc.flags import Flags
from harness.authsvc.metrics import Metrics
from harness.authsvc.redis_calls import RedisCalls
from harness.authsvc.tokens import AccessClaims

BREAKER_FAILURES = 5
BREAKER_OPEN_S = 5.0


def revoked_token_key(token_id: str) -> str:
    return f"revoked:jti:{token_id}"


def revoked_session_key(session_id: str) -> str:
    return f"revoked:sid:{session_id}"


@dataclass
class RevocationLookup:
    """EXISTS on the revocation keys, through a BlockingConnectionPool whose wait is bounded and measured."""

    pool: BlockingConnectionPool
    calls: RedisCalls
    metrics: Metrics

    async def is_revoked(self, claims: AccessClaims) -> bool:
        return await self.calls.once("revocation_lookup", lambda: self._exists(claims))

    async def _exists(self, claims: AccessClaims) -> bool:
        connection = await self._acquire()
        try:
            await connection.send_command("EXISTS", revoked_token_key(claims.token_id),
                                          revoked_session_key(claims.session_id))
            return int(await connection.read_response()) > 0
        except BaseException:
            # A timed-out connection may still get the late reply: never hand it to the next caller.
            await connection.disconnect()
            raise
        finally:
            await self.pool.release(connection)

    async def _acquire(self):  # unannotated: redis-py's connection type is private
        started = time.perf_counter()
        try:
            return await self.pool.get_connection()
        except RedisConnectionError as exc:
            if isinstance(exc.__cause__, asyncio.TimeoutError):
                self.metrics.pool_exhausted.inc()
            raise
        finally:
            self.metrics.pool_wait.observe(time.perf_counter() - started)


@dataclass
class CircuitBreaker:
    """Opens after consecutive failures; while open, the lookup is not called at all."""

    failure_threshold: int = BREAKER_FAILURES
    open_for_s: float = BREAKER_OPEN_S
    failures: int = 0
    opened_at: float | None = None

    def allows_call(self) -> bool:
        if self.opened_at is None:
            return True
        if time.monotonic() - self.opened_at < self.open_for_s:
            return False
        # Half-open: let calls through; `failures` stays at the threshold, so one more failure re-opens.
        self.opened_at = None
        return True

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def record_failure(self) -> None:
        self.failures += 1
        if self.failures >= self.failure_threshold:
            self.opened_at = time.monotonic()


@dataclass
class ValidatedTokens:
    """token id -> (valid until, session id); entries never outlive the token nor the cache TTL."""

    ttl_s: int
    max_entries: int = 200_000
    entries: dict[str, tuple[float, str]] = field(default_factory=dict)

    def fresh(self, token_id: str) -> bool:
        entry = self.entries.get(token_id)
        return entry is not None and entry[0] > time.time()

    def add(self, claims: AccessClaims) -> None:
        if len(self.entries) >= self.max_entries:
            self._drop_expired()
        self.entries[claims.token_id] = (min(time.time() + self.ttl_s, claims.expires_at), claims.session_id)

    def forget_session(self, session_id: str) -> None:
        for token_id in [tid for tid, (_, sid) in self.entries.items() if sid == session_id]:
            del self.entries[token_id]

    def _drop_expired(self) -> None:
        now = time.time()
        self.entries = {tid: entry for tid, entry in self.entries.items() if entry[0] > now}


class TokenValidator:
    """Decides whether a signed, unexpired access token has been revoked."""

    def __init__(self, flags: Flags, lookup: RevocationLookup, metrics: Metrics) -> None:
        self._use_cache = flags.validation_cache
        self._lookup = lookup
        self._metrics = metrics
        self._cache = ValidatedTokens(ttl_s=flags.validation_cache_ttl_s)
        self._breaker = CircuitBreaker()
        self._inflight: dict[str, asyncio.Future[bool]] = {}

    async def check(self, claims: AccessClaims) -> None:
        """Returns when the token may be used; raises the ApiError to answer otherwise."""
        if self._use_cache:
            await self._check_cached(claims)
        else:
            await self._check_every_time(claims)

    def forget_session(self, session_id: str) -> None:
        self._cache.forget_session(session_id)

    async def _check_every_time(self, claims: AccessClaims) -> None:
        # The incident's code path: a pool wait or lookup timeout is reported as an authentication failure.
        try:
            revoked = await self._lookup.is_revoked(claims)
        except RedisError as exc:
            self._count("lookup_failed")
            raise token_validation_timeout() from exc
        self._raise_if_revoked(revoked, "lookup")

    async def _check_cached(self, claims: AccessClaims) -> None:
        if self._cache.fresh(claims.token_id):
            self._count("cache")
            return
        if not self._breaker.allows_call():
            # Signature and expiry were checked; revocation is best effort while the lookup is failing.
            self._count("breaker_open")
            return
        joined = claims.token_id in self._inflight
        try:
            revoked = await self._shared_lookup(claims)
        except RedisError:
            self._breaker.record_failure()
            self._count("lookup_failed_accepted")
            return
        self._breaker.record_success()
        self._raise_if_revoked(revoked, "shared_lookup" if joined else "lookup")
        self._cache.add(claims)

    async def _shared_lookup(self, claims: AccessClaims) -> bool:
        """Concurrent checks of one token share one lookup instead of each taking a pool connection."""
        future = self._inflight.get(claims.token_id)
        if future is None:
            future = asyncio.ensure_future(self._lookup.is_revoked(claims))
            self._inflight[claims.token_id] = future
            future.add_done_callback(lambda done: self._lookup_done(claims.token_id, done))
        return await asyncio.shield(future)

    def _lookup_done(self, token_id: str, future: asyncio.Future[bool]) -> None:
        self._inflight.pop(token_id, None)
        if not future.cancelled():
            future.exception()  # retrieved here too, in case every waiter was cancelled first

    def _raise_if_revoked(self, revoked: bool, source: str) -> None:
        if revoked:
            self._count("revoked")
            raise invalid_token("Token revoked")
        self._count(source)

    def _count(self, source: str) -> None:
        self._metrics.validations.labels(source).inc()
