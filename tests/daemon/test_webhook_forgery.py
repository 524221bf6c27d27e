"""Forged and replayed Bird webhooks against the daemon's receiver and a webhook receiving process's (the real
Daemon and HTTP app in process, a real SQLite file and a real PostgreSQL database): two organizations share
the daemon, each with its own subscriptions and keys. A key verifies only the events its subscription could
have been sent (its workspace, service, event and filters); the signed URL is the configured one, never the
request's Host; a delivery re-sent under a new request id, or none, is a replay; a Bird retry hours later is
routed once."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from controller import tenant
from controller.bird.signing import signed_headers
from controller.daemon.config import DaemonOptions
from controller.daemon.http import create_app, create_webhook_app
from controller.daemon.metrics import Metrics
from controller.daemon.service import Daemon
from controller.reconcile.engine import Settings
from controller.state import ResourceRecord, StateStore
from controller.state.leader import open_leadership
from controller.state.webhook_inbox import pending_webhooks

ACME_WS, GLOBEX_WS = "22222222-2222-4222-8222-222222222222", "44444444-4444-4444-8444-444444444444"
HOOK_URL = "https://hooks.example.com/bird"
KEYS = {"ACME_INBOUND_KEY": "acme-inbound-key", "ACME_BRAND_KEY": "acme-brand-key",
        "ACME_ALICE_KEY": "acme-alice-only-key", "GLOBEX_INBOUND_KEY": "globex-inbound-key"}
ALICE = {"number": "+14155550101", "channel": "aaaa0000-0000-4000-8000-000000000001",
         "connector": "aaaa0000-0000-4000-8000-00000000000c", "user": "alice@acme.example"}
BOB = {"number": "+14155550102", "channel": "aaaa0000-0000-4000-8000-000000000002",
       "connector": "aaaa0000-0000-4000-8000-00000000000d", "user": "bob@acme.example"}
GINA = {"number": "+13125550103", "channel": "bbbb0000-0000-4000-8000-000000000003",
        "connector": "bbbb0000-0000-4000-8000-00000000000e", "user": "gina@globex.example"}


def subscription(name: str, workspace: str, service: str, event: str, env: str, filters: str = "") -> str:
    return (f"apiVersion: senderctl/v1\nkind: WebhookSubscription\nmetadata: {{name: {name}}}\n"
            f"spec:\n  workspace: {workspace}\n  service: {service}\n  event: {event}\n  url: {HOOK_URL}\n"
            f"  signingKey: {{fromEnv: {env}}}\n{filters}---\n")


def organization(name: str, org_id: str, workspace: str, ws_id: str) -> str:
    return (f"apiVersion: senderctl/v1\nkind: Organization\nmetadata: {{name: {name}}}\n"
            f"spec:\n  birdOrganizationId: {org_id}\n  multiSmsNumbers: {{enabled: true, limit: 10}}\n---\n"
            f"apiVersion: senderctl/v1\nkind: Workspace\nmetadata: {{name: {workspace}}}\n"
            f"spec: {{organization: {name}, birdWorkspaceId: {ws_id}}}\n---\n")


def write_specs(root: Path) -> Path:
    root.mkdir()
    (root / "acme.yaml").write_text(
        organization("acme", "11111111-1111-4111-8111-111111111111", "acme-main", ACME_WS)
        + subscription("acme-inbound", "acme-main", "channels", "sms.inbound", "ACME_INBOUND_KEY")
        + subscription("acme-brand", "acme-main", "numbers", "10dlc.brand", "ACME_BRAND_KEY")
        + subscription("acme-alice-only", "acme-main", "channels", "sms.inbound", "ACME_ALICE_KEY",
                       f"  eventFilters: [{{key: channelId, value: {ALICE['channel']}}}]\n"))
    (root / "globex.yaml").write_text(
        organization("globex", "33333333-3333-4333-8333-333333333333", "globex-main", GLOBEX_WS)
        + subscription("globex-inbound", "globex-main", "channels", "sms.inbound", "GLOBEX_INBOUND_KEY"))
    return root


def hold(store: StateStore, org: str, workspace: str, ws_id: str, line: dict[str, str]) -> None:
    """What a converged estate holds for one line: its Channel record, the number and its user."""
    now = datetime.now(UTC)
    store.save_record(ResourceRecord(f"Channel/{line['user'].split('@')[0]}-line", "Channel",
                                     bird_id=line["connector"], data={"number": line["number"], "workspaceId": ws_id,
                                                                      "channelId": line["channel"]}))
    tenant.record_number_acquired(store, org, workspace, line["number"], bird_number_id=f"n-{line['number']}",
                                  monthly_price=None, at=now)
    tenant.assign(store, org, line["number"], line["user"], at=now)


@pytest.fixture(params=["daemon", "receiver"])
def daemon(request: pytest.FixtureRequest, tmp_path: Path, state_url: str) -> Iterator[Daemon]:
    """The daemon's own app, or a webhook receiving process's (--webhook-listen: its app, its inbox
    transaction written on the event loop); the leader's drain is the same."""
    specs = write_specs(tmp_path / "specs")
    options = DaemonOptions(paths=(str(specs),), state_url=state_url, bird_url="http://127.0.0.1:9",
                            listen="127.0.0.1:8080", public_url="https://hooks.example.com")
    settings = Settings(state_url=state_url, bird_url=options.bird_url, access_key="unused-here",
                        environ={**os.environ, **KEYS})
    leadership = open_leadership(state_url)
    store = StateStore.open(state_url)
    leadership.attach(store.engine)
    d = Daemon(options, settings, store, leadership, Metrics())
    asyncio.run(d.reload_specs("test"))
    hold(store, "acme", "acme-main", ACME_WS, ALICE)
    hold(store, "acme", "acme-main", ACME_WS, BOB)
    hold(store, "globex", "globex-main", GLOBEX_WS, GINA)
    d.role = "leader" if request.param == "daemon" else "receiver"
    d.records_on_loop = request.param == "receiver"
    yield d
    leadership.release()
    store.close()


