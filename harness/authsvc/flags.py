"""The service's bug/fix flags and knobs: the two profiles and `--flag NAME=VALUE` overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from harness.errors import BadInput

PROFILES = ("buggy", "fixed")
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no"}


@dataclass(frozen=True)
class Flags:
    """What the service runs with. The six incident flags first; then knobs shared by both profiles."""

    await_session_write: bool = True
    redis_timeout_ms: int = 500
    retry_backoff: bool = True
    refresh_lock: bool = True
    validation_cache: bool = True
    clear_errors: bool = True
    # Against a replicated Redis (the service is given its Sentinels); no effect on a lone Redis.
    sentinel_discovery: bool = True   # find the primary through Sentinel, and again after a promotion
    wait_for_replica: bool = True     # WAIT 1 after the session write; 503 when no replica acknowledged it
    # Knobs: the same in both profiles, so a buggy/fixed comparison differs only by the fixes.
    validation_pool_size: int = 4
    validation_pool_timeout_ms: int = 100
    validation_cache_ttl_s: int = 30
    redis_pool_size: int = 512
    bcrypt_cost: int = 4
    session_ttl_s: int = 3600
    access_ttl_s: int = 900
    refresh_grace_s: int = 10
    replica_wait_ms: int = 400   # WAIT's timeout: below redis_timeout_ms, so the socket never times out first

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Inclusive bounds of every integer flag; a value outside is a user error, not a crash at start-up.
INT_BOUNDS: dict[str, tuple[int, int]] = {
    "redis_timeout_ms": (1, 60_000),
    "validation_pool_size": (1, 1024),
    "validation_pool_timeout_ms": (0, 60_000),
    "validation_cache_ttl_s": (1, 86_400),
    "redis_pool_size": (1, 100_000),
    "bcrypt_cost": (4, 16),
    "session_ttl_s": (1, 30 * 86_400),
    "access_ttl_s": (1, 86_400),
    "refresh_grace_s": (1, 3600),
    "replica_wait_ms": (1, 60_000),
}

BUGGY = Flags(await_session_write=False, redis_timeout_ms=100, retry_backoff=False, refresh_lock=False,
              validation_cache=False, clear_errors=False, sentinel_discovery=False, wait_for_replica=False)
FIXED = Flags()


def profile_flags(profile: str) -> Flags:
    if profile not in PROFILES:
        raise BadInput(f"--profile {profile}: unknown profile; allowed: {', '.join(PROFILES)}")
    return BUGGY if profile == "buggy" else FIXED


def resolve_flags(profile: str, overrides: list[str] | tuple[str, ...] = ()) -> Flags:
    """The profile's flags with each NAME=VALUE override applied; BadInput names the bad one."""
    flags = profile_flags(profile)
    changes: dict[str, Any] = dict(_parse_override(item) for item in overrides)  # each checked against its field
    return dataclasses.replace(flags, **changes)


def _parse_override(item: str) -> tuple[str, bool | int]:
    name, sep, raw = item.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name:
        raise BadInput(f"--flag {item}: expected NAME=VALUE; allowed names: {', '.join(_FIELDS)}")
    try:
        return name, flag_value(name, raw)
    except ValueError as exc:
        raise BadInput(f"--flag {name}: {exc}") from None


_FIELDS = {field.name: field for field in dataclasses.fields(Flags)}


def flag_value(name: str, raw: str) -> bool | int:
    """The value of flag `name` from its text; ValueError says what is allowed (for --flag and scenario files)."""
    field = _FIELDS.get(name)
    if field is None:
        raise ValueError(f"unknown flag; allowed: {', '.join(_FIELDS)}")
    if field.type in (bool, "bool"):
        return _parse_bool(raw)
    return _parse_int(name, raw)


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ValueError(f"{raw!r} is not a boolean; allowed: true, false (or on/off, 1/0)")


def _parse_int(name: str, raw: str) -> int:
    low, high = INT_BOUNDS[name]
    try:
        value = int(raw) if len(raw) <= 20 else None   # int() of thousands of digits is slow, then refused
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise ValueError(f"{shown!r} is not valid; allowed: an integer from {low} to {high}")
    return value
