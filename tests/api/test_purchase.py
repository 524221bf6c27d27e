"""Seed 000 purchase through the daemon: idempotency, prerequisites, the journal, concurrency."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.api.conftest import ORG, World, make_token

BUY_ROUTE = "POST /workspaces/{workspaceId}/numbers-long-code"  # Bird "Buy a Number", by stock item


def buys(world: World) -> int:
    return world.emulator.request_counts()["byRoute"].get(BUY_ROUTE, 0)


def owned_numbers(world: World) -> set[str]:
    return {n.get("number") or n.get("numberString") for n in world.emulator.state()["numbers"]}


def purchase(client: httpx.Client, key: str | None = None, **body: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/v1/sms/phone-numbers/purchase", json={"country": "US", **body}, headers=headers)


def test_a_purchase_retried_with_one_key_buys_once_and_installs_its_channel(
        world_factory: Callable[..., World]) -> None:
    world = world_factory()
    member = world.client(make_token(world.state_url, "carol@acme.example", "member", "--scopes", "phones:read,phones:write"))
    before = owned_numbers(world)
    world.emulator.zero_requests()

    first = purchase(member, "order-1")
    assert first.status_code == 201, first.text
    bought = first.json()
    assert bought["owner"] == "api" and bought["status"] == "available" and bought["weeklyPrice"] == "2.99"
    retries = [purchase(member, "order-1") for _ in range(3)]
    assert {r.status_code for r in retries} == {201}
    assert {r.json()["number"] for r in retries} == {bought["number"]}
    assert buys(world) == 1
    assert owned_numbers(world) == before | {bought["number"]}

    # The SMS channel is installed under the organization's 10DLC campaign.
    connectors = [c for c in world.emulator.state()["connectors"]
                  if (c.get("arguments") or {}).get("phoneNumberId") == bought["providerPhoneUuid"]]
    assert len(connectors) == 1 and bought["connectorId"] == connectors[0]["id"]
    assert connectors[0]["arguments"]["useCaseId"] == bought["campaignId"]

    # The same key with a different body is refused, and buys nothing.
    other = purchase(member, "order-1", prefix="+1212")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    # Another key is another purchase.
    second = purchase(member, "order-2")
    assert second.status_code == 201 and second.json()["number"] != bought["number"]
    assert buys(world) == 2


def test_an_ambiguous_answer_from_bird_is_resolved_by_re_reading_it(world_factory: Callable[..., World]) -> None:
    """Bird buys the number and the connection drops: the journal's intent was written first, the
    re-read finds the number, and it is adopted, never bought again."""
    world = world_factory()
    member = world.client(make_token(world.state_url, "carol@acme.example", "member", "--scopes", "phones:read,phones:write"))
    world.emulator.fault(method="POST", route="/workspaces/{workspaceId}/numbers-long-code", effect="commit-then-fail",
                         times=1)
    world.emulator.zero_requests()
    answer = purchase(member, "order-ambiguous")
    assert answer.status_code == 201, answer.text
    assert buys(world) == 1
    assert purchase(member, "order-ambiguous").json()["number"] == answer.json()["number"]
    assert buys(world) == 1
    with world.store() as store:
        ops = [op for op in store.operations(limit=50) if op.address.startswith("api:purchase/")]
    assert ops and all(op.status == "succeeded" for op in ops)
    # The intent named the stock item and the number before the call.
    [named] = ops[-1].request["numbers"]
    assert named["number"] == answer.json()["number"] and named["stockItemId"]


def test_prerequisites_refuse_with_409_and_the_reason(world_factory: Callable[..., World]) -> None:
    from controller import tenant

    world = world_factory(limit=3)
    member = world.client(make_token(world.state_url, "carol@acme.example", "member", "--scopes", "phones:read,phones:write"))
    with world.store() as store:
        config = tenant.org_config(store, ORG)

        def configure(enabled: bool = True, limit: int = 3) -> None:
            tenant.sync_org_config(store, ORG, bird_organization_id=config.bird_organization_id, enabled=enabled,
                                   limit=limit, weekly_price=Decimal("2.99"))

        world.emulator.zero_requests()
        configure(enabled=False)  # (sync_org_config keeps the 10DLC flag as it was: active)
        refused = purchase(member)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "multi_sms_disabled"
        assert "enable_multi_sms_numbers" in refused.json()["error"]["message"]

        configure()
        tenant.set_ten_dlc_active(store, ORG, False)
        refused = purchase(member)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "ten_dlc_inactive"

        tenant.set_ten_dlc_active(store, ORG, True)
        configure(limit=2)
        refused = purchase(member)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "limit_reached"
        assert "limit is 2" in refused.json()["error"]["message"]
        assert buys(world) == 0 and len(owned_numbers(world)) == 2  # the refusals bought nothing

        configure(limit=3)
        assert purchase(member).status_code == 201


def race(clients: list[httpx.Client], count: int) -> list[httpx.Response]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(purchase, clients[i % len(clients)], f"race-{i}") for i in range(count)]
        return [f.result() for f in futures]


def test_concurrent_purchases_with_room_for_one_buy_exactly_one(world_factory: Callable[..., World]) -> None:
    world = world_factory(limit=3)  # the specs hold 2: room for one
    member = world.client(make_token(world.state_url, "carol@acme.example", "member", "--scopes", "phones:read,phones:write"))
    answers = race([member], 6)
    assert sorted(r.status_code for r in answers) == [201] + [409] * 5, [r.text for r in answers]
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 409} == {"limit_reached"}
    assert len(owned_numbers(world)) == 3


@pytest.mark.postgres
def test_two_daemons_on_one_postgresql_never_overrun_the_limit(world_factory: Callable[..., World],
                                                                postgres_url: str) -> None:
    world = world_factory(state_url=postgres_url, limit=4)  # room for two
    second = world.start_daemon()
    token = make_token(world.state_url, "carol@acme.example", "member", "--scopes", "phones:read,phones:write")
    clients = [world.client(token), world.client(token, second)]
    answers = race(clients, 8)
    assert sorted(r.status_code for r in answers) == [201, 201] + [409] * 6, [(r.status_code, r.text[-200:]) for r in answers]
    assert len(owned_numbers(world)) == 4
    # A write through one replica is seen by the other.
    numbers = {r.json()["number"] for r in answers if r.status_code == 201}
    for client in clients:
        listed = client.get("/v1/sms/phone-numbers").json()["results"]
        assert {n["number"] for n in listed if n["owner"] == "api"} == numbers


def test_an_unknown_outcome_keeps_the_slot_and_never_buys_a_second_number(world_factory: Callable[..., World]) -> None:
    """Bird times out without buying: the intent stays open, the answer is 503, and a prompt retry
    with the key waits for Bird rather than buying another number."""
    world = world_factory(limit=3)  # room for one
    member = world.client(make_token(world.state_url, "carol@acme.example", "member", "--scopes", "phones:read,phones:write"))
    world.emulator.fault(method="POST", route="/workspaces/{workspaceId}/numbers-long-code", effect="timeout", times=1)
    world.emulator.zero_requests()
    first = purchase(member, "order-unknown")
    assert first.status_code == 503 and first.json()["error"]["code"] == "outcome_unknown", first.text
    again = purchase(member, "order-unknown")
    assert again.status_code == 503 and again.json()["error"]["code"] == "outcome_unknown", again.text
    other = purchase(member, "order-other")  # the open purchase holds the last slot
    assert other.status_code == 409 and other.json()["error"]["code"] == "limit_reached"
    assert buys(world) == 1 and len(owned_numbers(world)) == 2
    with world.store() as store:
        assert [op.request["purchase"] for op in store.open_operations() if op.address.startswith("api:")] == [1]


def test_a_purchase_reads_past_a_stock_page_that_other_purchases_are_all_buying(
        world_factory: Callable[..., World]) -> None:
    """More purchases in flight than a stock page holds (40 at once over two replicas): every number of
    the first page is named by another purchase's open intent. The stock goes on, so this one buys from
    the next page instead of answering "no stock"."""
    import asyncio

    from controller.api.purchase import STOCK_CANDIDATES
    from controller.bird.client import BirdClient
    from tests.api.conftest import WORKSPACE_UUID
    from tests.support import ACCESS_KEY

    world = world_factory(limit=5)

    async def first_page() -> list[Any]:
        async with BirdClient(world.emulator.url, ACCESS_KEY) as client:
            pages = client.stock_item_pages(WORKSPACE_UUID, country="US", type="local", limit=STOCK_CANDIDATES)
            try:
                return await anext(pages)
            finally:
                await pages.aclose()

    page = asyncio.run(first_page())
    assert len(page) == STOCK_CANDIDATES
    with world.store() as store:  # the intents of purchases in flight elsewhere, naming the whole page
        store.begin("api:in-flight", "create", "in-flight-elsewhere",
                    {"numbers": [{"address": f"api:other-{i}", "number": item.numberString, "stockItemId": item.id}
                                 for i, item in enumerate(page)]})
    member = world.client(make_token(world.state_url, "carol@acme.example", "member", "--scopes",
                                     "phones:read,phones:write"))
    answer = purchase(member, "past-the-first-page")
    assert answer.status_code == 201, answer.text
    assert answer.json()["number"] not in {item.numberString for item in page}
