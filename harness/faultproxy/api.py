"""The Toxiproxy v2 HTTP API: one route table; errors are ApiError values turned into bodies in one place.

Bodies, status codes and the order of checks follow Toxiproxy 2.12's api.go, so a client (or a script
that matches on messages) cannot tell the two apart; docs/faultproxy.md lists what still differs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness.faultproxy.body import decode, read_body
from harness.faultproxy.collection import ProxyCollection, parse_proxy
from harness.faultproxy.errors import ApiError, bad_body
from harness.faultproxy.metrics import FaultProxyMetrics
from harness.faultproxy.proxy import Proxy
from harness.faultproxy.shards import ShardSet, proxy_path, proxy_settings
from harness.faultproxy.toxic_collection import ToxicSpec
from harness.faultproxy.toxics.base import go_boolean, go_string, json_kind

log = logging.getLogger("harness.faultproxy")

TOXIPROXY_VERSION = "2.12.0"  # the Toxiproxy release whose API this server follows


def go_json(value: object) -> bytes:
    """Compact JSON as Go's encoder writes it: UTF-8, and <, >, &, U+2028/9 escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text.encode()


def json_response(value: object, status: int = HTTPStatus.OK) -> Response:
    return Response(go_json(value), status_code=status, media_type="application/json")


def error_response(error: ApiError, extra: dict[str, object] | None = None) -> Response:
    """Toxiproxy writes errors with Go's http.Error: the JSON, a newline, as text/plain."""
    body = go_json({**error.as_json(), **(extra or {})}) + b"\n"
    return Response(body, status_code=error.status, media_type="text/plain; charset=utf-8",
                    headers={"X-Content-Type-Options": "nosniff"})


