"""Sessions and refresh tokens in Redis: the session write of login, refresh-token rotation, logout."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from harness.authsvc.api_errors import invalid_token
from harness.authsvc.flags import Flags
from harness.authsvc.metrics import Metrics
from harness.authsvc.redis_calls import RedisCalls
from harness.authsvc.tokens import new_opaque_token, token_digest
from harness.authsvc.validation import revoked_session_key, revoked_token_key

log = logging.getLogger("harness.authsvc")

# Compare-and-delete: only the holder of the lock releases it, never a caller whose lock already expired.
_RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_LOCK_POLL_S = 0.01
# Rotate only while the family is alive (logout deletes rtcur) and, under the lock, only from the current
# token. A retry of a write that landed finds its own successor current and counts as done.
# KEYS: rtcur, rt:new, rt:old, rtdone:old.
_ROTATE = """
local current = redis.call('get', KEYS[1])
if current == ARGV[2] then return 1 end
if not current or (ARGV[8] == '1' and current ~= ARGV[1]) then return 0 end
redis.call('set', KEYS[2], ARGV[3], 'EX', ARGV[4])
redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[4])
if ARGV[5] == '' then redis.call('del', KEYS[3]) else redis.call('set', KEYS[3], ARGV[5], 'EX', ARGV[4]) end
if ARGV[6] ~= '' then redis.call('set', KEYS[4], ARGV[6], 'EX', ARGV[7]) end
return 1
"""
# A refresh that passed its checks just before a logout may still sign one access token after it.
_IN_FLIGHT_MARGIN_S = 60


def session_key(session_id: str) -> str:
    return f"sess:{session_id}"


def refresh_key(digest: str) -> str:
    return f"rt:{digest}"


def current_refresh_key(session_id: str) -> str:
    # The one refresh token of a session that may still be used; rotation moves it.
    return f"rtcur:{session_id}"


def _lock_key(digest: str) -> str:
    return f"rtlock:{digest}"


def _rotated_key(digest: str) -> str:
    return f"rtdone:{digest}"


@dataclass(frozen=True)
class SessionRecord:
    user: str
    csrf_token: str


@dataclass(frozen=True)
class NewSession:
    user: str
    session_id: str
    refresh_token: str
    csrf_token: str


@dataclass(frozen=True)
class Rotation:
    """The outcome of a refresh: who it is for and the refresh token that now replaces the old one."""

    user: str
    session_id: str
    refresh_token: str


class ReplicaNotAcknowledged(RedisError):
    """WAIT timed out with no replica holding the session: a failover now would lose it."""


@dataclass
class SessionStore:
    client: Redis
    calls: RedisCalls
    flags: Flags
    metrics: Metrics
    replicated: bool = False   # the Redis has replicas (the service was given its Sentinels)
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    # --- login -------------------------------------------------------------------------------------------------

    async def create(self, user: str) -> NewSession:
        """Store a new session; with await_session_write off the caller gets the ids before Redis has them."""
        new = NewSession(user=user, session_id=new_opaque_token(), refresh_token=new_opaque_token(),
                         csrf_token=secrets.token_urlsafe(16))
        if self.flags.await_session_write:
            await self.calls.run("session_write", lambda: self._write_session(new))
        else:
            self._write_in_background(new)
        return new

    def _write_in_background(self, new: NewSession) -> None:
        # The incident's code: the write is scheduled and the reply goes out. It runs on its own pooled
        # connection, so the client's next request can reach Redis first on another one.
        task = asyncio.create_task(self.calls.run("session_write", lambda: self._write_session(new)))
        self._background.add(task)
        task.add_done_callback(self._background_write_done)

    def _background_write_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if task.cancelled():
            self.metrics.lost_session_writes.inc()
            log.warning("session write lost: cancelled at shutdown after the login reply was sent")
            return
        exc = task.exception()
        if exc is not None:
            self.metrics.lost_session_writes.inc()
            log.warning("session write lost after the login reply was sent: %s: %s", type(exc).__name__, exc)

    async def _write_session(self, new: NewSession) -> None:
        ttl = self.flags.session_ttl_s
        digest = token_digest(new.refresh_token)
        record = json.dumps({"user": new.user, "csrf": new.csrf_token})
        wait = self.flags.wait_for_replica and self.replicated
        # WAIT counts the replicas that hold this connection's writes, so it must follow them on the same
        # connection: a plain pipeline carrying MULTI ... EXEC and then WAIT, in one round trip.
        async with self.client.pipeline(transaction=not wait) as pipe:
            if wait:
                pipe.execute_command("MULTI")
            pipe.set(session_key(new.session_id), record, ex=ttl)
            pipe.set(refresh_key(digest), json.dumps({"user": new.user, "sid": new.session_id}), ex=ttl)
            pipe.set(current_refresh_key(new.session_id), digest, ex=ttl)
            if wait:
                pipe.execute_command("EXEC")
                pipe.execute_command("WAIT", 1, self._replica_wait_ms())
            replies = await pipe.execute()
        if wait and int(replies[-1]) < 1:
            self.metrics.redis_errors.labels("session_write", "ReplicaNotAcknowledged").inc()
            raise ReplicaNotAcknowledged(f"no replica acknowledged the session within {self._replica_wait_ms()} ms")

    def _replica_wait_ms(self) -> int:
        # Under the socket timeout, so a slow replica reads as "not acknowledged", never as a Redis timeout.
        return max(1, min(self.flags.replica_wait_ms, self.flags.redis_timeout_ms * 4 // 5))

    async def drain_background(self, timeout_s: float) -> None:
        """At shutdown: give pending fire-and-forget writes a moment, then cancel (they are logged as lost)."""
        pending = list(self._background)
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout_s)
            for task in still:
                task.cancel()

    # --- session lookup ----------------------------------------------------------------------------------------

    async def get(self, session_id: str) -> SessionRecord | None:
        raw = await self.calls.run("session_read", lambda: self.client.get(session_key(session_id)))
        if raw is None:
            return None
        data = json.loads(raw)
        return SessionRecord(user=data["user"], csrf_token=data["csrf"])

    # --- refresh -----------------------------------------------------------------------------------------------

    async def rotate(self, refresh_token: str) -> Rotation:
        """Replace a refresh token by a new one; raises invalid_token for a rotated, revoked or unknown one."""
        digest = token_digest(refresh_token)
        if self.flags.refresh_lock:
            return await self._rotate_locked(digest)
        return await self._rotate_unlocked(digest, remember=False)

    async def _rotate_unlocked(self, digest: str, remember: bool) -> Rotation:
        # Read, check, write: without a lock, concurrent callers all pass the check, each writes its own
        # successor, and only the last written stays current (the others are rotated out).
        data = await self._refresh_record(digest)
        session_id = data["sid"]
        if data.get("rotated"):
            # Reached only with the grace window's lock (remember=True): the grace key is gone, so this is a
            # reuse of a rotated token outside the window: the token has leaked, end its whole family.
            await self.end_family(session_id, token_id=None)
            raise invalid_token("Refresh token reused after rotation; the session is ended")
        current = await self.calls.run("refresh_current",
                                       lambda: self.client.get(current_refresh_key(session_id)))
        if current is None or current != digest.encode():
            raise invalid_token("Refresh token rotated, revoked or unknown")
        rotation = Rotation(user=data["user"], session_id=session_id, refresh_token=new_opaque_token())
        written = await self.calls.run("refresh_write", lambda: self._write_rotation(digest, rotation, remember))
        if not written:
            raise invalid_token("Refresh token rotated, revoked or unknown")  # logged out meanwhile
        return rotation

    async def _refresh_record(self, digest: str) -> dict[str, Any]:
        raw = await self.calls.run("refresh_read", lambda: self.client.get(refresh_key(digest)))
        if raw is None:
            raise invalid_token("Refresh token rotated, revoked or unknown")
        return json.loads(raw)

    async def _write_rotation(self, old_digest: str, rotation: Rotation, remember: bool) -> bool:
        """One script, so a logout between our check and our write is never undone; False when it came first."""
        new_digest = token_digest(rotation.refresh_token)
        keys = [current_refresh_key(rotation.session_id), refresh_key(new_digest), refresh_key(old_digest),
                _rotated_key(old_digest)]
        family = json.dumps({"user": rotation.user, "sid": rotation.session_id})
        # With the lock, the old token is kept, marked rotated, so a later reuse is recognised as one.
        rotated = json.dumps({"user": rotation.user, "sid": rotation.session_id, "rotated": True}) if remember else ""
        grace = json.dumps(rotation.__dict__) if remember else ""
        written = await self.client.eval(_ROTATE, len(keys), *keys, old_digest, new_digest, family,
                                         self.flags.session_ttl_s, rotated, grace, self.flags.refresh_grace_s,
                                         "1" if remember else "0")
        return bool(written)

    async def _rotate_locked(self, digest: str) -> Rotation:
        """One caller per token rotates under a Redis lock; the others wait and get the same successor."""
        lock_ms = self._lock_ms()
        deadline = asyncio.get_running_loop().time() + lock_ms / 1000
        holder = secrets.token_hex(16)
        while True:
            done = await self._rotated(digest)
            if done is not None:
                return done
            if await self._acquire_lock(digest, holder, lock_ms):
                return await self._rotate_holding_lock(digest, holder)
            if asyncio.get_running_loop().time() > deadline:
                raise RedisTimeoutError("waited too long for the refresh lock")
            await asyncio.sleep(_LOCK_POLL_S)  # another caller is rotating this token right now

    async def _acquire_lock(self, digest: str, holder: str, lock_ms: int) -> bool:
        key = _lock_key(digest)
        if await self.calls.run("refresh_lock", lambda: self.client.set(key, holder, nx=True, px=lock_ms)):
            return True
        # A retried SET NX whose first attempt landed but timed out finds the lock held by ourselves.
        held_by = await self.calls.run("refresh_lock_owner", lambda: self.client.get(key))
        return held_by is not None and held_by == holder.encode()

    async def _rotate_holding_lock(self, digest: str, holder: str) -> Rotation:
        try:
            # The previous holder may have finished between our check and our lock.
            done = await self._rotated(digest)
            return done if done is not None else await self._rotate_unlocked(digest, remember=True)
        finally:
            await self._release_lock(digest, holder)

    async def _release_lock(self, digest: str, holder: str) -> None:
        try:
            await self.calls.run("refresh_unlock",
                                 lambda: self.client.eval(_RELEASE_LOCK, 1, _lock_key(digest), holder))
        except RedisError as exc:
            # The lock expires by itself (PX); the rotation's own outcome is what the caller must see.
            log.warning("refresh lock not released, it will expire: %s: %s", type(exc).__name__, exc)

    async def _rotated(self, digest: str) -> Rotation | None:
        """The successor handed out in the grace window, while the token family is alive (not logged out)."""
        raw = await self.calls.run("refresh_grace_read", lambda: self.client.get(_rotated_key(digest)))
        if raw is None:
            return None
        rotation = Rotation(**json.loads(raw))
        alive = await self.calls.run("refresh_family_alive",
                                     lambda: self.client.exists(current_refresh_key(rotation.session_id)))
        if not alive:
            raise invalid_token("Refresh token rotated, revoked or unknown")
        return rotation

    def _lock_ms(self) -> int:
        # Longer than a whole rotation can take: three calls, each up to three attempts plus backoff.
        return 9 * self.flags.redis_timeout_ms + 1000

    # --- logout ------------------------------------------------------------------------------------------------

    async def logout(self, session_id: str, token_id: str | None) -> None:
        """End the session's whole token family: its record, its refresh tokens, its access tokens."""
        await self.end_family(session_id, token_id)

    async def end_family(self, session_id: str, token_id: str | None) -> None:
        # Without rtcur no refresh token of the family rotates any more, nor gets its grace successor; the
        # marker outlives any access token issued before it, plus a margin for a refresh in flight.
        ttl = self.flags.access_ttl_s + _IN_FLIGHT_MARGIN_S

        async def write() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(session_key(session_id), current_refresh_key(session_id))
                pipe.set(revoked_session_key(session_id), 1, ex=ttl)
                if token_id is not None:
                    pipe.set(revoked_token_key(token_id), 1, ex=ttl)
                await pipe.execute()

        await self.calls.run("logout", write)
