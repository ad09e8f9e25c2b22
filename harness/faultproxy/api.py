"""The Toxiproxy v2 HTTP API: one route table; errors are ApiError values turned into JSON in one place."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from harness.faultproxy.collection import ProxyCollection, parse_proxy
from harness.faultproxy.errors import ApiError, bad_body
from harness.faultproxy.proxy import Proxy

log = logging.getLogger("harness.faultproxy")

TOXIPROXY_VERSION = "2.12.0"  # the Toxiproxy release whose API this server follows

Handler = Callable[[Request], Awaitable[Response]]


class FaultProxyApi:
    """Handlers of the API over one ProxyCollection; mutations are serialised like Toxiproxy's mutex."""

    def __init__(self, collection: ProxyCollection) -> None:
        self.collection = collection
        self.lock = asyncio.Lock()

    def routes(self) -> list[Route]:
        return [
            Route("/reset", self.reset, methods=["POST"]),
            Route("/proxies", self.proxy_index, methods=["GET"]),
            Route("/proxies", self.proxy_create, methods=["POST"]),
            Route("/populate", self.populate, methods=["POST"]),
            Route("/proxies/{proxy}", self.proxy_show, methods=["GET"]),
            Route("/proxies/{proxy}", self.proxy_update, methods=["POST", "PATCH"]),
            Route("/proxies/{proxy}", self.proxy_delete, methods=["DELETE"]),
            Route("/proxies/{proxy}/toxics", self.toxic_index, methods=["GET"]),
            Route("/proxies/{proxy}/toxics", self.toxic_create, methods=["POST"]),
            Route("/proxies/{proxy}/toxics/{toxic}", self.toxic_show, methods=["GET"]),
            Route("/proxies/{proxy}/toxics/{toxic}", self.toxic_update, methods=["POST", "PATCH"]),
            Route("/proxies/{proxy}/toxics/{toxic}", self.toxic_delete, methods=["DELETE"]),
            Route("/version", self.version, methods=["GET"]),
        ]

    async def reset(self, request: Request) -> Response:
        async with self.lock:
            await self.collection.reset()
        return Response(status_code=HTTPStatus.NO_CONTENT)

    async def proxy_index(self, request: Request) -> Response:
        return JSONResponse({name: proxy.as_json() for name, proxy in self.collection.proxies.items()})

    async def proxy_create(self, request: Request) -> Response:
        spec = parse_proxy(await _json_object(request))
        async with self.lock:
            proxy = await self.collection.create(spec)
        return JSONResponse(proxy.as_json(), status_code=HTTPStatus.CREATED)

    async def populate(self, request: Request) -> Response:
        try:
            body = await _json_body(request)
            async with self.lock:
                proxies = await self.collection.populate(body)
        except ApiError as error:
            # Toxiproxy answers a failed populate with the error and a null proxy list.
            return JSONResponse({**error.as_json(), "proxies": None}, status_code=error.status)
        return JSONResponse({"proxies": [proxy.as_json() for proxy in proxies]}, status_code=HTTPStatus.CREATED)

    async def proxy_show(self, request: Request) -> Response:
        return JSONResponse(self._proxy(request).as_json())

    async def proxy_update(self, request: Request) -> Response:
        proxy = self._proxy(request)
        body = await _json_object(request)
        async with self.lock:
            await proxy.update(
                listen=_string(body, "listen", proxy.listen),
                upstream=_string(body, "upstream", proxy.upstream),
                enabled=_boolean(body, "enabled", proxy.enabled),
            )
        return JSONResponse(proxy.as_json())

    async def proxy_delete(self, request: Request) -> Response:
        async with self.lock:
            self.collection.remove(request.path_params["proxy"])
        return Response(status_code=HTTPStatus.NO_CONTENT)

    async def toxic_index(self, request: Request) -> Response:
        return JSONResponse([spec.as_json() for spec in self._proxy(request).toxics.all()])

    async def toxic_create(self, request: Request) -> Response:
        proxy = self._proxy(request)
        body = await _json_object(request)
        async with self.lock:
            spec = proxy.toxics.add(body, proxy.connections)
        return JSONResponse(spec.as_json())

    async def toxic_show(self, request: Request) -> Response:
        return JSONResponse(self._proxy(request).toxics.get(request.path_params["toxic"]).as_json())

    async def toxic_update(self, request: Request) -> Response:
        proxy = self._proxy(request)
        body = await _json_object(request)
        async with self.lock:
            spec = proxy.toxics.update(request.path_params["toxic"], body, proxy.connections)
        return JSONResponse(spec.as_json())

    async def toxic_delete(self, request: Request) -> Response:
        proxy = self._proxy(request)
        async with self.lock:
            proxy.toxics.remove(request.path_params["toxic"], proxy.connections)
        return Response(status_code=HTTPStatus.NO_CONTENT)

    async def version(self, request: Request) -> Response:
        return Response(json.dumps({"version": TOXIPROXY_VERSION}) + "\n",
                        media_type="application/json;charset=utf-8")

    def _proxy(self, request: Request) -> Proxy:
        return self.collection.get(request.path_params["proxy"])


async def _json_body(request: Request) -> object:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_body(f"invalid JSON: {exc}") from exc


async def _json_object(request: Request) -> dict[str, object]:
    body = await _json_body(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_body(f"expected a JSON object, got {type(body).__name__}")
    return body


def _string(body: dict[str, object], key: str, default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise bad_body(f"{key} must be a string, got {value!r}")
    return value


def _boolean(body: dict[str, object], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise bad_body(f"{key} must be true or false, got {value!r}")
    return value


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.as_json(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail, "status": exc.status_code}, status_code=exc.status_code)


class GuardRequests:
    """Refuse browsers, as Toxiproxy does (a web page must not reconfigure faults on localhost), and
    answer any unexpected failure with a JSON 500 so that one bad request never takes the server down."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if dict(scope["headers"]).get(b"user-agent", b"").startswith(b"Mozilla/"):
            await Response("User agent not allowed\n", status_code=HTTPStatus.FORBIDDEN)(scope, receive, send)
            return
        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.exception("API %s %s failed", scope["method"], scope["path"])
            if not started:
                status = HTTPStatus.INTERNAL_SERVER_ERROR
                body = {"error": str(exc) or type(exc).__name__, "status": status}
                await JSONResponse(body, status_code=status)(scope, receive, send)


def build_app(collection: ProxyCollection) -> Starlette:
    api = FaultProxyApi(collection)
    return Starlette(
        routes=api.routes(),
        middleware=[Middleware(GuardRequests)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
