"""Shared code for the scenarios' Locust users: login flows, the recorder hook-up, harness options.

A locustfile imports `AuthUser` and the flow helpers from here. Run by `harness run`, the harness
passes its options (records folder, variant, class weights and waits, edge host); run by hand
with `locust -f scenarios/login_users.py`, the same file works with Locust's defaults.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness.load import arrivals
from harness.load.classify import classify, response_error
from harness.load.recorder import FLOW_REQUEST_TYPE, Recorder, flush_quietly, write_started
from harness.records import ERROR_KIND, SERVICE_MS, SESSION, STATUS

FLUSH_INTERVAL_S = 1.0
_user_numbers = itertools.count()
_state: dict[str, Any] = {"recorder": None, "flusher": None}


class FlowFailed(Exception):
    """A flow step failed; the message says which step and why."""


@events.init_command_line_parser.add_listener
def _harness_options(parser: Any) -> None:
    group = parser.add_argument_group("harness", "Options set by `harness run`")
    group.add_argument("--harness-records", default="", env_var="HARNESS_RECORDS",
                       help="Folder for per-request Parquet records (off when empty).")
    group.add_argument("--harness-started", default="", env_var="HARNESS_STARTED",
                       help="File to write the load's start time to.")
    group.add_argument("--harness-variant", default="manual", env_var="HARNESS_VARIANT")
    group.add_argument("--harness-load", default="{}", env_var="HARNESS_LOAD",
                       help="JSON: user class weights/waits, client flags and locustfile options.")
    group.add_argument("--edge-host", default="", env_var="HARNESS_EDGE_HOST",
                       help="Base URL mobile users go through (the edge proxy); default --host.")


@dataclass(frozen=True)
class LoadConfig:
    """What the harness tells the users: class weights and waits, client flags, options, seed."""

    classes: dict[str, dict[str, Any]]
    client: dict[str, Any]
    options: dict[str, Any]
    seed: int
    users_in_service: int
    flows: dict[str, Any] | None = None   # declarative flows, error-kind rules, credentials (FlowsSpec JSON)

    @classmethod
    def from_options(cls, parsed: Any) -> LoadConfig:
        raw = json.loads(getattr(parsed, "harness_load", "") or "{}") if parsed is not None else {}
        return cls(classes=raw.get("classes", {}), client=raw.get("client", {}), options=raw.get("options", {}),
                   seed=int(raw.get("seed", 1)), users_in_service=int(raw.get("users_in_service", 1000)),
                   flows=raw.get("flows"))


def load_config(environment: Environment) -> LoadConfig:
    return LoadConfig.from_options(environment.parsed_options)


@events.init.add_listener
def _apply_weights(environment: Environment, **_: Any) -> None:
    # Weights matter where users are distributed (local or master), so set them at init there.
    config = load_config(environment)
    for user_class in environment.user_classes or []:
        spec = config.classes.get(user_class.__name__)
        if spec:
            user_class.weight = int(spec.get("weight", user_class.weight))
            if spec.get("fixed_count") is not None:
                user_class.fixed_count = int(spec["fixed_count"])


@events.test_start.add_listener
def _start_recording(environment: Environment, **_: Any) -> None:
    """Local process: write rows itself. Master: write what workers report. Worker: report to the master."""
    parsed = environment.parsed_options
    runner = environment.runner
    t0 = time.time()
    if parsed is not None and parsed.harness_started and not isinstance(runner, WorkerRunner):
        write_started(Path(parsed.harness_started), t0)
    if parsed is None or not parsed.harness_records or _state["recorder"] is not None:
        return
    worker = os.environ.get("HARNESS_WORKER") or (
        f"worker-{runner.client_id}" if isinstance(runner, WorkerRunner) else "local")
    out_dir = None if isinstance(runner, WorkerRunner) else Path(parsed.harness_records)
    recorder = Recorder(out_dir, variant=parsed.harness_variant, worker=worker, t0=t0)
    _state["recorder"] = recorder
    if isinstance(runner, MasterRunner):
        environment.events.worker_report.add_listener(
            lambda client_id, data, **kw: recorder.extend(data.get("harness_rows") or {}))
    elif isinstance(runner, WorkerRunner):
        environment.events.report_to_master.add_listener(
            lambda client_id, data, **kw: data.update(harness_rows=recorder.take()))
    if not isinstance(runner, MasterRunner):
        environment.events.request.add_listener(recorder.on_request)
    if out_dir is not None:
        _state["flusher"] = gevent.spawn(_flush_every, recorder)


def _flush_every(recorder: Recorder) -> None:
    while True:
        gevent.sleep(FLUSH_INTERVAL_S)
        flush_quietly(recorder)


@events.quit.add_listener
def _stop_recording(**_: Any) -> None:
    recorder = _state["recorder"]
    if _state["flusher"] is not None:
        _state["flusher"].kill(block=False)
    if recorder is not None:
        flush_quietly(recorder)


@dataclass
class Session:
    """What a successful login hands the client."""

    session_id: str
    access_token: str
    refresh_token: str

    def refreshed(self, body: dict[str, Any]) -> Session:
        """The same session with the pair a /token/refresh answered."""
        return Session(self.session_id, body["access_token"], body["refresh_token"])

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def reference(self) -> str:
        """What the records keep of the session: a digest that names it, never the secret itself."""
        return hashlib.sha256(self.session_id.encode()).hexdigest()[:16]


class AuthUser(FastHttpUser):
    """A client of the reference auth service; `via_edge` users go through the edge proxy."""

    abstract = True
    via_edge = False
    network_timeout = 10.0
    connection_timeout = 5.0

    def __init__(self, environment: Environment) -> None:
        config = load_config(environment)
        parsed = environment.parsed_options
        if self.via_edge and parsed is not None and parsed.edge_host:
            self.host = parsed.edge_host
        spec = config.classes.get(type(self).__name__, {})
        low, high = spec.get("wait", (0.5, 1.5))
        # per user, from its class's settings; Locust declares wait_time a method
        self.wait_time = lambda: random.uniform(low, high)  # type: ignore[method-assign]
        super().__init__(environment)
        self.config = config
        # Seeded per user in spawn order, so a run's choices repeat with the same seed.
        self.number = next(_user_numbers)
        self.random = random.Random(config.seed * 1_000_003 + self.number)

    def context(self) -> dict[str, Any]:
        return {"user_class": type(self).__name__}

    def run(self) -> None:  # type: ignore[misc]  # Locust marks run() final; arrivals are paced before it
        arrivals.pace(self)   # open model: take arrivals instead of waiting (harness/load/arrivals.py)
        super().run()

    def client_flag(self, name: str, default: bool = False) -> bool:
        value = self.config.client.get(name, default)
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")

    def pick_credentials(self) -> tuple[str, str]:
        index = self.random.randrange(self.config.users_in_service)
        return f"user{index}", f"pass-user{index}"

    # -- flows ---------------------------------------------------------------------------------------

    def record_flow(self, name: str, started: float, perf_start: float, status: int,
                    failure: tuple[str, str] | None, session: Session | None = None) -> None:
        """Fire one FLOW row: success, or (error_kind, message) of the failing step; and the session it used."""
        start_time, latency_ms, service_ms = arrivals.flow_timing(self, started, perf_start)
        self.environment.events.request.fire(
            request_type=FLOW_REQUEST_TYPE, name=name, response_time=latency_ms, response_length=0,
            exception=None if failure is None else FlowFailed(f"{failure[0]}: {failure[1]}"),
            context={**self.context(), STATUS: status, SERVICE_MS: service_ms,
                     ERROR_KIND: "" if failure is None else failure[0],
                     SESSION: session.reference() if session is not None else ""},
            start_time=start_time,
        )

    def step(self, method: str, path: str, **kwargs: Any) -> tuple[Any, tuple[str, str] | None]:
        """One HTTP step of a flow: the response and, when it failed, (error_kind, message)."""
        response = self.client.request(method, path, name=path, **kwargs)
        status, code, text = response_error(response)
        if 200 <= status < 300:
            return response, None
        return response, (classify(status, code, text), f"{method} {path} -> {status} {text}")

    def login(self) -> tuple[Session | None, Any, tuple[str, str] | None]:
        username, password = self.pick_credentials()
        response, failure = self.step("POST", "/login", json={"username": username, "password": password})
        if failure:
            return None, response, failure
        body = response.json()
        return Session(body["session_id"], body["access_token"], body["refresh_token"]), response, None

    def login_then_me(self) -> tuple[Session | None, Any, tuple[str, str] | None]:
        """Log in, then at once use the new session (GET /me): the last response and the failure, if any."""
        session, response, failure = self.login()
        if session is not None:
            response, failure = self.step("GET", "/me", headers={"X-Session-ID": session.session_id})
        return (session if failure is None else None), response, failure

    def one_step_flow(self, flow: str, method: str, path: str, session: Session | None = None,
                      **kwargs: Any) -> tuple[Any, tuple[str, str] | None]:
        """A flow that is one HTTP step: the request row and its flow row."""
        started, perf_start = time.time(), time.perf_counter()
        response, failure = self.step(method, path, **kwargs)
        self.record_flow(flow, started, perf_start, response.status_code, failure, session)
        return response, failure

    def login_flow(self) -> Session | None:
        """The login flow: login then /me; it succeeds only if both do."""
        started, perf_start = time.time(), time.perf_counter()
        session, response, failure = self.login_then_me()
        self.record_flow("login", started, perf_start, response.status_code, failure, session)
        return session

    def refreshes_at_once(self, refresh_token: str, callers: int,
                          flow: str | None = None) -> list[tuple[Any, tuple[str, str] | None]]:
        """`callers` refresh the same token at once; each is a `flow` row when a name is given.

        Outcomes come in the order the callers finished.
        """
        outcomes: list[tuple[Any, tuple[str, str] | None]] = []
        request: dict[str, Any] = {"json": {"refresh_token": refresh_token}}

        def one_caller() -> None:
            if flow is None:
                outcomes.append(self.step("POST", "/token/refresh", **request))
            else:
                outcomes.append(self.one_step_flow(flow, "POST", "/token/refresh", **request))

        gevent.joinall([gevent.spawn(one_caller) for _ in range(callers)])
        return outcomes

    def refresh_flow(self, session: Session, concurrent: int = 1) -> Session | None:
        """`concurrent` callers (tabs, requests) refresh the same token at once; one flow row each.

        Returns the session with the pair of the first caller that succeeded, or None when all failed.
        """
        for response, failure in self.refreshes_at_once(session.refresh_token, concurrent, flow="refresh"):
            if failure is None:
                return session.refreshed(response.json())
        return None

    def protected_flow(self, session: Session) -> bool:
        """One call to a protected resource with the bearer token (token check + revocation lookup)."""
        return self.one_step_flow("protected", "GET", "/protected", headers=session.bearer())[1] is None

    def session_flow(self, session: Session) -> bool:
        """Use an existing session (GET /me): a `session` flow row; session_not_found means it was lost."""
        return self.session_flow_failure(session) is None

    def session_flow_failure(self, session: Session) -> tuple[str, str] | None:
        """The session flow, returning its failure (error_kind, message), or None when the session answered."""
        return self.one_step_flow("session", "GET", "/me", session=session,
                                  headers={"X-Session-ID": session.session_id})[1]

    def login_with_retry_after(self, budget_s: float) -> Session | None:
        """Login flow that honours 503 + Retry-After (what a client can do once errors are clear)."""
        started, perf_start = time.time(), time.perf_counter()
        deadline = time.monotonic() + budget_s
        while True:
            session, response, failure = self.login_then_me()
            wait = retry_after_s(response) if failure is not None else None
            if wait is None or time.monotonic() + wait > deadline:
                break
            gevent.sleep(wait)
        self.record_flow("login", started, perf_start, response.status_code, failure, session)
        return session


def retry_after_s(response: Any) -> float | None:
    """Seconds a 503 asks the client to wait (Retry-After), or None when the answer is not retryable."""
    if getattr(response, "status_code", 0) != 503:
        return None
    header = response.headers.get("Retry-After") if response.headers else None
    try:
        return max(0.1, float(header)) if header else 1.0
    except ValueError:
        return 1.0


class BootstrapMixin:
    """App start-up: the app's bootstraps refresh the stored token; a lost refresh logs the app out."""

    stored: Session | None = None

    def app_start_flow(self: Any) -> None:
        """Two bootstraps at once (the bug) or one shared refresh (single_flight_bootstrap), then use it."""
        if self.stored is None:
            self.stored, _, _ = self.login()
            return
        started, perf_start = time.time(), time.perf_counter()
        bootstraps = 1 if self.client_flag("single_flight_bootstrap") else 2
        outcomes = self.refreshes_at_once(self.stored.refresh_token, bootstraps)
        failure = next((f for _, f in outcomes if f is not None), None)
        response = outcomes[-1][0]  # the app keeps the pair of the bootstrap that finished last
        if failure is None:
            self.stored = self.stored.refreshed(response.json())
            response, failure = self.step("GET", "/protected", headers=self.stored.bearer())
        if failure is not None:
            # What the app does on a failed bootstrap: it logs itself out and shows the login screen.
            self.client.request("POST", "/logout", name="/logout",
                                headers={"X-Session-ID": self.stored.session_id})
            self.stored = None
        self.record_flow("bootstrap", started, perf_start, response.status_code, failure)
