"""Outbound traffic per SMS channel, counted from Bird's `sms.outbound` webhooks by the daemon.

Bird sends `sms.outbound` for the messages a channel sends (docs.bird.com/api/channels-api/
message-status-and-interactions, "<channel>.outbound"); the payload is the message, with its
`channelId` and `createdAt`. The inbox already drops replays (its unique request id), so each event is
counted once; the count is of events (Bird sends one per status change of a message), the time is the
newest message's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select

from controller.state.db import reading
from controller.state.narrow import CHANNEL_TRAFFIC

if TYPE_CHECKING:
    from controller.state.sql import Executor


@dataclass(frozen=True)
class Outbound:
    """One counted `sms.outbound`: its channel and when its message was sent (Bird's clock)."""

    channel_id: str
    at: datetime


@dataclass(frozen=True)
class Traffic:
    outbound_count: int
    last_outbound_at: datetime


def count_outbound(tx: Executor, events: Iterable[Outbound]) -> int:
    """Add the events to their channels' counts and move each channel's last outbound time forward (never
    back: webhooks arrive out of order), inside the caller's transaction. Returns how many channels moved."""
    totals: dict[str, tuple[int, datetime]] = {}
    for item in events:
        count, newest = totals.get(item.channel_id, (0, item.at))
        totals[item.channel_id] = (count + 1, max(newest, item.at))
    if not totals:
        return 0
    from controller.state.sql import connection_of, upsert  # the ORM's session: the daemon has it loaded
    from controller.state.tables import ChannelTrafficRow

    table = ChannelTrafficRow.__table__  # type: ignore[attr-defined]
    connection = connection_of(tx)
    have = {row.channel_id: row for row in connection.execute(
        select(table.c.channel_id, table.c.outbound_count, table.c.last_outbound_at)
        .where(table.c.channel_id.in_(sorted(totals))))}
    rows = []
    for channel_id, (count, newest) in sorted(totals.items()):
        old = have.get(channel_id)
        last = newest if old is None else max(newest, _aware(old.last_outbound_at))
        rows.append({"channel_id": channel_id, "outbound_count": count + (old.outbound_count if old else 0),
                     "last_outbound_at": last})
    upsert(tx, table, rows, keys=("channel_id",))
    return len(rows)


def channel_traffic(engine: Engine) -> dict[str, Traffic]:
    """channel id -> what was counted on it (one read)."""
    columns = CHANNEL_TRAFFIC.c
    with reading(engine) as connection:
        return {r.channel_id: Traffic(int(r.outbound_count), _aware(r.last_outbound_at))
                for r in connection.execute(select(columns.channel_id, columns.outbound_count,
                                                   columns.last_outbound_at))}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
