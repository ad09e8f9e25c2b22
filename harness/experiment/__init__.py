"""The experiment life cycle: run, sweep, ablation, replicates, up/down, the watchdog and the fault timeline.

Empty on purpose: `python -m harness.experiment.watchdog` and the pytest plugin import single modules, and
some of them (timeline.py, through httpx) must not load before Locust in a process that uses both.
"""
