"""Which resources a Bird event concerns (pure).

A webhook names Bird ids (a brand id, a campaign id, a channel id); the state's records map those
ids to resource addresses. A reconcile of an address also covers everything that depends on it
(a campaign waits on its brand, a channel on its campaign, a subscription on its channel) and what is
derived from it (an Organization's 10DLC flag from its brands and campaigns).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from controller.reconcile import scope
from controller.resources.base import Desired, RecordView
from controller.resources.lifecycle import parse_time
from controller.state.traffic import Outbound

# Events that change what the reconciler sees, and the kinds they are about.
EVENT_KINDS: dict[str, tuple[str, ...]] = {
    "10dlc.brand": ("Brand",),
    "10dlc.vetting": ("Vetting", "Brand"),
    "10dlc.campaign": ("Campaign",),
    "channel.updated": ("Channel",),
    "channel.created": ("Channel",),
}
INBOUND_EVENTS = frozenset({"sms.inbound"})
# Counted per channel (controller/state/traffic.py): a campaign none of whose channels send is a ghost.
OUTBOUND_EVENTS = frozenset({"sms.outbound"})
# Payload keys that carry a Bird id worth looking up.
ID_KEYS = ("id", "brandId", "campaignId", "channelId", "connectorId", "vettingId", "numberId", "phoneNumberId")


def id_index(records: Mapping[str, RecordView]) -> dict[str, set[str]]:
    """Bird id -> the addresses that know it (as their own id, or in their data: a channel's id)."""
    index: dict[str, set[str]] = {}
    for address, record in records.items():
        ids = {record.bird_id} | {str(v) for k, v in record.data.items() if k in ID_KEYS and v}
        for bird_id in ids:
            if bird_id:
                index.setdefault(str(bird_id), set()).add(address)
    return index


def payload_ids(payload: Mapping[str, Any]) -> set[str]:
    """The ids an event's payload names, at its top level and one level down (e.g. payload.channel.id)."""
    found: set[str] = set()
    for key, value in payload.items():
        if key in ID_KEYS and isinstance(value, str | int) and value:
            found.add(str(value))
        elif isinstance(value, Mapping):
            found |= {str(v) for k, v in value.items() if k in ID_KEYS and isinstance(v, str | int) and v}
    return found


def dependents(desired: Iterable[Desired], seeds: Iterable[str]) -> set[str]:
    """The seeds and, transitively, every desired resource whose plan reads what they change (their
    dependents, and what is derived from them: see controller.reconcile.scope.affected)."""
    return scope.affected(desired, seeds)


def spec_edit(old: Iterable[Desired], new: Iterable[Desired]) -> tuple[set[str], set[str]]:
    """What a spec edit changed: (addresses added or changed, addresses removed)."""
    before = {d.address: d for d in old}
    after = {d.address: d for d in new}
    changed = {a for a, d in after.items() if before.get(a) != d}
    return changed, set(before) - set(after)


def affected(event: str, payload: Mapping[str, Any], index: Mapping[str, set[str]],
             desired: Iterable[Desired]) -> set[str]:
    """The addresses to reconcile for one event (empty: the event concerns no resource).

    An id we do not know yet (the record is being written while the event arrives) falls back to
    every resource of the event's kinds: a few extra reads, never a missed approval."""
    kinds = EVENT_KINDS.get(event)
    if not kinds:
        return set()
    desired = list(desired)
    seeds = {a for bird_id in payload_ids(payload) for a in index.get(bird_id, ()) if a.split("/", 1)[0] in kinds}
    if not seeds:
        seeds = {d.address for d in desired if d.kind in kinds}
    return dependents(desired, seeds)


def event_of(body: Any) -> tuple[str, dict[str, Any]] | None:
    """(event name, payload) of a Bird webhook body; None when the body is not one."""
    if not isinstance(body, Mapping):
        return None
    event = body.get("event") or body.get("type")
    payload = body.get("payload", {})
    if not isinstance(event, str) or not event or not isinstance(payload, Mapping):
        return None
    return event, dict(payload)


def outbound_of(document: Mapping[str, Any], received_at: datetime) -> Outbound:
    """The channel and time of an `sms.outbound` webhook: {"service": "channels", "event": "sms.outbound",
    "payload": <the message>} with the message's `channelId` and `createdAt` (Bird's clock; docs.bird.com/
    api/channels-api/message-status-and-interactions). Without a time, when it arrived. Raises ValueError
    when it names no channel or is not an outgoing message."""
    payload = document.get("payload")
    if not isinstance(payload, Mapping):
        raise ValueError('the sms.outbound webhook has no "payload" object')
    channel_id = payload.get("channelId")
    if not isinstance(channel_id, str) or not channel_id:
        raise ValueError('the outbound message has no "channelId"')
    if payload.get("direction") not in (None, "outgoing"):
        raise ValueError(f"the message's direction is {payload.get('direction')!r}, not outgoing")
    return Outbound(channel_id, parse_time(payload.get("createdAt")) or received_at)
