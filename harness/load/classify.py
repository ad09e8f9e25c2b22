"""Map an HTTP outcome to the closed error_kind vocabulary of the records."""

from __future__ import annotations

import json
from typing import Any

from harness.records import ErrorKind

# The service's error codes (body {"error": code}) that name a kind of their own.
_SERVICE_CODES = {
    "session_not_found": ErrorKind.SESSION_NOT_FOUND,
    "invalid_token": ErrorKind.INVALID_TOKEN,
    "token_validation_timeout": ErrorKind.TIMEOUT,
    "unavailable": ErrorKind.UNAVAILABLE,
}


def body_error_code(text: str | None) -> str | None:
    """The `error` field of a JSON error body, or None."""
    if not text or not text.lstrip().startswith("{"):
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def classify(status: int, code: str | None = None, exception: BaseException | str | None = None) -> str:
    """error_kind for one failed request: by the service's error code, then status, then exception."""
    if code in _SERVICE_CODES:
        return _SERVICE_CODES[code].value
    if status == 0:
        text = f"{type(exception).__name__} {exception}".lower() if exception is not None else ""
        return (ErrorKind.TIMEOUT if "timeout" in text or "timed out" in text else ErrorKind.CONNECTION_ERROR).value
    if status in (503,):
        return ErrorKind.UNAVAILABLE.value
    if status in (408, 504):
        return ErrorKind.TIMEOUT.value
    if status >= 500:
        return ErrorKind.SERVER_ERROR.value
    if status >= 400:
        return ErrorKind.CLIENT_ERROR.value
    return ErrorKind.OTHER.value


def response_error(response: Any) -> tuple[int, str | None, str]:
    """(status, service error code, short text) of a Locust response object (HttpUser or FastHttpUser)."""
    status = int(getattr(response, "status_code", 0) or 0)
    if status == 0:
        error = getattr(response, "error", None)
        return 0, None, str(error or "no response")[:200]
    try:
        text = response.text or ""
    except Exception:  # a body that cannot be decoded still has a status
        text = ""
    code = body_error_code(text) if status >= 400 else None
    return status, code, (code or text[:200])
