"""Inbound SMS: a verified Bird webhook becomes an inbox row for the number's user, or an entry in the
unrouted log the admin can list — never dropped, never delivered to the wrong user."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
             at: datetime) -> RouteResult:
    """route_inbound inside the caller's transaction (the daemon routes a drained batch in one)."""
    at = rules.aware(at)
    if not message_id:
        raise ValueError("an inbound message needs its message id (it makes delivery idempotent)")
    seen = previous_result(tx, message_id)
    if seen is not None:
        return seen
    number = resolve_receiver(tx, to, channel_id)
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
        reason = (f"{number} is not assigned to a user in organization {holder}" if holder is not None
                  else f"{number or '(unknown receiver)'} is not a number any organization holds")
        written = repo.add_unrouted_message(tx, {
            "message_id": message_id, "organization": holder, "number": number,
            "sender": sender, "text": text, "reason": reason, "received_at": at})
        result = RouteResult("unrouted", message_id, number, holder, None, reason)
    if not written:  # a concurrent delivery of the same message won
        return previous_result(tx, message_id) or result
    return result


def resolve_receiver(tx: Any, to: str | None, channel_id: str | None) -> str:
    """The receiving number: from the message, else from the channel the state knows by id."""
    if to:
        return rules.normalise_or_raw(to)
    for record in repo.channel_records(tx):
        data = record.data or {}
        if channel_id and data.get("channelId") == channel_id and data.get("number"):
            return str(data["number"])
    return f"channel:{channel_id}" if channel_id else ""


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
