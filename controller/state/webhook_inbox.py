"""The webhook inbox: verified Bird events, handed from whichever daemon received them to the leader.

Every replica may receive a webhook (a load balancer picks one); only the leader acts. The receiver
verifies the signature, then records the event here; the leader drains the inbox. The unique
request id is also how a replayed delivery is recognised, across replicas and restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, bindparam, delete, func, or_, select, update
from sqlmodel import Field, SQLModel

from controller.state.columns import UTCDateTime
from controller.state.db import reading
from controller.state.sql import Executor, connection_of, insert_unless_taken
from controller.state.tables import ApiPurchaseRow, ResourceRow


class WebhookEventRow(SQLModel, table=True):
    __tablename__ = "webhook_events"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=200, unique=True)
    # SHA-256 of the signed timestamp and body: the same delivery re-sent under another request id or none.
    digest: str | None = Field(default=None, max_length=64, unique=True, index=True)
    event: str = Field(max_length=100)
    body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # the whole JSON document
    received_by: str = Field(default="", max_length=255)
    received_at: datetime = Field(sa_type=UTCDateTime)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    outcome: str | None = Field(default=None, max_length=500)


_EVENTS = WebhookEventRow.__table__  # type: ignore[attr-defined]
# One of each per webhook received, built once (the daemon takes hundreds a second).
_PENDING = (select(_EVENTS.c.id, _EVENTS.c.request_id, _EVENTS.c.event, _EVENTS.c.body, _EVENTS.c.received_by,
                   _EVENTS.c.received_at).where(_EVENTS.c.handled_at.is_(None))
            .order_by(_EVENTS.c.id).limit(bindparam("limit")))
_MARK = update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id")).values(
    handled_at=bindparam("at"), outcome=bindparam("outcome"))


@dataclass(frozen=True)
class WebhookEvent:
    id: int
    request_id: str
    event: str
    body: dict[str, Any]
    received_by: str
    received_at: datetime


@dataclass(frozen=True)
class Delivery:
    """A verified delivery to keep: Bird's request id, the digest of what its signature covers, the event."""

    request_id: str
    digest: str
    event: str
    body: dict[str, Any]


def record_webhooks(store: Any, deliveries: list[Delivery], *, received_by: str, at: datetime) -> list[bool]:
    """Keep verified deliveries for the leader, in one transaction (a receiver commits the deliveries that
    arrived together at once). For each: True when kept, False when its request id or its digest was
    kept before (a replay, or the same delivery twice in the batch)."""
    if not deliveries:
        return []
    rows = [{"request_id": d.request_id[:200], "digest": d.digest or None, "event": d.event[:100], "body": d.body,
             "received_by": received_by[:255], "received_at": at, "handled_at": None, "outcome": None}
            for d in deliveries]
    with store.connection_transaction() as connection:
        # Any unique column taken (request id, digest) makes the row a replay; RETURNING names the rows kept.
        statement = insert_unless_taken(connection.dialect.name, _EVENTS, ("request_id", "digest"))
        kept = {(r.request_id, r.digest) for r in connection.execute(statement, rows)}
    fresh, seen = [], set()
    for row in rows:
        key = (row["request_id"], row["digest"])
        fresh.append(key in kept and key not in seen)
        seen.add(key)
    return fresh


def record_webhook(store: Any, *, request_id: str, event: str, body: dict[str, Any], received_by: str,
                   at: datetime, digest: str = "") -> bool:
    """Keep one verified event for the leader. False when it was kept before (a replay)."""
    return record_webhooks(store, [Delivery(request_id, digest, event, body)], received_by=received_by, at=at)[0]


def pending_webhooks(store: Any, limit: int = 100) -> list[WebhookEvent]:
    """Events no leader has handled yet, oldest first."""
    with reading(store.engine) as connection:
        return [WebhookEvent(r.id, r.request_id, r.event, dict(r.body or {}), r.received_by, r.received_at)
                for r in connection.execute(_PENDING, {"limit": limit})]


