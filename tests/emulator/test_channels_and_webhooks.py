"""Connectors and channels (409, 422, carrier acknowledgement) and webhook subscriptions and deliveries."""

from __future__ import annotations

import json
import socket
import time
from datetime import datetime
from typing import Any

import pytest

from controller.bird.signing import InvalidSignature, verify
from tests.emulator.conftest import AUTH, ORG, WS, Bird, Receiver

pytestmark = pytest.mark.anyio

HOOKS = f"/organizations/{ORG}/workspaces/{WS}/webhook-subscriptions"


async def ready_campaign(bird: Bird) -> tuple[dict[str, Any], dict[str, Any]]:
    number = (await bird.buy(1))[0]
    brand = await bird.brand()
    return number, await bird.campaign(brand["id"])


async def test_connector_installs_a_channel_that_carriers_acknowledge_after_15_minutes(any_bird: Bird) -> None:
    bird = any_bird
    number, campaign = await ready_campaign(bird)
    connector = await bird.connector(number["id"], campaign["id"])
    channel_id = connector["channel"]["channelId"]
    assert connector["arguments"]["phoneNumberId"] == number["id"]
    assert connector["number"]["phoneNumber"] == number["number"]
    channel = await bird.ok("GET", f"/workspaces/{WS}/channels/{channel_id}")
    assert channel["identifier"] == number["number"] and channel["connectorId"] == connector["id"]
    assert channel["status"] != "active" and channel["useCaseStatus"]["status"] != "ok"
    await bird.advance(15 * 60 - 1)
    assert (await bird.ok("GET", f"/workspaces/{WS}/channels/{channel_id}"))["status"] != "active"
    await bird.advance(1)
    channel = await bird.ok("GET", f"/workspaces/{WS}/channels/{channel_id}")
    assert channel["status"] == "active" and channel["useCaseStatus"]["status"] == "ok"
    assert all(a["status"] == "ok" for a in channel["useCaseStatus"]["assertions"])
    listed = (await bird.ok("GET", f"/workspaces/{WS}/connectors"))["results"]
    # The connector names its channel; readiness is reported on the channel only (seed 001).
    assert listed[0]["channel"]["channelId"] == channel["id"]
    assert "status" not in listed[0] and "useCaseStatus" not in listed[0] and "status" not in listed[0]["channel"]
    assert (await bird.ok("GET", f"/workspaces/{WS}/connectors/{connector['id']}")) == listed[0]


async def test_a_second_connector_for_the_same_number_is_409(bird: Bird) -> None:
    number, campaign = await ready_campaign(bird)
    await bird.connector(number["id"], campaign["id"])
    conflict = await bird.connector(number["id"], campaign["id"], status=409)
    assert conflict["code"] == "Conflict" and number["number"] in conflict["message"]
    assert len((await bird.state())["connectors"]) == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"connectorTemplateRef": "whatsapp:1"}, "connectorTemplateRef"),
    ({"name": None}, "name"),
    ({"arguments": None}, "arguments"),
    ({"arguments": {"useCaseId": "CAMPAIGN", "channelMessageType": "transactional"}}, "arguments.phoneNumberId"),
    ({"arguments": {"phoneNumberId": "NUMBER", "channelMessageType": "transactional"}}, "arguments.useCaseId"),
    ({"arguments": {"phoneNumberId": "NUMBER", "useCaseId": "CAMPAIGN"}}, "arguments.channelMessageType"),
    ({"arguments": {"phoneNumberId": "00000000-0000-4000-8000-000000000000", "useCaseId": "CAMPAIGN",
                    "channelMessageType": "transactional"}}, "arguments.phoneNumberId"),
    ({"arguments": {"phoneNumberId": "NUMBER", "useCaseId": "00000000-0000-4000-8000-000000000000",
                    "channelMessageType": "transactional"}}, "arguments.useCaseId"),
])
async def test_connector_invalid_arguments_are_422_naming_the_field(bird: Bird, change: dict, field: str) -> None:
    number, campaign = await ready_campaign(bird)
    body = {"connectorTemplateRef": "sms-messagebird:1", "name": "SMS",
            "arguments": {"phoneNumberId": "NUMBER", "useCaseId": "CAMPAIGN", "channelMessageType": "transactional"}}
    body.update(change)
    body = json.loads(json.dumps({k: v for k, v in body.items() if v is not None})
                      .replace("NUMBER", number["id"]).replace("CAMPAIGN", campaign["id"]))
    error = await bird.error("POST", f"/workspaces/{WS}/connectors", 422, json=body)
    assert field in error["details"], error


