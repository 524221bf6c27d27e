"""The daemon's reading of `sms.outbound` webhooks, and its warning when no subscription asks for them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.daemon.routing import outbound_of
from controller.daemon.specview import missing_traffic_event, view_of
from specs import SpecSet, load_specs

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
ARRIVED = datetime(2027, 1, 1, tzinfo=UTC)


def test_an_outbound_message_counts_on_its_channel_at_its_own_time() -> None:
    document = {"service": "channels", "event": "sms.outbound",
                "payload": {"id": "m1", "channelId": "ch-1", "direction": "outgoing", "status": "delivered",
                            "createdAt": "2026-12-24T10:00:00.000Z"}}
    counted = outbound_of(document, ARRIVED)
    assert counted.channel_id == "ch-1" and counted.at == datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    undated = outbound_of({"payload": {"channelId": "ch-1"}}, ARRIVED)
    assert undated.at == ARRIVED  # no time in the message: when it arrived


@pytest.mark.parametrize(("document", "problem"), [
    ({"payload": "nope"}, "no \"payload\" object"),
    ({"payload": {"id": "m1"}}, "no \"channelId\""),
    ({"payload": {"channelId": "ch-1", "direction": "incoming"}}, "not outgoing"),
])
def test_an_event_that_is_not_an_outbound_message_is_refused(document: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        outbound_of(document, ARRIVED)


def test_campaigns_without_an_sms_outbound_subscription_are_warned_of() -> None:
    specs = load_specs([QUICKSTART]).specs
    assert not missing_traffic_event(view_of(specs, {"SENDERCTL_DEMO_SIGNING_KEY": "k"}))
    without = [d for d in specs.documents if not (d.kind == "WebhookSubscription" and d.spec.event == "sms.outbound")]
    assert missing_traffic_event(view_of(SpecSet(without), {"SENDERCTL_DEMO_SIGNING_KEY": "k"}))
