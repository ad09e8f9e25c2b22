"""The locustfile `harness run` uses for a scenario with `[[load.flows]]` and no `load.locustfile`.

It ships inside the package so that declarative scenarios work after `pip install`; the flows
themselves reach every Locust process (workers too) in the harness's options.
"""

from harness.load.flows import FlowUser

__all__ = ["FlowUser"]
