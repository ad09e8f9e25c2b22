"""Mobile and web users who log in and use their session at once (the login flow).

Run by `harness run scenarios/mobile-latency.toml`, or by hand:
    locust -f scenarios/login_users.py --host http://127.0.0.1:8000
"""

from locust import task

from harness.load.users import AuthUser


class MobileUser(AuthUser):
    """Reaches the service through the edge proxy, which carries the mobile network profile."""

    via_edge = True

    @task
    def login_and_use_session(self) -> None:
        self.login_flow()


class WebUser(AuthUser):
    """Reaches the service directly."""

    @task
    def login_and_use_session(self) -> None:
        self.login_flow()
