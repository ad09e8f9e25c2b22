"""Mobile and web users who log in and use their session at once (the login flow).

Run by `harness run scenarios/mobile-latency.toml`, or by hand:
    locust -f scenarios/login_users.py --host http://127.0.0.1:8000

The classes live in the package (harness/load/login_users.py), so the pytest plugin has them after a plain
`pip install`; Locust runs every User class it finds in this file, imported ones included.
"""

from harness.load.login_users import MobileUser, WebUser

__all__ = ["MobileUser", "WebUser"]
