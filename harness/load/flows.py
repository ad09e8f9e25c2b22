"""Flows in a Locust process: the `flow(user, name)` helper for hand-written locustfiles, and `FlowUser`,
the user that runs a scenario's declarative `[[load.flows]]`.

A flow is one FLOW row (named after the flow, with an error_kind when it failed) beside one request
row per HTTP step; it succeeds only when every step does. Both write through the recorder that
harness.load.users hooks up, so records look the same as the reference scenarios' users.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from locust import FastHttpUser, HttpUser, task
from locust.env import Environment

from harness.load import arrivals
from harness.load.classify import classify, response_error
from harness.load.recorder import FLOW_REQUEST_TYPE
from harness.load.users import FlowFailed, load_config
from harness.records import ERROR_KIND, SERVICE_MS, STATUS, USER_CLASS, ErrorKind
from harness.scenario.flows import (
    SETUP_FLOW,
    TEMPLATE_NAME,
    Credentials,
    ErrorKindRule,
    Flow,
    FlowsSpec,
    Step,
    json_path,
    parse_capture,
    read_credentials_file,
    weighted_order,
)

_user_numbers = itertools.count()
_MISSING = object()


class StepFailed(Exception):
    """A step of a flow failed; the flow ends here with this error_kind and message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


# -- error kinds ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KindRules:
    """The scenario's `[[load.error_kinds]]`, compiled; without a match the status decides (classify)."""

    rules: tuple[ErrorKindRule, ...] = ()

    def kind(self, response: Any) -> tuple[str, str]:
        """(error_kind, short text) of a failed response."""
        status, code, short = response_error(response)
        if self.rules:
            text = _body_text(response)
            for rule in self.rules:
                if (not rule.status or status in rule.status) and (
                        rule.body is None or _regex(rule.body).search(text)):
                    return rule.kind, short
        return classify(status, code, short if status == 0 else None), short


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _body_text(response: Any) -> str:
    try:
        return response.text or ""
    except Exception:  # a body that cannot be decoded still has a status for the rules
        return ""


def scenario_rules(user: Any) -> KindRules:
    """The error-kind rules the harness passed to this Locust process (none when run by hand)."""
    plan = plan_of(user.environment)
    return KindRules(tuple(plan.spec.error_kinds)) if plan is not None else KindRules()


# -- the flow helper -----------------------------------------------------------------------------------

@dataclass
class FlowRun:
    """One run of a flow by one user: its steps go through `request`, a failure ends it."""

    user: HttpUser | FastHttpUser
    name: str
    rules: KindRules
    started: float = field(default_factory=time.time)
    perf_start: float = field(default_factory=time.perf_counter)
    status: int = 0
    failure: tuple[str, str] | None = None

    def request(self, method: str, path: str, *, name: str | None = None,
                expect_status: Sequence[int] = (), **kwargs: Any) -> Any:
        """One HTTP step (one request row); a status outside `expect_status` (default any 2xx) fails the flow."""
        row_name = name or path
        with self.user.client.request(method, path, name=row_name, catch_response=True, **kwargs) as response:
            self.status = int(response.status_code or 0)
            if (self.status in expect_status) if expect_status else 200 <= self.status < 300:
                response.success()
                return response
            kind, short = self.rules.kind(response)
            # The client merged its own copy of the context; the request row is built from this one.
            response.request_meta["context"][ERROR_KIND] = kind
            message = f"{method} {row_name} -> {self.status} {short}".strip()
            response.failure(message)
        raise StepFailed(kind, message)

    def fail(self, kind: str, message: str) -> None:
        """End the flow as failed (kind from the error_kind vocabulary)."""
        raise StepFailed(kind, message)

    def require(self, value: Any, what: str) -> Any:
        """`value`, or end the flow with error_kind `other` saying `what` was missing."""
        if value is None or value is _MISSING:
            raise StepFailed(ErrorKind.OTHER, f"{what} found nothing")
        return value


@contextmanager
def flow(user: HttpUser | FastHttpUser, name: str, rules: KindRules | None = None) -> Iterator[FlowRun]:
    """Run the body as the flow `name`: one FLOW row when it ends, failed at the first step that failed.

    An unexpected exception in the body fails the flow with error_kind `other` and is raised again,
    so Locust still reports it; a user stopped mid-flow records nothing for that flow.
    """
    run = FlowRun(user, name, rules if rules is not None else scenario_rules(user))
    try:
        yield run
    except StepFailed as failed:
        run.failure = (failed.kind, failed.message)
    except Exception as exc:
        run.failure = (ErrorKind.OTHER, f"{type(exc).__name__}: {exc}")
        record_flow(run)
        raise
    record_flow(run)


