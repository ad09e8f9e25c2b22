"""Seeded users (userK / pass-userK) stored as salted bcrypt hashes, checked off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from harness.files import write_atomic

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


def seed_users(count: int, cost: int, cache_dir: Path | None = None) -> UserTable:
    """Hash user0..user{count-1} on all cores (bcrypt releases the GIL): 10k users at cost 4 take ~5 s here.

    Hashes are kept in `cache_dir` (default: `users_cache_dir()`), so a service that starts for every variant
    of every run hashes its users once per machine, not once per start (1,000 users: 1.2 s -> 12 ms).
    """
    names = [username_of(i) for i in range(count)]
    cache = _UserCache(cache_dir if cache_dir is not None else users_cache_dir(), cost)
    known = cache.read()
    missing = [name for name in names if name not in known]
    if missing:
        with ThreadPoolExecutor(max_workers=hashing_threads()) as pool:
            known.update(zip(missing, pool.map(lambda name: _hash(password_of(name), cost), missing), strict=True))
        cache.write(known)
    return UserTable(hashes={name: known[name] for name in names}, decoy_hash=_hash("decoy-password", cost))


def users_cache_dir() -> Path:
    """$HARNESS_CACHE_DIR, else $XDG_CACHE_HOME/auth-chaos-harness, else ~/.cache/auth-chaos-harness."""
    explicit = os.environ.get("HARNESS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    try:
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "auth-chaos-harness"
    except RuntimeError:  # no home directory (a bare container user): a cache that is only this machine's
        return Path(tempfile.gettempdir()) / "auth-chaos-harness"


@dataclass(frozen=True)
class _UserCache:
    """One file per bcrypt cost of `username<TAB>hash` lines. The passwords are the documented seed scheme,
    so the file holds no secret. It is trusted only when every line is a hash of that cost and a sample of
    them checks against its password: a wrong hash would show up as failed logins, which is what a run
    measures. A cache that cannot be read or written is skipped; the users are hashed instead."""

    directory: Path
    cost: int
    samples: int = 3

    @property
    def path(self) -> Path:
        return self.directory / f"users-bcrypt-{self.cost:02d}.tsv"

    def read(self) -> dict[str, bytes]:
        try:
            lines = self.path.read_bytes().splitlines()
        except OSError:
            return {}
        prefix = b"$2b$%02d$" % self.cost
        pairs = [line.split(b"\t") for line in lines]
        if not all(len(pair) == 2 and pair[1].startswith(prefix) and len(pair[1]) == 60 for pair in pairs):
            return {}
        table = {name.decode("ascii", "replace"): hashed for name, hashed in pairs}
        sample = random.sample(sorted(table), min(self.samples, len(table)))
        if not all(_check(password_of(name), table[name]) for name in sample):
            return {}
        return table

    def write(self, table: dict[str, bytes]) -> None:
        lines = b"".join(b"%s\t%s\n" % (name.encode("ascii"), hashed) for name, hashed in table.items())
        with contextlib.suppress(OSError):
            write_atomic(self.path, lines)


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
