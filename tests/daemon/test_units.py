"""The daemon's pure parts: durations, listen addresses, the work queue, event routing, redaction."""

from __future__ import annotations

import io
import json
import logging
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.daemon.config import DaemonOptions, parse_duration, parse_listen
from controller.daemon.logs import JsonFormatter, Redactor
from controller.daemon.queue import FULL, Backoff, WorkQueue, jittered
from controller.daemon.routing import affected, dependents, event_of, id_index, payload_ids
from controller.resources.base import Desired, RecordView


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("10m", 600), ("1h", 3600), ("1h30m", 5400),
                                               ("90", 90), ("250ms", 0.25), (" 2M ", 120)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "10x", "0s", "-5m", "m", "1h 30m", "10m10"])
def test_bad_durations_say_how_to_write_one(text):
    with pytest.raises(ValueError, match="30s|more than zero"):
        parse_duration(text)


def test_listen_addresses():
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    for bad in ("8080", "host:", ":80", "h:99999", "h:x"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_listen(bad)


def test_webhook_url_is_the_public_url_when_given():
    options = DaemonOptions(paths=("s",), state_url="sqlite://", bird_url="http://b", listen="0.0.0.0:8080")
    assert options.webhook_url() == "http://127.0.0.1:8080/webhooks/bird"
    public = DaemonOptions(paths=("s",), state_url="sqlite://", bird_url="http://b",
                           public_url="https://hooks.acme.example/")
    assert public.webhook_url() == "https://hooks.acme.example/webhooks/bird"
    assert DaemonOptions(paths=(), state_url="", bird_url="", public_url="https://h.example/webhooks/bird"
                         ).webhook_url() == "https://h.example/webhooks/bird"


@given(st.floats(1, 1e6), st.integers(0, 2**32))
def test_resync_jitter_stays_within_ten_percent(seconds, seed):
    value = jittered(seconds, 0.10, random.Random(seed))
    assert seconds * 0.9 - 1e-9 <= value <= seconds * 1.1 + 1e-9


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling():
    rng = random.Random(1)
    backoff = Backoff(initial=5, factor=2, maximum=600, jitter=0.2)
    delays = [backoff.delay(n, rng) for n in range(1, 12)]
    for n, delay in enumerate(delays[:6], 1):
        base = 5 * 2 ** (n - 1)
        assert base * 0.8 <= delay <= base * 1.2
    assert all(d <= 600 * 1.2 for d in delays)
    assert len({round(backoff.delay(3, random.Random(s)), 6) for s in range(20)}) > 10, "jitter spreads retries"


def test_the_queue_keeps_a_key_once_at_its_earliest_time_and_batches_due_work():
    q = WorkQueue(rng=random.Random(0))
    assert q.add("Brand/a", 100, "recheck")
    assert not q.add("Brand/a", 200, "later")
    assert q.add("Brand/a", 50, "webhook")
    q.add("Campaign/c", 50.2, "webhook")
    q.add(FULL, 1000, "resync")
    assert len(q) == 3 and q.next_due() == 50
    assert q.pop_due(40) == {}
    assert q.pop_due(50) == {"Brand/a": "webhook", "Campaign/c": "webhook"}
    assert list(q.entries) == [FULL]


def test_rechecks_with_slack_ride_along_with_due_work_instead_of_each_waking_the_loop():
    q = WorkQueue()
    q.add("Channel/a", 300, "re-check", slack=60)
    q.add("Channel/b", 330, "re-check", slack=60)
    q.add("Channel/far", 500, "re-check", slack=60)
    assert q.pop_due(250) == {}, "slack never makes work start early on its own"
    assert set(q.pop_due(300)) == {"Channel/a", "Channel/b"}
    assert set(q.entries) == {"Channel/far"}


def test_failures_back_off_per_key_and_success_resets():
    q = WorkQueue(backoff=Backoff(initial=10, factor=2, maximum=1000, jitter=0.0))
    assert q.failed("Brand/a", 0, "boom") == 10
    q.pop_due(10)
    assert q.failed("Brand/a", 10, "boom") == 20
    assert q.failed("Campaign/c", 10, "boom") == 10, "another key has its own count"
    q.succeeded("Brand/a")
    q.entries.clear()
    assert q.failed("Brand/a", 0, "boom") == 10


def desired(address: str, *deps: str) -> Desired:
    return Desired(address=address, kind=address.split("/")[0], organization="acme", fields={}, depends_on=deps)


DESIRED = [
    desired("Brand/acme", "Workspace/w"), desired("Vetting/acme", "Brand/acme"),
    desired("Campaign/alerts", "Brand/acme"), desired("PhoneNumber/alice", "Workspace/w"),
    desired("Channel/alice", "PhoneNumber/alice", "Campaign/alerts"),
    desired("WebhookSubscription/in", "Channel/alice"), desired("WebhookSubscription/brand-status"),
]
RECORDS = {
    "Brand/acme": RecordView("Brand/acme", "Brand", "brand-1", None, {}, {}),
    "Campaign/alerts": RecordView("Campaign/alerts", "Campaign", "camp-1", None, {}, {"brandId": "brand-1"}),
    "Channel/alice": RecordView("Channel/alice", "Channel", "conn-1", None, {},
                                {"channelId": "chan-1", "campaignId": "camp-1", "number": "+14155550100"}),
}


def test_dependents_are_transitive():
    assert dependents(DESIRED, ["Campaign/alerts"]) == {"Campaign/alerts", "Channel/alice", "WebhookSubscription/in"}


def test_a_brand_event_concerns_the_brand_and_what_depends_on_it():
    index = id_index(RECORDS)
    got = affected("10dlc.brand", {"id": "brand-1", "status": "APPROVED"}, index, DESIRED)
    assert got == {"Brand/acme", "Vetting/acme", "Campaign/alerts", "Channel/alice", "WebhookSubscription/in"}


def test_campaign_and_channel_events_map_their_ids_to_their_own_kind_only():
    index = id_index(RECORDS)
    assert affected("10dlc.campaign", {"id": "camp-1", "brandId": "brand-1"}, index, DESIRED) == {
        "Campaign/alerts", "Channel/alice", "WebhookSubscription/in"}
    assert affected("channel.updated", {"id": "chan-1", "status": "active"}, index, DESIRED) == {
        "Channel/alice", "WebhookSubscription/in"}


def test_an_unknown_id_falls_back_to_every_resource_of_the_kind_and_other_events_concern_none():
    assert affected("10dlc.campaign", {"id": "not-recorded"}, id_index(RECORDS), DESIRED) == {
        "Campaign/alerts", "Channel/alice", "WebhookSubscription/in"}
    assert affected("sms.outbound", {"id": "chan-1"}, id_index(RECORDS), DESIRED) == set()


def test_payload_ids_look_one_level_down():
    assert payload_ids({"id": "a", "channel": {"channelId": "b"}, "text": "c", "brandId": 5}) == {"a", "b", "5"}


@pytest.mark.parametrize("body", [None, [], "x", {"event": 5}, {"payload": {}}, {"event": "", "payload": {}},
                                  {"event": "10dlc.brand", "payload": []}])
def test_bodies_that_are_not_bird_events(body):
    assert event_of(body) is None


def test_redaction_covers_registered_secrets_access_keys_and_url_passwords():
    redact = Redactor()
    redact.add("s3cret-signing-key")
    redact.add("abc")  # too short to redact safely: ignored
    line = redact("key s3cret-signing-key; Authorization: AccessKey live_123; postgresql://u:pw@db/x; abc")
    assert "s3cret" not in line and "live_123" not in line and ":pw@" not in line and line.endswith("abc")


def test_json_log_lines_carry_fields_and_never_a_secret():
    redact = Redactor()
    redact.add("emulator-key")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(redact))
    logger = logging.getLogger("test.daemon.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise RuntimeError("Bird said: bad key emulator-key")
    except RuntimeError:
        logger.error("create Brand/acme failed", exc_info=True,
                     extra={"event": "change.failed", "address": "Brand/acme", "bird_request_id": "r-1"})
    line = json.loads(stream.getvalue())
    assert line["event"] == "change.failed" and line["address"] == "Brand/acme" and line["bird_request_id"] == "r-1"
    assert "emulator-key" not in stream.getvalue() and "[redacted]" in line["error"]


def test_a_batch_of_deliveries_and_of_routed_messages_is_one_log_line_naming_each(caplog: pytest.LogCaptureFixture):
    from types import SimpleNamespace

    from controller.daemon.service import log_received, log_routed

    verdicts = [SimpleNamespace(request_id=f"r-{i}", event="sms.inbound") for i in range(3)]
    with caplog.at_level(logging.INFO, logger="senderctl.daemon"):
        log_received(verdicts, [True, False, True], role="leader")
        log_routed([{"bird_request_id": "r-0", "outcome": "routed", "organization": "acme", "reason": "to alice"},
                    {"bird_request_id": "r-2", "outcome": "unrouted", "organization": "acme", "reason": "no user"},
                    "failed: logged when it failed"])
        log_routed([{"bird_request_id": "r-5", "outcome": "routed", "organization": "acme", "reason": "to bob"}])
        log_routed([])
    lines = [(r.event, r) for r in caplog.records]
    assert [name for name, _ in lines] == ["webhook.accepted", "webhook.replay", "inbound.routed", "inbound.routed"]
    assert lines[0][1].bird_request_ids == ["r-0", "r-2"] and lines[0][1].count == 2
    assert lines[1][1].bird_request_ids == ["r-1"]
    batch, alone = lines[2][1], lines[3][1]
    assert batch.outcome == "mixed" and batch.outcomes == {"routed": 1, "unrouted": 1}
    assert [m["bird_request_id"] for m in batch.messages] == ["r-0", "r-2"]
    assert alone.outcome == "routed" and alone.bird_request_id == "r-5" and alone.organization == "acme"


def test_the_webhook_directory_reads_at_once_what_this_process_recorded_and_otherwise_once_per_interval():
    from controller.daemon.directory import Directory, Place

    state: dict[str, Place] = {"ch-1": Place("ws-1", "+12025550100", "ch-1")}
    reads: list[int] = []
    changed = [0]

    def load() -> dict[str, Place]:
        reads.append(1)
        return dict(state)

    directory = Directory(load, refresh_seconds=3600, changes=lambda: changed[0])
    assert directory.find(["ch-1"]) == state["ch-1"] and len(reads) == 1
    # Another process's channel, unknown ids flooding in: one read per interval, not one per lookup.
    state["ch-2"] = Place("ws-1", "+12025550101", "ch-2")
    assert [directory.find(["ch-2"]) for _ in range(50)] == [None] * 50 and len(reads) == 1
    assert not directory.stale()
    # This process recorded a channel (a reconcile saved it): the next lookup reads the state again, once.
    changed[0] += 1
    assert directory.stale()
    assert directory.find(["ch-2"]) == state["ch-2"] and len(reads) == 2
    assert directory.find(["ch-3"]) is None and len(reads) == 2


def test_the_settle_window_counts_from_the_newest_spec_file_and_never_exceeds_its_length():
    from controller.daemon.settle import settle_wait

    now = 1_000_000.0
    written = lambda *ages: tuple((f"f{i}.yaml", 10, int((now - age) * 1e9)) for i, age in enumerate(ages))  # noqa: E731
    assert settle_wait(written(0.5, 30), now, 2.0) == pytest.approx(1.5)  # the newest file is 0.5 s old
    assert settle_wait(written(5, 30), now, 2.0) == 0.0  # settled already: read it now
    assert settle_wait(written(-60), now, 2.0) == 2.0  # dated in the future: the whole window, no more
    assert settle_wait((("gone.yaml", -1, -1), *written(5)), now, 2.0) == 2.0  # unreadable: the whole window
    assert settle_wait((), now, 2.0) == 2.0


def test_the_signing_index_finds_each_keys_subscriptions_by_workspace_whatever_else_shares_the_key():
    from controller.bird.signing import signed_headers
    from controller.daemon.specview import Subscription
    from controller.daemon.webhooks import SigningIndex, check

    url, public = "https://hooks.example/bird", "https://public.example/bird"
    subs = [Subscription(f"WebhookSubscription/s{ws}-{n}", f"ws-{ws}", "channels", "sms.inbound", url,
                         "shared" if ws < 50 else f"own-{ws}") for ws in range(100) for n in range(2)]
    subs.append(Subscription("WebhookSubscription/proxied", "ws-7", "channels", "sms.inbound", "https://in/x", "own-7"))
    index = SigningIndex(subs)
    body = json.dumps({"service": "channels", "event": "sms.inbound", "payload": {
        "id": "m-1", "channelId": "c-1", "sender": {"contact": {"identifierValue": "+12025550199"}},
        "receiver": {"connector": {"id": "k-1"}}, "body": {"type": "text", "text": {"text": "hi"}}}}).encode()

    def signers(key: str, signed_url: str, workspace: str | None) -> set[str]:
        headers = {**signed_headers(key, "1000", signed_url, body, "r-1"), "content-type": "application/json"}
        verdict = check(headers, body, subscriptions=index, public_url=public, now=1000, tolerance=300)
        return {s.address for s in verdict.signers_in(workspace)} if verdict.ok else set()

    # The shared key verifies for its 50 workspaces; an event placed in one keeps that workspace's two.
    assert len(signers("shared", url, None)) == 100
    assert signers("shared", url, "ws-3") == {"WebhookSubscription/s3-0", "WebhookSubscription/s3-1"}
    assert signers("shared", url, "ws-60") == set()  # ws-60 has a key of its own
    # A key of its own verifies its subscriptions only: through their URL, or the configured public one.
    assert signers("own-60", url, None) == {"WebhookSubscription/s60-0", "WebhookSubscription/s60-1"}
    assert signers("own-7", "https://in/x", "ws-7") == {"WebhookSubscription/proxied"}
    assert len(signers("own-7", public, "ws-7")) == 1  # only 'proxied' has own-7 (ws-7 uses the shared key)
    assert signers("nobody's", url, None) == set()
    # A plain list of subscriptions is taken too, with the same answer.
    headers = signed_headers("own-60", "1000", url, body, "r-2")
    assert check(headers, body, subscriptions=subs, public_url=public, now=1000, tolerance=300).signers == \
        check(headers, body, subscriptions=index, public_url=public, now=1000, tolerance=300).signers


def test_a_delivery_placed_in_a_workspace_is_verified_with_that_workspaces_keys_only():
    from controller.bird.signing import signed_headers
    from controller.daemon.specview import Subscription
    from controller.daemon.webhooks import PLACE_BEFORE_VERIFYING_BYTES, SigningIndex, check

    url = "https://hooks.example/bird"
    subs = [Subscription(f"WebhookSubscription/{ws}", ws, "channels", "sms.inbound", url, key)
            for ws, key in (("ws-a", "shared"), ("ws-b", "shared"), ("ws-c", "own-c"))]
    index = SigningIndex(subs)
    asked: list[list[str]] = []

    def place(ids: list[str]) -> str | None:
        asked.append(ids)
        return {"chan-a": "ws-a", "chan-c": "ws-c"}.get(ids[0]) if ids else None

    def verdict(key: str, channel: str, padding: str = ""):
        body = json.dumps({"service": "channels", "event": "sms.inbound", "payload": {
            "id": "m-1", "channelId": channel, "sender": {"contact": {"identifierValue": "+12025550199"}},
            "receiver": {"connector": {"id": "k-1"}}, "body": {"type": "text", "text": {"text": "hi" + padding}}}}).encode()
        headers = {**signed_headers(key, "1000", url, body, "r-1"), "content-type": "application/json"}
        return check(headers, body, subscriptions=index, public_url="", now=1000, tolerance=300, place=place)

    # Placed in ws-a: the shared key's other workspace is not among the signers.
    assert [s.address for s in verdict("shared", "chan-a").signers] == ["WebhookSubscription/ws-a"]
    assert asked[-1] == ["chan-a", "k-1"]
    # Placed in ws-c: the shared key cannot speak for it, whoever else holds it.
    assert verdict("shared", "chan-c").status == 401
    assert verdict("own-c", "chan-c").ok
    # Not placed (the directory does not know the channel): every workspace's keys are tried, as before.
    assert {s.address for s in verdict("shared", "chan-unknown").signers} == {"WebhookSubscription/ws-a",
                                                                              "WebhookSubscription/ws-b"}
    # A body too large to be an event is verified before it is parsed, so it is never placed.
    asked.clear()
    large = verdict("shared", "chan-a", "x" * PLACE_BEFORE_VERIFYING_BYTES)
    assert asked == [] and len(large.signers) == 2
