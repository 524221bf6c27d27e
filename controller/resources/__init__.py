"""One module per resource kind; KINDS maps a kind name to its module.

Adding a kind means adding one module here: expand (specs -> desired), compare (pure), removal
(pure) and change (apply, I/O).

MODULES and KINDS load the kinds on first use (PEP 562), so a report that needs only the pure helpers
beside them (costs, fees, ghost, throughput) does not import every kind and the spec language.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

KIND_MODULES = ("organization", "workspace", "brand", "vetting", "campaign", "phone_number", "channel",
                "assignment", "webhook")


def _load() -> tuple[tuple[ModuleType, ...], dict[str, ModuleType]]:
    modules = tuple(importlib.import_module(f"{__name__}.{name}") for name in KIND_MODULES)
    kinds: dict[str, ModuleType] = {}
    for module in modules:
        for kind in getattr(module, "KINDS", None) or (module.KIND,):
            kinds[kind] = module
    return modules, kinds


def __getattr__(name: str) -> Any:
    if name not in ("MODULES", "KINDS"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    modules, kinds = _load()
    globals().update(MODULES=modules, KINDS=kinds)  # later lookups skip this function
    return modules if name == "MODULES" else kinds
