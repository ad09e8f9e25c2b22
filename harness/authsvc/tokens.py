"""Signed, expiring access tokens (PyJWT, HS256) and the random secrets the service hands out."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

import jwt

_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "sid", "jti"]
# token_urlsafe(32) gives 43 characters of [A-Za-z0-9_-]; anything else is not one of ours.
_OPAQUE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def looks_like_opaque_token(value: str) -> bool:
    """Cheap shape check, so junk never becomes a Redis key."""
    return bool(_OPAQUE_TOKEN.match(value))


def token_digest(token: str) -> str:
    # Refresh tokens are stored under their hash: a Redis dump does not hand out usable tokens.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    user: str
    session_id: str
    token_id: str
    expires_at: float


@dataclass(frozen=True)
class TokenSigner:
    """Issues and verifies access JWTs with one secret shared by all worker processes."""

    secret: bytes
    access_ttl_s: int

    def issue(self, user: str, session_id: str) -> str:
        now = int(time.time())
        claims = {"sub": user, "sid": session_id, "jti": secrets.token_urlsafe(16), "iat": now,
                  "exp": now + self.access_ttl_s, "typ": "access"}
        return jwt.encode(claims, self.secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> AccessClaims | None:
        """The claims of a token whose signature and expiry check out; None for any other token."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=[_ALGORITHM], options={"require": _REQUIRED_CLAIMS})
        except jwt.PyJWTError:
            return None
        if claims.get("typ") != "access":
            return None
        return AccessClaims(user=str(claims["sub"]), session_id=str(claims["sid"]), token_id=str(claims["jti"]),
                            expires_at=float(claims["exp"]))
