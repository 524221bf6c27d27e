"""The daemon's HTTP app in process (real Daemon object, real SQLite state, real signing): webhook
verdicts, the standby-to-leader hand-off through the state, readiness. Hypothesis throws arbitrary
headers and bodies at it: the answer is never a 5xx."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.bird.signing import signed_headers
from controller.daemon.config import DaemonOptions
from controller.daemon.http import create_app
from controller.daemon.metrics import Metrics
from controller.daemon.queue import FULL
from controller.daemon.service import Daemon
from controller.reconcile.engine import Settings
from controller.state import StateStore
from controller.state.leader import open_leadership
from controller.state.webhook_inbox import pending_webhooks
from tests.daemon.conftest import SIGNING_KEY, quickstart_copy

URL = "http://127.0.0.1:8080/webhooks/bird"


def make_daemon(specs: Path, state_url: str) -> Daemon:
    options = DaemonOptions(paths=(str(specs),), state_url=state_url, bird_url="http://127.0.0.1:9",
                            listen="127.0.0.1:8080", health_details="loopback")
    settings = Settings(state_url=state_url, bird_url=options.bird_url, access_key="unused-here",
                        environ={**os.environ, "SENDERCTL_DEMO_SIGNING_KEY": SIGNING_KEY})
    leadership = open_leadership(state_url)
    store = StateStore.open(state_url)
    leadership.attach(store.engine)
    return Daemon(options, settings, store, leadership, Metrics())


@pytest.fixture
def daemon(tmp_path: Path, state_url: str) -> Iterator[Daemon]:
    """On SQLite and on PostgreSQL: what one database stores, the other might refuse (e.g. Infinity)."""
    d = make_daemon(quickstart_copy(tmp_path / "specs", 8080), state_url)
    asyncio.run(d.reload_specs("test"))
    yield d
    d.leadership.release()
    d.store.close()


def post(daemon: Daemon, body: bytes, headers: dict[str, Any]) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(daemon))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            return await client.post("/webhooks/bird", content=body, headers=headers)

    return asyncio.run(go())


def get(daemon: Daemon, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(daemon))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            return await client.get(path)

    return asyncio.run(go())


def signed(body: bytes, request_id: str, key: str = SIGNING_KEY, url: str = URL) -> dict[str, str]:
    return signed_headers(key, str(int(time.time())), url, body, request_id)


BRAND_EVENT = json.dumps({"service": "numbers", "event": "10dlc.brand",
                          "payload": {"id": "brand-1", "status": "APPROVED"}}).encode()


def test_a_standby_records_verified_events_for_the_leader_and_a_replay_once(daemon):
    daemon.role = "standby"
    assert post(daemon, BRAND_EVENT, signed(BRAND_EVENT, "r-1")).json()["status"] == "accepted"
    assert post(daemon, BRAND_EVENT, signed(BRAND_EVENT, "r-1")).json()["status"] == "replay"
    pending = pending_webhooks(daemon.store)
    assert [(p.request_id, p.event) for p in pending] == [("r-1", "10dlc.brand")]
    assert daemon.queue.entries == {}, "a standby does not act"

    # The leader (here: the same object after an election) queues what the event concerns.
    daemon.role = "leader"
    outcome = asyncio.run(daemon.handle(pending[0]))
    assert outcome.startswith("queued")
    assert {"Brand/acme", "Campaign/acme-alerts", "Channel/alice-line"} <= set(daemon.queue.entries)


def test_the_signature_may_be_for_the_public_url_or_a_subscription_url(tmp_path, sqlite_url):
    specs = quickstart_copy(tmp_path / "specs", 8080)
    d = make_daemon(specs, sqlite_url)
    try:
        d.options = DaemonOptions(paths=d.options.paths, state_url=sqlite_url, bird_url="http://b",
                                  public_url="https://hooks.acme.example", health_details="loopback")
        asyncio.run(d.reload_specs("test"))
        public = "https://hooks.acme.example/webhooks/bird"
        assert post(d, BRAND_EVENT, signed(BRAND_EVENT, "p-1", url=public)).status_code == 200
        assert post(d, BRAND_EVENT, signed(BRAND_EVENT, "p-2", url=URL)).status_code == 200  # the specs' URL
        other = "https://evil.example/webhooks/bird"
        assert post(d, BRAND_EVENT, signed(BRAND_EVENT, "p-3", url=other)).status_code == 401
    finally:
        d.leadership.release()
        d.store.close()


def test_without_a_readable_signing_key_every_webhook_is_refused_and_readiness_says_why(tmp_path, sqlite_url):
    d = make_daemon(quickstart_copy(tmp_path / "specs", 8080), sqlite_url)
    try:
        d.settings.environ = {k: v for k, v in os.environ.items() if k != "SENDERCTL_DEMO_SIGNING_KEY"}
        asyncio.run(d.reload_specs("test"))
        r = post(d, BRAND_EVENT, signed(BRAND_EVENT, "k-1"))
        assert r.status_code == 401 and "no signing key is configured" in r.json()["message"]
    finally:
        d.leadership.release()
        d.store.close()


def test_readiness_needs_valid_specs_and_a_role(tmp_path, sqlite_url):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "broken.yaml").write_text("apiVersion: senderctl/v1\nkind: Brand\nmetadata: {name: Bad_Name}\n")
    d = make_daemon(specs, sqlite_url)
    try:
        asyncio.run(d.reload_specs("startup"))
        r = get(d, "/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["specs"]["status"] == "invalid" and body["specs"]["inForce"].startswith("none")
        assert any("broken.yaml" in e for e in body["specs"]["errors"])
        assert get(d, "/healthz").status_code == 200
        (specs / "broken.yaml").write_text("# everything was deleted by mistake\n")
        asyncio.run(d.reload_specs("emptied"))
        assert "no spec documents" in get(d, "/readyz").json()["specs"]["errors"][0]
        (specs / "broken.yaml").unlink()
        d.role = "leader"
        quickstart_copy(tmp_path / "good", 8080)
        for f in (tmp_path / "good").iterdir():
            f.rename(specs / f.name)
        asyncio.run(d.reload_specs("fixed"))
        r = get(d, "/readyz")
        assert r.status_code == 200 and r.json()["specs"]["status"] == "valid"
        assert FULL not in d.queue.entries, "reload_specs alone queues nothing; the watcher does"
    finally:
        d.leadership.release()
        d.store.close()


HEADER_NAMES = st.sampled_from(["messagebird-signature", "messagebird-request-timestamp", "messagebird-request-id",
                                "content-type", "content-length-x", "x-anything"])
HEADER_VALUES = st.one_of(st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60),
                          st.sampled_from(["1e999", "nan", "-inf", "0", str(int(time.time())), "=", "AAAA"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300), headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=4))
def test_arbitrary_unsigned_input_never_gets_a_5xx(daemon, body, headers):
    r = post(daemon, body, {k: v.encode("latin-1") for k, v in headers.items() if v == v.strip()})
    assert r.status_code == 401, r.text


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                     max_size=4), max_leaves=12)


@pytest.mark.parametrize("body", [b"[" * 200_000 + b"]" * 200_000, b'{"event": "x", "payload": ' * 5000,
                                  b'{"event": "10dlc.brand", "payload": {"id": 1e999}}', b"\x00" * 100,
                                  b'{"event": "x", "payload": {"n": NaN}}',
                                  b'{"event": "x", "payload": {"t": "\\u0000 nul"}}',
                                  b'{"event": "\\u0000", "payload": {}}'],
                         ids=["deep-array", "deep-object", "infinite-number", "nul-bytes", "nan", "nul-in-text",
                              "nul-event-name"])
def test_hostile_signed_bodies_get_400_or_are_accepted_as_data(daemon, body):
    r = post(daemon, body, signed(body, f"hostile-{len(body)}-{body[:3]!r}"))
    assert r.status_code in (200, 400), r.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.one_of(JSONISH, st.fixed_dictionaries(
    {"event": st.sampled_from(["sms.inbound", "10dlc.brand", "channel.updated", "x"]), "payload": JSONISH})),
    raw=st.binary(max_size=100), use_raw=st.booleans(), n=st.integers(0, 10**9))
def test_signed_garbage_gets_400_and_signed_events_200_never_a_5xx(daemon, document, raw, use_raw, n):
    body = raw if use_raw else json.dumps(document).encode()
    r = post(daemon, body, signed(body, f"fuzz-{n}-{hash(body)}"))
    assert r.status_code in (200, 400), r.text


def inbound_document(message_id: str) -> dict[str, Any]:
    return {"service": "channels", "event": "sms.inbound", "payload": {
        "id": message_id, "sender": {"contact": {"identifierKey": "phonenumber", "identifierValue": "+12025550199"}},
        "receiver": {"connector": {"identifierValue": "+14155550123"}}, "body": {"type": "text", "text": {"text": "hi"}},
        "direction": "incoming"}}


def test_a_drained_batch_routes_every_message_even_past_one_that_cannot_be(daemon):
    from datetime import UTC, datetime

    from controller.state.webhook_inbox import record_webhook
    from controller.tenant import unrouted

    now = datetime.now(UTC)
    # Written to the inbox as a receiver would (a message without an id cannot be routed idempotently).
    for request_id, message_id in (("r-1", "m-1"), ("r-2", ""), ("r-3", "m-3")):
        record_webhook(daemon.store, request_id=request_id, event="sms.inbound", body=inbound_document(message_id),
                       received_by="test", at=now)
    batch, outcomes = daemon.take_batch()
    by_request = {item.request_id: outcomes[item.id] for item in batch}
    assert by_request["r-2"].startswith("failed:")
    assert by_request["r-1"].startswith("unrouted:") and by_request["r-3"].startswith("unrouted:")
    assert {m["messageId"] for m in unrouted(daemon.store)} == {"m-1", "m-3"}
    assert pending_webhooks(daemon.store) == []  # all three handled, in the same transaction as the routing
    assert daemon.take_batch() == ([], {})
