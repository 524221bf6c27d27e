"""The webhook inbox: verified Bird events, handed from whichever daemon received them to the leader.

Every replica may receive a webhook (a load balancer picks one); only the leader acts. The receiver
verifies the signature, then records the event here; the leader drains the inbox. The unique
request id is also how a replayed delivery is recognised, across replicas and restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from controller.state.columns import UTCDateTime
from controller.state.sql import Executor, connection_of


class WebhookEventRow(SQLModel, table=True):
    __tablename__ = "webhook_events"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=200, unique=True)
    event: str = Field(max_length=100)
    body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # the whole JSON document
    received_by: str = Field(default="", max_length=255)
    received_at: datetime = Field(sa_type=UTCDateTime)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    outcome: str | None = Field(default=None, max_length=500)


_EVENTS = WebhookEventRow.__table__  # type: ignore[attr-defined]
# One of each per webhook received, built once (the daemon takes hundreds a second).
_RECORD = insert(_EVENTS)
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


def record_webhook(store: Any, *, request_id: str, event: str, body: dict[str, Any], received_by: str,
                   at: datetime) -> bool:
    """Keep a verified event for the leader. False when this request id was already recorded (a replay)."""
    values = {"request_id": request_id[:200], "event": event[:100], "body": body, "received_by": received_by[:255],
              "received_at": at, "handled_at": None, "outcome": None}
    try:
        with store.connection_transaction() as connection:
            connection.execute(_RECORD, values)
    except IntegrityError:
        return False
    return True


def pending_webhooks(store: Any, limit: int = 100) -> list[WebhookEvent]:
    """Events no leader has handled yet, oldest first."""
    with store.engine.connect() as connection:
        return [WebhookEvent(r.id, r.request_id, r.event, dict(r.body or {}), r.received_by, r.received_at)
                for r in connection.execute(_PENDING, {"limit": limit})]


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
