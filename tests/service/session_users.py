"""Locust users for tests/service/session_app.py: log in, then use the session at once (the login flow).

A hand-written locustfile on the harness's Locust machinery (AuthUser), as the catalogue's scenarios are.
"""

from locust import task

from harness.load.users import AuthUser


class MobileUser(AuthUser):
    """Through the edge proxy, which carries the mobile network profile."""

    via_edge = True

    @task
    def login_and_use_session(self) -> None:
        self.login_flow()


class WebUser(AuthUser):
    @task
    def login_and_use_session(self) -> None:
        self.login_flow()
