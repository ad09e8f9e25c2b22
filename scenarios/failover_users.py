"""Users across a Redis failover: new logins, and users who keep using the session they were given.

With the client flag `honor_retry_after`, a login that gets 503 + Retry-After waits and tries again
(within `retry_budget_s` of the scenario's load options). A `SessionUser` uses its session up to
`session_uses` times (load option) before it logs in anew; a session that answers session_not_found was
lost, and the user logs in again at once. Every login and session flow names its session (a digest) in
the records, so the analysis counts the sessions a failover lost.
"""

from locust import task

from harness.load.users import AuthUser, Session


class LoginUser(AuthUser):
    @task
    def log_in(self) -> None:
        log_in(self)


class SessionUser(AuthUser):
    session: Session | None = None
    uses: int = 0

    @task
    def use_session(self) -> None:
        if self.session is None:
            self.session, self.uses = log_in(self), 0
            return
        failure = self.session_flow_failure(self.session)
        if failure is None:
            self.uses += 1
        # A lost session logs the user out; any other failure (Redis unreachable) leaves it to try again.
        if (failure is not None and failure[0] == "session_not_found") or \
                self.uses >= int(self.config.options.get("session_uses", 8)):
            self.session = None


def log_in(user: AuthUser) -> Session | None:
    if user.client_flag("honor_retry_after"):
        return user.login_with_retry_after(float(user.config.options.get("retry_budget_s", 15)))
    return user.login_flow()
