"""Locust users for tests/service/session_app.py: log in, then use the session at once (the login flow).

The test service speaks the reference service's login API, so its locustfile is the packaged one's users
(harness/load/login_users.py); Locust runs every User class it finds here, imported ones included.
"""

from harness.load.login_users import MobileUser, WebUser

__all__ = ["MobileUser", "WebUser"]
