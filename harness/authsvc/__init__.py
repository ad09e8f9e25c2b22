"""The reference auth service: FastAPI on redis.asyncio, with one flag per login incident (buggy/fixed profiles).

The names below load on first use: the scenario parser reads `harness.authsvc.flags` without FastAPI."""

from typing import TYPE_CHECKING

from harness.lazy import lazy_exports

if TYPE_CHECKING:
    from harness.authsvc.app import AppFactory, create_app
    from harness.authsvc.flags import BUGGY, FIXED, Flags, resolve_flags
    from harness.authsvc.service import ServiceSettings
    from harness.authsvc.users import password_of, username_of

__all__ = [
    "BUGGY",
    "FIXED",
    "AppFactory",
    "Flags",
    "ServiceSettings",
    "create_app",
    "password_of",
    "resolve_flags",
    "username_of",
]
__getattr__ = lazy_exports(__name__, {
    "AppFactory": "app", "create_app": "app", "BUGGY": "flags", "FIXED": "flags", "Flags": "flags",
    "resolve_flags": "flags", "ServiceSettings": "service", "password_of": "users", "username_of": "users",
})
