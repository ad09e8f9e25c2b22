"""Request bodies read and decoded the way Toxiproxy's Go server reads them, within a size limit.

Go's `json.NewDecoder(body).Decode(&v)` reads the first JSON value and ignores what follows, answers an
empty body with "EOF", and turns invalid UTF-8 and lone surrogate escapes into U+FFFD. Doing the same
here keeps scripts written against Toxiproxy working, and keeps every name the API stores printable.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus

from starlette.requests import Request

from harness.faultproxy.errors import ApiError, bad_body

MAX_BODY_BYTES = 1024 * 1024  # far above any real request (a populate of 1,000 proxies is ~100 KB)
BODY_TOO_LARGE = ApiError(f"request body larger than {MAX_BODY_BYTES} bytes", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)

_WHITESPACE = " \t\n\r"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name: str) -> object:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


async def read_body(request: Request) -> bytes:
    """The whole body, or 413 once it passes MAX_BODY_BYTES (checked as it arrives, not after)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BODY_TOO_LARGE
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BODY_TOO_LARGE
        chunks.append(chunk)
    return b"".join(chunks)


def decode(raw: bytes) -> object:
    """The first JSON value of `raw`; a 400 "bad request body: ..." worded like Go's where it matters."""
    text = raw.decode("utf-8", errors="replace")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    if start == len(text):
        raise bad_body("EOF")
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise bad_body("unexpected EOF" if exc.pos >= len(text) else f"{exc.msg} at offset {exc.pos}") from None
    except ValueError as exc:
        raise bad_body(str(exc)) from None
    except RecursionError:
        raise bad_body("exceeded max depth") from None
    return _printable(value)


def _printable(value: object) -> object:
    """Lone surrogates (from "\\ud800" escapes) become U+FFFD, as Go decodes them; iterative, since a
    body nested a thousand deep must not overflow the stack a second time."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if not isinstance(value, dict | list):
        return value
    root: list[object] = [value]
    pending: list[tuple[object, object]] = [(root, 0)]
    while pending:
        # A list with an int key or a dict with a str key: the ignores below stand for that pairing.
        container, key = pending.pop()
        item = container[key]  # type: ignore[index]
        if isinstance(item, str):
            container[key] = _SURROGATE.sub("\ufffd", item)  # type: ignore[index]
        elif isinstance(item, list):
            pending += [(item, i) for i in range(len(item))]
        elif isinstance(item, dict):
            fixed = {_SURROGATE.sub("\ufffd", k): v for k, v in item.items()}
            item.clear()
            item.update(fixed)
            pending += [(item, k) for k in item]
    return root[0]
