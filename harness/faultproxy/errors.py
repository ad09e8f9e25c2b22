"""API errors as values that carry their HTTP status; the API turns each into {"error", "status"}.

Messages and codes follow Toxiproxy's, so clients that match on them keep working.
"""

from __future__ import annotations

from http import HTTPStatus


class ApiError(Exception):
    """An error the HTTP API answers with `{"error": message, "status": status}`."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def joined(self, detail: str) -> ApiError:
        """This error with a detail appended, as Toxiproxy's `joinError` does ("bad request body: ...")."""
        return ApiError(f"{self.message}: {detail}", self.status)

    def as_json(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}


BAD_REQUEST_BODY = ApiError("bad request body", HTTPStatus.BAD_REQUEST)
MISSING_FIELD = ApiError("missing required field", HTTPStatus.BAD_REQUEST)
PROXY_NOT_FOUND = ApiError("proxy not found", HTTPStatus.NOT_FOUND)
PROXY_ALREADY_EXISTS = ApiError("proxy already exists", HTTPStatus.CONFLICT)
INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", HTTPStatus.BAD_REQUEST)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", HTTPStatus.BAD_REQUEST)
TOXIC_ALREADY_EXISTS = ApiError("toxic already exists", HTTPStatus.CONFLICT)
TOXIC_NOT_FOUND = ApiError("toxic not found", HTTPStatus.NOT_FOUND)


def bad_body(detail: str) -> ApiError:
    """400 "bad request body: <detail>"; the detail names the field and what is allowed."""
    return BAD_REQUEST_BODY.joined(detail)


def listen_failed(address: str, reason: str) -> ApiError:
    """500 for a listener that cannot be opened, worded like Go's net.Listen error Toxiproxy returns."""
    return ApiError(f"listen tcp {address}: bind: {reason}", HTTPStatus.INTERNAL_SERVER_ERROR)
