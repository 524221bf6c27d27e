"""Deliveries Bird gave up on: for each webhook subscription the state records, its logs with
executionStatus "failed" (docs.bird.com/api/notifications-api/api-reference/webhook-subscriptions/
webhook-subscription-logs; Bird keeps them seven days). After its retries (8 hours), Bird sends such an
event no more: an inbound SMS among them never reaches its user unless an operator acts."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WEBHOOK_KIND = "WebhookSubscription"


@dataclass(frozen=True)
class Abandoned:
    address: str          # the WebhookSubscription whose delivery Bird gave up on
    subscription_id: str
    request_id: str
    attempts: int
    last_status: int | None
    at: str | None

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "subscriptionId": self.subscription_id, "requestId": self.request_id,
                "attempts": self.attempts, "lastHttpStatus": self.last_status, "at": self.at}


async def abandoned_deliveries(client: Any, records: Mapping[str, Any]) -> list[Abandoned]:
    """Every failed delivery of the subscriptions the state records (one Bird list per subscription), in
    the subscriptions' order. The lists are read at once, as the client's limits allow: one after another,
    200 subscriptions 150 ms away took 30 s, and held up the daemon's next reconcile all that time."""
    subscriptions = [(address, record) for address, record in sorted(records.items())
                     if record.kind == WEBHOOK_KIND and record.bird_id]

    async def failed(address: str, record: Any) -> list[Abandoned]:
        data = record.data or {}
        return [Abandoned(address, record.bird_id, log.requestId, log.attemptCount, log.httpStatusCode,
                          log.updatedAt or log.createdAt)
                async for log in client.list_webhook_logs(data.get("organizationId", ""), data.get("workspaceId", ""),
                                                          record.bird_id, execution_status="failed")]

    lists = await asyncio.gather(*(failed(address, record) for address, record in subscriptions))
    return [item for found in lists for item in found]


def abandoned_text(found: list[Abandoned]) -> str:
    if not found:
        return "Bird gave up on no delivery (its logs go back seven days).\n"
    lines = [f"x {a.address}: request {a.request_id}, {a.attempts} attempt(s), last HTTP status "
             f"{a.last_status or 'none'}, {a.at or 'time unknown'}" for a in found]
    lines.append(f"Bird gave up on {len(found)} delivery(ies) after retrying for 8 hours: their events never "
                 "reached senderctl. Inbound SMS among them are not in any inbox; `GET .../webhook-subscriptions/"
                 "{id}/logs/details?requestId=...` on Bird shows each one's body.")
    return "\n".join(lines) + "\n"
