"""The request recorder: rows as the record schema says, complete Parquet parts, error kinds as documented."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest

from harness.load.classify import body_error_code, classify
from harness.load.recorder import FLOW_REQUEST_TYPE, Recorder
from harness.records import ERROR_KINDS, REQUEST_SCHEMA


def response(status: int, text: str = "", error: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(status_code=status, text=text, error=error)


def test_request_rows_are_written_in_the_record_schema(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, variant="buggy", worker="local", t0=1000.0)
    recorder.on_request("POST", "/login", 12.5, response=response(200, "{}"), context={"user_class": "WebUser"},
                        start_time=1001.0)
    recorder.on_request("GET", "/me", 3.0, response=response(401, '{"error": "session_not_found"}'),
                        exception=RuntimeError("401"), context={"user_class": "MobileUser"}, start_time=1002.0)
    recorder.flush()
    files = list(tmp_path.glob("*.parquet"))
    assert len(files) == 1
    table = pq.read_table(files[0])
    assert table.schema.equals(REQUEST_SCHEMA)
    rows = table.to_pylist()
    assert rows[0] == {"t": 1.0, "ts": 1001.0, "variant": "buggy", "user_class": "WebUser", "kind": "request",
                       "name": "/login", "success": True, "latency_ms": 12.5, "status": 200, "error_kind": "",
                       "error": "", "worker": "local", "service_ms": 12.5,
                       "session": ""}
    assert rows[1]["success"] is False
    assert rows[1]["error_kind"] == "session_not_found"
    assert rows[1]["status"] == 401


def test_flow_rows_take_their_error_kind_from_the_context(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, variant="fixed", worker="worker-1", t0=0.0)
    recorder.on_request(FLOW_REQUEST_TYPE, "login", 40.0, exception=RuntimeError("timeout: GET /me"),
                        context={"user_class": "MobileUser", "status": 0, "error_kind": "timeout"}, start_time=5.0)
    recorder.flush()
    row = pq.read_table(next(tmp_path.glob("*.parquet"))).to_pylist()[0]
    assert (row["kind"], row["name"], row["success"], row["error_kind"]) == ("flow", "login", False, "timeout")


def test_each_flush_writes_a_complete_part_and_nothing_half_written(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, variant="v", worker="local", t0=0.0, max_rows=3)
    for i in range(7):
        recorder.on_request("GET", "/me", 1.0, response=response(200), start_time=float(i))
    # max_rows=3: two parts were flushed by themselves, one row is still buffered
    assert len(list(tmp_path.glob("*.parquet"))) == 2
    recorder.flush()
    parts = sorted(tmp_path.glob("*.parquet"))
    assert [pq.read_metadata(p).num_rows for p in parts] == [3, 3, 1]
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    assert recorder.rows_written == 7


@pytest.mark.parametrize(("status", "body", "exception", "kind"), [
    (401, '{"error": "session_not_found"}', None, "session_not_found"),
    (401, '{"error": "invalid_token"}', None, "invalid_token"),
    (401, '{"error": "token_validation_timeout"}', None, "timeout"),
    (503, '{"error": "unavailable"}', None, "unavailable"),
    (500, '{"error": "session_creation_failed"}', None, "server_error"),
    (502, "bad gateway", None, "server_error"),
    (504, "", None, "timeout"),
    (422, '{"error": "bad_request"}', None, "client_error"),
    (0, "", TimeoutError("timed out"), "timeout"),
    (0, "", ConnectionRefusedError("refused"), "connection_error"),
])
def test_classify_maps_outcomes_to_the_closed_vocabulary(status: int, body: str, exception: Exception | None,
                                                         kind: str) -> None:
    assert classify(status, body_error_code(body), exception) == kind
    assert kind in ERROR_KINDS
