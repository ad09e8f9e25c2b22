"""A small session service in another Python web stack (Flask, served by Werkzeug's threaded server, with
the synchronous redis client), used as "your own service" by the tests of issue #11.

Its bug is a too-short Redis socket timeout: REDIS_TIMEOUT_MS=30 (the default, the bug) gives up on a
Redis call after 30 ms, so under 60 ms of Redis latency every login answers 500; REDIS_TIMEOUT_MS=1000
(the fix) waits it out. Users need no seeding: the password of userN is pass-userN, as the scenarios'
Locust users send it.

    python tests/service/session_app.py --port 8080        (REDIS_URL, REDIS_TIMEOUT_MS from the environment)
    python tests/service/session_app.py --port 0 --port-file F   (binds a free port and writes it to F)
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
from pathlib import Path

import redis
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

SESSION_TTL_S = 600


def create_app(redis_url: str, timeout_ms: int) -> Flask:
    app = Flask("session_app")
    store = redis.Redis.from_url(redis_url, socket_timeout=timeout_ms / 1000,
                                 socket_connect_timeout=timeout_ms / 1000, decode_responses=True)

    @app.get("/")
    def index():
        return "session service\n"

    @app.post("/login")
    def login():
        body = request.get_json(silent=True) or {}
        username, password = str(body.get("username", "")), str(body.get("password", ""))
        if not username or password != f"pass-{username}":
            return jsonify(error="invalid_credentials"), 401
        session_id = secrets.token_urlsafe(16)
        try:
            store.set(f"session:{session_id}", username, ex=SESSION_TTL_S)
        except redis.RedisError as exc:
            return jsonify(error="session_store_error", detail=type(exc).__name__), 500
        return jsonify(session_id=session_id, access_token="", refresh_token="")

    @app.get("/me")
    def me():
        session_id = request.headers.get("X-Session-ID", "")
        try:
            username = store.get(f"session:{session_id}") if session_id else None
        except redis.RedisError as exc:
            return jsonify(error="session_store_error", detail=type(exc).__name__), 500
        if username is None:
            return jsonify(error="session_not_found"), 401
        return jsonify(username=username)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--port-file", type=Path, help="With --port 0: write the port bound here.")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a log line per request costs CPU the load needs
    app = create_app(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                     int(os.environ.get("REDIS_TIMEOUT_MS", "30")))
    server = make_server(args.host, args.port, app, threaded=True)
    if args.port_file is not None:
        tmp = args.port_file.with_name(args.port_file.name + ".tmp")
        tmp.write_text(str(server.server_port))
        tmp.replace(args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
