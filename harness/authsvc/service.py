"""The auth service's behaviour behind the HTTP routes: login, session check, refresh, protected, logout."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from redis.exceptions import RedisError

from harness.authsvc import redis_calls
from harness.authsvc.api_errors import ApiError, invalid_credentials, invalid_token, redis_failure, session_not_found
from harness.authsvc.flags import Flags
from harness.authsvc.metrics import Metrics
from harness.authsvc.redis_calls import RedisCalls
from harness.authsvc.store import ReplicaNotAcknowledged, SessionRecord, SessionStore
from harness.authsvc.tokens import AccessClaims, TokenSigner, looks_like_opaque_token
from harness.authsvc.users import PasswordChecker, UserTable
from harness.authsvc.validation import RevocationLookup, TokenValidator

log = logging.getLogger("harness.authsvc")
T = TypeVar("T")
_LOG_EVERY_S = 1.0


@dataclass(frozen=True)
class ServiceSettings:
    """Everything a worker process needs, resolved once at the entry point (and picklable for workers)."""

    redis_url: str
    profile: str
    flags: Flags
    users: UserTable
    jwt_secret: bytes
    sentinels: tuple[tuple[str, int], ...] = ()   # a replicated Redis: its Sentinels (none: a lone Redis)
    sentinel_master: str = "harness-primary"


@dataclass(frozen=True)
class LoginResult:
    session_id: str
    access_token: str
    refresh_token: str
    csrf_token: str
    expires_in: int


@dataclass(frozen=True)
class RefreshResult:
    access_token: str
    refresh_token: str
    expires_in: int


class AuthService:
    def __init__(self, settings: ServiceSettings, metrics: Metrics) -> None:
        flags = settings.flags
        self.settings = settings
        self.flags = flags
        self.metrics = metrics
        self.calls = RedisCalls(metrics=metrics, retry_backoff=flags.retry_backoff)
        self.client = redis_calls.session_client(settings.redis_url, flags, settings.sentinels,
                                                 settings.sentinel_master)
        self.validation_pool = redis_calls.validation_pool(settings.redis_url, flags)
        self.store = SessionStore(client=self.client, calls=self.calls, flags=flags, metrics=metrics,
                                  replicated=bool(settings.sentinels))
        self.signer = TokenSigner(secret=settings.jwt_secret, access_ttl_s=flags.access_ttl_s)
        self.passwords = PasswordChecker(settings.users)
        lookup = RevocationLookup(pool=self.validation_pool, calls=RedisCalls(metrics, retry_backoff=False),
                                  metrics=metrics)
        self.validator = TokenValidator(flags, lookup, metrics)
        self._last_redis_log = 0.0

    async def close(self) -> None:
        await self.store.drain_background(timeout_s=1.0)
        await redis_calls.close_session_client(self.client)
        await self.validation_pool.disconnect()
        self.passwords.close()

    def count_failure(self, endpoint: str, reason: str) -> None:
        self.metrics.failures.labels(endpoint, reason).inc()

    async def login(self, username: str, password: str) -> LoginResult:
        try:
            result = await self._login(username, password)
        except ApiError as exc:
            self.metrics.logins.labels(exc.code).inc()
            raise
        self.metrics.logins.labels("ok").inc()
        return result

    async def _login(self, username: str, password: str) -> LoginResult:
        if not await self.passwords.verify(username, password):
            raise invalid_credentials()
        new = await self._redis(self.store.create(username))
        return LoginResult(session_id=new.session_id, access_token=self.signer.issue(username, new.session_id),
                           refresh_token=new.refresh_token, csrf_token=new.csrf_token,
                           expires_in=self.flags.access_ttl_s)

    async def session(self, session_id: str | None) -> SessionRecord:
        if not session_id or not looks_like_opaque_token(session_id):
            raise session_not_found()
        record = await self._redis(self.store.get(session_id))
        if record is None:
            raise session_not_found()
        return record

    async def refresh(self, refresh_token: str) -> RefreshResult:
        if not looks_like_opaque_token(refresh_token):
            raise invalid_token("Refresh token rotated, revoked or unknown")
        rotation = await self._redis(self.store.rotate(refresh_token))
        return RefreshResult(access_token=self.signer.issue(rotation.user, rotation.session_id),
                             refresh_token=rotation.refresh_token, expires_in=self.flags.access_ttl_s)

    async def protected(self, bearer: str | None) -> AccessClaims:
        claims = self.signer.verify(bearer) if bearer else None
        if claims is None:
            raise invalid_token()
        await self.validator.check(claims)
        return claims

    async def logout(self, session_id: str, token_id: str | None) -> None:
        # Checked here, not only by the route: a value that is not one of our ids must never become a Redis key.
        if not looks_like_opaque_token(session_id):
            raise session_not_found()
        await self._redis(self.store.logout(session_id, token_id))
        self.validator.forget_session(session_id)

    async def redis_ok(self) -> bool:
        try:
            return bool(await self.calls.once("ping", self.client.ping))
        except RedisError:
            return False

    async def _redis(self, operation: Awaitable[T]) -> T:
        """Await a store operation; a Redis failure becomes the response clear_errors asks for."""
        try:
            return await operation
        except ReplicaNotAcknowledged as exc:
            # Said plainly whatever clear_errors says: the session exists but a failover could lose it.
            self._log_redis_failure(exc)
            raise redis_failure(clear_errors=True) from exc
        except RedisError as exc:
            self._log_redis_failure(exc)
            raise redis_failure(self.flags.clear_errors) from exc

    def _log_redis_failure(self, exc: RedisError) -> None:
        # Said clearly but at most once a second: an outage under load must not flood the log.
        now = time.monotonic()
        if now - self._last_redis_log >= _LOG_EVERY_S:
            self._last_redis_log = now
            log.warning("Redis call failed: %s: %s (logged at most once a second)", type(exc).__name__, exc)