def record_flow(run: FlowRun) -> None:
    failure = run.failure
    user_class = (run.user.context() or {}).get("user_class") or type(run.user).__name__
    start_time, latency_ms, service_ms = arrivals.flow_timing(run.user, run.started, run.perf_start)
    run.user.environment.events.request.fire(
        request_type=FLOW_REQUEST_TYPE, name=run.name, response_time=latency_ms, response_length=0,
        exception=None if failure is None else FlowFailed(f"{failure[0]}: {failure[1]}"),
        context={USER_CLASS: user_class, STATUS: run.status, SERVICE_MS: service_ms,
                 ERROR_KIND: "" if failure is None else failure[0]},
        start_time=start_time,
    )


# -- declarative flows ---------------------------------------------------------------------------------

Values = dict[str, Any]


def compile_text(text: str, quote_values: bool = False) -> Callable[[Values], str]:
    """A renderer for `{name}` in `text` (names checked when the scenario was validated)."""
    parts = TEMPLATE_NAME.split(text)
    if len(parts) == 1:
        return lambda values: text
    literals, names = parts[0::2], parts[1::2]
    convert = (lambda v: quote(str(v), safe="/")) if quote_values else str

    def render(values: Values) -> str:
        out = [literals[0]]
        for name, literal in zip(names, literals[1:], strict=True):
            out.append(convert(values[name]))
            out.append(literal)
        return "".join(out)
    return render


def compile_json(value: Any) -> Callable[[Values], Any]:
    """A renderer for a JSON body; a string that is exactly `{name}` keeps the captured value's type."""
    if isinstance(value, str):
        whole = TEMPLATE_NAME.fullmatch(value)
        if whole:
            key = whole.group(1)
            return lambda values: values[key]
        return compile_text(value)
    if isinstance(value, dict):
        items = [(compile_text(k), compile_json(v)) for k, v in value.items()]
        return lambda values: {k(values): v(values) for k, v in items}
    if isinstance(value, list):
        renderers = [compile_json(item) for item in value]
        return lambda values: [r(values) for r in renderers]
    return lambda values: value


@dataclass(frozen=True)
class Capture:
    name: str
    spec: str
    source: str
    key: str
    path: tuple[str | int, ...] = ()

    @classmethod
    def of(cls, name: str, spec: str) -> Capture:
        source, key = parse_capture(spec)
        return cls(name, spec, source, key, json_path(key) if source == "json" else ())

    def take(self, response: Any, body: Callable[[], Any], cookies: Any) -> Any:
        """The captured value, or _MISSING."""
        if self.source == "header":
            header = (response.headers or {}).get(self.key)
            return _MISSING if header is None else header
        if self.source == "cookie":
            return next((c.value for c in cookies if c.name == self.key), _MISSING)
        value: Any = body()
        for part in self.path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return _MISSING
        return _MISSING if value is None else value


@dataclass(frozen=True)
class CompiledStep:
    """A step with its templates compiled once per process."""

    step: Step
    path: Callable[[Values], str]
    headers: tuple[tuple[str, Callable[[Values], str]], ...]
    json_body: Callable[[Values], Any] | None
    form: tuple[tuple[str, Callable[[Values], str]], ...] | None
    body: Callable[[Values], str] | None
    captures: tuple[Capture, ...]

    @classmethod
    def of(cls, step: Step) -> CompiledStep:
        return cls(
            step=step, path=compile_text(step.path, quote_values=True),
            headers=tuple((k, compile_text(v)) for k, v in step.headers.items()),
            json_body=None if step.json_body is None else compile_json(step.json_body),
            form=None if step.form is None else tuple((k, compile_text(v)) for k, v in step.form.items()),
            body=None if step.body is None else compile_text(step.body),
            captures=tuple(Capture.of(n, s) for n, s in step.capture.items()))

    def request_kwargs(self, values: Values) -> dict[str, Any]:
        headers = {k: render(values) for k, render in self.headers}
        kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": self.step.follow_redirects}
        if self.json_body is not None:
            kwargs["json"] = self.json_body(values)
        elif self.form is not None:
            kwargs["data"] = urlencode({k: render(values) for k, render in self.form})
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif self.body is not None:
            kwargs["data"] = self.body(values)
        return kwargs

    def run(self, run: FlowRun, values: Values, cookies: Any) -> None:
        """Send the step and add what it captured to `values`; a capture that finds nothing fails the flow."""
        step = self.step
        response = run.request(step.method, self.path(values), name=step.row_name,
                               expect_status=step.expect_status, **self.request_kwargs(values))
        parsed: list[Any] = []

        def body() -> Any:
            if not parsed:
                try:
                    parsed.append(response.json())
                except ValueError:
                    parsed.append(None)
            return parsed[0]
        for capture in self.captures:
            value = capture.take(response, body, cookies)
            if value is _MISSING:
                run.fail(ErrorKind.OTHER, f"capture {capture.name} ({capture.spec}) found nothing in the response "
                                          f"to {step.method} {step.row_name}")
            values[capture.name] = value