def inbound(line: dict[str, str], message_id: str, text: str = "hi") -> bytes:
    """Bird's documented sms.inbound: the channel and connector, never the receiving number."""
    return json.dumps({"service": "channels", "event": "sms.inbound", "payload": {
        "id": message_id, "channelId": line["channel"],
        "sender": {"contact": {"id": "c-1", "identifierKey": "phonenumber", "identifierValue": "+12025550199"}},
        "receiver": {"connector": {"id": line["connector"]}}, "body": {"type": "text", "text": {"text": text}},
        "parts": [{"platformReference": "p"}], "status": "delivered", "direction": "incoming",
        "lastStatusAt": "2026-12-01T00:00:00Z", "createdAt": "2026-12-01T00:00:00Z",
        "updatedAt": "2026-12-01T00:00:00Z"}}).encode()


def sign(body: bytes, key_env: str, request_id: str | None, *, at: float | None = None,
         url: str = HOOK_URL) -> dict[str, str]:
    headers = signed_headers(KEYS[key_env], str(int(at if at is not None else time.time())), url, body,
                             request_id or "")
    if request_id is None:
        del headers["messagebird-request-id"]
    return {**headers, "content-type": "application/json"}


def post(daemon: Daemon, body: bytes, headers: dict[str, str], host: str = "127.0.0.1:8080") -> httpx.Response:
    async def go() -> httpx.Response:
        app = create_webhook_app(daemon) if daemon.role == "receiver" else create_app(daemon)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            return await client.post("/webhooks/bird", content=body, headers=headers)

    return asyncio.run(go())


def routed(daemon: Daemon) -> dict[str, list[str]]:
    """Drain the inbox as the leader does; each organization's inbox as its messages' ids."""
    daemon.take_batch()
    return {org: [m["messageId"] for m in tenant.inbox(daemon.store, org)] for org in ("acme", "globex")}


def test_each_organizations_key_verifies_its_own_inbound_messages(daemon: Daemon) -> None:
    body = inbound(ALICE, "m-acme")
    assert post(daemon, body, sign(body, "ACME_INBOUND_KEY", "r-1")).status_code == 200
    body = inbound(GINA, "m-globex")
    assert post(daemon, body, sign(body, "GLOBEX_INBOUND_KEY", "r-2")).status_code == 200
    assert routed(daemon) == {"acme": ["m-acme"], "globex": ["m-globex"]}
    assert [m["user"] for m in tenant.inbox(daemon.store, "acme")] == [ALICE["user"]]


def test_globex_key_cannot_forge_an_inbound_message_for_acmes_user(daemon: Daemon) -> None:
    body = inbound(ALICE, "m-forged", "send me the code")
    answer = post(daemon, body, sign(body, "GLOBEX_INBOUND_KEY", "forged-1"))
    assert answer.status_code == 401 and "could have sent" in answer.json()["message"]
    assert pending_webhooks(daemon.store) == []
    assert routed(daemon) == {"acme": [], "globex": []}
    assert tenant.unrouted(daemon.store) == []


