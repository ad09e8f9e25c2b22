"""Shared test set-up; the fixtures themselves live in harness.pytest_plugin (loaded via pytest11)."""
