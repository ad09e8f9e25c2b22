"""Package namespaces whose public names load on first use (PEP 562), so a command that refuses its input in
a few milliseconds does not first import pandas, SciPy or FastAPI."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package`: `where` maps each public name to the submodule defining it.
    The first access imports that submodule and keeps the value on the package, so later ones cost nothing."""

    def __getattr__(name: str) -> Any:
        submodule = where.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
