"""Numbers: stock, buying (wallet, stock removal, not in stock, limits), owned lists, cancellation."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from controller.emulator import policy
from controller.emulator.app import create_app
from controller.emulator.numbers import is_valid_e164
from controller.emulator.world import World
from tests.emulator.conftest import AUTH, ORG, WS, Bird, asgi_client, bird_for, brand_body

pytestmark = pytest.mark.anyio


async def all_pages(bird: Bird, path: str, **params: object) -> list[dict]:
    items: list[dict] = []
    query = {"limit": 99, **params}
    while True:
        page = await bird.ok("GET", path, params=query)
        items += page["results"]
        if "nextPageToken" not in page:
            return items
        query["pageToken"] = page["nextPageToken"]


async def test_default_stock_is_1000_valid_unique_us_numbers_priced_as_bird(bird: Bird) -> None:
    stock = await all_pages(bird, f"/organizations/{ORG}/numbers-stock-items")
    assert len(stock) == 1000
    assert len({s["numberString"] for s in stock}) == 1000
    assert all(is_valid_e164(s["numberString"], "US") for s in stock)
    item = stock[0]
    assert set(item) >= {"id", "countryCode", "type", "numberString", "capabilities", "monthlyPrice"}
    assert item["monthlyPrice"] == {"currencyCode": "USD", "amount": 1_150_000, "exponent": -6}
    assert item["capabilities"]["sms"] == {"inbound": True, "outbound": True}


async def test_available_numbers_filter_by_country_type_and_prefix() -> None:
    world = World.from_dict({"organizations": [{"id": ORG, "workspaces": [{"id": WS}], "stock": [
        {"count": 20, "prefix": "+1415"}, {"count": 20, "prefix": "+1212"}]}]})
    async for bird in bird_for(world):
        found = await all_pages(bird, f"/workspaces/{WS}/numbers-available", country="US", type="local",
                                prefix="+1415")
        assert len(found) == 20 and all(n["number"].startswith("+1415") for n in found)
        assert all(is_valid_e164(n["number"], "US") for n in found)
        assert await all_pages(bird, f"/workspaces/{WS}/numbers-available", country="NL") == []
        assert await all_pages(bird, f"/workspaces/{WS}/numbers-available", type="mobile") == []
        stock = await all_pages(bird, f"/organizations/{ORG}/numbers-stock-items", countryCodes="US",
                                prefix="+1212")
        assert len(stock) == 20


async def test_the_stock_is_searched_from_a_workspace_as_from_its_organization(any_bird: Bird) -> None:
    """Bird "Search Available Numbers" documents the search at both levels: one stock, the same filters
    (countryCodes, types, features, prefix), the same items (whose id "Buy a Number" takes)."""
    bird = any_bird
    search = {"countryCodes": "US", "types": "local", "features": "sms-outbound", "prefix": "+1"}
    from_workspace = await all_pages(bird, f"/workspaces/{WS}/numbers-stock-items", **search)
    from_organization = await all_pages(bird, f"/organizations/{ORG}/numbers-stock-items", **search)
    assert from_workspace == from_organization and len(from_workspace) == 1000
    assert await all_pages(bird, f"/workspaces/{WS}/numbers-stock-items", types="toll-free") == []
    assert await all_pages(bird, f"/workspaces/{WS}/numbers-stock-items", countryCodes="NL") == []
    bad = await bird.error("GET", f"/workspaces/{WS}/numbers-stock-items", 422, params={"features": "fax-ish"})
    assert "features" in bad["details"]
    # One exact number: its whole E.164 string as the prefix.
    number = from_workspace[7]["numberString"]
    [exact] = (await bird.ok("GET", f"/workspaces/{WS}/numbers-stock-items",
                             params={"countryCodes": "US", "prefix": number, "limit": 1}))["results"]
    assert exact == from_workspace[7]
    bought = await bird.ok("POST", f"/workspaces/{WS}/numbers-long-code", 201,
                           json={"numberStockItemIds": [exact["id"]]})
    assert [n["numberString"] for n in bought["results"]] == [number]
    assert (await bird.ok("GET", f"/workspaces/{WS}/numbers-stock-items",
                          params={"countryCodes": "US", "prefix": number}))["results"] == []


async def test_buying_charges_the_wallet_and_the_number_leaves_the_stock(any_bird: Bird) -> None:
    bird = any_bird
    bought = await bird.buy(3)
    assert [n["status"] for n in bought] == ["active"] * 3
    state = await bird.state()
    assert state["wallets"][0]["balance"] == str(policy.DEFAULT_WALLET - 3 * policy.NUMBER_MONTHLY_PRICE)
    assert [c["kind"] for c in state["charges"]] == ["number"] * 3
    assert {c["objectId"] for c in state["charges"]} == {n["id"] for n in bought}
    assert {n["workspaceId"] for n in state["numbers"]} == {WS}
    stock = {s["numberString"] for s in await all_pages(bird, f"/organizations/{ORG}/numbers-stock-items")}
    assert len(stock) == 997 and not stock & {n["number"] for n in bought}
    # Bird's documented read of one number is the long-code route (numberString, countryCode, endpointId).
    owned = await bird.ok("GET", f"/workspaces/{WS}/numbers-long-code/{bought[0]['id']}")
    assert (owned["id"], owned["endpointId"], owned["numberString"], owned["countryCode"]) == (
        bought[0]["id"], bought[0]["id"], bought[0]["number"], "US")
    # ... and the undocumented /numbers/{numberId} is not served.
    await bird.error("GET", f"/workspaces/{WS}/numbers/{bought[0]['id']}", 404)
    listed = await all_pages(bird, f"/workspaces/{WS}/numbers-long-code")
    assert [n["numberString"] for n in listed] == [n["number"] for n in bought]
    area = bought[1]["number"][:5]
    narrowed = await bird.ok("GET", f"/workspaces/{WS}/numbers-long-code", params={"numberString": area})
    assert bought[1]["number"] in {n["numberString"] for n in narrowed["results"]}
    assert all(n["numberString"].startswith(area) for n in narrowed["results"])
    assert (await bird.ok("GET", f"/workspaces/{WS}/numbers-long-code", params={"countryCodes": "NL"}))[
        "results"] == []


async def test_stock_items_refuse_a_prefix_without_country_codes(any_bird: Bird) -> None:
    """Bird: prefix "MUST be used in conjunction with the countryCodes filter"."""
    path = f"/organizations/{ORG}/numbers-stock-items"
    error = await any_bird.error("GET", path, 422, params={"prefix": "+1212"})
    assert "prefix" in error["details"]
    await any_bird.ok("GET", path, params={"prefix": "+1212", "countryCodes": "US"})


async def test_buying_a_number_no_longer_in_stock_fails_and_charges_nothing(bird: Bird) -> None:
    first = (await bird.buy(1))[0]
    error = await bird.error("POST", f"/workspaces/{WS}/numbers", 422,
                             json={"numbers": [{"number": first["number"], "country": "US"}]})
    assert error["code"] == policy.CODE_NOT_IN_STOCK and "numbers[0].number" in error["details"]
    assert len((await bird.state())["charges"]) == 1


@pytest.mark.parametrize(("entry", "field"), [
    ({"number": "+1415", "country": "US"}, "numbers[0].number"),
    ({"number": "14155550100", "country": "US"}, "numbers[0].number"),
    ({"country": "US"}, "numbers[0].number"),
    ({"number": "+14158675309", "country": "NL"}, "numbers[0].country"),
    ({"number": "+14158675309"}, "numbers[0].country"),
    ({"number": "+14158675309", "country": "US", "price": 1}, "numbers[0].price"),
])
async def test_buy_body_errors_name_the_field(bird: Bird, entry: dict, field: str) -> None:
    error = await bird.error("POST", f"/workspaces/{WS}/numbers", 422, json={"numbers": [entry]})
    assert field in error["details"], error


async def test_buy_needs_1_to_25_numbers(bird: Bird) -> None:
    for body in ({}, {"numbers": []}, {"numbers": [{"number": "+14158675309", "country": "US"}] * 26}):
        error = await bird.error("POST", f"/workspaces/{WS}/numbers", 422, json=body)
        assert "numbers" in error["details"]


async def test_long_code_buy_takes_up_to_25_stock_items(any_bird: Bird) -> None:
    bird = any_bird
    stock = (await bird.ok("GET", f"/organizations/{ORG}/numbers-stock-items", params={"limit": 30}))["results"]
    bought = (await bird.ok("POST", f"/workspaces/{WS}/numbers-long-code", 201,
                            json={"numberStockItemIds": [s["id"] for s in stock[:25]]}))["results"]
    assert [b["numberString"] for b in bought] == [s["numberString"] for s in stock[:25]]
    assert all(b["endpointId"] == b["id"] for b in bought)
    owned = await all_pages(bird, f"/workspaces/{WS}/numbers")
    assert {n["id"] for n in owned} == {b["id"] for b in bought}
    too_many = await bird.error("POST", f"/workspaces/{WS}/numbers-long-code", 422,
                                json={"numberStockItemIds": [s["id"] for s in stock[:26]]})
    assert "numberStockItemIds" in too_many["details"]
    gone = await bird.error("POST", f"/workspaces/{WS}/numbers-long-code", 422,
                            json={"numberStockItemIds": [stock[0]["id"]]})
    assert gone["code"] == policy.CODE_NOT_IN_STOCK and "numberStockItemIds[0]" in gone["details"]


async def test_not_enough_balance_is_birds_error_and_nothing_changes() -> None:
    world = World.from_dict({"organizations": [{"id": ORG, "workspaces": [{"id": WS, "wallet": "2.00"}],
                                                "stock": [{"count": 5}]}]})
    async for bird in bird_for(world):
        error = await bird.error("POST", f"/workspaces/{WS}/numbers", 422, json={"numbers": [
            {"number": n["numberString"], "country": "US"}
            for n in (await bird.ok("GET", f"/organizations/{ORG}/numbers-stock-items"))["results"][:2]]})
        assert error["code"] == policy.CODE_INSUFFICIENT_BALANCE and "wallet" in error["details"]
        state = await bird.state()
        assert state["numbers"] == [] and state["charges"] == [] and state["wallets"][0]["balance"] == "2.00"
        assert state["stock"][0]["count"] == 5
        brand = await bird.error("POST", f"/workspaces/{WS}/tcr-brands", 422, json=brand_body())
        assert brand["code"] == policy.CODE_INSUFFICIENT_BALANCE


async def test_cancelled_number_stays_until_the_paid_month_ends(bird: Bird) -> None:
    number = (await bird.buy(1))[0]
    cancelled = await bird.ok("POST", f"/workspaces/{WS}/numbers/{number['id']}/cancel-subscription")
    assert cancelled["subscription"]["status"] == policy.SUBSCRIPTION_CANCELED and cancelled["deactivatesAt"]
    again = await bird.ok("POST", f"/workspaces/{WS}/numbers/{number['id']}/cancel-subscription")
    assert again["deactivatesAt"] == cancelled["deactivatesAt"]
    await bird.advance(policy.NUMBER_BILLING_PERIOD_SECONDS - 60)
    assert len(await all_pages(bird, f"/workspaces/{WS}/numbers")) == 1
    await bird.advance(120)
    assert await all_pages(bird, f"/workspaces/{WS}/numbers") == []
    await bird.error("GET", f"/workspaces/{WS}/numbers-long-code/{number['id']}", 404)


async def test_ten_thousand_owned_numbers_list_in_102_requests() -> None:
    world = World.from_dict({"organizations": [{"id": ORG, "workspaces": [{"id": WS, "ownedNumbers": 10_000}],
                                                "stock": [{"count": 10}]}]})
    app = create_app(world)
    async with asgi_client(app) as http:
        bird = Bird(http, app.state.emulator)
        started = time.process_time()
        numbers = await all_pages(bird, f"/workspaces/{WS}/numbers")
        elapsed = time.process_time() - started
        assert len(numbers) == 10_000 and len({n["number"] for n in numbers}) == 10_000
        counts = await bird.admin("GET", "requests")
        assert (counts["total"], counts["byRoute"]) == (102, {"GET /workspaces/{workspaceId}/numbers": 102})
        assert elapsed < 5, elapsed


async def test_bulk_buying_is_fast_enough_for_thousands_of_numbers() -> None:
    world = World.from_dict({"organizations": [{"id": ORG, "workspaces": [{"id": WS, "wallet": "100000"}],
                                                "stock": [{"count": 2500}]}]})
    app = create_app(world)
    async with asgi_client(app) as http:
        started = time.process_time()
        bought = 0
        while bought < 2500:
            stock = (await http.get(f"/organizations/{ORG}/numbers-stock-items", headers=AUTH,
                                    params={"limit": 25})).json()["results"]
            response = await http.post(f"/workspaces/{WS}/numbers-long-code", headers=AUTH,
                                       json={"numberStockItemIds": [s["id"] for s in stock]})
            assert response.status_code == 201
            bought += len(stock)
        elapsed = time.process_time() - started
        assert len(app.state.emulator.workspaces[WS].numbers) == 2500
        assert app.state.emulator.workspaces[WS].balance == Decimal("100000") - 2500 * policy.NUMBER_MONTHLY_PRICE
        assert elapsed < 5, elapsed


async def test_requests_per_second_in_process() -> None:
    """The app itself serves thousands of requests per second (called as ASGI, without a client's own
    cost). Timed in this process's CPU time, so other work on a shared machine does not make it flaky."""
    world = World.from_dict({"organizations": [{"id": ORG, "workspaces": [{"id": WS, "ownedNumbers": 500}],
                                                "stock": [{"count": 10}]}]})
    app = create_app(world)
    scope = {"type": "http", "method": "GET", "path": f"/workspaces/{WS}/numbers", "raw_path": b"",
             "query_string": b"limit=10", "headers": [(b"authorization", b"AccessKey emulator-key")],
             "http_version": "1.1", "scheme": "http", "server": ("bird.test", 80), "client": ("127.0.0.1", 1),
             "root_path": "", "asgi": {"version": "3.0"}}
    statuses: list[int] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(2000):
        await app(scope, receive, send)
    rate = 2000 / (time.process_time() - started)
    print(f"emulator in-process: {rate:.0f} requests per CPU second")
    assert statuses == [200] * 2000
    assert rate > 1000, rate


