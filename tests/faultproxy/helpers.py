"""Small real-socket helpers for the fault proxy tests: RESP round trips, polling, an echo server."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field

import httpx

# Upper tolerance for "took at least X ms": generous because these 2-core machines are shared with
# load tests; the lower bound is never relaxed (a toxic must not release early).
SLACK_MS = 400.0


def connect(address: tuple[str, int], timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(address, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_line(sock: socket.socket) -> bytes:
    """One RESP line (up to CRLF); b"" when the peer closed."""
    data = b""
    while not data.endswith(b"\r\n"):
        piece = sock.recv(1)
        if not piece:
            return data
        data += piece
    return data


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        piece = sock.recv(size - len(data))
        if not piece:
            break
        data += piece
    return data


def resp_command(*parts: bytes | str) -> bytes:
    encoded = [p.encode() if isinstance(p, str) else p for p in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in encoded)


def timed_ping(sock: socket.socket) -> float:
    """Milliseconds for one PING -> +PONG round trip."""
    start = time.perf_counter()
    sock.sendall(b"PING\r\n")
    assert read_line(sock) == b"+PONG\r\n"
    return (time.perf_counter() - start) * 1000


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while piece := sock.recv(65536):
        chunks.append(piece)
    return b"".join(chunks)


@dataclass
class ProxyApi:
    """The fault proxy's HTTP API as the tests use it (raw HTTP, to check status codes and bodies)."""

    url: str
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def create(self, name: str, upstream: str, **fields: object) -> dict:
        response = self.http.post("/proxies", json={"name": name, "upstream": upstream, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    def address(self, name: str) -> tuple[str, int]:
        host, port = self.http.get(f"/proxies/{name}").json()["listen"].rsplit(":", 1)
        return host, int(port)

    def add_toxic(self, proxy: str, toxic_type: str, stream: str = "downstream", toxicity: float = 1.0,
                  name: str | None = None, **attributes: int) -> dict:
        body = {"type": toxic_type, "stream": stream, "toxicity": toxicity, "attributes": attributes}
        if name:
            body["name"] = name
        response = self.http.post(f"/proxies/{proxy}/toxics", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def delete_all(self) -> None:
        for name in self.http.get("/proxies").json():
            self.http.delete(f"/proxies/{name}")


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        # Tests reset connections on purpose (reset_peer, hostile clients): a reset ends the echo quietly.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            while data := self.request.recv(65536):
                self.request.sendall(data)


class EchoServer(socketserver.ThreadingTCPServer):
    """A TCP echo server on a free loopback port, for toxics Redis cannot show (raw byte streams)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024   # socketserver's 5 drops SYNs when many connect at once (retried 1 s, 3 s later)

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _RecordingHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: RecordingServer = self.server  # type: ignore[assignment]
        received = bytearray()
        with contextlib.suppress(OSError):
            while data := self.request.recv(65536):
                received += data
                if server.echo:
                    self.request.sendall(data)
        with server.lock:
            server.records.append(bytes(received))


class RecordingServer(socketserver.ThreadingTCPServer):
    """An upstream that keeps every byte each connection sent up to its end of stream (in `records`),
    echoing them back when `echo` is set; then it closes."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, echo: bool) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.echo = echo
        self.records: list[bytes] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RecordingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