async def test_connector_needs_an_approved_campaign(bird: Bird) -> None:
    number = (await bird.buy(1))[0]
    campaign = await bird.campaign((await bird.brand())["id"], approved=False)
    error = await bird.error("POST", f"/workspaces/{WS}/connectors", 422, json={
        "connectorTemplateRef": "sms-messagebird:1", "name": "SMS",
        "arguments": {"phoneNumberId": number["id"], "useCaseId": campaign["id"], "channelMessageType": "marketing"}})
    assert "PENDING" in error["details"]["arguments.useCaseId"][0]


async def test_deleting_a_connector_removes_its_channel_and_frees_the_number(bird: Bird) -> None:
    number, campaign = await ready_campaign(bird)
    connector = await bird.connector(number["id"], campaign["id"])
    await bird.ok("DELETE", f"/workspaces/{WS}/connectors/{connector['id']}", 204)
    await bird.error("GET", f"/workspaces/{WS}/connectors/{connector['id']}", 404)
    await bird.error("GET", f"/workspaces/{WS}/channels/{connector['channel']['channelId']}", 404)
    await bird.connector(number["id"], campaign["id"])


@pytest.mark.parametrize(("change", "field"), [
    ({"url": "http://hooks.acme.example/bird"}, "url"),
    ({"url": "ftp://hooks.acme.example"}, "url"),
    ({"url": None}, "url"),
    ({"signingKey": None}, "signingKey"),
    ({"signingKey": ""}, "signingKey"),
    ({"event": None}, "event"),
    ({"service": None}, "service"),
    ({"event": "10dlc.brand"}, "event"),  # 10dlc events come from the numbers service
    ({"eventFilters": [{"key": "channelId"}]}, "eventFilters[0]"),
    ({"eventFilters": "channelId"}, "eventFilters"),
    ({"colour": "blue"}, "colour"),
])
async def test_webhook_subscription_errors_are_422_naming_the_field(bird: Bird, change: dict, field: str) -> None:
    body = {"service": "channels", "event": "sms.inbound", "url": "https://hooks.acme.example/bird",
            "signingKey": "k", "eventFilters": []}
    body.update(change)
    error = await bird.error("POST", HOOKS, 422, json={k: v for k, v in body.items() if v is not None})
    assert field in error["details"], error
    assert "signingKey" not in error["message"] or field == "signingKey"


@pytest.mark.parametrize("url", ["https://hooks.acme.example/bird", "https://hooks.acme.example",
                                 "http://127.0.0.1:8080/webhooks/bird", "http://localhost:9000/x"])
async def test_https_and_local_receiver_urls_are_accepted(bird: Bird, url: str) -> None:
    created = await bird.subscribe("sms.inbound", url)
    assert created["url"] == url and created["status"] == "active"


@pytest.mark.parametrize("url", ["https://hooks.acme.example:8443/bird", "https://10.1.2.3/x", "https://[2001:db8::1]/x",
                                 "http://hooks.acme.example/bird", "https://hooks/bird", "https://user@hooks.acme.example/x"])
async def test_urls_outside_birds_pattern_are_refused_with_422_on_create_and_update(any_bird: Bird, url: str) -> None:
    """Bird's create and update pages: ^https://([a-zA-Z0-9-]+\\.)+[a-zA-Z]{2,}(/[^\\s]*)?$ (no port, no IP)."""
    bird = any_bird
    body = {"service": "channels", "event": "sms.inbound", "url": url, "signingKey": "k", "eventFilters": []}
    error = await bird.error("POST", HOOKS, 422, json=body)
    assert "url" in error["details"] and "no port" in str(error["details"]["url"]), error
    created = await bird.subscribe("sms.inbound", "https://hooks.acme.example/bird")
    error = await bird.error("PATCH", f"{HOOKS}/{created['id']}", 422, json={"url": url})
    assert "url" in error["details"], error
    assert (await bird.state())["webhookSubscriptions"][0]["url"] == "https://hooks.acme.example/bird"


