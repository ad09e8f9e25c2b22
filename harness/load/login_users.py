"""Mobile and web users who log in and use their session at once (the login flow), shipped in the package.

The default Locust file of `harness.pytest_plugin.run_login_load()` and of `scenarios/login_users.py`
(which re-exports these classes), so it works after a plain `pip install`, with no checkout beside it.
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
