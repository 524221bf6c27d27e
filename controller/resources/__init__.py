"""One module per resource kind; KINDS maps a kind name to its module.

Adding a kind means adding one module here: expand (specs -> desired), compare (pure), removal
(pure) and change (apply, I/O).
"""

from __future__ import annotations

from types import ModuleType

from controller.resources import (
    assignment,
    brand,
    campaign,
    channel,
    organization,
    phone_number,
    vetting,
    webhook,
    workspace,
)

MODULES: tuple[ModuleType, ...] = (organization, workspace, brand, vetting, campaign, phone_number, channel,
                                   assignment, webhook)

KINDS: dict[str, ModuleType] = {}
for module in MODULES:
    for kind in getattr(module, "KINDS", None) or (module.KIND,):
        KINDS[kind] = module
