"""The specs' dependency graph: which document waits on which (pure; `senderctl graph` draws it).

An edge (A, B) says that A refers to B and so waits for it: a Campaign for its Brand, a number for its
Workspace and its Campaign, a webhook subscription filtering on a number's channel for that number.
"""

from __future__ import annotations

from dataclasses import dataclass

from specs.models import WebhookSubscriptionDoc
from specs.rules import REFERENCES
from specs.specset import SpecSet


@dataclass(frozen=True)
class Edge:
    source: str  # the document that waits
    target: str  # the document it waits on
    via: str  # the spec field that makes the reference

    def to_json(self) -> dict[str, str]:
        return {"from": self.source, "to": self.target, "via": self.via}


def dependency_edges(specs: SpecSet) -> list[Edge]:
    """Every reference between documents that exist, sorted (a dangling one is `validate`'s error)."""
    edges: set[Edge] = set()
    for kind, field_path, target in REFERENCES:
        for doc in specs.of_kind(kind):
            name = getattr(doc.spec, field_path[0], None)
            if name is not None and specs.get(target, name) is not None:
                edges.add(Edge(doc.address, f"{target}/{name}", ".".join(field_path)))
    for doc in specs.of_kind("WebhookSubscription"):
        assert isinstance(doc, WebhookSubscriptionDoc)
        for flt in doc.spec.eventFilters:
            if flt.phoneNumber is not None and specs.get("PhoneNumber", flt.phoneNumber) is not None:
                edges.add(Edge(doc.address, f"PhoneNumber/{flt.phoneNumber}", "eventFilters.phoneNumber"))
    return sorted(edges, key=lambda e: (e.source, e.target, e.via))
