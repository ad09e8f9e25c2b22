"""A hand-written locustfile whose flows become flow rows with an error_kind (see docs/load-flows.md).

Run by hand:  locust -f scenarios/handwritten_flows.py --host http://127.0.0.1:8000
or from a scenario with `locustfile = "handwritten_flows.py"` and `[load.classes.AppUser]`.
"""

import itertools

from locust import FastHttpUser, between, task

from harness.load.flows import flow

_numbers = itertools.count()


class AppUser(FastHttpUser):
    """Logs in, then at once asks for its profile with the new session, as the mobile app does."""

    wait_time = between(0.0, 0.1)

    def on_start(self) -> None:
        n = next(_numbers) % 1000
        self.credentials = {"username": f"user{n}", "password": f"pass-user{n}"}

    @task
    def login(self) -> None:
        with flow(self, "login") as steps:
            response = steps.request("POST", "/login", json=self.credentials)
            session = steps.require(response.json().get("session_id"), "session_id in the login response")
            steps.request("GET", "/me", headers={"X-Session-ID": session})
