"""The scenario file: its models (model.py), declarative flows (flows.py), load models (load.py), the service
under test (service.py) and the starter file (template.py).

The public names are re-exported here so callers write `from harness.scenario import load_scenario`.
"""

from harness.scenario.flows import MAX_SECONDS
from harness.scenario.model import (
    DECLARATIVE_LOCUSTFILE,
    TOXICS,
    Fault,
    NetworkProfile,
    Scenario,
    Variant,
    flag_text,
    load_scenario,
    locustfile_path,
    one_line,
    parse_duration,
    parse_scenario,
)

__all__ = [
    "DECLARATIVE_LOCUSTFILE",
    "MAX_SECONDS",
    "TOXICS",
    "Fault",
    "NetworkProfile",
    "Scenario",
    "Variant",
    "flag_text",
    "load_scenario",
    "locustfile_path",
    "one_line",
    "parse_duration",
    "parse_scenario",
]
