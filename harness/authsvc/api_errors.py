"""Error responses of the service: every one is JSON {"error": code, "detail": text}, made in one place."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("harness.authsvc")

RETRY_AFTER_S = 1
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 422: "bad_request"}


class ApiError(Exception):
    """An error response: status, code from the contract's closed list, a human detail, extra headers."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}


def invalid_credentials() -> ApiError:
    # One body for unknown user and wrong password: the response must not reveal which users exist.
    return ApiError(401, "invalid_credentials", "Invalid username or password")


def session_not_found() -> ApiError:
    return ApiError(401, "session_not_found", "Session expired or not found; log in again")


def invalid_token(detail: str = "Invalid or expired token") -> ApiError:
    return ApiError(401, "invalid_token", detail)


def token_validation_timeout() -> ApiError:
    return ApiError(401, "token_validation_timeout", "Token validation timeout")


def redis_failure(clear_errors: bool) -> ApiError:
    """What a failed Redis call becomes: the incident's generic 500, or an honest, retryable 503."""
    if clear_errors:
        return ApiError(503, "unavailable", "Session service temporarily unavailable; retry shortly",
                        {"Retry-After": str(RETRY_AFTER_S)})
    return ApiError(500, "session_creation_failed", "Session creation failed")


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    request.app.state.service.count_failure(request.url.path, exc.code)
    return error_response(exc.status, exc.code, exc.detail, exc.headers)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}" for err in exc.errors())
    request.app.state.service.count_failure(request.url.path, "bad_request")
    return error_response(422, "bad_request", problems or "malformed request")


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot even decode (not UTF-8): a bad body like any other, so the 422
        # that /openapi.json lists, not an unlisted 400.
        request.app.state.service.count_failure(request.url.path, "bad_request")
        return error_response(422, "bad_request", f"body: {exc.detail}; allowed: a UTF-8 JSON object")
    code = _HTTP_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error")
    return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A bug of the service itself; said once with its traceback, never with request secrets.
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "Internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
