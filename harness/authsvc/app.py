"""The HTTP surface of the auth service (FastAPI): routes, request/response models, OpenAPI schema."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Cookie, Depends, FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from harness.authsvc.api_errors import ApiError, install_error_handlers, redis_failure, session_not_found
from harness.authsvc.limits import HeaderLimit
from harness.authsvc.metrics import Metrics
from harness.authsvc.service import AuthService, ServiceSettings

SESSION_COOKIE = "session_id"


class ErrorBody(BaseModel):
    error: str = Field(description="Stable error code, e.g. session_not_found")
    detail: str


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(max_length=1024)


class LoginResponse(BaseModel):
    session_id: str
    access_token: str
    refresh_token: str
    csrf_token: str
    expires_in: int = Field(description="Seconds the access token stays valid")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(max_length=512)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int


class UserResponse(BaseModel):
    user: str


class LogoutResponse(BaseModel):
    logged_out: bool


class ConfigResponse(BaseModel):
    profile: str
    flags: dict[str, Any]
    users: int


class HealthResponse(ConfigResponse):
    status: str


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}


async def _service(request: Request) -> AuthService:
    # async on purpose: FastAPI runs a plain-def dependency in a worker thread, a thread hop per request.
    return request.app.state.service


Service = Annotated[AuthService, Depends(_service)]
SessionHeader = Annotated[str | None, Header(alias="X-Session-ID")]
SessionCookie = Annotated[str | None, Cookie(alias=SESSION_COOKIE)]
AuthorizationHeader = Annotated[str | None, Header()]
CsrfHeader = Annotated[str | None, Header(alias="X-CSRF-Token")]


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@dataclass(frozen=True)
class AppFactory:
    """A picklable callable that builds the app: uvicorn's worker processes each call it once."""

    settings: ServiceSettings

    def __call__(self) -> FastAPI:
        return create_app(self.settings)


def create_app(settings: ServiceSettings) -> FastAPI:
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = AuthService(settings, metrics)
        try:
            yield
        finally:
            await app.state.service.close()

    app = FastAPI(title="auth-chaos-harness reference auth service", version="1.0", lifespan=lifespan)
    install_error_handlers(app)
    app.add_middleware(HeaderLimit)
    _add_session_routes(app)
    _add_token_routes(app)
    _add_ops_routes(app, settings, metrics)
    return app


def _add_session_routes(app: FastAPI) -> None:
    @app.post("/login", response_model=LoginResponse, responses=_errors(401, 422, 500, 503))
    async def login(body: LoginRequest, response: Response, service: Service) -> LoginResponse:
        result = await service.login(body.username, body.password)
        response.set_cookie(SESSION_COOKIE, result.session_id, httponly=True, samesite="lax")
        return LoginResponse(**result.__dict__)

    @app.get("/me", response_model=UserResponse, responses=_errors(401, 500, 503))
    async def me(service: Service, x_session_id: SessionHeader = None,
                 session_cookie: SessionCookie = None) -> UserResponse:
        record = await service.session(x_session_id or session_cookie)
        return UserResponse(user=record.user)

    @app.post("/logout", response_model=LogoutResponse, responses=_errors(401, 403, 500, 503))
    async def logout(response: Response, service: Service, x_session_id: SessionHeader = None,
                     session_cookie: SessionCookie = None, authorization: AuthorizationHeader = None,
                     x_csrf_token: CsrfHeader = None) -> LogoutResponse:
        claims = await service.protected(_bearer(authorization)) if _bearer(authorization) else None
        session_id = x_session_id or session_cookie or (claims.session_id if claims else None)
        if session_id is None:
            raise session_not_found()
        if not x_session_id and session_cookie and not claims:
            await _check_csrf(service, session_cookie, x_csrf_token)
        await service.logout(session_id, claims.token_id if claims else None)
        response.delete_cookie(SESSION_COOKIE)
        return LogoutResponse(logged_out=True)


async def _check_csrf(service: AuthService, session_id: str, csrf_token: str | None) -> None:
    # A cookie is sent by the browser on its own; a cookie-only logout must prove it comes from our page.
    record = await service.session(session_id)
    if not csrf_token or not secrets.compare_digest(csrf_token, record.csrf_token):
        raise ApiError(403, "csrf_failed", "Missing or wrong X-CSRF-Token for a cookie-authenticated request")


def _add_token_routes(app: FastAPI) -> None:
    @app.post("/token/refresh", response_model=TokenPair, responses=_errors(401, 422, 500, 503))
    async def refresh(body: RefreshRequest, service: Service) -> TokenPair:
        result = await service.refresh(body.refresh_token)
        return TokenPair(**result.__dict__)

    @app.get("/protected", response_model=UserResponse, responses=_errors(401))
    async def protected(service: Service, authorization: AuthorizationHeader = None) -> UserResponse:
        claims = await service.protected(_bearer(authorization))
        return UserResponse(user=claims.user)


def _add_ops_routes(app: FastAPI, settings: ServiceSettings, metrics: Metrics) -> None:
    config = ConfigResponse(profile=settings.profile, flags=settings.flags.as_dict(),
                            users=len(settings.users.hashes))

    @app.get("/healthz", response_model=HealthResponse, responses=_errors(503))
    async def healthz(service: Service) -> HealthResponse | JSONResponse:
        if not await service.redis_ok():
            error = redis_failure(clear_errors=True)
            return JSONResponse({"error": error.code, "detail": "Redis does not answer"}, status_code=503,
                                headers=error.headers)
        return HealthResponse(status="ok", **config.model_dump())

    @app.get("/config", response_model=ConfigResponse)
    async def get_config() -> ConfigResponse:
        return config

    @app.get("/metrics", include_in_schema=False)
    async def get_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