async def test_webhook_subscription_get_update_delete(any_bird: Bird) -> None:
    bird = any_bird
    created = await bird.subscribe("channel.updated", "https://hooks.acme.example/a", key="k1")
    assert created["organizationId"] == ORG and created["workspaceId"] == WS and created["signingKey"] == "k1"
    path = f"{HOOKS}/{created['id']}"
    assert await bird.ok("GET", path) == created
    updated = await bird.ok("PATCH", path, json={"status": "inactive", "url": "https://hooks.acme.example/b",
                                                 "eventFilters": [{"key": "channelId", "value": "c1"}]})
    assert (updated["status"], updated["url"], updated["eventFilters"]) == (
        "inactive", "https://hooks.acme.example/b", [{"key": "channelId", "value": "c1"}])
    for body, field in (({}, "body"), ({"status": "paused"}, "status"), ({"url": "http://x.example"}, "url"),
                        ({"event": "sms.outbound"}, "event")):
        error = await bird.error("PATCH", path, 422, json=body)
        assert field in error["details"], (body, error)
    await bird.ok("DELETE", path, 204)
    await bird.error("GET", path, 404)
    state = await bird.state()
    assert state["webhookSubscriptions"] == []


async def test_state_dump_never_shows_signing_keys(bird: Bird) -> None:
    await bird.subscribe("sms.inbound", "https://hooks.acme.example/a", key="very-secret-signing-key")
    dumped = json.dumps(await bird.state())
    assert "very-secret-signing-key" not in dumped


async def test_lifecycle_webhooks_are_signed_and_verify_only_with_the_right_key(bird: Bird,
                                                                               receiver: Receiver) -> None:
    await bird.subscribe("10dlc.brand", receiver.url, key="brand-key")
    await bird.subscribe("10dlc.campaign", receiver.url, key="campaign-key")
    await bird.subscribe("channel.updated", receiver.url, key="channel-key")
    number = (await bird.buy(1))[0]
    brand = await bird.brand(approved=False)
    advanced = await bird.advance(3600)
    assert [d["delivered"] for d in advanced["deliveries"]] == [True]
    campaign = await bird.campaign(brand["id"], approved=False)
    await bird.advance(7 * 24 * 3600)
    await bird.connector(number["id"], campaign["id"])
    await bird.advance(15 * 60)
    events = [(json.loads(r.body)["event"], r) for r in receiver.received]
    assert [e for e, _ in events] == ["10dlc.brand", "10dlc.campaign", "channel.updated"]
    keys = {"10dlc.brand": "brand-key", "10dlc.campaign": "campaign-key", "channel.updated": "channel-key"}
    for event, received in events:
        verify(keys[event], received.headers, received.url, received.body, now=time.time())
        with pytest.raises(InvalidSignature):
            verify("wrong-key", received.headers, received.url, received.body, now=time.time())
        assert received.headers["messagebird-request-id"]
    body = json.loads(events[0][1].body)
    assert body["service"] == "numbers" and body["payload"]["id"] == brand["id"]
    assert body["payload"]["status"] == "APPROVED"
    channel_event = json.loads(events[2][1].body)
    assert channel_event["payload"]["status"] == "active" and channel_event["service"] == "channels"


async def test_inbound_sms_reaches_only_subscriptions_filtered_on_that_channel(bird: Bird, receiver: Receiver
                                                                              ) -> None:
    brand = await bird.brand()
    campaign = await bird.campaign(brand["id"])
    alice, bob = await bird.buy(2)
    alice_channel = (await bird.connector(alice["id"], campaign["id"]))["channel"]["channelId"]
    bob_channel = (await bird.connector(bob["id"], campaign["id"]))["channel"]["channelId"]
    await bird.subscribe("sms.inbound", receiver.url + "?who=alice", key="alice-key",
                         filters=[{"key": "channelId", "value": alice_channel}])
    await bird.subscribe("sms.inbound", receiver.url + "?who=bob", key="bob-key",
                         filters=[{"key": "channelId", "value": bob_channel}])
    answer = await bird.admin("POST", "inbound", json={"to": alice["number"], "from": "+12025550143",
                                                       "text": "hello alice"})
    assert [d["url"] for d in answer["deliveries"]] == [receiver.url + "?who=alice"]
    assert answer["deliveries"][0]["delivered"] is True
    (received,) = receiver.received
    verify("alice-key", received.headers, received.url, received.body, now=time.time())
    with pytest.raises(InvalidSignature):
        verify("bob-key", received.headers, received.url, received.body, now=time.time())
    payload = json.loads(received.body)["payload"]
    assert payload["channelId"] == alice_channel
    assert payload["body"]["text"]["text"] == "hello alice"
    assert payload["sender"]["contact"]["identifierValue"] == "+12025550143"