def newest_webhook_id(store: Any) -> int:
    with reading(store.engine) as connection:
        return int(connection.execute(select(func.max(_EVENTS.c.id))).scalar() or 0)


def webhooks_since(store: Any, after_id: int, limit: int = 100) -> list[WebhookEvent]:
    """Events newer than `after_id`, handled or not, oldest first (what a replica that does not drain the
    inbox watches for the status events of its organizations)."""
    query = (select(_EVENTS.c.id, _EVENTS.c.request_id, _EVENTS.c.event, _EVENTS.c.body, _EVENTS.c.received_by,
                    _EVENTS.c.received_at).where(_EVENTS.c.id > after_id).order_by(_EVENTS.c.id).limit(limit))
    with reading(store.engine) as connection:
        return [WebhookEvent(r.id, r.request_id, r.event, dict(r.body or {}), r.received_by, r.received_at)
                for r in connection.execute(query)]


def mark_webhook_handled(store: Any, event_id: int, *, outcome: str, at: datetime) -> None:
    with store.transaction() as session:
        session.execute(update(WebhookEventRow).where(WebhookEventRow.id == event_id)  # type: ignore[arg-type]
                        .values(handled_at=at, outcome=outcome[:500]))


def mark_webhooks_handled(store: Any, outcomes: list[tuple[int, str]], *, at: datetime) -> None:
    """Mark a batch handled in one transaction (a drained batch is one commit, not one per event)."""
    if not outcomes:
        return
    with store.connection_transaction() as connection:
        mark_handled_in(connection, outcomes, at=at)


def mark_handled_in(tx: Executor, outcomes: list[tuple[int, str]], *, at: datetime) -> None:
    """mark_webhooks_handled inside the caller's transaction (a Core connection or an ORM session)."""
    if outcomes:
        connection_of(tx).execute(_MARK, [{"event_id": event_id, "at": at, "outcome": outcome[:500]}
                                   for event_id, outcome in outcomes])


def prune_webhooks(store: Any, *, handled_before: datetime) -> int:
    """Forget handled events older than the replay window needs; returns how many."""
    with store.transaction() as session:
        result = session.execute(delete(WebhookEventRow).where(
            WebhookEventRow.handled_at.is_not(None), WebhookEventRow.handled_at < handled_before))  # type: ignore[union-attr,operator]
        return int(result.rowcount or 0)


_RECEIVERS = (select(ResourceRow.address, ResourceRow.kind, ResourceRow.bird_id, ResourceRow.data)  # type: ignore[call-overload]
              .where(ResourceRow.kind.in_(("Channel", "Brand", "Campaign", "Vetting", "PhoneNumber",  # type: ignore[attr-defined]
                                          "WebhookSubscription"))))
_API_CHANNELS = (select(ApiPurchaseRow.channel_id, ApiPurchaseRow.connector_id, ApiPurchaseRow.number,  # type: ignore[call-overload]
                        ApiPurchaseRow.workspace)
                 .where(or_(ApiPurchaseRow.channel_id.is_not(None), ApiPurchaseRow.connector_id.is_not(None))))  # type: ignore[union-attr]


def webhook_places(store: Any) -> tuple[list[tuple[str, str, str | None, dict[str, Any]]],
                                        list[tuple[str | None, str | None, str | None, str | None]]]:
    """What the daemon's directory of Bird ids is built from (one snapshot, reading only): the records that
    hold Bird ids a webhook may name (address, kind, bird id, data), and the channels the platform API
    installed (channel id, connector id, number, workspace name)."""
    with reading(store.engine) as connection:
        records = [(a, k, b, dict(d or {})) for a, k, b, d in connection.execute(_RECEIVERS)]
        channels = [tuple(row) for row in connection.execute(_API_CHANNELS)]
    return records, channels  # type: ignore[return-value]
