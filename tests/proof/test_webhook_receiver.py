"""The daemon's POST /webhooks/bird against a running `senderctl daemon` process: hypothesis throws
deliveries with a bad or missing signature, a stale or future timestamp, a wrong content type, an
oversized, truncated, deeply nested or non-JSON body, or an unknown event at it. Every answer is a 4xx,
never a 5xx, and nothing is applied: no Bird write, nothing recorded in the webhook inbox."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.bird.signing import signed_headers
from tests.daemon.conftest import Daemon, free_port, quickstart_copy, wait_until
from tests.proof.harness import apply_in_process, record
from tests.support import EmulatorAdmin

SIGNING_KEY = "test-signing-key"  # tests/daemon's Daemon signs with it
TOLERANCE = 300
RETRY_HORIZON = 9 * 3600
EVENT = {"service": "numbers", "event": "10dlc.brand", "payload": {"id": "brand-from-a-stranger",
                                                                   "status": "APPROVED"}}
_tried: dict[str, int] = {}


class Receiver:
    def __init__(self, daemon: Daemon, url: str, state_url: str) -> None:
        self.daemon, self.url, self.state_url = daemon, url, state_url
        self.http = httpx.Client(base_url=daemon.url, timeout=30)

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.http.post("/webhooks/bird", content=body, headers=headers)

    def signed(self, body: bytes, *, ts: int | None = None, key: str = SIGNING_KEY, rid: str = "r") -> dict[str, str]:
        headers = signed_headers(key, str(ts if ts is not None else int(time.time())), self.url, body, rid)
        return {**headers, "content-type": "application/json"}

    def inbox(self) -> int:
        from sqlalchemy import func, select

        from controller.state import StateStore
        from controller.state.webhook_inbox import WebhookEventRow

        with StateStore.open(self.state_url) as store, store.session() as session:
            return session.execute(select(func.count()).select_from(WebhookEventRow)).scalar_one()


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Receiver, EmulatorAdmin]]:
    from controller.emulator.server import running_emulator

    work = tmp_path_factory.mktemp("receiver")
    port = free_port()
    specs = quickstart_copy(work / "specs", port)
    state_url = f"sqlite:///{work / 'state.db'}"
    with running_emulator() as running:
        emulator = EmulatorAdmin(running.url)
        # The daemon's first reconcile then writes nothing (same signing key as the daemon's).
        apply_in_process(specs, running.url, state_url, {"SENDERCTL_DEMO_SIGNING_KEY": SIGNING_KEY})
        daemon = Daemon(specs, state_url, running.url, work, port=port)
        try:
            daemon.wait_healthy()
            wait_until(lambda: daemon.get("/readyz").status_code == 200, 40, "the daemon's /readyz")
            wait_until(lambda: "reconcile.done" in daemon.text(), 60, "the first reconcile")
            emulator.zero_requests()
            yield Receiver(daemon, f"http://127.0.0.1:{port}/webhooks/bird", state_url), emulator
        finally:
            daemon.proc.terminate()
            daemon.proc.wait(15)
            daemon.log_file.close()
            emulator.close()


def hostile(kind: str, data: st.DataObject, r: Receiver) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(EVENT).encode()
    now = int(time.time())
    rid = f"hostile-{kind}-{data.draw(st.integers(0, 10**12))}"
    if kind == "missing-signature":
        headers = r.signed(body, rid=rid)
        drop = data.draw(st.sets(st.sampled_from(["messagebird-signature", "messagebird-request-timestamp"]),
                                 min_size=1))
        return body, {k: v for k, v in headers.items() if k not in drop}
    if kind == "bad-signature":
        how = data.draw(st.sampled_from(["wrong-key", "garbage", "other-body", "other-url"]))
        if how == "wrong-key":
            return body, r.signed(body, key=data.draw(st.text(min_size=1, max_size=20)), rid=rid)
        if how == "garbage":
            return body, {**r.signed(body, rid=rid), "messagebird-signature": data.draw(
                st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=60))}
        if how == "other-body":
            return body + b" ", r.signed(body, rid=rid)
        return body, signed_headers(SIGNING_KEY, str(now), "https://evil.example/webhooks/bird", body, rid)
    if kind == "stale-timestamp":  # a captured delivery replayed after Bird's retries have ended
        return body, r.signed(body, ts=now - data.draw(st.integers(RETRY_HORIZON + 5, 10**8)), rid=rid)
    if kind == "future-timestamp":
        return body, r.signed(body, ts=now + data.draw(st.integers(TOLERANCE + 5, 10**8)), rid=rid)
    if kind == "wrong-content-type":
        media = data.draw(st.sampled_from(["text/plain", "application/x-www-form-urlencoded", "text/html",
                                           "multipart/form-data; boundary=x", "application/xml"]))
        return body, {**r.signed(body, rid=rid), "content-type": media}
    if kind == "oversized":
        big = json.dumps({**EVENT, "payload": {"pad": "x" * (1024 * 1024 + data.draw(st.integers(1, 5000)))}})
        return big.encode(), r.signed(big.encode(), rid=rid)
    if kind == "truncated":
        cut = body[: data.draw(st.integers(1, len(body) - 1))]
        return cut, r.signed(cut, rid=rid)
    if kind == "deeply-nested":
        depth = data.draw(st.integers(200, 100_000))
        nested = (b'{"event": "10dlc.brand", "payload": ' * depth) if data.draw(st.booleans()) else b"[" * depth
        return nested, r.signed(nested, rid=rid)
    if kind == "non-json":
        raw = data.draw(st.binary(min_size=1, max_size=200).filter(lambda b: not looks_like_event(b)))
        return raw, r.signed(raw, rid=rid)
    if kind == "unknown-event":
        name = data.draw(st.from_regex(r"[a-z][a-z0-9]{0,10}\.[a-z]{1,10}", fullmatch=True).filter(
            lambda n: n not in {"10dlc.brand", "10dlc.campaign", "10dlc.vetting", "channel.updated",
                                "channel.created", "sms.inbound", "sms.outbound"}))
        doc = json.dumps({"service": "numbers", "event": name, "payload": {"id": "x"}}).encode()
        return doc, r.signed(doc, rid=rid)
    raise AssertionError(kind)


def looks_like_event(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


KINDS = ["missing-signature", "bad-signature", "stale-timestamp", "future-timestamp", "wrong-content-type",
         "oversized", "truncated", "deeply-nested", "non-json", "unknown-event"]


@pytest.mark.slow
@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_hostile_deliveries_get_a_4xx_and_change_nothing(receiver: tuple[Receiver, EmulatorAdmin], kind: str,
                                                         data: st.DataObject) -> None:
    r, emulator = receiver
    body, headers = hostile(kind, data, r)
    answer = r.post(body, headers)
    assert 400 <= answer.status_code < 500, (kind, answer.status_code, answer.text[:300])
    _tried[kind] = _tried.get(kind, 0) + 1
    assert r.inbox() == 0, f"{kind}: a hostile delivery was recorded"
    assert r.daemon.alive()
    record("webhook_receiver", deliveries_tried=sum(_tried.values()), by_kind=dict(_tried), five_xx=0,
           recorded=0, bird_writes=0)


@pytest.mark.slow
def test_after_the_storm_nothing_was_applied_and_a_replay_counts_once(
        receiver: tuple[Receiver, EmulatorAdmin]) -> None:
    r, emulator = receiver
    assert emulator.write_routes() == {}, emulator.write_routes()
    assert r.inbox() == 0
    # A genuine delivery, then the same delivery again inside the window: recorded once.
    body = json.dumps(EVENT).encode()
    headers = r.signed(body, rid="genuine-1")
    assert r.post(body, headers).status_code == 200
    again = r.post(body, headers)
    assert again.status_code < 500 and again.json().get("status") == "replay", again.text
    assert r.inbox() == 1
    assert "Traceback" not in r.daemon.text()


def test_unit_content_type_and_unknown_event() -> None:
    """The same rules on the pure check (fast: runs in every suite)."""
    from controller.daemon.specview import Subscription
    from controller.daemon.webhooks import check

    body = json.dumps(EVENT).encode()
    url = "http://127.0.0.1:1/webhooks/bird"
    now = int(time.time())
    subscriptions = [Subscription("WebhookSubscription/x", "ws", "numbers", "10dlc.brand", url, SIGNING_KEY)]
    base: dict[str, Any] = {"subscriptions": subscriptions, "public_url": url, "now": now, "tolerance": TOLERANCE,
                            "subscribed": {"10dlc.brand"}}
    headers = signed_headers(SIGNING_KEY, str(now), url, body, "u-1")
    assert check({**headers, "content-type": "application/json; charset=utf-8"}, body, **base).status == 200
    assert check(headers, body, **base).status == 200  # no content type: taken as JSON
    assert check({**headers, "content-type": "text/plain"}, body, **base).status == 415
    odd = json.dumps({"event": "whatsapp.inbound", "payload": {}}).encode()
    assert check(signed_headers(SIGNING_KEY, str(now), url, odd, "u-2"), odd, **base).status == 400
    assert check(signed_headers(SIGNING_KEY, str(now), url, odd, "u-3"), odd,
                 **{**base, "subscribed": {"whatsapp.inbound"}}).status == 200
