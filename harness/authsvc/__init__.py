"""The reference auth service: FastAPI on redis.asyncio, with one flag per login incident (buggy/fixed profiles)."""

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
