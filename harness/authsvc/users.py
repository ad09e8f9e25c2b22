"""Seeded users (userK / pass-userK) stored as salted bcrypt hashes, checked off the event loop."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import bcrypt

# bcrypt only looks at the first 72 bytes; newer releases raise instead of truncating.
_BCRYPT_MAX_BYTES = 72


def username_of(index: int) -> str:
    return f"user{index}"


def password_of(username: str) -> str:
    """The documented password scheme of the seeded users."""
    return f"pass-{username}"


def hashing_threads() -> int:
    # Sized to the cores: a default 40-thread pool lets hashing starve the event loop (DESIGN.md).
    return max(1, len(os.sched_getaffinity(0)))


def _password_bytes(password: str) -> bytes:
    return password.encode("utf-8", "surrogatepass")[:_BCRYPT_MAX_BYTES]


def _hash(password: str, cost: int) -> bytes:
    return bcrypt.hashpw(_password_bytes(password), bcrypt.gensalt(cost))


def _check(password: str, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(_password_bytes(password), hashed)
    except ValueError:  # a password bcrypt cannot take (e.g. a NUL byte) matches nobody
        return False


@dataclass(frozen=True)
class UserTable:
    """username -> bcrypt hash; built once at start-up and handed to every worker process."""

    hashes: dict[str, bytes]
    # Checked when the user is unknown, so an unknown name costs as much time as a wrong password.
    decoy_hash: bytes


def seed_users(count: int, cost: int) -> UserTable:
    """Hash user0..user{count-1} on all cores (bcrypt releases the GIL): 10k users at cost 4 take ~5 s here."""
    names = [username_of(i) for i in range(count)]
    with ThreadPoolExecutor(max_workers=hashing_threads()) as pool:
        hashes = list(pool.map(lambda name: _hash(password_of(name), cost), names))
    return UserTable(hashes=dict(zip(names, hashes, strict=True)), decoy_hash=_hash("decoy-password", cost))


class PasswordChecker:
    """Verifies passwords in a small dedicated thread pool, keeping bcrypt off the event loop."""

    def __init__(self, users: UserTable) -> None:
        self._users = users
        self._pool = ThreadPoolExecutor(max_workers=hashing_threads(), thread_name_prefix="bcrypt")

    async def verify(self, username: str, password: str) -> bool:
        known = self._users.hashes.get(username)
        hashed = known if known is not None else self._users.decoy_hash
        matches = await asyncio.get_running_loop().run_in_executor(self._pool, _check, password, hashed)
        return matches and known is not None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