@pytest.mark.parametrize("prefix", [None, "+1", "+1415", "+14158", "+1646555", "+1212867"])
def test_generated_numbers_are_valid_unique_and_keep_the_prefix(prefix: str | None) -> None:
    import random

    from controller.emulator.numbers import generate_us_numbers

    taken: set[str] = set()
    numbers = list(generate_us_numbers(random.Random(11), 3000, prefix=prefix, taken=taken))
    assert len(set(numbers)) == 3000 and taken == set(numbers)
    assert all(is_valid_e164(n, "US") and n.startswith(prefix or "+1") for n in numbers)
    again = list(generate_us_numbers(random.Random(11), 3000, prefix=prefix, taken=set()))
    assert again == numbers


async def test_endpoint_subscriptions_show_the_long_code_main_subscription(any_bird: Bird) -> None:
    """Bird "Manage Endpoint Subscriptions" (the successor of the deprecated cancel-subscription): a long
    code's subscription is "main", active until cancelled, then inactive with its end date."""
    bird = any_bird
    number = (await bird.buy(1))[0]
    path = f"/workspaces/{WS}/endpoints/{number['id']}/subscriptions"
    [main] = (await bird.ok("GET", path))["results"]
    assert (main["name"], main["status"]) == ("main", "active") and main["price"]["currencyCode"] == "USD"
    await bird.ok("POST", f"/workspaces/{WS}/numbers/{number['id']}/cancel-subscription")
    cancelled = await bird.ok("GET", f"{path}/main")
    assert cancelled["status"] == "inactive" and cancelled["subscription"]["endAt"]
    await bird.error("GET", f"{path}/US", 404)
