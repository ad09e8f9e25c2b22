"""Locust integration: shared user code (users.py), the per-request recorder, and the runner.

users.py and recorder.py import locust and are meant for Locust processes (locustfiles import
them); runner.py only starts Locust processes and never imports locust itself.
"""
