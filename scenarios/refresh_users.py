"""Clients that refresh their tokens at peak: single-tab users alone, multi-tab users with two tabs at once."""

from locust import task

from harness.load.users import AuthUser, Session


class SingleTabUser(AuthUser):
    """Refreshes its token alone."""

    tabs = 1
    session: Session | None = None

    def on_start(self) -> None:
        self.session, _, _ = self.login()

    @task
    def refresh_tokens(self) -> None:
        if self.session is None:
            self.session, _, _ = self.login()
            return
        self.session = self.refresh_flow(self.session, concurrent=self.tabs) or None


class MultiTabUser(SingleTabUser):
    """Two tabs whose timers fire together: both refresh the same refresh token at once."""

    tabs = 2