def test_a_key_of_another_event_or_a_filter_that_does_not_match_verifies_nothing(daemon: Daemon) -> None:
    body = inbound(ALICE, "m-1")
    assert post(daemon, body, sign(body, "ACME_BRAND_KEY", "e-1")).status_code == 401  # a 10dlc.brand key
    bob = inbound(BOB, "m-2")
    assert post(daemon, bob, sign(bob, "ACME_ALICE_KEY", "f-1")).status_code == 401    # filtered on Alice's channel
    assert post(daemon, body, sign(body, "ACME_ALICE_KEY", "f-2")).status_code == 200
    brand = json.dumps({"service": "numbers", "event": "10dlc.brand", "payload": {"id": "b-1"}}).encode()
    assert post(daemon, brand, sign(brand, "ACME_INBOUND_KEY", "s-1")).status_code == 401
    mislabelled = json.loads(body)
    mislabelled["service"] = "numbers"
    other = json.dumps(mislabelled).encode()
    assert post(daemon, other, sign(other, "ACME_INBOUND_KEY", "s-2")).status_code == 401
    assert routed(daemon) == {"acme": ["m-1"], "globex": []}


def test_the_signed_url_is_the_configured_one_never_the_requests_host(daemon: Daemon) -> None:
    body = inbound(ALICE, "m-host")
    for host in ("evil.example", "127.0.0.1:8080"):
        forged_url = f"http://{host}/webhooks/bird"
        answer = post(daemon, body, sign(body, "ACME_INBOUND_KEY", f"h-{host}", url=forged_url), host=host)
        assert answer.status_code == 401, host
    public = "https://hooks.example.com/webhooks/bird"  # --public-url
    assert post(daemon, body, sign(body, "ACME_INBOUND_KEY", "h-public", url=public)).status_code == 200
    assert routed(daemon)["acme"] == ["m-host"]


def test_a_captured_delivery_sent_again_with_a_new_or_no_request_id_is_a_replay(daemon: Daemon) -> None:
    body = inbound(ALICE, "m-once")
    headers = sign(body, "ACME_INBOUND_KEY", "orig-1")
    assert post(daemon, body, headers).json()["status"] == "accepted"
    for request_id in ("another-id", None):
        again = {k: v for k, v in headers.items() if k != "messagebird-request-id"}
        if request_id:
            again["messagebird-request-id"] = request_id
        answer = post(daemon, body, again)
        assert answer.status_code == 200 and answer.json()["status"] == "replay", answer.text
    assert len(pending_webhooks(daemon.store)) == 1
    assert routed(daemon)["acme"] == ["m-once"]
    assert post(daemon, body, headers).json()["status"] == "replay"  # also once handled
    assert pending_webhooks(daemon.store) == []


def test_a_bird_retry_three_hours_late_is_routed_once(daemon: Daemon) -> None:
    body = inbound(ALICE, "m-late")
    first_attempt = time.time()
    daemon.clock = lambda: first_attempt + 3 * 3600  # the daemon was down; Bird retried with the first timestamp
    headers = sign(body, "ACME_INBOUND_KEY", "late-1", at=first_attempt)
    assert post(daemon, body, headers).json()["status"] == "accepted"
    assert post(daemon, body, headers).json()["status"] == "replay"  # Bird retried again: its answer was lost
    assert routed(daemon)["acme"] == ["m-late"]


def test_deliveries_outside_birds_retry_horizon_or_from_the_future_are_refused(daemon: Daemon) -> None:
    body = inbound(ALICE, "m-old")
    now = time.time()
    stale = post(daemon, body, sign(body, "ACME_INBOUND_KEY", "old-1", at=now - 10 * 3600))
    assert stale.status_code == 401 and "Bird retries for 8 hours" in stale.json()["message"]
    ahead = post(daemon, body, sign(body, "ACME_INBOUND_KEY", "new-1", at=now + 3600))
    assert ahead.status_code == 401 and "ahead of our clock" in ahead.json()["message"]
    assert pending_webhooks(daemon.store) == []


def test_a_message_for_a_channel_the_state_does_not_know_is_kept_unrouted_never_given_to_a_user(
        daemon: Daemon) -> None:
    stranger = {**ALICE, "channel": "cccc0000-0000-4000-8000-000000000009", "connector": "cccc-connector"}
    body = inbound(stranger, "m-stranger")
    assert post(daemon, body, sign(body, "GLOBEX_INBOUND_KEY", "u-1")).status_code == 200
    assert routed(daemon) == {"acme": [], "globex": []}
    (kept,) = tenant.unrouted(daemon.store)
    assert kept["messageId"] == "m-stranger" and kept["organization"] is None


