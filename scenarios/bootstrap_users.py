"""Mobile apps starting up: each start runs the app's bootstrap, which refreshes the stored token.

The buggy client starts two bootstraps at once (both refresh the same token); the client flag
`single_flight_bootstrap` makes them share one refresh.
"""

from locust import task

from harness.load.users import AuthUser, BootstrapMixin


class AppStartUser(BootstrapMixin, AuthUser):
    via_edge = True

    @task
    def app_start(self) -> None:
        self.app_start_flow()
