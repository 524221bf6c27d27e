"""The plan's `resources`: for each address a plan speaks of, its spec document, the document's labels
and what it waits on — what the plan's picture draws and what policies read (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controller.reconcile.plan import Plan, Resource
from controller.reconcile.scope import document_address
from controller.resources.base import Desired


def plan_resources(plan: Plan, desired: Sequence[Desired],
                   labels: Mapping[str, Mapping[str, str]]) -> dict[str, Resource]:
    """`labels`: document address -> its metadata.labels. Addresses the specs no longer declare (a
    removal) have no document and are left out."""
    by_address = {d.address: d for d in desired}
    named = ({c.address for c in plan.changes} | {w.address for w in plan.waiting}
             | {r.address for r in plan.refusals} | {f.address for f in plan.failed})
    out: dict[str, Resource] = {}
    for address in sorted(named):
        d = by_address.get(address)
        if d is None:
            continue
        document = document_address(d)
        out[address] = Resource(document, dict(labels.get(document) or {}), tuple(d.depends_on))
    return out
