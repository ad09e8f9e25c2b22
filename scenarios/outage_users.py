"""Users during a Redis outage: new logins, and users who keep the session they already have.

With the client flag `honor_retry_after`, a login that gets 503 + Retry-After waits and tries again
(within `retry_budget_s` of the scenario's load options); a generic 500 is not retryable.
"""

from locust import task

from harness.load.users import AuthUser, Session


class LoginUser(AuthUser):
    @task
    def log_in(self) -> None:
        if self.client_flag("honor_retry_after"):
            self.login_with_retry_after(float(self.config.options.get("retry_budget_s", 15)))
        else:
            self.login_flow()


class SessionKeeper(AuthUser):
    """Logged in before the outage; checks after every pause that the session is still there."""

    session: Session | None = None

    def on_start(self) -> None:
        self.session, _, _ = self.login()

    @task
    def use_session(self) -> None:
        if self.session is None:
            self.session, _, _ = self.login()
            return
        self.session_flow(self.session)
