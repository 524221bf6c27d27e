"""Inbound SMS: a verified Bird webhook becomes an inbox row for the number's user, or an entry in the
unrouted log the admin can list — never dropped, never delivered to the wrong user."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.state import StateStore
from controller.state import tenant_repo as repo
from controller.tenant import rules
from controller.tenant.models import InvalidWebhook, RouteResult


def route_inbound(store: StateStore, *, to: str, from_: str, text: str, message_id: str, at: datetime) -> RouteResult:
    """Deliver one inbound message. Idempotent per message_id: a redelivery returns outcome "duplicate"."""
    return _route(store, to=to, channel_id=None, from_=from_, text=text, message_id=message_id, at=at)


def handle_inbound_webhook(store: StateStore, *, headers: Mapping[str, str], body: bytes, url: str,
                           signing_keys: Sequence[str], now: datetime) -> RouteResult:
    """Verify Bird's signature (any of the subscription signing keys), then route the message.
    Raises InvalidWebhook (answer 401) or MalformedWebhook (answer 400); other events are "ignored"."""
    verify_any(signing_keys, headers, url, body, now)
    event, message = rules.parse_inbound(body)
    if message is None:
        return RouteResult("ignored", message_id="", to="", reason=f"event {event} is not an inbound message")
    return _route(store, to=message.to, channel_id=message.channel_id, from_=message.from_, text=message.text,
                  message_id=message.message_id, at=now)


def verify_any(signing_keys: Sequence[str], headers: Mapping[str, str], url: str, body: bytes, now: datetime) -> None:
    from controller.bird.signing import InvalidSignature, verify

    if not signing_keys:
        raise InvalidWebhook("no signing key is configured for inbound webhooks, so none can be trusted")
    reason = ""
    for key in signing_keys:
        try:
            verify(key, headers, url, body, now=rules.aware(now, "now").timestamp())
            return
        except InvalidSignature as exc:
            reason = str(exc)
    raise InvalidWebhook(f"webhook rejected: {reason}")


def _route(store: StateStore, *, to: str | None, channel_id: str | None, from_: str, text: str, message_id: str,
           at: datetime) -> RouteResult:
    with store.transaction() as tx:
        return route_in(tx, to=to, channel_id=channel_id, from_=from_, text=text, message_id=message_id, at=at)


def route_in(tx: Any, *, to: str | None, channel_id: str | None, from_: str, text: str, message_id: str,
             at: datetime, look_up_channel: bool = True) -> RouteResult:
    """route_inbound inside the caller's transaction (the daemon routes a drained batch in one).
    look_up_channel=False: the caller already looked the channel up (the daemon's directory) and found
    none; channel_id then only names it in the unrouted log."""
    at = rules.aware(at)
    if not message_id:
        raise ValueError("an inbound message needs its message id (it makes delivery idempotent)")
    seen = previous_result(tx, message_id)
    if seen is not None:
        return seen
    number = resolve_receiver(tx, to, channel_id if look_up_channel else None) if to or look_up_channel else ""
    sender = rules.normalise_or_raw(from_)
    holder = repo.holder_of(tx, number) if number.startswith("+") else None
    assignment = repo.assignee_of(tx, number) if holder is not None else None
    if holder is not None and assignment is not None and assignment.organization == holder:
        written = repo.add_inbox_message(tx, {
            "message_id": message_id, "organization": holder, "number": number,
            "user": assignment.user, "sender": sender, "text": text, "received_at": at})
        result = RouteResult("routed", message_id, number, holder, assignment.user,
                             f"delivered to {assignment.user}")
    else:
        reason = unrouted_reason(number, holder, channel_id)
        written = repo.add_unrouted_message(tx, {
            "message_id": message_id, "organization": holder, "number": number,
            "sender": sender, "text": text, "reason": reason, "received_at": at})
        result = RouteResult("unrouted", message_id, number, holder, None, reason)
    if not written:  # a concurrent delivery of the same message won
        return previous_result(tx, message_id) or result
    return result


def unrouted_reason(number: str, holder: str | None, channel_id: str | None) -> str:
    return (f"{number} is not assigned to a user in organization {holder}" if holder is not None
            else f"{number} is not a number any organization holds" if number
            else f"channel {channel_id} is not the channel of a number any organization holds" if channel_id
            else "the message names no receiver senderctl knows")


@dataclass(frozen=True)
class Inbound:
    """One message of a batch to route: its receiving number ("" when unknown; channel_id then names the
    channel no number was found for)."""

    message_id: str
    to: str
    from_: str
    text: str
    at: datetime
    channel_id: str | None = None


def route_many(tx: Any, messages: Sequence[Inbound]) -> list[RouteResult]:
    """route_in for a batch, in the caller's transaction, with one statement per question rather than
    per message: which ids were seen, who holds and who is assigned each number, the rows written.
    Idempotent per message id as route_in is (a message twice in the batch is routed once)."""
    inbox_seen, unrouted_seen = repo.seen_messages(tx, [m.message_id for m in messages])
    numbers = {m.message_id: rules.normalise_or_raw(m.to) if m.to else "" for m in messages}
    holders, assignees = repo.holders_and_assignees(tx, sorted({n for n in numbers.values() if n.startswith("+")}))
    results: list[RouteResult] = []
    fresh: dict[str, RouteResult] = {}
    inbox_rows: list[dict[str, Any]] = []
    unrouted_rows: list[dict[str, Any]] = []
    for m in messages:
        if m.message_id in inbox_seen:
            seen = inbox_seen[m.message_id]
            results.append(RouteResult("duplicate", m.message_id, seen.number, seen.organization, seen.user,
                                       f"already delivered to {seen.user}"))
            continue
        if m.message_id in unrouted_seen:
            seen = unrouted_seen[m.message_id]
            results.append(RouteResult("duplicate", m.message_id, seen.number, seen.organization, None,
                                       f"already in the unrouted log: {seen.reason}"))
            continue
        if m.message_id in fresh:
            first = fresh[m.message_id]
            results.append(RouteResult("duplicate", m.message_id, first.to, first.organization, first.user,
                                       f"already {first.outcome}: {first.reason}"))
            continue
        number, at, sender = numbers[m.message_id], rules.aware(m.at), rules.normalise_or_raw(m.from_)
        holder = holders.get(number)
        assignment = assignees.get(number) if holder is not None else None
        if holder is not None and assignment is not None and assignment.organization == holder:
            inbox_rows.append({"message_id": m.message_id, "organization": holder, "number": number,
                               "user": assignment.user, "sender": sender, "text": m.text, "received_at": at})
            result = RouteResult("routed", m.message_id, number, holder, assignment.user,
                                 f"delivered to {assignment.user}")
        else:
            reason = unrouted_reason(number, holder, m.channel_id)
            unrouted_rows.append({"message_id": m.message_id, "organization": holder, "number": number,
                                  "sender": sender, "text": m.text, "reason": reason, "received_at": at})
            result = RouteResult("unrouted", m.message_id, number, holder, None, reason)
        fresh[m.message_id] = result
        results.append(result)
    written = repo.add_messages(tx, inbox_rows, unrouted_rows)
    # A message written by a concurrent delivery between the lookup and the insert: this one is the duplicate.
    return [r if r.outcome == "duplicate" or r.message_id in written or fresh.get(r.message_id) is not r
            else RouteResult("duplicate", r.message_id, r.to, r.organization, r.user, "routed by another delivery")
            for r in results]


def resolve_receiver(tx: Any, to: str | None, channel_id: str | None) -> str:
    """The receiving number: from the message, else from the channel the state knows by id."""
    if to:
        return rules.normalise_or_raw(to)
    if not channel_id:
        return ""
    for record in repo.channel_records(tx):
        data = record.data or {}
        if channel_id and data.get("channelId") == channel_id and data.get("number"):
            return str(data["number"])
    return ""  # unknown: the unrouted log names the channel in its reason


def previous_result(tx: Any, message_id: str) -> RouteResult | None:
    inbox = repo.inbox_message(tx, message_id)
    if inbox is not None:
        return RouteResult("duplicate", message_id, inbox.number, inbox.organization, inbox.user,
                           f"already delivered to {inbox.user}")
    unrouted = repo.unrouted_message(tx, message_id)
    if unrouted is not None:
        return RouteResult("duplicate", message_id, unrouted.number, unrouted.organization, None,
                           f"already in the unrouted log: {unrouted.reason}")
    return None


def inbox(store: StateStore, org: str, user: str | None = None) -> list[dict[str, Any]]:
    with store.transaction() as tx:
        return [{"messageId": m.message_id, "number": m.number, "user": m.user, "from": m.sender, "text": m.text,
                 "receivedAt": rules.stamp(m.received_at)} for m in repo.inbox(tx, org, user)]


def unrouted(store: StateStore, org: str | None = None) -> list[dict[str, Any]]:
    with store.transaction() as tx:
        return [{"messageId": m.message_id, "organization": m.organization, "number": m.number, "from": m.sender,
                 "text": m.text, "reason": m.reason, "receivedAt": rules.stamp(m.received_at)}
                for m in repo.unrouted(tx, org)]
