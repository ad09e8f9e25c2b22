"""API clients that log in once, then call a protected resource with their bearer token again and again."""

from locust import task

from harness.load.users import AuthUser, Session


class ApiUser(AuthUser):
    session: Session | None = None

    def on_start(self) -> None:
        self.session, _, _ = self.login()

    @task
    def call_protected(self) -> None:
        if self.session is None:
            self.session, _, _ = self.login()
            return
        self.protected_flow(self.session)