@dataclass(frozen=True)
class FlowPlan:
    """The scenario's flows compiled for this process, and how users are assigned to them."""

    spec: FlowsSpec
    steps: dict[str, tuple[CompiledStep, ...]]
    setup: tuple[CompiledStep, ...]
    order: tuple[int, ...]   # flow index per user number, interleaved by weight
    credentials: tuple[tuple[str, str], ...] | Credentials

    @classmethod
    def of(cls, spec: FlowsSpec, users_in_service: int) -> FlowPlan:
        credentials = spec.credentials or Credentials(username="user{n}", password="pass-user{n}",
                                                      count=users_in_service)
        table: tuple[tuple[str, str], ...] | Credentials = (
            tuple(read_credentials_file(Path(credentials.file))) if credentials.file else credentials)
        return cls(spec=spec, steps={f.name: tuple(CompiledStep.of(s) for s in f.steps) for f in spec.flows},
                   setup=tuple(CompiledStep.of(s) for s in spec.setup.steps) if spec.setup else (),
                   order=weighted_order([f.weight for f in spec.flows]), credentials=table)

    def flow_for(self, number: int) -> Flow:
        return self.spec.flows[self.order[number % len(self.order)]]

    def credentials_for(self, number: int) -> Values:
        if isinstance(self.credentials, tuple):
            username, password = self.credentials[number % len(self.credentials)]
            return {"username": username, "password": password}
        pattern = self.credentials
        n = str(number % (pattern.count or 1))
        return {"username": (pattern.username or "").replace("{n}", n),
                "password": (pattern.password or "").replace("{n}", n)}


_plans: dict[str, FlowPlan | None] = {}


def plan_of(environment: Environment) -> FlowPlan | None:
    """The flows the harness passed to this process, compiled once per option text (None when run by hand)."""
    key = str(getattr(environment.parsed_options, "harness_load", "") or "")
    if key not in _plans:
        config = load_config(environment)
        _plans[key] = None if config.flows is None else FlowPlan.of(
            FlowsSpec.model_validate(config.flows), config.users_in_service)
    return _plans[key]


def worker_index(environment: Environment) -> int:
    return max(0, int(getattr(environment.runner, "worker_index", 0) or 0))


class FlowUser(FastHttpUser):
    """A simulated user of the declarative flows: one flow (chosen by weight), its own credentials and cookies."""

    network_timeout = 10.0
    connection_timeout = 5.0

    def __init__(self, environment: Environment) -> None:
        config = load_config(environment)
        plan = plan_of(environment)
        if plan is None or not plan.spec.flows:
            raise ValueError("FlowUser runs a scenario's [[load.flows]]: start it with `harness run SCENARIO`")
        self.plan = plan
        # Numbered across workers so that users on different workers get different credentials.
        self.number = next(_user_numbers) * self.plan.spec.workers + worker_index(environment)
        self.flow = self.plan.flow_for(self.number)
        parsed = environment.parsed_options
        if self.flow.via_edge and parsed is not None and parsed.edge_host:
            self.host = parsed.edge_host
        super().__init__(environment)
        self.random = random.Random(config.seed * 1_000_003 + self.number)
        low, high = self.flow.wait
        # per user, from its flow's settings; Locust declares wait_time a method
        self.wait_time = lambda: self.random.uniform(low, high)  # type: ignore[method-assign]
        self.values = self.plan.credentials_for(self.number)
        self.rules = KindRules(tuple(self.plan.spec.error_kinds))
        self.set_up = not self.plan.setup

    def context(self) -> dict[str, Any]:
        return {"user_class": type(self).__name__}

    def run(self) -> None:  # type: ignore[misc]  # Locust marks run() final; arrivals are paced before it
        arrivals.pace(self)   # open model: take arrivals instead of waiting (harness/load/arrivals.py)
        super().run()

    @task
    def run_flow(self) -> None:
        if not self.set_up:
            # Setup again before the next flow until it succeeds (a service that was down at start).
            self.set_up = self.run_steps(SETUP_FLOW, self.plan.setup, self.values)
            if not self.set_up:
                return
        self.run_steps(self.flow.name, self.plan.steps[self.flow.name], dict(self.values))

    def run_steps(self, name: str, steps: Sequence[CompiledStep], values: Values) -> bool:
        """Run `steps` as the flow `name` with `values` (captures are added to it); True when it succeeded."""
        with flow(self, name, self.rules) as run:
            for step in steps:
                step.run(run, values, self.client.cookiejar)
        return run.failure is None
