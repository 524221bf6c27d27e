"""Bird's webhook deliveries as the emulator sends them: exactly the documented sms.inbound payload,
channel.created when a channel is installed, retries carrying the original timestamp and request id, and
the subscription logs (docs.bird.com/api/notifications-api/api-reference/webhook-subscriptions/
webhook-subscription-logs) where an operator sees what Bird gave up on."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from controller.emulator import policy
from tests.emulator.conftest import ORG, WS, Bird, Receiver
from tests.emulator.test_bird_fidelity import Hooks

pytestmark = pytest.mark.anyio
HOOKS = f"/organizations/{ORG}/workspaces/{WS}/webhook-subscriptions"
# The receiving-messages page's text message, field by field.
DOCUMENTED_MESSAGE = {"id", "channelId", "sender", "receiver", "body", "parts", "status", "direction",
                      "lastStatusAt", "createdAt", "updatedAt"}


async def installed(bird: Bird) -> tuple[dict, dict]:
    brand = await bird.brand()
    campaign = await bird.campaign(brand["id"])
    (number,) = await bird.buy(1)
    return number, await bird.connector(number["id"], campaign["id"])


async def test_sms_inbound_is_exactly_birds_documented_message(any_bird: Bird, receiver: Receiver) -> None:
    bird = any_bird
    number, connector = await installed(bird)
    await bird.subscribe("sms.inbound", receiver.url, filters=[{"key": "channelId",
                                                                "value": connector["channel"]["channelId"]}])
    for text in ("first", "second"):
        await bird.admin("POST", "inbound", json={"to": number["number"], "from": "+12025550143", "text": text})
    first, second = (json.loads(r.body) for r in receiver.received)
    assert (first["service"], first["event"]) == ("channels", "sms.inbound")
    message = first["payload"]
    assert set(message) == DOCUMENTED_MESSAGE
    assert message["receiver"] == {"connector": {"id": connector["id"]}}, "Bird does not send the receiving number"
    assert message["channelId"] == connector["channel"]["channelId"]
    contact = message["sender"]["contact"]
    assert set(contact) == {"id", "identifierKey", "identifierValue"} and contact["identifierValue"] == "+12025550143"
    assert second["payload"]["sender"]["contact"]["id"] == contact["id"], "one contact per sender"
    assert [set(p) for p in message["parts"]] == [{"platformReference"}]
    assert message["body"] == {"type": "text", "text": {"text": "first"}}
    assert (message["status"], message["direction"]) == ("delivered", "incoming")


async def test_installing_a_channel_sends_channel_created(any_bird: Bird, receiver: Receiver) -> None:
    bird = any_bird
    await bird.subscribe("channel.created", receiver.url, service="channels")
    _, connector = await installed(bird)
    deadline = time.monotonic() + 30
    while not receiver.received and time.monotonic() < deadline:
        await asyncio.sleep(0.02)  # sent after the connector call answered, as Bird does
    (received,) = receiver.received
    event = json.loads(received.body)
    assert (event["service"], event["event"]) == ("channels", "channel.created")
    channel = event["payload"]
    assert channel["id"] == connector["channel"]["channelId"] and channel["connectorId"] == connector["id"]
    assert channel["platformId"] == "sms-messagebird" and channel["identifier"]


async def test_retries_carry_the_first_attempts_timestamp_and_request_id(any_bird: Bird) -> None:
    bird = any_bird
    with Hooks(failures=3) as hooks:
        subscription = await bird.subscribe("10dlc.brand", hooks.url)
        brand = await bird.brand(approved=False)
        await bird.decide("brand", brand["id"], "APPROVED")
        await asyncio.sleep(1.1)  # a retry re-signed with the time it is sent would carry another second
        for interval in policy.WEBHOOK_RETRY_INTERVALS[:3]:
            await bird.advance(interval)
        stamps = {(h["messagebird-request-timestamp"], h["messagebird-request-id"]) for h, _ in hooks.received}
        assert len(hooks.received) == 4 and len(stamps) == 1
        logs = await bird.ok("GET", f"{HOOKS}/{subscription['id']}/logs")
        (entry,) = logs["results"]
        assert entry["requestId"] == hooks.received[0][0]["messagebird-request-id"]
        assert (entry["attemptCount"], entry["httpStatusCode"], entry["executionStatus"]) == (4, 204, "succeeded")
        assert (entry["subscriptionId"], entry["workspaceId"], entry["organizationId"]) == (subscription["id"], WS, ORG)


async def test_the_logs_show_what_bird_gave_up_on_after_eight_hours(any_bird: Bird) -> None:
    bird = any_bird
    with Hooks(failures=10**6) as hooks:
        subscription = await bird.subscribe("10dlc.brand", hooks.url)
        logs = f"{HOOKS}/{subscription['id']}/logs"
        for _ in range(3):
            brand = await bird.brand(approved=False)
            await bird.decide("brand", brand["id"], "APPROVED")
        retrying = await bird.ok("GET", logs, params={"executionStatus": "retrying"})
        assert len(retrying["results"]) == 3
        await bird.advance(sum(policy.WEBHOOK_RETRY_INTERVALS))
        assert (await bird.ok("GET", logs, params={"executionStatus": "retrying"}))["results"] == []
        page = await bird.ok("GET", logs, params={"executionStatus": "failed", "limit": 2})
        rest = await bird.ok("GET", logs, params={"executionStatus": "failed", "pageToken": page["nextPageToken"]})
        failed = page["results"] + rest["results"]
        assert len(failed) == 3 and "nextPageToken" not in rest
        attempts = len(policy.WEBHOOK_RETRY_INTERVALS) + 1
        assert {(e["attemptCount"], e["httpStatusCode"]) for e in failed} == {(attempts, 503)}
        details = await bird.ok("GET", f"{logs}/details", params={"requestId": failed[0]["requestId"]})
        assert [d["attempt"] for d in details["results"]] == list(range(1, attempts + 1))
        assert json.loads(details["results"][0]["payloadDetails"]["request"])["event"] == "10dlc.brand"
        await bird.error("GET", logs, 422, params={"executionStatus": "lost"})
        await bird.error("GET", logs, 422, params={"limit": 101})
        await bird.error("GET", f"{logs}/details", 404, params={"requestId": "no-such-request"})
