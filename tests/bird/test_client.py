"""The Bird client end to end against the emulator, in-process and over real HTTP.

The 10DLC flow of seed 001 (find → buy → brand → vetting → campaign → connector → channel id →
webhooks → carrier acknowledgement), the rejection path, paging, retries and their limits, the
ambiguous-POST rule, the rate limiter, and the access key never leaking.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from decimal import Decimal
from typing import Any

import pytest

from controller.bird import (
    BirdAmbiguousWriteError,
    BirdAuthError,
    BirdConflict,
    BirdError,
    BirdNotFound,
    BirdRateLimited,
    BirdServerError,
    BirdTransportError,
    BirdValidationError,
    BrandCreate,
    CampaignCreate,
    ConnectorCreate,
    EventFilter,
    SmsConnectorArguments,
    VettingCreate,
    WebhookSubscriptionCreate,
    routes,
)
from controller.bird.client import PAGE_SIZE, BirdClient
from tests.bird.conftest import ACCESS_KEY, ORG, RESELLER, WS, Bird

pytestmark = pytest.mark.anyio

HOUR, DAY = 3600, 24 * 3600
HOOK_URL = "https://hooks.acme.example/bird"  # not loopback: the emulator records it, never connects


def brand_body(**overrides: Any) -> BrandCreate:
    fields = dict(
        entityType="PRIVATE_PROFIT", displayName="Acme", companyName="Acme Inc.", ein="123456789",
        einIssuingCountry="US", phone="+14155550100", street="1 Market St", city="San Francisco", state="CA",
        postalCode="94105", country="US", email="ops@acme.example", website="https://acme.example",
        vertical="TECHNOLOGY",
    )
    return BrandCreate(**{**fields, **overrides})


def campaign_body(**overrides: Any) -> CampaignCreate:
    fields = dict(
        name="Acme alerts", usecase="ACCOUNT_NOTIFICATION",
        description="Account notifications for Acme customers: sign-in codes and billing alerts.",
        samples=["Acme: your sign-in code is 123456. Reply STOP to opt out."],
        messageFlow="Customers opt in on https://acme.example/sms by ticking a box and confirming by SMS.",
        helpMessage="Acme support: help@acme.example. Reply STOP to stop.",
        termsAndConditions=True, subscriberOptin=True, subscriberOptout=True, subscriberHelp=True,
        optinMessage="You are subscribed to Acme alerts. Reply STOP to stop.",
        optoutMessage="You are unsubscribed from Acme alerts.",
    )
    return CampaignCreate(**{**fields, **overrides})


def subscription(event: str, service: str, filters: list[EventFilter] | None = None) -> WebhookSubscriptionCreate:
    return WebhookSubscriptionCreate(service=service, event=event, url=HOOK_URL, signingKey="whsec-test-key",
                                     eventFilters=filters or [])


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


async def first_stock_item(client: BirdClient, **search: Any) -> Any:
    pages = client.stock_item_pages(WS, country="US", type="local", limit=1, **search)
    [item] = await anext(pages)
    await pages.aclose()
    return item


async def buy_one(client: BirdClient) -> Any:
    [number] = await client.buy_stock_items(WS, [(await first_stock_item(client)).id])
    return number


async def approved_brand_and_campaign(bird: Bird, client: BirdClient) -> tuple[Any, Any]:
    brand = await client.create_brand(WS, brand_body())
    await bird.advance(HOUR)
    campaign = await client.create_campaign(WS, brand.id, campaign_body())
    await bird.advance(7 * DAY)
    return brand, campaign


# --------------------------------------------------------------------------------------- the full flow


async def test_full_10dlc_flow_of_seed_001(bird: Bird) -> None:
    async with bird.client() as client:
        # Find and buy a US local number: a stock item, bought by its id (Bird "Buy a Number").
        available = await first_stock_item(client)
        assert available.numberString.startswith("+1") and available.countryCode == "US"
        assert available.monthlyPrice is not None and available.monthlyPrice.decimal > 0
        [number] = await client.buy_stock_items(WS, [available.id])
        assert number.number == available.numberString
        assert (await client.get_number(WS, number.id)).number == available.numberString
        assert [n.status for n in await collect(client.list_numbers(WS))] == ["active"]
        assert [n.id for n in await collect(client.list_numbers(WS))] == [number.id]

        # 10DLC webhook subscriptions.
        brand_sub = await client.create_webhook_subscription(ORG, WS, subscription("10dlc.brand", "numbers"))
        await client.create_webhook_subscription(ORG, WS, subscription("10dlc.campaign", "numbers"))
        await client.create_webhook_subscription(ORG, WS, subscription("channel.updated", "channels"))
        assert brand_sub.status == "active" and brand_sub.event == "10dlc.brand"

        # Brand and vetting: PENDING until the registry decides (one hour on the emulator's clock).
        brand = await client.create_brand(WS, brand_body())
        assert brand.status == "PENDING" and brand.rejection is None
        vetting = await client.create_vetting(WS, brand.id, VettingCreate.model_validate(
            {"class": "STANDARD", "vettingProviderId": "AEGIS"}))
        assert vetting.status == "PENDING" and vetting.vetting_class == "STANDARD"
        await bird.advance(HOUR)
        assert (await client.get_brand(WS, brand.id)).status == "APPROVED"
        [vetted] = await collect(client.list_vettings(WS, brand.id))
        assert vetted.id == vetting.id and vetted.status == "ACTIVE"

        # Campaign through the organization's ACTIVE reseller; approved after 7 days.
        resellers = await collect(client.list_resellers(WS))
        assert [(r.id, r.status) for r in resellers] == [(RESELLER, "ACTIVE")]
        campaign = await client.create_campaign(WS, brand.id, campaign_body(resellerId=RESELLER))
        assert campaign.status in ("DRAFT", "PENDING") and campaign.brandId == brand.id
        await bird.advance(7 * DAY - 60)
        assert (await client.get_campaign(WS, brand.id, campaign.id)).status != "APPROVED"
        await bird.advance(60)
        assert (await client.get_campaign(WS, brand.id, campaign.id)).status == "APPROVED"
        assert [c.id for c in await collect(client.list_campaigns(WS, brand.id))] == [campaign.id]

        # Connector → channel id.
        connector = await client.create_connector(WS, ConnectorCreate(
            name="SMS +1 alerts", arguments=SmsConnectorArguments(
                phoneNumberId=number.id, useCaseId=campaign.id, channelMessageType="transactional")))
        fetched = await client.get_connector(WS, connector.id)
        channel_id = fetched.channel_id
        assert channel_id
        assert (fetched.phone_number_id, fetched.use_case_id, fetched.channel_message_type) == (
            number.id, campaign.id, "transactional")
        assert [c.id for c in await collect(client.list_connectors(WS))] == [connector.id]

        # Channel message webhooks filtered on the channel.
        for event in ("sms.inbound", "sms.outbound"):
            sub = await client.create_webhook_subscription(
                ORG, WS, subscription(event, "channels", [EventFilter(key="channelId", value=channel_id)]))
            assert [(f.key, f.value) for f in sub.eventFilters] == [("channelId", channel_id)]
        assert len(await collect(client.list_webhook_subscriptions(ORG, WS))) == 5

        # Not ready until the carriers acknowledge the number <-> campaign link (15 minutes).
        channel = await client.get_channel(WS, channel_id)
        assert channel.status != "active"
        assert channel.use_case_status is not None and not channel.use_case_status.ok
        await bird.advance(15 * 60)
        channel = await client.get_channel(WS, channel_id)
        assert channel.status == "active"
        assert channel.use_case_status is not None and channel.use_case_status.ok
        assert all(a.status == "ok" for a in channel.use_case_status.assertions)
        ready = await client.get_connector(WS, connector.id)  # Bird's connector: no readiness of its own
        assert ready.use_case_status is None and ready.channel_status is None and ready.channel_id == channel_id


async def test_rejected_brand_and_campaign_surface_birds_code_and_description(bird: Bird) -> None:
    async with bird.client() as client:
        brand = await client.create_brand(WS, brand_body())
        await bird.admin("POST", "decide", {"kind": "brand", "id": brand.id, "status": "REJECTED",
                                            "rejection": {"code": "TCR-4021", "description": "EIN mismatch"}})
        rejected = await client.get_brand(WS, brand.id)
        assert rejected.status == "REJECTED"
        assert rejected.rejection is not None
        assert (rejected.rejection.code, rejected.rejection.description) == ("TCR-4021", "EIN mismatch")
        assert [b.rejection.code for b in await collect(client.list_brands(WS)) if b.rejection] == ["TCR-4021"]

        # A campaign on a brand that is not approved is Bird's 422 naming the field.
        with pytest.raises(BirdValidationError) as info:
            await client.create_campaign(WS, brand.id, campaign_body())
        assert info.value.status == 422 and "brandId" in info.value.fields

        # The campaign path: approve a fresh brand, reject its campaign.
        brand2 = await client.create_brand(WS, brand_body(ein="987654321", companyName="Acme Two Inc."))
        await bird.advance(HOUR)
        campaign = await client.create_campaign(WS, brand2.id, campaign_body())
        await bird.admin("POST", "decide", {"kind": "campaign", "id": campaign.id, "status": "REJECTED",
                                            "rejection": {"code": "CR-2001", "description": "Unclear messageFlow"}})
        rejected_campaign = await client.get_campaign(WS, brand2.id, campaign.id)
        assert rejected_campaign.status == "REJECTED"
        assert rejected_campaign.rejection is not None
        assert str(rejected_campaign.rejection) == "CR-2001: Unclear messageFlow"


# ----------------------------------------------------------------------------------------- Bird's 4xx


async def test_bird_4xx_answers_become_typed_errors(bird: Bird) -> None:
    async with bird.client() as client:
        with pytest.raises(BirdValidationError) as invalid:
            await client.create_brand(WS, brand_body(postalCode="ABCDEFGHIJK"))
        assert invalid.value.status == 422 and "postalCode" in invalid.value.fields
        assert invalid.value.route == routes.BRAND_CREATE and invalid.value.method == "POST"
        assert "postalCode" in str(invalid.value)

        with pytest.raises(BirdNotFound) as missing:
            await client.get_brand(WS, "00000000-0000-4000-8000-000000000000")
        assert missing.value.status == 404 and missing.value.route == routes.BRAND_GET

        with pytest.raises(BirdNotFound):
            await collect(client.list_numbers("99999999-9999-4999-8999-999999999999"))

        number = await buy_one(client)
        _, campaign = await approved_brand_and_campaign(bird, client)
        args = SmsConnectorArguments(phoneNumberId=number.id, useCaseId=campaign.id,
                                     channelMessageType="transactional")
        await client.create_connector(WS, ConnectorCreate(name="first", arguments=args))
        with pytest.raises(BirdConflict) as conflict:
            await client.create_connector(WS, ConnectorCreate(name="second", arguments=args))
        assert conflict.value.status == 409

        with pytest.raises(ValueError, match="at most 25"):
            await client.buy_stock_items(WS, [f"item-{i}" for i in range(26)])


async def test_wrong_access_key_is_an_auth_error_that_never_shows_the_key(bird: Bird, caplog: Any) -> None:
    wrong = "sk-wrong-key-that-must-stay-secret"
    caplog.set_level(logging.DEBUG)
    async with bird.client(wrong) as client:
        with pytest.raises(BirdAuthError) as info:
            await collect(client.list_brands(WS))
    error = info.value
    assert error.status == 401 and "BIRD_ACCESS_KEY" in str(error)
    for text in (str(error), repr(error), repr(error.body), caplog.text):
        assert wrong not in text


# ----------------------------------------------------------------------------------------------- paging


async def test_listing_10000_owned_numbers_takes_102_requests(big_bird: Bird) -> None:
    await big_bird.reset_counts()
    async with big_bird.client() as client:
        listed = await collect(client.list_numbers(WS))
        assert client.request_count == 102
    counts = await big_bird.requests_by_route()
    assert len(listed) == 10_000
    assert len({n.id for n in listed}) == len({n.number for n in listed}) == 10_000
    assert counts == {f"GET {routes.NUMBERS_LIST}": math.ceil(10_000 / PAGE_SIZE)} == {
        f"GET {routes.NUMBERS_LIST}": 102}


async def test_bulk_buying_from_the_organization_stock(stock_bird: Bird) -> None:
    async with stock_bird.client() as client:
        stock = await collect(client.stock_items(ORG, country="US", type="local"))
        assert len(stock) == 200
        assert all(item.monthlyPrice is not None and item.monthlyPrice.decimal == Decimal("1.15") for item in stock)
        by_number = await client.buy_stock_items(WS, [item.id for item in stock[:25]])
        by_stock_id = await client.buy_stock_items(WS, [item.id for item in stock[25:50]])
        assert len(by_number) == len(by_stock_id) == 25
        assert {n.number for n in by_stock_id} == {item.numberString for item in stock[25:50]}
        assert len(await collect(client.stock_items(ORG, country="US"))) == 150
        owned = await asyncio.gather(*(client.get_number(WS, n.id) for n in by_number + by_stock_id))
    assert {n.number for n in owned} == {item.numberString for item in stock[:50]}
    # The long-code read carries no status (Bird's schema); the owned-numbers list does.
    async with stock_bird.client() as client:
        listed = {n.id: n for n in await collect(client.list_numbers(WS))}
    assert all(listed[n.id].status == "active" for n in owned)


async def test_a_stock_search_page_is_the_limit_asked(bird: Bird) -> None:
    async with bird.client() as client:
        pages = client.stock_item_pages(WS, country="US", type="local", limit=3)
        first_three = await anext(pages)
        await pages.aclose()
        counts = await bird.requests_by_route()
    assert len(first_three) == 3
    assert counts == {f"GET {routes.WORKSPACE_NUMBERS_STOCK_ITEMS}": 1}


# ---------------------------------------------------------------------------------------------- retries


async def test_reads_are_retried_through_503s(bird: Bird) -> None:
    await bird.fault(method="GET", route=routes.BRANDS_LIST, effect="status", status=503, times=2)
    async with bird.client() as client:
        assert await collect(client.list_brands(WS)) == []
        assert client.request_count == 3
    assert (await bird.requests_by_route())[f"GET {routes.BRANDS_LIST}"] == 3


async def test_retry_after_is_honoured_and_a_rate_limited_post_is_retried_once_applied(bird: Bird) -> None:
    await bird.fault(method="POST", route=routes.BRAND_CREATE, effect="rate-limit", retryAfter=1, times=1)
    async with bird.client() as client:
        start = time.monotonic()
        brand = await client.create_brand(WS, brand_body())
        waited = time.monotonic() - start
        brands = await collect(client.list_brands(WS))
    assert waited >= 1.0, "Retry-After: 1 must be waited out"
    assert [b.id for b in brands] == [brand.id], "a 429 is not applied: exactly one brand after the retry"
    assert (await bird.requests_by_route())[f"POST {routes.BRAND_CREATE}"] == 2


async def test_retries_stop_after_max_attempts(bird: Bird) -> None:
    await bird.fault(method="GET", route=routes.NUMBERS_LIST, effect="status", status=503)
    async with bird.client(max_attempts=3) as client:
        with pytest.raises(BirdServerError) as info:
            await collect(client.list_numbers(WS))
    assert info.value.status == 503 and info.value.attempts == 3
    assert (await bird.requests_by_route())[f"GET {routes.NUMBERS_LIST}"] == 3

    await bird.admin("DELETE", "faults")
    await bird.fault(method="GET", route=routes.BRANDS_LIST, effect="rate-limit", retryAfter=0)
    async with bird.client(max_attempts=2) as client:
        with pytest.raises(BirdRateLimited):
            await collect(client.list_brands(WS))


async def test_commit_then_fail_post_is_not_retried_and_the_purchase_happened(bird: Bird) -> None:
    async with bird.client() as client:
        available = await first_stock_item(client)
        await bird.fault(method="POST", route=routes.NUMBERS_LONG_CODE_BUY, effect="commit-then-fail", times=1)
        with pytest.raises(BirdAmbiguousWriteError) as info:
            await client.buy_stock_items(WS, [available.id])
        assert info.value.status == 502 and info.value.route == routes.NUMBERS_LONG_CODE_BUY
        assert "may have been applied" in str(info.value)
        # Re-observing shows the number was bought, exactly once.
        owned = await collect(client.list_numbers(WS))
    assert [n.number for n in owned] == [available.numberString]
    assert (await bird.requests_by_route())[f"POST {routes.NUMBERS_LONG_CODE_BUY}"] == 1


async def test_post_503_is_ambiguous_not_retried(bird: Bird) -> None:
    await bird.fault(method="POST", route=routes.BRAND_CREATE, effect="status", status=503, times=1)
    async with bird.client() as client:
        with pytest.raises(BirdAmbiguousWriteError):
            await client.create_brand(WS, brand_body())
    assert (await bird.requests_by_route())[f"POST {routes.BRAND_CREATE}"] == 1


async def test_timeouts_retry_reads_and_make_posts_ambiguous(bird: Bird) -> None:
    await bird.fault(method="GET", route=routes.BRANDS_LIST, effect="timeout", seconds=2, times=1)
    async with bird.client(timeout=0.3) as client:
        assert await collect(client.list_brands(WS)) == []
    assert (await bird.requests_by_route())[f"GET {routes.BRANDS_LIST}"] == 2

    await bird.fault(method="POST", route=routes.BRAND_CREATE, effect="timeout", seconds=2, times=1)
    async with bird.client(timeout=0.3) as client:
        with pytest.raises(BirdAmbiguousWriteError) as info:
            await client.create_brand(WS, brand_body())
    assert "timed out" in str(info.value)


async def test_commit_then_fail_delete_is_retried_and_reaches_its_goal(bird: Bird) -> None:
    async with bird.client() as client:
        sub = await client.create_webhook_subscription(ORG, WS, subscription("10dlc.brand", "numbers"))
        await bird.fault(method="DELETE", route=routes.WEBHOOK_SUBSCRIPTION_DELETE, effect="commit-then-fail",
                         times=1)
        await client.delete_webhook_subscription(ORG, WS, sub.id)
        assert await collect(client.list_webhook_subscriptions(ORG, WS)) == []
        # Without an earlier lost answer, deleting what is not there is still Bird's 404.
        with pytest.raises(BirdNotFound):
            await client.delete_webhook_subscription(ORG, WS, sub.id)


async def test_unreachable_bird_is_a_transport_error_after_retries() -> None:
    async with BirdClient("http://127.0.0.1:9", ACCESS_KEY, max_attempts=2, backoff_initial=0.01,
                          backoff_max=0.02, timeout=1) as client:
        with pytest.raises(BirdTransportError) as info:
            await collect(client.list_brands(WS))
    assert info.value.attempts == 2 and ACCESS_KEY not in str(info.value)
    assert client.request_count == 2


# ------------------------------------------------------------------------------- updates, hooks, limits


async def test_updates_send_only_the_given_fields(bird: Bird) -> None:
    async with bird.client() as client:
        brand = await client.create_brand(WS, brand_body())
        updated = await client.update_brand(WS, brand.id, {"website": "https://acme.example/new"})
        assert updated.website == "https://acme.example/new" and updated.displayName == "Acme"

        sub = await client.create_webhook_subscription(ORG, WS, subscription("10dlc.brand", "numbers"))
        paused = await client.update_webhook_subscription(ORG, WS, sub.id, {"status": "inactive"})
        assert paused.status == "inactive" and paused.url == HOOK_URL
        got = await client.get_webhook_subscription(ORG, WS, sub.id)
        assert got.status == "inactive"
        assert "whsec-test-key" not in repr(got)

        await client.delete_brand(WS, brand.id)
        assert await collect(client.list_brands(WS)) == []


async def test_on_response_hook_sees_route_templates_and_statuses(bird: Bird) -> None:
    seen: list[tuple[str, str, int | None, str | None]] = []
    await bird.fault(method="GET", route=routes.BRANDS_LIST, effect="status", status=503, times=1)
    async with bird.client(on_response=lambda *call: seen.append(call)) as client:
        await collect(client.list_brands(WS))
        with pytest.raises(BirdNotFound):
            await client.get_number(WS, "00000000-0000-4000-8000-000000000000")
    assert [(m, r, s) for m, r, s, _ in seen] == [
        ("GET", routes.BRANDS_LIST, 503), ("GET", routes.BRANDS_LIST, 200), ("GET", routes.NUMBER_GET, 404)]
    assert seen[1][3], "Bird's request id is passed on"


async def test_rate_limiter_spaces_requests(bird: Bird) -> None:
    async with bird.client(requests_per_second=20, burst=1) as client:
        start = time.monotonic()
        await asyncio.gather(*(collect(client.list_brands(WS)) for _ in range(11)))
        elapsed = time.monotonic() - start
    assert elapsed >= 0.45, f"11 requests at 20/s must take at least 0.5 s, took {elapsed:.2f}"
    assert client.request_count == 11


async def test_the_access_key_never_leaks(bird: Bird, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BirdError] = []
    await bird.fault(method="POST", route=routes.BRAND_CREATE, effect="commit-then-fail", times=1)
    async with bird.client() as client:
        for attempt in (
            client.create_brand(WS, brand_body()),
            client.create_brand(WS, brand_body(postalCode="ABCDEFGHIJK")),
            client.get_brand(WS, "00000000-0000-4000-8000-000000000000"),
        ):
            try:
                await attempt
            except BirdError as exc:
                errors.append(exc)
        texts = [repr(client), str(client), repr(vars(client)), caplog.text]
    assert [type(e) for e in errors] == [BirdAmbiguousWriteError, BirdValidationError, BirdNotFound]
    texts += [str(e) for e in errors] + [repr(e) for e in errors] + [repr(vars(e)) for e in errors]
    for text in texts:
        assert ACCESS_KEY not in text
