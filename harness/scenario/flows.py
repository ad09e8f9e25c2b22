"""Declarative load (`[[load.flows]]`, `[load.credentials]`, `[load.setup]`, `[[load.error_kinds]]`): the models.

A flow is a list of HTTP steps a simulated user runs in order; names captured from one response
(`"json:<path>"`, `"header:<Name>"`, `"cookie:<name>"`) fill `{name}` in the paths, headers and bodies
of the steps after it. The Locust side (harness/load/flows.py) runs what these models describe; both
sides validate through the same models, so a table the scenario accepts is one the load can run.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.records import ERROR_KINDS

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
CREDENTIAL_NAMES = ("username", "password")
DECLARATIVE_USER = "FlowUser"   # the one Locust user class the declarative locustfile defines
SETUP_FLOW = "setup"            # the flow rows of [load.setup]
# `{name}` with an identifier inside; any other brace (a JSON body written as text) is left alone.
TEMPLATE_NAME = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CAPTURE = re.compile(r"^(json|header|cookie):(.+)$")
_JSON_PATH_PART = re.compile(r"[^.\[\]]+|\[\d+\]")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Longer than any experiment: a bigger duration, wait or toxic time is a typo, and would overflow a timer.
MAX_SECONDS = 7 * 86_400


class _Strict(BaseModel):
    # No inf or NaN, as in the rest of the scenario: `wait = [0, inf]` would only break once the load runs.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


def template_names(value: Any) -> list[str]:
    """Every `{name}` used in a string, or in the strings of a JSON value (keys and values)."""
    if isinstance(value, str):
        return TEMPLATE_NAME.findall(value)
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in (*template_names(k), *template_names(v))]
    if isinstance(value, list):
        return [n for item in value for n in template_names(item)]
    return []


def json_path(spec: str) -> tuple[str | int, ...]:
    """`data.items[0].id` or `data.items.0.id` as keys and list indexes."""
    parts: list[str | int] = []
    for token in _JSON_PATH_PART.findall(spec.removeprefix("$.")):
        if token.startswith("["):
            parts.append(int(token[1:-1]))
        else:
            parts.append(int(token) if token.isdigit() else token)
    return tuple(parts)


def parse_capture(spec: str) -> tuple[str, str]:
    """(source, key) of a capture; ValueError saying what is allowed."""
    match = _CAPTURE.match(spec)
    if not match or not match.group(2).strip():
        raise ValueError(f'must be "json:<path>", "header:<Name>" or "cookie:<name>", got "{spec}"')
    source, key = match.group(1), match.group(2).strip()
    if source == "json" and not json_path(key):
        raise ValueError(f'json capture needs a path such as "json:session_id", got "{spec}"')
    return source, key


class Step(_Strict):
    """One HTTP request of a flow; `expect_status` empty means any 2xx."""

    method: str = "GET"
    path: str
    name: str | None = None          # the request row's name; default the path as written (templates unfilled)
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(None, alias="json")
    form: dict[str, str] | None = None
    body: str | None = None
    capture: dict[str, str] = Field(default_factory=dict)
    expect_status: list[int] = Field(default_factory=list)
    follow_redirects: bool = True

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str) -> str:
        if method.upper() not in HTTP_METHODS:
            raise ValueError(f"must be one of {', '.join(HTTP_METHODS)}, got \"{method}\"")
        return method.upper()

    @field_validator("path")
    @classmethod
    def _relative_path(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f'must start with "/" (it is joined to the service URL), got "{path}"')
        return path

    @field_validator("capture")
    @classmethod
    def _captures(cls, capture: dict[str, str]) -> dict[str, str]:
        for name, spec in capture.items():
            if not _IDENTIFIER.match(name):
                raise ValueError(f"capture name {name!r} must be a name usable as {{{name}}}: letters, digits, _")
            if name in CREDENTIAL_NAMES:
                raise ValueError(f"capture name {name!r} is taken by the credentials")
            parse_capture(spec)
        return capture

    @field_validator("expect_status", mode="before")
    @classmethod
    def _status_list(cls, value: Any) -> Any:
        statuses = [value] if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(statuses, list) and any(isinstance(s, int) and not 100 <= s <= 599 for s in statuses):
            raise ValueError(f"must be HTTP statuses between 100 and 599, got {value!r}")
        return statuses

    @model_validator(mode="after")
    def _one_body(self) -> Step:
        given = [k for k, v in (("json", self.json_body), ("form", self.form), ("body", self.body)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of json, form or body, got {' and '.join(given)}")
        return self

    @property
    def row_name(self) -> str:
        return self.name or self.path

    def used_names(self) -> dict[str, list[str]]:
        """Template names per field of this step (field as written in the scenario)."""
        fields = {"path": template_names(self.path), "headers": template_names(self.headers),
                  "json": template_names(self.json_body), "form": template_names(self.form or {}),
                  "body": template_names(self.body or "")}
        return {field: names for field, names in fields.items() if names}


class Flow(_Strict):
    """A named sequence of steps; it succeeds only when every step does."""

    name: str = Field(min_length=1)
    weight: int = Field(1, ge=1)
    via_edge: bool = False
    wait: tuple[float, float] = (0.5, 1.5)   # seconds a user waits between two flows, uniform
    steps: list[Step] = Field(min_length=1)

    @field_validator("wait", mode="before")
    @classmethod
    def _wait_pair(cls, wait: Any) -> Any:
        return [wait, wait] if isinstance(wait, int | float) and not isinstance(wait, bool) else wait

    @field_validator("wait")
    @classmethod
    def _ordered(cls, wait: tuple[float, float]) -> tuple[float, float]:
        if wait[0] < 0 or wait[1] < wait[0] or wait[1] > MAX_SECONDS:
            raise ValueError(f"must be [min, max] seconds with 0 <= min <= max <= {MAX_SECONDS}, got {list(wait)}")
        return wait


class Setup(_Strict):
    """Steps each simulated user runs once before its first flow (sign-up, for a service that starts empty)."""

    steps: list[Step] = Field(min_length=1)


class Credentials(_Strict):
    """Who the simulated users are: a CSV file (username,password) or a pattern over {n} in 0..count-1."""

    file: str | None = None
    username: str | None = None
    password: str | None = None
    count: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _file_or_pattern(self) -> Credentials:
        pattern = [self.username, self.password, self.count]
        if self.file is not None and any(v is not None for v in pattern):
            raise ValueError("give either file or username/password/count, not both")
        if self.file is None and any(v is None for v in pattern):
            raise ValueError('give file = "users.csv", or username, password and count '
                             '(username = "user{n}", password = "pass-user{n}", count = 1000)')
        for value in (self.username, self.password):
            unknown = [n for n in template_names(value or "") if n != "n"]
            if unknown:
                raise ValueError(f"{{{unknown[0]}}} is not a placeholder of a credential pattern; only {{n}} is")
        return self

    def resolved(self, scenario_dir: Path) -> Credentials:
        """The same credentials with `file` made absolute and checked (ValueError names the problem)."""
        if self.file is None:
            return self
        path = (scenario_dir / self.file).resolve()
        read_credentials_file(path)
        return self.model_copy(update={"file": str(path)})


def read_credentials_file(path: Path) -> list[tuple[str, str]]:
    """(username, password) rows of a CSV file with a header naming both columns."""
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in CREDENTIAL_NAMES if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: needs a header row with columns username,password")
            rows = [(row["username"] or "", row["password"] or "") for row in reader]
    except FileNotFoundError:
        raise ValueError(f"no such file {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if not rows:
        raise ValueError(f"{path} has no credentials below its header")
    return rows


class ErrorKindRule(_Strict):
    """A failed step whose status and body match becomes `kind`; the first rule that matches wins."""

    kind: Literal[ERROR_KINDS]  # type: ignore[valid-type]  # the tuple, built at import, is unpacked at run time
    status: list[int] = Field(default_factory=list)   # empty: any status (0 = no response)
    body: str | None = None                           # a regular expression searched in the body

    @field_validator("status", mode="before")
    @classmethod
    def _status_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("body")
    @classmethod
    def _regex(cls, body: str | None) -> str | None:
        if body is not None:
            try:
                re.compile(body)
            except re.error as exc:
                raise ValueError(f"not a regular expression ({exc}): {body!r}") from None
        return body

    @model_validator(mode="after")
    def _matches_something(self) -> ErrorKindRule:
        if not self.status and self.body is None:
            raise ValueError("give status, body or both")
        return self


class FlowsSpec(_Strict):
    """What the declarative Locust user needs, handed over as JSON in the harness's Locust options."""

    flows: list[Flow]
    credentials: Credentials | None = None
    setup: Setup | None = None
    error_kinds: list[ErrorKindRule] = Field(default_factory=list)
    workers: int = 1   # Locust worker processes, so that users on different workers get different credentials


