"""Round-2 fidelity: each behaviour below is Bird's as its API reference documents it (see the page
named in each test), in-process and over HTTP (``any_bird``)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controller.emulator import policy
from tests.emulator.conftest import ORG, WS, Bird

pytestmark = pytest.mark.anyio

BRANDS = f"/workspaces/{WS}/tcr-brands"
HOOKS = f"/organizations/{ORG}/workspaces/{WS}/webhook-subscriptions"


def campaigns(brand_id: str) -> str:
    return f"{BRANDS}/{brand_id}/campaigns"


# ------------------------------------------------------------------ campaigns (update-a-campaign)

async def test_an_approved_campaign_updates_only_its_content_fields_in_place(any_bird: Bird) -> None:
    bird = any_bird
    brand = await bird.brand()
    campaign = await bird.campaign(brand["id"])
    path = f"{campaigns(brand['id'])}/{campaign['id']}"
    charges_before = len((await bird.state())["charges"])
    new_help = "Acme: write to help@acme.example for help. Reply STOP to opt out."
    updated = await bird.ok("PATCH", path, json={"helpMessage": new_help, "optoutKeywords": "STOP,END"})
    assert (updated["status"], updated["helpMessage"], updated["optoutKeywords"]) == ("APPROVED", new_help,
                                                                                       "STOP,END")
    assert updated["id"] == campaign["id"]
    assert len((await bird.state())["charges"]) == charges_before  # an in-place edit is no resubmission
    refused = await bird.error("PATCH", path, 422, json={"usecase": "MARKETING", "helpMessage": new_help})
    assert set(refused["details"]) == {"usecase"} and "APPROVED" in refused["details"]["usecase"][0]
    same = await bird.ok("PATCH", path, json={"usecase": campaign["usecase"]})  # unchanged values pass
    assert same["usecase"] == campaign["usecase"]


async def test_a_rejected_campaign_is_resubmitted_with_every_field_and_a_fee(any_bird: Bird) -> None:
    bird = any_bird
    brand = await bird.brand()
    campaign = await bird.campaign(brand["id"], approved=False)
    await bird.decide("campaign", campaign["id"], "REJECTED", code="CR4", description="Message flow unclear")
    path = f"{campaigns(brand['id'])}/{campaign['id']}"
    assert (await bird.ok("GET", path))["rejection"] == {"code": "CR4", "description": "Message flow unclear"}
    flow = "Customers tick 'Send me SMS alerts' at https://acme.example/settings; terms at /terms."
    resubmitted = await bird.ok("PATCH", path, json={"usecase": "MIXED", "subUsecases": ["2FA", "ACCOUNT_NOTIFICATION"],
                                                     "messageFlow": flow})
    assert (resubmitted["status"], resubmitted["usecase"], resubmitted["messageFlow"]) == ("PENDING", "MIXED", flow)
    assert "rejection" not in resubmitted
    fees = [c for c in (await bird.state())["charges"] if c["kind"] == "campaign-resubmission"]
    assert [Decimal(c["amount"]) for c in fees] == [policy.CAMPAIGN_RESUBMISSION_FEE]
    await bird.advance(policy.CAMPAIGN_REVIEW_SECONDS)
    assert (await bird.ok("GET", path))["status"] == "APPROVED"
    assert len((await bird.ok("GET", campaigns(brand["id"])))["results"]) == 1  # the same campaign, in place


async def test_a_pending_campaign_cannot_be_updated(any_bird: Bird) -> None:
    brand = await any_bird.brand()
    campaign = await any_bird.campaign(brand["id"], approved=False)
    error = await any_bird.error("PATCH", f"{campaigns(brand['id'])}/{campaign['id']}", 422,
                                 json={"helpMessage": "Acme: help at help@acme.example, STOP to end."})
    assert "APPROVED, DECLINED or REJECTED" in error["message"] and "PENDING" in error["message"]


async def test_a_campaign_is_deleted_only_without_an_active_channel(any_bird: Bird) -> None:
    bird = any_bird
    number = (await bird.buy(1))[0]
    brand = await bird.brand()
    campaign = await bird.campaign(brand["id"])
    connector = await bird.connector(number["id"], campaign["id"])
    await bird.advance(policy.CARRIER_ACK_SECONDS)
    path = f"{campaigns(brand['id'])}/{campaign['id']}"
    error = await bird.error("DELETE", path, 409)
    assert connector["channel"]["channelId"] in error["message"]
    await bird.ok("DELETE", f"/workspaces/{WS}/connectors/{connector['id']}", 204)
    deleted = await bird.ok("DELETE", path, 200)
    assert deleted["id"] == campaign["id"]
    await bird.error("GET", path, 404)


# ------------------------------------------------------------------------- brands (update/delete)

async def test_a_rejected_brand_is_resubmitted_and_frozen_fields_are_refused_once_approved(any_bird: Bird) -> None:
    bird = any_bird
    brand = await bird.brand(approved=False)
    await bird.decide("brand", brand["id"], "REJECTED", code="BR1", description="EIN does not match")
    path = f"{BRANDS}/{brand['id']}"
    fixed = await bird.ok("PATCH", path, json={"ein": "987654321"})
    assert (fixed["status"], fixed["ein"]) == ("PENDING", "987654321") and "rejection" not in fixed
    assert [c["kind"] for c in (await bird.state())["charges"]].count("brand-resubmission") == 1
    await bird.advance(policy.BRAND_REVIEW_SECONDS)
    assert (await bird.ok("GET", path))["status"] == "APPROVED"
    refused = await bird.error("PATCH", path, 422, json={"entityType": "NON_PROFIT"})
    assert "entityType" in refused["details"]
    assert (await bird.ok("PATCH", path, json={"website": "https://acme.example/new"}))["status"] == "APPROVED"


# --------------------------------------------------------------------------- events (10dlc events)

class Hooks:
    """A local receiver that fails the first ``failures`` deliveries with 503, then answers 204."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], dict]] = []
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
        self.sock = sock

        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), json.loads(await request.body())))
            if len(self.received) <= self.failures:
                return Response(status_code=503)
            return Response(status_code=204)

        self.server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/hooks", hook, methods=["POST"])]),
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def __enter__(self) -> Hooks:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    with Hooks() as receiver:
        yield receiver