class FaultProxyApi:
    """Handlers of the API over one ProxyCollection. Every change happens under one lock, after the
    body has been read, so a slow body cannot act on a proxy deleted meanwhile; with --processes, each change is
    then repeated, as made, in the other processes before the lock is let go (so they see changes in order)."""

    def __init__(self, collection: ProxyCollection, metrics: FaultProxyMetrics | None = None,
                 shards: ShardSet | None = None) -> None:
        self.collection = collection
        self.metrics = metrics
        self.shards = shards
        self.lock = asyncio.Lock()

    async def _mirror(self, method: str, path: str, body: object = None, missing_ok: bool = False) -> None:
        if self.shards is not None:
            await self.shards.mirror(method, path, body, missing_ok)

    def routes(self) -> list[Route]:
        routes = [
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
        if self.metrics is not None:
            routes.append(Route("/metrics", self.metrics_page))
        return routes

    async def reset(self, request: Request) -> Response:
        async with self.lock:
            await self.collection.reset()
            # A proxy that never listened (created disabled on port 0) got its port just now: the others must
            # listen on that one, not draw their own, before they reset (which only re-enables and clears toxics).
            for proxy in self.collection.sorted():
                await self._mirror("POST", proxy_path(proxy.name), proxy_settings(proxy))
            await self._mirror("POST", "/reset")
        return Response(status_code=HTTPStatus.NO_CONTENT)

    async def proxy_index(self, request: Request) -> Response:
        return json_response({proxy.name: proxy.as_json() for proxy in self.collection.sorted()})

    async def proxy_create(self, request: Request) -> Response:
        spec = parse_proxy(decode(await read_body(request)))
        async with self.lock:
            proxy = await self.collection.create(spec)
            await self._mirror("POST", "/proxies", proxy_settings(proxy))
        return json_response(proxy.as_json(), HTTPStatus.CREATED)

    async def populate(self, request: Request) -> Response:
        try:
            specs = self.collection.parse_populate(decode(await read_body(request)))
        except ApiError as error:
            # Toxiproxy answers a failed populate with the error and a null proxy list.
            return error_response(error, {"proxies": None})
        async with self.lock:
            result = await self.collection.populate(specs)
            if result.proxies:
                await self._mirror("POST", "/populate", [proxy_settings(proxy) for proxy in result.proxies])
        # Go writes an empty list as null; the objects are written after every change, as there.
        proxies = [proxy.as_json() for proxy in result.proxies] or None
        if result.error is not None:
            return error_response(result.error, {"proxies": proxies})
        return json_response({"proxies": proxies}, HTTPStatus.CREATED)

    async def proxy_show(self, request: Request) -> Response:
        return json_response(self._proxy(request).as_json())

    async def proxy_update(self, request: Request) -> Response:
        raw = await read_body(request)
        async with self.lock:
            proxy = self._proxy(request)
            body = _object(decode(raw), "a proxy")
            await proxy.update(
                listen=go_string(body, "listen", proxy.listen),
                upstream=go_string(body, "upstream", proxy.upstream),
                enabled=go_boolean(body, "enabled", proxy.enabled),
            )
            await self._mirror("POST", proxy_path(proxy.name), proxy_settings(proxy))
        return json_response(proxy.as_json())

    async def proxy_delete(self, request: Request) -> Response:
        async with self.lock:
            self.collection.remove(request.path_params["proxy"])
            await self._mirror("DELETE", proxy_path(request.path_params["proxy"]), missing_ok=True)
        return Response(status_code=HTTPStatus.NO_CONTENT)

    async def toxic_index(self, request: Request) -> Response:
        return json_response([spec.as_json() for spec in self._proxy(request).toxics.all()])

    async def toxic_create(self, request: Request) -> Response:
        raw = await read_body(request)
        async with self.lock:
            proxy = self._proxy(request)
            spec = proxy.toxics.add(_object(decode(raw), "a toxic"), proxy.connections)
            await self._mirror("POST", proxy_path(proxy.name, "toxics"), spec.as_json())
        _log_notes(proxy, spec)
        return json_response(spec.as_json())

    async def toxic_show(self, request: Request) -> Response:
        return json_response(self._proxy(request).toxics.get(request.path_params["toxic"]).as_json())

    async def toxic_update(self, request: Request) -> Response:
        raw = await read_body(request)
        async with self.lock:
            proxy = self._proxy(request)
            name = request.path_params["toxic"]
            proxy.toxics.get(name)  # a missing toxic is a 404 before the body is looked at, as in Toxiproxy
            spec = proxy.toxics.update(name, _object(decode(raw), "a toxic"), proxy.connections)
            await self._mirror("POST", proxy_path(proxy.name, "toxics", name), spec.as_json())
        _log_notes(proxy, spec)
        return json_response(spec.as_json())

    async def toxic_delete(self, request: Request) -> Response:
        async with self.lock:
            proxy = self._proxy(request)
            proxy.toxics.remove(request.path_params["toxic"], proxy.connections)
            await self._mirror("DELETE", proxy_path(proxy.name, "toxics", request.path_params["toxic"]),
                               missing_ok=True)
        return Response(status_code=HTTPStatus.NO_CONTENT)

    async def version(self, request: Request) -> Response:
        return Response(json.dumps({"version": TOXIPROXY_VERSION}) + "\n",
                        media_type="application/json;charset=utf-8")

    async def metrics_page(self, request: Request) -> Response:
        assert self.metrics is not None
        others = await self.shards.metrics_texts() if self.shards is not None else []
        return Response(self.metrics.exposition(others), media_type=self.metrics.content_type)

    def _proxy(self, request: Request) -> Proxy:
        return self.collection.get(request.path_params["proxy"])


def _log_notes(proxy: Proxy, spec: ToxicSpec) -> None:
    notes = spec.notes()
    if notes:
        log.warning("proxy %s: toxic %s: %s", proxy.name, spec.name, "; ".join(notes))


def _object(body: object, what: str) -> dict[str, object]:
    """A JSON object, or {} for null (Go's decoder leaves the struct as it was)."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_body(f"expected {what} as a JSON object, got {json_kind(body)}")
    return body




async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """gorilla/mux's answers: a plain 404 page, and an empty 405 for a known path with another method."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == HTTPStatus.NOT_FOUND:
        return Response("404 page not found\n", status_code=404, media_type="text/plain; charset=utf-8")
    return Response(status_code=exc.status_code)


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
            await Response("User agent not allowed\n", status_code=HTTPStatus.FORBIDDEN,
                           media_type="text/plain; charset=utf-8")(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.exception("API %s %s failed", scope["method"], scope["path"])
            if not started:
                error = ApiError(str(exc) or type(exc).__name__, HTTPStatus.INTERNAL_SERVER_ERROR)
                await error_response(error)(scope, receive, send)


def build_app(collection: ProxyCollection, metrics: FaultProxyMetrics | None = None,
              shards: ShardSet | None = None) -> Starlette:
    api = FaultProxyApi(collection, metrics, shards)
    return Starlette(
        routes=api.routes(),
        middleware=[Middleware(GuardRequests)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