async def test_inbound_needs_a_channel_for_the_number_and_valid_numbers(bird: Bird) -> None:
    assert (await bird.http.post("/_emulator/inbound", json={"to": "+14155550100", "from": "+12025550143",
                                                             "text": "hi"})).status_code == 404
    bad = await bird.http.post("/_emulator/inbound", json={"to": "555", "from": "+12025550143", "text": "hi"})
    assert bad.status_code == 422 and "to" in bad.json()["details"]


async def test_deliveries_to_non_loopback_hosts_are_never_attempted(bird: Bird,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection

    def watch_getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        attempts.append(("dns", host))
        return real_getaddrinfo(host, *args, **kw)

    def watch_connect(address: Any, *args: Any, **kw: Any) -> Any:
        attempts.append(("connect", address))
        return real_connect(address, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", watch_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", watch_connect)
    subscription = await bird.subscribe("10dlc.brand", "https://hooks.acme.example/bird")
    await bird.brand(approved=False)
    started = time.monotonic()
    advanced = await bird.advance(3600)
    assert time.monotonic() - started < 1
    (delivery,) = advanced["deliveries"]
    assert delivery["delivered"] is False and "never attempted" in delivery["error"]
    assert delivery["subscriptionId"] == subscription["id"]
    assert attempts == []
    assert (await bird.state())["undelivered"] == [delivery]


async def test_an_unreachable_local_receiver_is_recorded_as_undelivered(bird: Bird) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    await bird.subscribe("10dlc.brand", f"http://127.0.0.1:{port}/hook")
    await bird.brand(approved=False)
    (delivery,) = (await bird.advance(3600))["deliveries"]
    assert delivery["delivered"] is False and delivery["error"]


async def test_inactive_subscriptions_and_other_events_get_nothing(bird: Bird, receiver: Receiver) -> None:
    active = await bird.subscribe("10dlc.brand", receiver.url + "?active")
    paused = await bird.subscribe("10dlc.brand", receiver.url + "?paused")
    await bird.subscribe("10dlc.campaign", receiver.url + "?campaigns")
    await bird.ok("PATCH", f"{HOOKS}/{paused['id']}", json={"status": "inactive"})
    await bird.brand(approved=False)
    deliveries = (await bird.advance(3600))["deliveries"]
    assert [d["subscriptionId"] for d in deliveries] == [active["id"]]
    assert [r.url for r in receiver.received] == [receiver.url + "?active"]


async def test_subscription_rules_bird_documents(any_bird: Bird) -> None:
    """Bird "Webhook subscriptions": the service enum (templates too), no filters on the numbers service, at
    most five subscriptions per filter combination, a statusReason on each."""
    bird = any_bird
    numbers = {"service": "numbers", "event": "10dlc.campaign", "url": "https://hooks.acme.example/b",
               "signingKey": "k", "eventFilters": [{"key": "brandId", "value": "b1"}]}
    error = await bird.error("POST", HOOKS, 422, json=numbers)
    assert "supports no filters" in str(error["details"]["eventFilters"])
    plain = await bird.ok("POST", HOOKS, 201, json={**numbers, "eventFilters": []})
    assert plain["statusReason"] and plain["status"] == "active"
    error = await bird.error("PATCH", f"{HOOKS}/{plain['id']}", 422,
                             json={"eventFilters": [{"key": "brandId", "value": "b1"}]})
    assert "eventFilters" in error["details"]
    error = await bird.error("POST", HOOKS, 422, json={**numbers, "service": "billing", "eventFilters": []})
    assert "service" in error["details"]
    templates = await bird.error("POST", HOOKS, 422, json={**numbers, "service": "templates", "eventFilters": []})
    assert "service" not in templates["details"], "templates is one of Bird's services"

    channel = [{"key": "channelId", "value": "c1"}]
    made = [await bird.subscribe("sms.inbound", f"https://hooks{i}.acme.example/in", filters=channel) for i in range(5)]
    error = await bird.error("POST", HOOKS, 422, json={"service": "channels", "event": "sms.inbound", "signingKey": "k",
                                                        "url": "https://hooks6.acme.example/in", "eventFilters": channel})
    assert "at most 5" in str(error["details"]["eventFilters"])
    await bird.subscribe("sms.inbound", "https://hooks6.acme.example/in")  # another combination: no filters
    await bird.subscribe("sms.outbound", "https://hooks6.acme.example/in", filters=channel)  # another event
    unfiltered = await bird.subscribe("sms.inbound", "https://hooks7.acme.example/in",
                                      filters=[{"key": "channelId", "value": "c2"}])
    error = await bird.error("PATCH", f"{HOOKS}/{unfiltered['id']}", 422, json={"eventFilters": channel})
    assert "at most 5" in str(error["details"]["eventFilters"])
    inactive = await bird.ok("PATCH", f"{HOOKS}/{made[0]['id']}", json={"status": "inactive"})
    assert inactive["statusReason"] != plain["statusReason"]


async def test_the_workspace_level_routes_hold_the_same_subscriptions(any_bird: Bird) -> None:
    bird = any_bird
    at_workspace = f"/workspaces/{WS}/webhook-subscriptions"
    created = await bird.ok("POST", at_workspace, 201, json={
        "service": "channels", "event": "channel.updated", "url": "https://hooks.acme.example/ws", "signingKey": "k"})
    assert created["workspaceId"] == WS and created["organizationId"] == ORG
    assert [s["id"] for s in (await bird.ok("GET", HOOKS))["results"]] == [created["id"]]
    assert await bird.ok("GET", f"{at_workspace}/{created['id']}") == await bird.ok("GET", f"{HOOKS}/{created['id']}")
    updated = await bird.ok("PATCH", f"{at_workspace}/{created['id']}", json={"url": "https://hooks.acme.example/ws2"})
    assert updated["url"] == "https://hooks.acme.example/ws2"
    assert (await bird.ok("GET", at_workspace))["results"] == [updated]
    await bird.ok("DELETE", f"{at_workspace}/{created['id']}", 204)
    assert (await bird.ok("GET", HOOKS))["results"] == []
    await bird.error("GET", "/workspaces/99999999-9999-4999-8999-999999999999/webhook-subscriptions", 404)


async def test_a_message_sent_from_an_active_channel_is_announced_as_sms_outbound(bird: Bird, receiver: Receiver
                                                                                  ) -> None:
    brand = await bird.brand()
    campaign = await bird.campaign(brand["id"])
    (alice,) = await bird.buy(1)
    channel = (await bird.connector(alice["id"], campaign["id"]))["channel"]["channelId"]
    await bird.subscribe("sms.outbound", receiver.url, key="out-key",
                         filters=[{"key": "channelId", "value": channel}])
    sent = {"from": alice["number"], "to": "+12025550143", "text": "Acme: your code is 1234"}
    early = await bird.http.post("/_emulator/outbound", json=sent)
    assert early.status_code == 422 and "carriers have not acknowledged" in early.json()["message"]
    await bird.advance(16 * 60)
    answer = await bird.admin("POST", "outbound", json=sent)
    assert [d["event"] for d in answer["deliveries"]] == ["sms.outbound"] and answer["deliveries"][0]["delivered"]
    (received,) = receiver.received
    verify("out-key", received.headers, received.url, received.body, now=time.time())
    document = json.loads(received.body)
    assert (document["service"], document["event"]) == ("channels", "sms.outbound")
    payload = document["payload"]
    assert payload["channelId"] == channel and payload["direction"] == "outgoing"
    assert payload["receiver"]["contacts"][0]["identifierValue"] == "+12025550143"
    assert payload["createdAt"] == answer["message"]["createdAt"]
    missing = await bird.http.post("/_emulator/outbound", json={**sent, "from": "+14155550100"})
    assert missing.status_code == 404


async def test_bird_answers_state_the_emulators_clock_in_their_date_header(bird: Bird) -> None:
    from email.utils import parsedate_to_datetime

    async def bird_date() -> datetime:
        response = await bird.http.get(f"/workspaces/{WS}/tcr-brands", headers=AUTH)
        return parsedate_to_datetime(response.headers["date"])

    before = await bird_date()
    await bird.advance(61 * 24 * 3600)
    assert (await bird_date() - before).days == 61
