"""`harness authsvc`: resolve flags, seed users, bind the port, serve under uvicorn (one or more workers)."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn
from uvicorn.supervisors import Multiprocess

from harness.authsvc.app import AppFactory
from harness.authsvc.flags import resolve_flags
from harness.authsvc.limits import BoundedHeadProtocol
from harness.authsvc.service import ServiceSettings
from harness.authsvc.users import seed_users
from harness.errors import BadInput, StackError
from harness.polling import poll_until
from harness.ready import write_ready_file

log = logging.getLogger("harness.authsvc")
_READY_TIMEOUT_S = 60.0


def build_settings(redis_url: str, profile: str, flag_overrides: list[str], users: int,
                   sentinels: list[str] | None = None, sentinel_master: str = "harness-primary") -> ServiceSettings:
    """Everything checked and computed before a socket is opened; BadInput for a flag the user can fix."""
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise BadInput(f"--redis-url {redis_url}: not a Redis URL; allowed: redis://HOST:PORT/DB")
    flags = resolve_flags(profile, flag_overrides)
    return ServiceSettings(redis_url=redis_url, profile=profile, flags=flags,
                           users=seed_users(users, flags.bcrypt_cost), jwt_secret=secrets.token_bytes(32),
                           sentinels=tuple(sentinel_address(a) for a in sentinels or ()),
                           sentinel_master=sentinel_master)


def sentinel_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(f"--sentinel {text}: not an address; allowed: HOST:PORT with a port from 1 to 65535")
    return host, int(port)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bound and listening before uvicorn starts, so port 0 is resolved here and shared by every worker."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StackError(f"authsvc: cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(redis_url: str, host: str, port: int, profile: str, flag_overrides: list[str], users: int,
          workers: int, ready_file: Path | None, sentinels: list[str] | None = None,
          sentinel_master: str = "harness-primary") -> None:
    """Serve until SIGTERM/SIGINT; the ready file is written once a request is answered."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the readiness poll is not news
    settings = build_settings(redis_url, profile, flag_overrides, users, sentinels, sentinel_master)
    sock = bind_socket(host, port)
    real_port = int(sock.getsockname()[1])
    _announce_when_ready(host, real_port, ready_file)
    log.info("authsvc on http://%s:%d profile=%s flags=%s users=%d workers=%d", host, real_port, profile,
             settings.flags.as_dict(), users, workers)
    try:
        if workers == 1:
            _StopOnSignal(_uvicorn_config(settings, workers)).run(sockets=[sock])
        else:
            _serve_workers(settings, workers, sock)
    finally:
        sock.close()


class _StopOnSignal(uvicorn.Server):
    """uvicorn's server, minus re-raising SIGTERM/SIGINT after its graceful shutdown: a stop we were asked
    for is a clean exit (code 0), not a death by signal."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _uvicorn_config(settings: ServiceSettings, workers: int) -> uvicorn.Config:
    return uvicorn.Config(AppFactory(settings), factory=True, workers=workers, loop="uvloop", http=BoundedHeadProtocol,
                          lifespan="on", access_log=False, log_level="warning", timeout_graceful_shutdown=3,
                          backlog=2048)


def _serve_workers(settings: ServiceSettings, workers: int, sock: socket.socket) -> None:
    # Each worker has its own metrics; prometheus_client merges them through files in this folder.
    metrics_dir = tempfile.mkdtemp(prefix="authsvc-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        config = _uvicorn_config(settings, workers)
        Multiprocess(config, sockets=[sock]).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _announce_when_ready(host: str, port: int, ready_file: Path | None) -> None:
    """Write the ready file from a side thread once the service answers HTTP (not merely once bound)."""
    if ready_file is None:
        return
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/config"

    def answers() -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(url, timeout=1.0).status_code == 200
        return False

    def poll() -> None:
        if poll_until(answers, _READY_TIMEOUT_S):
            write_ready_file(ready_file, host, port)
        else:
            log.error("authsvc did not answer on %s within %.0f s; no ready file written", url, _READY_TIMEOUT_S)

    threading.Thread(target=poll, name="authsvc-ready", daemon=True).start()
