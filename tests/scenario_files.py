"""The one way tests write scenario files: tables as Python dicts, merged and written as TOML with tomli-w.

A dict needs no brace escaping (a service command's "{host}" is written as it is read), and a test states only
what differs from a shared base: `write_scenario(tmp_path, BASE, {"load": {"duration": "8s"}})`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
LOGIN_USERS = str(SCENARIOS / "login_users.py")

Tables = dict[str, Any]

# The buggy and fixed reference services with their expected verdicts, as the catalogue pairs them.
BUGGY_FIXED: Tables = {"variants": {"buggy": {"profile": "buggy", "expect": "fail"},
                                    "fixed": {"profile": "fixed", "expect": "pass"}}}


def merged(base: Tables, *overrides: Tables) -> Tables:
    """`base` with each override laid over it: tables merge key by key, anything else (lists too) replaces."""
    out = dict(base)
    for override in overrides:
        for key, value in override.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merged(out[key], value)
            else:
                out[key] = value
    return out


def scenario_text(*parts: Tables) -> str:
    return tomli_w.dumps(merged({}, *parts))


def write_scenario(folder: Path, *parts: Tables, name: str = "scenario.toml") -> Path:
    path = folder / name
    path.write_text(scenario_text(*parts))
    return path


def lasting(duration: str) -> Tables:
    """The override that sets the load's duration."""
    return {"load": {"duration": duration}}


def redis_latency(latency: int, jitter: int | None = None, at: str | None = None,
                  stream: str | None = "upstream") -> Tables:
    """One `[[faults]]` row: a latency toxic on the service's Redis link."""
    attributes = {"latency": latency} | ({"jitter": jitter} if jitter is not None else {})
    fault: Tables = {"proxy": "redis", "type": "latency", "attributes": attributes}
    if at is not None:
        fault["at"] = at
    if stream is not None:
        fault["stream"] = stream
    return fault


def login_step(capture_session: bool = True) -> Tables:
    """POST /login with the flow's credentials, the session id captured for the steps after it."""
    step: Tables = {"method": "POST", "path": "/login",
                    "json": {"username": "{username}", "password": "{password}"}}
    return step | ({"capture": {"session": "json:session_id"}} if capture_session else {})


ME_STEP: Tables = {"path": "/me", "headers": {"X-Session-ID": "{session}"}}
