"""Drift: what changed on Bird outside senderctl — pure, (desired, observed world) -> findings.

Drift compares Bird with the *last applied record* (the state's spec and Bird id), not with the
specs: a spec edited but not applied yet is a pending change, not drift. Only resources senderctl
has applied (a record with a Bird id) can drift; kinds kept in senderctl's own records
(Organization, Assignment) cannot. `senderctl.io/ignore-drift: "field,field"` on a document
silences known differences of those fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from controller.reconcile.plan import FieldChange
from controller.resources.base import Desired, RecordView, World
from controller.resources.campaign import as_spec_fields
from controller.resources.common import field_diff, find
from controller.resources.webhook import comparable

What = Literal["changed", "deleted"]


@dataclass(frozen=True)
class Drift:
    address: str
    what: What
    description: str
    fields: tuple[FieldChange, ...] = ()
    ignored: tuple[str, ...] = ()  # fields that differ but the document ignores

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "what": self.what,
            "description": self.description,
            "fields": [{"path": f.path, "applied": f.before, "bird": f.after} for f in self.fields],
            "ignored": list(self.ignored),
        }


@dataclass(frozen=True)
class Unchecked:
    """A resource whose Bird side could not be read: neither drifted nor known to be in sync."""

    address: str
    reason: str


@dataclass(frozen=True)
class DriftReport:
    drift: tuple[Drift, ...] = ()
    unchecked: tuple[Unchecked, ...] = ()
    checked: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "drift": [d.to_json() for d in self.drift],
            "unchecked": [{"address": u.address, "reason": u.reason} for u in self.unchecked],
            "summary": {"checked": self.checked, "changed": sum(d.what == "changed" for d in self.drift),
                        "deleted": sum(d.what == "deleted" for d in self.drift)},
        }


# One check per kind that lives on Bird: (record, world) -> found object or a reason it is unread.
Found = tuple[dict[str, Any] | None, str | None]


def _unread(world: World, workspace_id: str | None) -> str | None:
    if not workspace_id:
        return "the record does not say which workspace holds it"
    return world.unreachable.get(f"workspace {workspace_id}")


def _in_workspace(collection: str) -> Callable[[RecordView, World], Found]:
    def look(record: RecordView, world: World) -> Found:
        ws = record.data.get("workspaceId")
        problem = _unread(world, ws)
        items = getattr(world, collection).get(ws)
        if problem or items is None:
            return None, problem or f"workspace {ws} was not read"
        return find(items, id=record.bird_id), None

    return look


def _under_brand(collection: str) -> Callable[[RecordView, World], Found]:
    def look(record: RecordView, world: World) -> Found:
        brand_id = record.data.get("brandId")
        for (ws, brand), items in getattr(world, collection).items():
            if brand == brand_id and not _unread(world, ws):
                return find(items, id=record.bird_id), None
        return None, f"brand {brand_id} was not read on Bird"

    return look


def _channel(record: RecordView, world: World) -> Found:
    """A connector as Bird lists it: the channel it installed (``connectorId``)."""
    ws = record.data.get("workspaceId")
    problem = _unread(world, ws)
    if problem or ws not in world.channels:
        return None, problem or f"workspace {ws} was not read"
    return find(world.channels[ws], connectorId=record.bird_id), None


def _subscription(record: RecordView, world: World) -> Found:
    scope = (record.data.get("organizationId", ""), record.data.get("workspaceId", ""))
    problem = _unread(world, scope[1])
    if problem or scope not in world.subscriptions:
        return None, problem or f"the subscriptions of workspace {scope[1]} were not read"
    return find(world.subscriptions[scope], id=record.bird_id), None


FINDERS: dict[str, Callable[[RecordView, World], Found]] = {
    "Brand": _in_workspace("brands"),
    "PhoneNumber": _in_workspace("numbers"),
    "NumberPool": _in_workspace("numbers"),
    "Channel": _channel,
    "Campaign": _under_brand("campaigns"),
    "Vetting": _under_brand("vettings"),
    "WebhookSubscription": _subscription,
}

DELETED = {
    "Brand": "brand deleted on Bird outside senderctl",
    "Campaign": "campaign deleted on Bird outside senderctl",
    "Vetting": "vetting no longer listed on Bird",
    "PhoneNumber": "number no longer owned on Bird (cancelled outside senderctl)",
    "NumberPool": "number no longer owned on Bird (cancelled outside senderctl)",
    "Channel": "SMS channel connector removed on Bird outside senderctl",
    "WebhookSubscription": "subscription deleted on Bird outside senderctl",
}


def changed_fields(record: RecordView, found: dict[str, Any]) -> tuple[FieldChange, ...]:
    """Fields whose value on Bird differs from the last applied one (before = applied, after = Bird)."""
    if record.kind in ("Brand", "Campaign"):
        applied = {k: v for k, v in record.spec.items() if k != "resellerId"}
        bird = as_spec_fields(found) if record.kind == "Campaign" else found
        return tuple(FieldChange(f.path, f.after, f.before) for f in field_diff(applied, bird))
    if record.kind == "WebhookSubscription":
        have = comparable(found)
        return tuple(FieldChange(f.path, f.after, f.before) for f in field_diff(record.spec, have)
                     if f.path in record.spec)
    if record.kind == "Channel":
        linked = found.get("useCaseId")
        applied = record.data.get("campaignId")
        if applied and linked != applied:
            return (FieldChange("campaignId", applied, linked),)
    return ()


def find_drift(desired: Iterable[Desired], world: World,
               ignored: Callable[[Desired], frozenset[str]] = lambda d: frozenset()) -> DriftReport:
    drift: list[Drift] = []
    unchecked: list[Unchecked] = []
    checked = 0
    for d in sorted(desired, key=lambda d: d.address):
        record = world.records.get(d.address)
        finder = FINDERS.get(d.kind)
        if record is None or not record.bird_id or finder is None:
            continue  # never applied, or kept in senderctl's own records only
        found, problem = finder(record, world)
        if problem:
            unchecked.append(Unchecked(d.address, problem))
            continue
        checked += 1
        silenced = ignored(d)
        if found is None:
            drift.append(Drift(d.address, "deleted", DELETED[d.kind]))
            continue
        fields = changed_fields(record, found)
        kept = tuple(f for f in fields if f.path not in silenced)
        if kept:
            drift.append(Drift(d.address, "changed", "changed on Bird outside senderctl", kept,
                               tuple(sorted(f.path for f in fields if f not in kept))))
    return DriftReport(tuple(drift), tuple(unchecked), checked)