@pytest.fixture
def flaky_hooks() -> Iterator[Hooks]:
    with Hooks(failures=2) as receiver:
        yield receiver


async def test_a_failed_vetting_is_a_10dlc_vetting_event_and_says_why_in_reasons(any_bird: Bird, hooks: Hooks) -> None:
    bird = any_bird
    await bird.subscribe("10dlc.vetting", hooks.url)
    await bird.subscribe("10dlc.brand", hooks.url)
    brand = await bird.brand(approved=False)
    vetting = await bird.ok("POST", f"{BRANDS}/{brand['id']}/vettings", 201, json={"class": "STANDARD"})
    await bird.decide("vetting", vetting["id"], "REJECTED", code="V1", description="Score too low")
    events = [body for _, body in hooks.received]
    assert [(e["service"], e["event"]) for e in events] == [("numbers", "10dlc.vetting")]
    payload = events[0]["payload"]
    # Bird's vetting page: "reasons: a list of reasons for FAILED vetting" (no REJECTED, no rejection object).
    assert (payload["id"], payload["brandId"], payload["status"]) == (vetting["id"], brand["id"], "FAILED")
    assert "reasons" not in payload  # read the reasons from the vetting, not the event
    listed = (await bird.ok("GET", f"{BRANDS}/{brand['id']}/vettings"))["results"]
    assert listed[0]["status"] == "FAILED" and listed[0]["reasons"] == ["Score too low"]
    assert "rejection" not in listed[0]


async def test_brand_and_campaign_event_payloads_have_bird_shapes(any_bird: Bird, hooks: Hooks) -> None:
    bird = any_bird
    await bird.subscribe("10dlc.brand", hooks.url)
    await bird.subscribe("10dlc.campaign", hooks.url)
    brand = await bird.brand(approved=False)
    await bird.decide("brand", brand["id"], "REJECTED", code="B", description="Website unreachable")
    await bird.ok("PATCH", f"{BRANDS}/{brand['id']}", json={"website": "https://acme.example/ok"})
    await bird.advance(policy.BRAND_REVIEW_SECONDS)
    campaign = await bird.campaign(brand["id"], approved=False)
    await bird.decide("campaign", campaign["id"], "REJECTED", code="C", description="No opt-in proof")
    rejected_brand, approved_brand, rejected_campaign = (body["payload"] for _, body in hooks.received)
    assert rejected_brand["status"] == "REJECTED" and "rejection" not in rejected_brand
    assert rejected_brand["workspaceId"] == [WS] and rejected_brand["organizationId"] == ORG
    assert approved_brand["status"] == "APPROVED"
    assert (rejected_campaign["organizationId"], rejected_campaign["workspaceId"]) == (ORG, WS)
    assert rejected_campaign["status"] == "REJECTED" and "rejection" not in rejected_campaign
    stored = await bird.ok("GET", f"{campaigns(brand['id'])}/{campaign['id']}")
    assert stored["rejection"]["description"] == "No opt-in proof"


