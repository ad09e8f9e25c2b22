"""Declarative flows against the reference service with real Locust: captures from JSON, headers and cookies,
setup steps, credentials from a file and a pattern, error-kind rules, and a capture that finds nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from harness.errors import BadInput
from harness.pytest_plugin import LoadResult, run_flows_load

LOGIN = {"method": "POST", "path": "/login", "json": {"username": "{username}", "password": "{password}"}}


def rows(result: LoadResult) -> pd.DataFrame:
    assert result.records_dir is not None
    files = sorted(result.records_dir.glob("*.parquet"))
    return pq.ParquetDataset([str(f) for f in files]).read().to_pandas()


def flow_rows(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame[(frame.kind == "flow") & (frame.name == name)]


@pytest.mark.slow
def test_captures_cookies_and_setup_feed_later_steps(auth_service, tmp_path: Path) -> None:
    """json:, header: and cookie: captures fill later steps; cookies persist; setup runs once per user."""
    service = auth_service(profile="fixed")
    flows = [
        {"name": "json_and_header", "wait": [0.0, 0.05], "steps": [
            {**LOGIN, "capture": {"session": "json:session_id", "kind": "header:Content-Type"}},
            {"path": "/me", "name": "/me json", "headers": {"X-Session-ID": "{session}", "Accept": "{kind}"}}]},
        {"name": "cookie", "wait": [0.0, 0.05], "steps": [
            {**LOGIN, "capture": {"cookie_session": "cookie:session_id"}},
            {"path": "/me", "name": "/me by cookie jar"},
            {"path": "/me", "name": "/me cookie header", "headers": {"X-Session-ID": "{cookie_session}"}}]},
        {"name": "setup_session", "wait": [0.0, 0.05], "steps": [
            {"path": "/me", "name": "/me setup", "headers": {"X-Session-ID": "{setup_session}"}}]},
        {"name": "missing", "wait": [0.0, 0.05], "steps": [
            {**LOGIN, "capture": {"nothing": "header:X-Not-There"}},
            {"path": "/me", "name": "/me never", "headers": {"X-Session-ID": "{nothing}"}}]},
    ]
    setup = [{**LOGIN, "capture": {"setup_session": "json:session_id"}}]
    result = run_flows_load(service.url, flows, setup=setup, users=8, duration_s=3, out_dir=tmp_path / "load")
    frame = rows(result)

    for name in ("json_and_header", "cookie", "setup_session"):
        flows_of = flow_rows(frame, name)
        assert len(flows_of) > 0 and flows_of.success.all(), flows_of.error.unique()
    setup_rows = flow_rows(frame, "setup")
    assert len(setup_rows) == 8 and setup_rows.success.all()
    missing = flow_rows(frame, "missing")
    assert len(missing) > 0 and not missing.success.any()
    assert set(missing.error_kind) == {"other"}
    assert missing.error.str.contains("capture nothing (header:X-Not-There) found nothing", regex=False).all()
    # The run goes on past the failed capture, and the step after it is never sent.
    assert "/me never" not in set(frame.name)
    assert {"/me json", "/me by cookie jar", "/me cookie header", "/me setup"} <= set(frame.name)


@pytest.mark.slow
def test_credentials_file_and_error_kind_rules(auth_service, tmp_path: Path) -> None:
    """Each user keeps one row of the file; a rule turns the bad row's 401 into the kind it names."""
    service = auth_service(profile="fixed")
    users_file = tmp_path / "users.csv"
    users_file.write_text("username,password\nuser1,pass-user1\nuser2,pass-user2\nuser3,wrong\nuser4,pass-user4\n")
    rules = [{"kind": "invalid_token", "status": 401, "body": "invalid_credentials"}]
    flows = [{"name": "login", "wait": [0.0, 0.05], "steps": [
        {**LOGIN, "capture": {"session": "json:session_id"}},
        {"path": "/me", "headers": {"X-Session-ID": "{session}"}}]}]
    result = run_flows_load(service.url, flows, credentials={"file": str(users_file)}, error_kinds=rules,
                            users=4, duration_s=3, out_dir=tmp_path / "load")
    frame = rows(result)

    # One user in four holds the bad row, and holds it for the whole run: some flows fail, the others pass.
    assert 0 < result.successes < result.flows
    assert set(result.error_kinds) == {"invalid_token"}
    failed_logins = frame[(frame.kind == "request") & ~frame.success]
    assert set(failed_logins.name) == {"/login"} and set(failed_logins.error_kind) == {"invalid_token"}


@pytest.mark.slow
def test_credentials_pattern_and_status_decides_without_a_rule(auth_service, tmp_path: Path) -> None:
    """username/password patterns over {n}; with no rule, a 401 on a bad password is client_error as today."""
    service = auth_service(profile="fixed", users=10)
    flows = [
        {"name": "login", "wait": [0.0, 0.05], "steps": [{**LOGIN, "expect_status": [200]}]},
    ]
    result = run_flows_load(service.url, flows, users=3, duration_s=2, out_dir=tmp_path / "good",
                            credentials={"username": "user{n}", "password": "pass-user{n}", "count": 10})
    assert result.flows > 0 and result.successes == result.flows
    bad = run_flows_load(service.url, flows, users=2, duration_s=2, out_dir=tmp_path / "bad",
                         credentials={"username": "user{n}", "password": "not-{n}", "count": 10})
    assert bad.flows > 0 and bad.successes == 0 and set(bad.error_kinds) == {"client_error"}


@pytest.mark.parametrize(("flows", "expected"), [
    ([{"name": "x", "steps": [{"path": "me"}]}], "load.flows[0].steps[0].path: must start with \"/\""),
    ([{"name": "x", "steps": []}], "load.flows[0].steps: List should have at least 1 item"),
    ([{"name": "x", "steps": [{"path": "/me", "headers": {"A": "{sesion}"}}]}],
     "load.flows[0].steps[0].headers: {sesion} is neither a credential nor captured by an earlier step"),
])
def test_run_flows_load_refuses_a_bad_table_in_one_line(flows: list, expected: str) -> None:
    with pytest.raises(BadInput) as caught:
        run_flows_load("http://127.0.0.1:1", flows)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
