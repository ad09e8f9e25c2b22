"""The throwaway Redis: found, started on a free loopback port with persistence off, stopped by PID."""

from __future__ import annotations

import os

import redis

from harness.stack import RedisServer, find_redis_server


def test_find_redis_server_returns_an_executable() -> None:
    path = find_redis_server()
    assert os.access(path, os.X_OK)


def test_redis_server_answers_and_has_persistence_off(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    assert client.ping()
    assert client.config_get("save")["save"] == ""
    assert client.config_get("appendonly")["appendonly"] == "no"
    assert redis_server.host == "127.0.0.1"


def test_redis_server_stop_kills_the_process_by_pid(tmp_path) -> None:
    server = RedisServer(log_dir=tmp_path).start()
    pid = server.process.pid
    server.stop()
    assert pid is not None
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive


def test_two_servers_get_different_ports(tmp_path) -> None:
    with RedisServer(log_dir=tmp_path / "a") as a, RedisServer(log_dir=tmp_path / "b") as b:
        assert a.port != b.port
        assert a.ping() and b.ping()
