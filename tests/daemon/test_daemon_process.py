"""The real `senderctl daemon` process against the Bird emulator over HTTP."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controller.bird.signing import signed_headers
from tests.daemon.conftest import SIGNING_KEY, free_port, quickstart_copy, wait_until

pytestmark = pytest.mark.timeout(90)

NEW_NUMBER = """
---
apiVersion: senderctl/v1
kind: PhoneNumber
metadata:
  name: carol-line
spec:
  workspace: acme-main
  select: {country: US, type: local}
"""
NEW_SUBSCRIPTION = """
---
apiVersion: senderctl/v1
kind: WebhookSubscription
metadata:
  name: channel-created
spec:
  workspace: acme-main
  service: channels
  event: channel.created
  url: http://127.0.0.1:8080/webhooks/bird
  signingKey: {fromEnv: SENDERCTL_DEMO_SIGNING_KEY}
"""


def subscriptions(emulator) -> set[str]:
    return {s["event"] for s in emulator.state()["webhookSubscriptions"]}


def test_spec_edit_leads_to_a_bird_write_and_an_invalid_edit_changes_nothing(tmp_path, emulator, daemons, sqlite_url):
    port = free_port()
    specs = quickstart_copy(tmp_path / "specs", port)
    d = daemons(specs, sqlite_url, emulator.url, port=port)
    d.wait_event("reconcile.done", timeout=30)
    assert "channel.created" not in subscriptions(emulator)

    hooks = specs / "webhooks.yaml"
    hooks.write_text(hooks.read_text() + NEW_SUBSCRIPTION)
    wait_until(lambda: "channel.created" in subscriptions(emulator), 30, "the new subscription on Bird")
    assert [e for e in d.events("specs.loaded") if "webhooks.yaml" in e["message"]]

    # A typo (a kind that does not exist) beside another new subscription: nothing may reach Bird.
    d.wait_event("reconcile.done", count=2, timeout=30)
    writes = emulator.writes()
    typo = NEW_SUBSCRIPTION.replace("channel-created", "sms-outbound-all").replace("channel.created", "sms.outbound")
    hooks.write_text(hooks.read_text() + typo.replace("kind: WebhookSubscription", "kind: WebhookSubscriptio"))
    invalid = d.wait_event("specs.invalid", timeout=30)[0]
    assert invalid["level"] == "error" and any("WebhookSubscriptio" in e for e in invalid["errors"])
    assert any(str(specs) in e for e in invalid["errors"]), "errors name the file"
    ready = d.get("/readyz")
    assert ready.status_code == 200, "the last valid specs stay in force"
    assert ready.json()["specs"]["status"] == "invalid" and ready.json()["specs"]["errors"]
    metrics = {s.name: s.value for f in text_string_to_metric_families(d.get("/metrics").text) for s in f.samples}
    assert metrics["senderctl_specs_valid"] == 0
    time.sleep(1.5)
    assert emulator.writes() == writes
    assert d.alive()

    # Fixing the typo puts the new set in force.
    hooks.write_text(hooks.read_text().replace("kind: WebhookSubscriptio\n", "kind: WebhookSubscription\n"))
    wait_until(lambda: "sms.outbound" in subscriptions(emulator), 30, "the fixed spec's subscription on Bird")
    assert d.get("/readyz").json()["specs"]["status"] == "valid"


def test_signed_brand_approval_webhook_creates_the_campaign_without_waiting_for_the_resync(
        tmp_path, emulator, daemons, sqlite_url):
    port = free_port()
    specs = quickstart_copy(tmp_path / "specs", port)
    d = daemons(specs, sqlite_url, emulator.url, port=port, resync="1h")
    d.wait_event("reconcile.done", timeout=30)
    assert not emulator.state()["campaigns"]

    started = time.monotonic()
    advanced = emulator.advance(3600 + 60)  # the emulator approves the brand and delivers 10dlc.brand
    brand_hooks = [x for x in advanced["deliveries"] if x["event"] == "10dlc.brand"]
    assert brand_hooks and all(x["delivered"] and x["status"] == 200 for x in brand_hooks)
    wait_until(lambda: emulator.state()["campaigns"], 20, "the campaign create")
    assert time.monotonic() - started < 20

    handled = d.events("webhook.handled")
    assert handled and "Campaign/acme-alerts" in handled[0]["addresses"]
    created = d.wait_event("change.applied", where=lambda e: e["address"] == "Campaign/acme-alerts")[0]
    assert created["bird_request_id"], "the log names Bird's request id"
    starts = d.events("reconcile.start")
    assert [s["scope"] for s in starts].count("full") == 1, "no resync ran: the webhook did it"

    # Campaign approval (+7 days) and the carriers' acknowledgement (+15 min) arrive as webhooks too:
    # the second number, both channels, then the channel-filtered subscriptions follow, all without a resync.
    emulator.advance(7 * 24 * 3600)
    wait_until(lambda: len(emulator.state()["connectors"]) == 2, 30, "both SMS channels")
    emulator.advance(15 * 60 + 60)
    wait_until(lambda: len([s for s in emulator.state()["webhookSubscriptions"] if s.get("eventFilters")]) == 4,
               30, "the four channel-filtered subscriptions")
    wait_until(lambda: d.get("/readyz").json()["lastReconcile"].get("waiting") == {}, 30, "nothing left waiting")
    assert [s["scope"] for s in d.events("reconcile.start")].count("full") == 1

    # An inbound SMS goes from Bird's webhook through the inbox to the number's user.
    alice = next(r["number"] for r in records(sqlite_url) if r["address"] == "PhoneNumber/alice-line")
    emulator.http.post("/_emulator/inbound", json={"to": alice, "from": "+12025550199", "text": "hi alice"}
                       ).raise_for_status()
    routed = d.wait_event("inbound.routed")[0]
    assert routed["outcome"] == "routed"
    assert [m["text"] for m in inbox(sqlite_url, "alice@acme.example")] == ["hi alice"]


def records(state_url: str) -> list[dict]:
    from controller.state import StateStore

    with StateStore.open(state_url) as store:
        return [{"address": r.address, **r.data} for r in store.records().values()]


def inbox(state_url: str, user: str) -> list[dict]:
    from controller import tenant
    from controller.state import StateStore

    with StateStore.open(state_url) as store:
        return tenant.inbox(store, "acme", user)


def test_webhook_answers_401_for_bad_signatures_ignores_replays_and_400s_garbage(
        tmp_path, emulator, daemons, sqlite_url):
    port = free_port()
    specs = quickstart_copy(tmp_path / "specs", port)
    d = daemons(specs, sqlite_url, emulator.url, port=port)
    d.wait_healthy()
    wait_until(lambda: d.get("/readyz").status_code == 200, 30, "readiness")
    url = f"http://127.0.0.1:{port}/webhooks/bird"
    body = json.dumps({"service": "numbers", "event": "10dlc.brand",
                       "payload": {"id": "unknown-brand", "status": "APPROVED"}}).encode()
    now = str(int(time.time()))

    def post(content: bytes, headers: dict[str, str]):
        return d.post("/webhooks/bird", content=content, headers={"content-type": "application/json", **headers})

    good = signed_headers(SIGNING_KEY, now, url, body, "req-1")
    assert post(body, {}).status_code == 401
    assert post(body, signed_headers("wrong-key", now, url, body, "req-2")).status_code == 401
    stale = str(int(time.time()) - 10 * 3600)  # older than Bird's 8 hours of retries
    assert post(body, signed_headers(SIGNING_KEY, stale, url, body, "req-3")).status_code == 401
    assert post(body + b" ", good).status_code == 401  # the body was altered
    assert post(body, {**good, "messagebird-request-timestamp": "1e999"}).status_code == 401

    first = post(body, good)
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    replay = post(body, good)
    assert replay.status_code == 200 and replay.json()["status"] == "replay"

    for n, garbage in enumerate([b"not json", b"[1, 2]", b'{"event": 5}', b"\xff\xfe", b"", b'{"payload": {}}']):
        r = post(garbage, signed_headers(SIGNING_KEY, now, url, garbage, f"garbage-{n}"))
        assert r.status_code == 400, (garbage, r.text)
    inbound = json.dumps({"service": "channels", "event": "sms.inbound", "payload": {"id": "m1"}}).encode()
    assert post(inbound, signed_headers(SIGNING_KEY, now, url, inbound, "inbound-bad")).status_code == 400

    huge = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    assert post(huge, signed_headers(SIGNING_KEY, now, url, huge, "huge")).status_code == 413

    outcomes: dict[str, float] = {}
    for family in text_string_to_metric_families(d.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "senderctl_webhooks_total":
                outcomes[sample.labels["outcome"]] = outcomes.get(sample.labels["outcome"], 0) + sample.value
    assert outcomes == {"accepted": 1, "replay": 1, "bad_signature": 5, "malformed": 7, "too_large": 1}
    handled = d.wait_event("webhook.handled", timeout=30)
    assert len(handled) == 1, "the replay was not handled a second time"
    assert "test-signing-key" not in d.text()


def test_failures_back_off_then_sigterm_mid_write_exits_0_within_10_s_and_a_restart_resolves_the_journal(
        tmp_path, emulator, daemons, sqlite_url):
    port = free_port()
    specs = quickstart_copy(tmp_path / "specs", port)
    # Bird fails the brand registration once: that resource backs off and is retried on its own.
    emulator.fault(method="POST", route="/workspaces/{workspaceId}/tcr-brands", effect="status", status=503, times=1)
    d = daemons(specs, sqlite_url, emulator.url, port=port)
    backoff = d.wait_event("resource.backoff", where=lambda e: e["address"] == "Brand/acme")[0]
    assert 3 <= backoff["retry_in"] <= 7, backoff
    wait_until(lambda: emulator.state()["brands"], 30, "the brand registered on the retry")
    assert len(emulator.state()["brands"]) == 1

    families = {f.name: f for f in text_string_to_metric_families(d.get("/metrics").text)}
    for name in ("senderctl_reconcile_duration_seconds", "senderctl_bird_requests", "senderctl_work_queue_depth",
                 "senderctl_resources", "senderctl_webhooks", "senderctl_leader",
                 "senderctl_last_successful_sync_timestamp_seconds"):
        assert name in families, name
    assert families["senderctl_leader"].samples[0].value == 1
    bird = [s for s in families["senderctl_bird_requests"].samples if s.name.endswith("_total")]
    assert any(s.labels["method"] == "POST" and s.labels["status"] == "503" for s in bird)
    assert any(s.labels["method"] == "POST" and s.labels["status"] == "201" for s in bird)
    wait_until(lambda: any(s.value > time.time() - 60 for f in text_string_to_metric_families(d.get("/metrics").text)
                           for s in f.samples if s.name == "senderctl_last_successful_sync_timestamp_seconds"),
               30, "a successful sync")
    assert "emulator-key" not in d.text()

    # A new subscription whose create hangs on Bird; SIGTERM arrives while the write is in flight.
    emulator.fault(method="POST", route="/organizations/{organizationId}/workspaces/{workspaceId}/webhook-subscriptions",
                   effect="timeout", seconds=30, times=1)
    hooks = specs / "webhooks.yaml"
    hooks.write_text(hooks.read_text() + NEW_SUBSCRIPTION)
    wait_until(lambda: [o for o in open_operations(sqlite_url) if o == "WebhookSubscription/channel-created"], 30,
               "the create's journal entry")
    code, seconds = d.terminate()
    assert code == 0 and seconds < 10, (code, seconds)
    assert d.events("daemon.stopped")
    assert open_operations(sqlite_url) == ["WebhookSubscription/channel-created"], "the in-flight write is journaled"

    # The next daemon resolves the open entry by re-reading Bird, and the subscription exists once.
    again = daemons(specs, sqlite_url, emulator.url, port=port)
    again.wait_event("reconcile.done")
    wait_until(lambda: not open_operations(sqlite_url), 30, "the journal entry resolved")
    assert sorted(subscriptions_list(emulator)).count("channel.created") == 1


def open_operations(state_url: str) -> list[str]:
    from controller.state import StateStore

    with StateStore.open(state_url) as store:
        return [o.address for o in store.open_operations()]


def subscriptions_list(emulator) -> list[str]:
    return [s["event"] for s in emulator.state()["webhookSubscriptions"]]


def test_a_second_daemon_on_the_same_sqlite_state_refuses_to_start(tmp_path, emulator, daemons, sqlite_url):
    specs = quickstart_copy(tmp_path / "specs", free_port())
    first = daemons(specs, sqlite_url, emulator.url)
    first.wait_healthy()
    second = daemons(specs, sqlite_url, emulator.url)
    code = second.proc.wait(timeout=20)
    assert code == 1
    message = second.text()
    assert "another senderctl daemon already runs" in message
    assert f"pid {first.proc.pid}" in message and "PostgreSQL" in message
    assert first.alive() and first.get("/healthz").status_code == 200


@pytest.mark.parametrize("public_url", ["https://hooks.acme.example:8443", "https://203.0.113.7",
                                        "http://hooks.acme.example"])
def test_a_public_url_bird_would_refuse_stops_the_daemon_at_start_naming_the_rule(tmp_path, emulator, daemons,
                                                                                   sqlite_url, public_url):
    """Bird refuses a subscription URL with a port or an IP address (or plain http): a daemon announcing one
    would never hear an event, so it does not start."""
    specs = quickstart_copy(tmp_path / "specs", free_port())
    daemon = daemons(specs, sqlite_url, emulator.url, extra=("--public-url", public_url))
    assert daemon.proc.wait(timeout=30) == 1
    message = daemon.text()
    assert f"--public-url {public_url}" in message and "Traceback" not in message
    assert "https" in message and ("no port" in message or "HTTPS only" in message)
    assert emulator.state()["numbers"] == [], "nothing was done"


@pytest.mark.postgres
def test_daemons_on_postgresql_have_one_leader_a_standby_takes_over_after_sigkill_and_after_sigterm(
        tmp_path, emulator, daemons, postgres_url):
    port = free_port()
    specs = quickstart_copy(tmp_path / "specs", port)
    a = daemons(specs, postgres_url, emulator.url, port=port)
    b = daemons(specs, postgres_url, emulator.url)
    a.wait_healthy()
    b.wait_healthy()
    roles = wait_until(lambda: (lambda r: r if set(r) == {"leader", "standby"} else None)((a.role(), b.role())),
                       20, "one leader and one standby")
    leader, standby = (a, b) if roles[0] == "leader" else (b, a)
    for _ in range(20):  # never two leaders at the same moment
        assert (a.role(), b.role()).count("leader") <= 1
        time.sleep(0.05)
    leader.wait_event("reconcile.done", timeout=30)

    # A webhook received by the standby is handed to the leader through the state database.
    url = f"{standby.url}/webhooks/bird"
    body = json.dumps({"service": "numbers", "event": "10dlc.brand", "payload": {"id": "x"}}).encode()
    r = standby.post("/webhooks/bird", content=body,
                     headers=signed_headers(SIGNING_KEY, str(int(time.time())), url, body, "handoff-1"))
    assert r.status_code == 200
    handled = leader.wait_event("webhook.handled", timeout=30)[0]
    assert handled["bird_request_id"] == "handoff-1" and f"pid={standby.proc.pid} " in handled["received_by"]

    leader.proc.kill()
    killed_at, killed_wall = time.monotonic(), time.time()
    leader.proc.wait(timeout=5)
    wait_until(lambda: standby.role() == "leader", 15, "the standby to take over")
    took = time.monotonic() - killed_at
    assert took < 15, took
    # The standby's leadership began only after the old leader was gone (the logs' wall-clock times).
    acquired = standby.wait_event("leader.acquired")[0]
    assert datetime.fromisoformat(acquired["ts"].replace("Z", "+00:00")).timestamp() >= killed_wall - 0.01
    standby.wait_event("reconcile.done", timeout=30)
    assert standby.get("/readyz").json()["role"] == "leader"

    # SIGTERM releases leadership on the way out: a third daemon takes over at its next try.
    third = daemons(specs, postgres_url, emulator.url)
    third.wait_event("leader.standby", timeout=30)
    code, seconds = standby.terminate()
    assert code == 0 and seconds < 10, (code, seconds)
    assert standby.events("leader.released")
    third.wait_event("leader.acquired", timeout=20)


def test_each_full_reconcile_bills_the_week_just_ended_once(tmp_path, emulator, daemons, sqlite_url):
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from controller import tenant
    from controller.state import StateStore

    week = tenant.previous_week(datetime.now(UTC))
    with StateStore.open(sqlite_url) as store:
        tenant.sync_org_config(store, "acme", bird_organization_id="11111111-1111-4111-8111-111111111111",
                               enabled=True, limit=5, weekly_price=Decimal("2.99"))
        tenant.record_number_acquired(store, "acme", "acme-main", "+12125550123", bird_number_id="n-1",
                                      monthly_price=Decimal("1.15"), at=datetime.now(UTC) - timedelta(days=15))
    port = free_port()
    specs = quickstart_copy(tmp_path / "specs", port)
    d = daemons(specs, sqlite_url, emulator.url, port=port, resync="2s")
    billed = d.wait_event("billing.run", timeout=40)[0]
    assert billed["week"] == week and billed["written"] == 1
    d.wait_event("reconcile.done", count=3, timeout=40, where=lambda e: e.get("scope") == "full")
    assert len(d.events("billing.run")) == 1, "later resyncs find the week billed"
    with StateStore.open(sqlite_url) as store:
        rows = tenant.usage_logs(store, week=week)
    assert [(r["number"], r["amount"], r["eventType"]) for r in rows] == [("+12125550123", "2.99", "phone_number_weekly")]
