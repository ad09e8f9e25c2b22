"""Bounds on a request's head: a header block over the limit is a 431 before the app or Redis sees it.

Two layers, because httptools (the fast parser uvicorn runs here) buffers a header of any size:
the protocol refuses a head still incomplete past a generous byte count, so a client cannot make a
worker hold megabytes; the ASGI middleware checks the exact size of every complete head.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEADER_BYTES = 16 * 1024   # the request line's target plus every header name and value
# Bytes are counted per read, which may also hold the end of the previous request or the start of the body:
# the protocol's cut-off is a multiple of the exact limit, so a pipelined or one-packet request is never cut.
_INCOMPLETE_HEAD_BYTES = 4 * MAX_HEADER_BYTES
_DETAIL = f"Request headers too large; allowed: {MAX_HEADER_BYTES} bytes of URL and headers in all"


def head_size(scope: dict[str, Any]) -> int:
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return target + sum(len(name) + len(value) for name, value in scope.get("headers", ()))


class HeaderLimit:
    """ASGI middleware: 431 with the service's JSON error body when the head is over MAX_HEADER_BYTES."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or head_size(scope) <= MAX_HEADER_BYTES:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "headers_too_large", "detail": _DETAIL}).encode()
        await send({"type": "http.response.start", "status": 431,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing with 431 a connection whose request head grows past the cut-off."""

    _in_head = False
    _head_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > _INCOMPLETE_HEAD_BYTES:
            self._refuse()

    def _refuse(self) -> None:
        body = json.dumps({"error": "headers_too_large", "detail": _DETAIL}).encode()
        head = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n")
        self._in_head = False
        self.transport.write(head + body)
        self.transport.close()
