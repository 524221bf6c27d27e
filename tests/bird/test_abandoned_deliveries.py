"""Bird's webhook logs of every recorded subscription are read at once: one after another, 200
subscriptions 150 ms away took 30 s after each of the daemon's full reconciles, and held its next
reconcile (an edited spec's) back all that time. Counted at the server, not timed."""

from __future__ import annotations

import pytest

from controller.bird.client import BirdClient
from controller.operations.undelivered import abandoned_deliveries
from controller.state import ResourceRecord
from tests.bird.conftest import ACCESS_KEY
from tests.bird.test_connections import slow_server

pytestmark = pytest.mark.anyio

ORG = "11111111-1111-4111-8111-111111111111"


def subscription(i: int) -> ResourceRecord:
    ws = f"{i:08d}-2222-4222-8222-222222222222"
    return ResourceRecord(address=f"WebhookSubscription/hook-{i:03d}", kind="WebhookSubscription",
                          bird_id=f"{i:08d}-3333-4333-8333-333333333333",
                          data={"organizationId": ORG, "workspaceId": ws})


async def test_every_subscriptions_failed_deliveries_are_read_at_once() -> None:
    records = {r.address: r for r in map(subscription, range(40))}
    records["Channel/line"] = ResourceRecord(address="Channel/line", kind="Channel", bird_id="c1")  # not read
    async with slow_server(delay=0.1) as (url, seen), BirdClient(url, ACCESS_KEY) as client:
        found = await abandoned_deliveries(client, records)
    assert found == [] and seen.requests == 40
    assert seen.most_busy >= 16, seen  # at least the client's starting limit on the wire at once
