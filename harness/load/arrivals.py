"""Arrival-rate (open-model) load on Locust's engine, measured without coordinated omission.

Each Locust process that runs users keeps an arrival schedule: a greenlet puts the intended start of each
arrival (Poisson or evenly spaced, at this process's share of the rate, following arrival-rate stages)
on a queue, whatever the service's speed. The process's users, as many as the cap on flows in progress,
take arrivals from that queue instead of waiting between tasks. A flow's latency counts from its intended
start, so time spent waiting for a free user (all busy: the cap was reached) is in the latency, as it would
be for a real user; its service time (from the actual start) is kept beside it. An arrival still unserved
after `arrival_timeout` never starts: it is a `not_started` row of the judged flow, so it stays in the
denominator. Arrivals left on the queue past the timeout when the load stops are recorded the same way.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent
from gevent.queue import Empty, Queue
from locust import events
from locust.runners import MasterRunner

from harness.load.open_model import level_at
from harness.load.recorder import FLOW_REQUEST_TYPE
from harness.records import ERROR_KIND, SERVICE_MS, STATUS, USER_CLASS, ErrorKind

if TYPE_CHECKING:  # for annotations only
    from gevent import Greenlet
    from locust.env import Environment

log = logging.getLogger("harness.arrivals")
IDLE_CHECK_S = 0.1   # how often a schedule whose rate is 0 looks again
_state: dict[str, Any] = {"schedule": None}


class ArrivalNotStarted(Exception):
    """The arrival waited longer than arrival_timeout for a free slot (every user busy)."""


@dataclass
class ArrivalSchedule:
    """One process's arrivals: intended starts (epoch s) on a queue, and the ones that never started."""

    environment: Environment
    settings: dict[str, Any]
    rng: random.Random
    t0: float = field(default_factory=time.time)
    queue: Queue = field(default_factory=Queue)
    greenlet: Greenlet[[], None] | None = None
    not_started: int = 0

    def rate_at(self, t: float) -> float:
        """This process's arrivals per second, t seconds after its start."""
        base, stages = float(self.settings["rate"]), self.settings.get("stages") or []
        level = level_at(stages, "arrival_rate", t, start=base) if stages else base
        return max(0.0, level or 0.0) / int(self.settings.get("processes", 1))

    def next_gap(self, rate: float) -> float:
        return self.rng.expovariate(rate) if self.settings.get("arrivals") == "poisson" else 1.0 / rate

    def generate(self) -> None:
        """Put each intended start on the queue at its time; behind schedule, catch up at once (same times)."""
        intended = self.t0
        while True:
            rate = self.rate_at(intended - self.t0)
            if rate <= 0:
                intended += IDLE_CHECK_S
            else:
                intended += self.next_gap(rate)
                gevent.sleep(max(0.0, intended - time.time()))
                self.queue.put(intended)
                continue
            gevent.sleep(max(0.0, intended - time.time()))

    def take(self) -> float:
        """The next arrival a free user should start (blocking); arrivals that waited too long never start."""
        timeout = float(self.settings.get("timeout_s", 10.0))
        while True:
            intended = self.queue.get()
            waited = time.time() - intended
            if waited <= timeout:
                return intended
            self.record_not_started(intended, waited)

    def record_not_started(self, intended: float, waited_s: float) -> None:
        self.not_started += 1
        self.environment.events.request.fire(
            request_type=FLOW_REQUEST_TYPE, name=str(self.settings.get("flow") or "login"),
            response_time=waited_s * 1000.0, response_length=0,
            exception=ArrivalNotStarted(f"not_started: no free slot within {self.settings.get('timeout_s')} s "
                                        f"(cap {self.settings.get('max_in_flight')} flows in progress)"),
            context={USER_CLASS: "", STATUS: 0, ERROR_KIND: ErrorKind.NOT_STARTED.value, SERVICE_MS: math.nan},
            start_time=intended)

    def drain(self) -> None:
        """The load stops: arrivals queued past the timeout never started, and are recorded so. Those queued for
        less were cut off by the end of the load, not refused by the cap: they are logged, not judged."""
        now, timeout, cut_off = time.time(), float(self.settings.get("timeout_s", 10.0)), 0
        while True:
            try:
                intended = self.queue.get_nowait()
            except Empty:
                break
            if now - intended > timeout:
                self.record_not_started(intended, now - intended)
            else:
                cut_off += 1
        if cut_off:
            log.warning("%d arrivals were still waiting (under arrival_timeout) when the load stopped: "
                        "neither started nor refused, so not recorded", cut_off)


def open_settings(environment: Environment) -> dict[str, Any] | None:
    parsed = environment.parsed_options
    raw = json.loads(getattr(parsed, "harness_load", "") or "{}") if parsed is not None else {}
    return raw.get("open_model")


def current() -> ArrivalSchedule | None:
    return _state["schedule"]


@events.test_start.add_listener
def _start_schedule(environment: Environment, **_: Any) -> None:
    settings = open_settings(environment)
    if settings is None or isinstance(environment.runner, MasterRunner) or _state["schedule"] is not None:
        return
    raw = json.loads(getattr(environment.parsed_options, "harness_load", "") or "{}")
    worker = str(getattr(environment.runner, "client_id", "local"))
    rng = random.Random(int(raw.get("seed", 1)) * 7919 + zlib.crc32(worker.encode()))
    schedule = ArrivalSchedule(environment, settings, rng)
    schedule.greenlet = gevent.spawn(schedule.generate)
    _state["schedule"] = schedule


@events.test_stop.add_listener
def _stop_schedule(**_: Any) -> None:
    schedule = _state["schedule"]
    if schedule is not None:
        schedule.greenlet.kill(block=False)
        schedule.drain()


def paced_wait(user: Any) -> float:
    """A user's wait_time under the open model: block until the next arrival, remember its intended start."""
    schedule = current()
    if schedule is None:   # a closed-loop run, or a user spawned before the schedule exists
        gevent.sleep(IDLE_CHECK_S)
        return 0.0
    user.intended_start = schedule.take()
    return 0.0


def flow_timing(user: Any, started: float, perf_start: float) -> tuple[float, float, float]:
    """(start_time, latency_ms, service_ms) of a flow row: from the intended start when the user took an
    arrival for this flow (then forgotten, so a second flow in the same task counts from its own start)."""
    service_ms = (time.perf_counter() - perf_start) * 1000.0
    intended = getattr(user, "intended_start", None)
    if intended is None:
        return started, service_ms, service_ms
    user.intended_start = None
    return intended, max(0.0, started - intended) * 1000.0 + service_ms, service_ms


def pace(user: Any) -> None:
    """Under the open model: the user waits for arrivals instead of its wait_time, from its first task on."""
    if open_settings(user.environment) is None:
        return
    user.wait_time = lambda: paced_wait(user)
    paced_wait(user)