def weighted_order(weights: Sequence[int]) -> tuple[int, ...]:
    """Indexes interleaved so any run of users follows the weights closely (smooth weighted round robin)."""
    total = sum(weights)
    current = [0] * len(weights)
    order = []
    for _ in range(total):
        current = [c + w for c, w in zip(current, weights, strict=True)]
        best = max(range(len(weights)), key=lambda i: current[i])
        current[best] -= total
        order.append(best)
    return tuple(order)


def check_flow_names(flows: list[Flow]) -> list[Flow]:
    seen: set[str] = set()
    for flow in flows:
        if flow.name in seen:
            raise ValueError(f"flow name {flow.name!r} is used twice; each flow's rows are named after it")
        seen.add(flow.name)
    return flows


def declarative_problem(flows: list[Flow], classes: set[str], metric: str) -> str | None:
    """What is wrong with a scenario whose flows run in the packaged locustfile, or None."""
    if classes != {DECLARATIVE_USER}:
        return (f"load.classes: declarative flows run as {DECLARATIVE_USER} (weights and waits are per flow); "
                f"name no other class, or give load.locustfile")
    names = [flow.name for flow in flows]
    if metric not in names:
        return f"target.metric: {metric!r} names no flow; the flows are {', '.join(names)}"
    return None


def template_problem(flows: list[Flow], setup: Setup | None) -> str | None:
    """`load.<field>: ...` for the first `{name}` no earlier step captured and no credential gives, or None."""
    known = set(CREDENTIAL_NAMES)
    taken = next((i for i, flow in enumerate(flows) if flow.name == SETUP_FLOW), None)
    if setup is not None and taken is not None:
        return f"load.flows[{taken}].name: {SETUP_FLOW!r} names the [load.setup] rows; give this flow another name"
    if setup is not None:
        problem = _steps_problem("load.setup", setup.steps, known)
        if problem:
            return problem
        known |= {name for step in setup.steps for name in step.capture}
    for index, flow in enumerate(flows):
        problem = _steps_problem(f"load.flows[{index}]", flow.steps, set(known))
        if problem:
            return problem
    return None


def _steps_problem(where: str, steps: list[Step], known: set[str]) -> str | None:
    for index, step in enumerate(steps):
        for field, names in step.used_names().items():
            unknown = [n for n in names if n not in known]
            if unknown:
                return (f"{where}.steps[{index}].{field}: {{{unknown[0]}}} is neither a credential nor captured by "
                        f"an earlier step; known here: {', '.join(sorted(known))}")
        known |= set(step.capture)
    return None
