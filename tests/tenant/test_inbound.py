"""Inbound routing: a verified sms.inbound webhook reaches the number's user, or the unrouted log."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest

from controller import tenant
from controller.bird.signing import signed_headers
from controller.state import ResourceRecord
from controller.tenant import InvalidWebhook, MalformedWebhook
from tests.tenant.conftest import buy, later, make_org, number, senderctl, senderctl_json

URL = "https://hooks.acme.example/bird"
KEY = "whsec-test-signing-key"


def bird_inbound(to: str | None, sender: str, text: str, *, message_id: str | None = None,
                 channel_id: str = "chan-1") -> bytes:
    """An sms.inbound webhook body the way Bird sends it (Channels API message inside)."""
    receiver = {"connector": {"id": "conn-1", **({"identifierValue": to} if to else {})}}
    message = {"id": message_id or str(uuid.uuid4()), "channelId": channel_id,
               "sender": {"contact": {"identifierKey": "phonenumber", "identifierValue": sender}},
               "receiver": receiver, "body": {"type": "text", "text": {"text": text}},
               "direction": "incoming", "status": "delivered"}
    return json.dumps({"service": "channels", "event": "sms.inbound", "payload": message}).encode()


def deliver(store, body: bytes, *, now: datetime, key: str = KEY, keys: list[str] | None = None):
    headers = signed_headers(key, str(int(now.timestamp())), URL, body, str(uuid.uuid4()))
    return tenant.handle_inbound_webhook(store, headers=headers, body=body, url=URL,
                                         signing_keys=keys if keys is not None else [KEY], now=now)


@pytest.mark.slow
def test_each_of_100_assigned_numbers_reaches_its_user_and_an_unassigned_one_is_logged(state_url, store):
    make_org(store, limit=200)
    numbers = buy(store, "acme", *range(101))
    for i, n in enumerate(numbers[:100]):
        tenant.assign(store, "acme", n, f"user{i}@acme.example", at=later(1))
    for i, n in enumerate(numbers[:100]):
        result = deliver(store, bird_inbound(n, "+12125550123", f"reply to user {i}"), now=later(2))
        assert (result.outcome, result.user) == ("routed", f"user{i}@acme.example")
    stray = deliver(store, bird_inbound(numbers[100], "+12125550123", "anyone there?"), now=later(3))
    assert (stray.outcome, stray.user) == ("unrouted", None)
    for i in range(100):
        assert [m["text"] for m in tenant.inbox(store, "acme", f"user{i}@acme.example")] == [f"reply to user {i}"]
    assert len(tenant.inbox(store, "acme")) == 100
    [logged] = senderctl_json(state_url, "numbers", "unrouted", "--org", "acme")
    assert (logged["number"], logged["text"]) == (numbers[100], "anyone there?")
    assert "not assigned to a user in organization acme" in logged["reason"]


def test_a_message_to_a_number_no_one_holds_is_logged_not_dropped(state_url, store):
    make_org(store)
    result = deliver(store, bird_inbound(number(42), "+12125550123", "hello?"), now=later(1))
    assert result.outcome == "unrouted" and "not a number any organization holds" in result.reason
    code, out, _ = senderctl(state_url, "numbers", "unrouted")
    assert code == 0 and number(42) in out and "hello?" in out


def test_redelivery_of_a_message_is_idempotent(store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    body = bird_inbound(a, "+12125550123", "once", message_id="msg-1")
    assert deliver(store, body, now=later(2)).outcome == "routed"
    again = deliver(store, body, now=later(3))
    assert (again.outcome, again.user) == ("duplicate", "alice")
    assert len(tenant.inbox(store, "acme", "alice")) == 1


def test_a_message_after_a_move_goes_to_the_new_user_only(store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    tenant.move(store, "acme", a, "bob", at=later(2))
    assert deliver(store, bird_inbound(a, "+12125550123", "hi"), now=later(3)).user == "bob"
    assert tenant.inbox(store, "acme", "alice") == []


def test_the_receiver_can_be_resolved_from_the_channel_id(store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    store.save_record(ResourceRecord(address="Channel/alice-line", kind="Channel",
                                     data={"number": a, "channelId": "chan-77"}))
    result = deliver(store, bird_inbound(None, "+12125550123", "via channel", channel_id="chan-77"), now=later(2))
    assert (result.outcome, result.user, result.to) == ("routed", "alice", a)


def test_bad_signatures_are_rejected_and_nothing_is_written(store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    body = bird_inbound(a, "+12125550123", "forged")
    with pytest.raises(InvalidWebhook, match="bad signature"):
        deliver(store, body, now=later(2), key="not-the-key")
    with pytest.raises(InvalidWebhook, match="missing"):
        tenant.handle_inbound_webhook(store, headers={}, body=body, url=URL, signing_keys=[KEY], now=later(2))
    headers = signed_headers(KEY, str(int(later(2).timestamp())), URL, body, "r")
    with pytest.raises(InvalidWebhook, match="window"):
        tenant.handle_inbound_webhook(store, headers=headers, body=body, url=URL, signing_keys=[KEY], now=later(60))
    with pytest.raises(InvalidWebhook, match="no signing key"):
        deliver(store, body, now=later(2), keys=[])
    assert tenant.inbox(store, "acme") == [] and tenant.unrouted(store) == []


def test_any_of_the_configured_keys_verifies(store):
    make_org(store)
    [a] = buy(store, "acme", 1)
    result = deliver(store, bird_inbound(a, "+12125550123", "rotated"), now=later(1), key="new-key",
                     keys=["old-key", "new-key"])
    assert result.outcome == "unrouted"


@pytest.mark.parametrize("body, message", [
    (b"not json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"payload": {}}', "no \\\"event\\\""),
    (b'{"event": "sms.inbound"}', "no \\\"payload\\\""),
    (b'{"event": "sms.inbound", "payload": {"id": "m"}}', "sender"),
    (b'{"event": "sms.inbound", "payload": {"id": "m", "sender": {"contact": {"identifierValue": "+12125550123"}}}}',
     "neither its receiver"),
])
def test_malformed_bodies_are_refused_clearly(store, body, message):
    with pytest.raises(MalformedWebhook, match=message):
        deliver(store, body, now=later(1))


def test_other_events_are_ignored(store):
    body = json.dumps({"service": "channels", "event": "channel.updated", "payload": {"id": "c"}}).encode()
    result = deliver(store, body, now=later(1))
    assert result.outcome == "ignored" and "channel.updated" in result.reason