async def test_a_failed_delivery_is_retried_at_increasing_intervals_with_one_request_id(
        any_bird: Bird, flaky_hooks: Hooks) -> None:
    bird = any_bird
    await bird.subscribe("10dlc.brand", flaky_hooks.url)
    brand = await bird.brand(approved=False)
    decided = await bird.admin("POST", "decide", json={"kind": "brand", "id": brand["id"], "status": "APPROVED"})
    assert [(d["delivered"], d["attempt"], d["retryScheduled"]) for d in decided["deliveries"]] == [(False, 1, True)]
    first, second = policy.WEBHOOK_RETRY_INTERVALS[:2]
    assert (await bird.advance(first - 1))["deliveries"] == []
    assert [d["attempt"] for d in (await bird.advance(1))["deliveries"]] == [2]     # fails again
    assert (await bird.advance(second - 1))["deliveries"] == []                    # a longer wait
    third = (await bird.advance(1))["deliveries"]
    assert [(d["delivered"], d["attempt"]) for d in third] == [(True, 3)]
    ids = {headers["messagebird-request-id"] for headers, _ in flaky_hooks.received}
    assert len(flaky_hooks.received) == 3 and len(ids) == 1  # a receiver dedupes retries by request id
    assert (await bird.advance(sum(policy.WEBHOOK_RETRY_INTERVALS)))["deliveries"] == []


def test_retry_intervals_increase_and_span_bird_s_eight_hours() -> None:
    intervals = policy.WEBHOOK_RETRY_INTERVALS
    assert all(a < b for a, b in zip(intervals, intervals[1:], strict=False))
    assert sum(intervals) <= 8 * 3600


# ------------------------------------------------------------------- lists, filters, validation

async def test_list_caps_are_bird_s_per_list(any_bird: Bird) -> None:
    bird = any_bird
    await bird.ok("GET", HOOKS, params={"limit": 100})
    assert "limit" in (await bird.error("GET", HOOKS, 422, params={"limit": 101}))["details"]
    await bird.ok("GET", f"/workspaces/{WS}/channels", params={"limit": 1000})
    await bird.error("GET", f"/workspaces/{WS}/channels", 422, params={"limit": 1001})
    await bird.ok("GET", BRANDS, params={"limit": 99})
    await bird.error("GET", BRANDS, 422, params={"limit": 100})


async def test_channels_filter_by_status_and_platform(any_bird: Bird) -> None:
    bird = any_bird
    numbers = await bird.buy(2)
    brand = await bird.brand()
    campaign = await bird.campaign(brand["id"])
    await bird.connector(numbers[0]["id"], campaign["id"])
    await bird.advance(policy.CARRIER_ACK_SECONDS)
    await bird.connector(numbers[1]["id"], campaign["id"])
    path = f"/workspaces/{WS}/channels"
    active = (await bird.ok("GET", path, params={"status": "active"}))["results"]
    pending = (await bird.ok("GET", path, params={"status": "pending"}))["results"]
    assert [c["identifier"] for c in active] == [numbers[0]["number"]]
    assert [c["identifier"] for c in pending] == [numbers[1]["number"]]
    assert len((await bird.ok("GET", path, params={"platform": policy.SMS_PLATFORM}))["results"]) == 2
    assert (await bird.ok("GET", path, params={"platform": "whatsapp"}))["results"] == []


async def test_available_webhooks_lists_services_events_and_filter_keys(any_bird: Bird) -> None:
    listed = (await any_bird.ok("GET", f"/workspaces/{WS}/available-webhooks"))["results"]
    by_service = {r["service"]: {e["name"] for e in r["events"]} for r in listed}
    assert {"10dlc.brand", "10dlc.campaign", "10dlc.vetting"} <= by_service["numbers"]
    assert "sms.inbound" in by_service["channels"]
    numbers_only = (await any_bird.ok("GET", f"/workspaces/{WS}/available-webhooks",
                                      params={"service": "numbers"}))["results"]
    assert [r["service"] for r in numbers_only] == ["numbers"]
    await any_bird.error("GET", f"/workspaces/{WS}/available-webhooks", 422, params={"service": "fax"})


async def test_a_subscription_for_an_unknown_service_is_refused(any_bird: Bird) -> None:
    body = {"service": "faxes", "event": "fax.inbound", "url": "https://hooks.acme.example/a", "signingKey": "k"}
    error = await any_bird.error("POST", HOOKS, 422, json=body)
    assert "service" in error["details"]
