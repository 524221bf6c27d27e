"""10DLC: brands, vettings, campaigns — Bird's field limits, fees and lifecycles on the emulator clock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from controller.emulator import policy
from controller.emulator.world import World
from tests.emulator.conftest import ORG, WS, Bird, bird_for, brand_body, campaign_body

pytestmark = pytest.mark.anyio

BRANDS = f"/workspaces/{WS}/tcr-brands"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"entityType": None}, "entityType"),
    ({"entityType": "PIRATE"}, "entityType"),
    ({"entityType": "SOLE_PROPRIETOR"}, "entityType"),
    ({"displayName": ""}, "displayName"),
    ({"displayName": "x" * 256}, "displayName"),
    ({"companyName": None}, "companyName"),
    ({"companyName": "x" * 256}, "companyName"),
    ({"ein": ""}, "ein"),
    ({"ein": "1" * 22}, "ein"),
    ({"einIssuingCountry": "USA"}, "einIssuingCountry"),
    ({"einIssuingCountry": "U"}, "einIssuingCountry"),
    ({"phone": "2025550143"}, "phone"),
    ({"phone": "+1202555014312345678901"}, "phone"),
    ({"phone": "+1000"}, "phone"),
    ({"street": "x" * 101}, "street"),
    ({"street": None}, "street"),
    ({"city": "x" * 101}, "city"),
    ({"state": "x" * 21}, "state"),
    ({"state": "New York"}, "state"),
    ({"postalCode": "12345678901"}, "postalCode"),
    ({"postalCode": "1234"}, "postalCode"),
    ({"postalCode": "ABCDE"}, "postalCode"),
    ({"country": "USA"}, "country"),
    ({"email": "x" * 95 + "@a.com"}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"website": ""}, "website"),
    ({"website": "https://" + "x" * 100}, "website"),
    ({"vertical": "x" * 51}, "vertical"),
    ({"firstName": "x" * 101}, "firstName"),
    ({"altBusinessId": "123"}, "altBusinessIdType"),
    ({"altBusinessId": "x" * 51, "altBusinessIdType": "DUNS"}, "altBusinessId"),
    ({"entityType": "PUBLIC_PROFIT"}, "stockSymbol"),
    ({"entityType": "PUBLIC_PROFIT", "stockSymbol": "ACME"}, "stockExchange"),
    ({"stockExchange": "MOON"}, "stockExchange"),
    ({"nickname": "acme"}, "nickname"),
])
async def test_brand_field_errors_are_422_naming_the_field(bird: Bird, overrides: dict, field: str) -> None:
    error = await bird.error("POST", BRANDS, 422, json=brand_body(**overrides))
    assert field in error["details"], error
    assert error["code"] == policy.CODE_INVALID
    assert (await bird.state())["brands"] == [] and (await bird.state())["charges"] == []


async def test_a_public_company_with_symbol_and_exchange_is_accepted(bird: Bird) -> None:
    brand = await bird.ok("POST", BRANDS, 201, json=brand_body(entityType="PUBLIC_PROFIT", stockSymbol="ACME",
                                                              stockExchange="NASDAQ"))
    assert brand["stockExchange"] == "NASDAQ"


async def test_brand_is_pending_then_approved_after_an_hour_and_charged_once(any_bird: Bird) -> None:
    bird = any_bird
    brand = await bird.ok("POST", BRANDS, 201, json=brand_body())
    assert brand["status"] == "PENDING" and brand["organizationId"] == ORG and brand["workspaceIds"] == [WS]
    assert brand["createdAt"].endswith("Z") and "rejection" not in brand
    await bird.advance(3599)
    assert (await bird.ok("GET", f"{BRANDS}/{brand['id']}"))["status"] == "PENDING"
    advanced = await bird.advance(1)
    assert advanced["transitions"] == [{"kind": "brand", "id": brand["id"], "status": "APPROVED"}]
    assert (await bird.ok("GET", f"{BRANDS}/{brand['id']}"))["status"] == "APPROVED"
    charges = (await bird.state())["charges"]
    assert [(c["kind"], c["amount"]) for c in charges] == [("brand-registration", "4.00")]


async def test_entity_type_and_legal_identity_are_frozen_once_approved(bird: Bird) -> None:
    brand = await bird.brand()
    for change in ({"entityType": "NON_PROFIT"}, {"ein": "987654321"}, {"companyName": "Other Inc."}):
        error = await bird.error("PATCH", f"{BRANDS}/{brand['id']}", 422, json=change)
        assert next(iter(change)) in error["details"]
    updated = await bird.ok("PATCH", f"{BRANDS}/{brand['id']}", json={"displayName": "Acme Alerts"})
    assert updated["displayName"] == "Acme Alerts" and updated["status"] == "APPROVED"
    error = await bird.error("PATCH", f"{BRANDS}/{brand['id']}", 422, json={"postalCode": "1"})
    assert "postalCode" in error["details"]


async def test_legal_identity_is_frozen_by_an_approved_vetting_too(bird: Bird) -> None:
    brand = await bird.brand(approved=False)
    await bird.ok("POST", f"{BRANDS}/{brand['id']}/vettings", 201, json={"class": "STANDARD"})
    assert (await bird.ok("PATCH", f"{BRANDS}/{brand['id']}", json={"ein": "222222222"}))["ein"] == "222222222"
    await bird.advance(3600)  # vetting ACTIVE (and brand APPROVED)
    error = await bird.error("PATCH", f"{BRANDS}/{brand['id']}", 422, json={"ein": "333333333"})
    assert "ein" in error["details"]


async def test_a_rejected_brand_surfaces_the_reason_and_resubmits_on_update(bird: Bird) -> None:
    brand = await bird.brand(approved=False)
    decided = await bird.admin("POST", "decide", json={
        "kind": "brand", "id": brand["id"], "status": "REJECTED",
        "rejection": {"code": "TCR_BRAND_REJECTED", "description": "EIN does not match the company name"}})
    assert decided["object"]["rejection"] == {"code": "TCR_BRAND_REJECTED",
                                              "description": "EIN does not match the company name"}
    got = await bird.ok("GET", f"{BRANDS}/{brand['id']}")
    assert got["status"] == "REJECTED" and got["rejection"]["code"] == "TCR_BRAND_REJECTED"
    await bird.advance(7200)  # the original review timer must not approve a rejected brand
    assert (await bird.ok("GET", f"{BRANDS}/{brand['id']}"))["status"] == "REJECTED"
    resubmitted = await bird.ok("PATCH", f"{BRANDS}/{brand['id']}", json={"ein": "111111111"})
    assert resubmitted["status"] == "PENDING" and "rejection" not in resubmitted
    await bird.advance(3600)
    assert (await bird.ok("GET", f"{BRANDS}/{brand['id']}"))["status"] == "APPROVED"
    kinds = [c["kind"] for c in (await bird.state())["charges"]]
    assert kinds == ["brand-registration", "brand-resubmission"]


async def test_brand_list_get_and_delete(bird: Bird) -> None:
    first, second = await bird.brand(approved=False), await bird.brand(approved=False, displayName="Beta")
    listed = await bird.ok("GET", BRANDS)
    assert [b["id"] for b in listed["results"]] == [first["id"], second["id"]]
    deleted = await bird.ok("DELETE", f"{BRANDS}/{first['id']}", 200)  # Bird answers with the brand
    assert deleted["id"] == first["id"] and deleted["displayName"] == first["displayName"]
    await bird.error("GET", f"{BRANDS}/{first['id']}", 404)
    with_campaign = await bird.brand()
    campaign = await bird.campaign(with_campaign["id"], approved=False)
    error = await bird.error("DELETE", f"{BRANDS}/{with_campaign['id']}", 409)  # a PENDING campaign is active
    assert error["code"] == policy.CODE_CONFLICT and campaign["id"] in error["message"]
    await bird.decide("campaign", campaign["id"], "REJECTED")
    # Bird refuses only with *active* campaigns: a rejected one leaves with its brand.
    assert (await bird.ok("DELETE", f"{BRANDS}/{with_campaign['id']}", 200))["id"] == with_campaign["id"]
    await bird.error("GET", f"{BRANDS}/{with_campaign['id']}/campaigns/{campaign['id']}", 404)


async def test_brands_list_filters_by_status(bird: Bird) -> None:
    pending, approved = await bird.brand(approved=False), await bird.brand(displayName="Beta")
    assert [b["id"] for b in (await bird.ok("GET", BRANDS, params={"status": "APPROVED"}))["results"]] == [
        approved["id"]]
    both = await bird.ok("GET", BRANDS, params={"status": "PENDING,APPROVED"})
    assert {b["id"] for b in both["results"]} == {pending["id"], approved["id"]}


async def test_vetting_is_pending_then_active_after_an_hour(bird: Bird) -> None:
    brand = await bird.brand(approved=False)
    path = f"{BRANDS}/{brand['id']}/vettings"
    vetting = await bird.ok("POST", path, 201, json={"class": "STANDARD", "vettingProviderId": "AEGIS"})
    assert vetting["status"] == "PENDING" and vetting["class"] == "STANDARD" and vetting["brandId"] == brand["id"]
    await bird.advance(3600)
    listed = (await bird.ok("GET", path))["results"]
    assert [(v["id"], v["status"]) for v in listed] == [(vetting["id"], "ACTIVE")]
    assert listed[0]["score"]
    assert Decimal(next(c["amount"] for c in (await bird.state())["charges"] if c["kind"] == "vetting")) > 0


@pytest.mark.parametrize(("body", "field"), [({}, "class"), ({"class": "GOLD"}, "class"),
                                             ({"class": "STANDARD", "extra": 1}, "extra")])
async def test_vetting_field_errors(bird: Bird, body: dict, field: str) -> None:
    brand = await bird.brand(approved=False)
    error = await bird.error("POST", f"{BRANDS}/{brand['id']}/vettings", 422, json=body)
    assert field in error["details"]


async def test_vetting_of_an_unknown_brand_is_404(bird: Bird) -> None:
    await bird.error("POST", f"{BRANDS}/00000000-0000-4000-8000-000000000000/vettings", 404,
                     json={"class": "STANDARD"})


@pytest.mark.parametrize(("overrides", "field"), [
    ({"name": None}, "name"),
    ({"usecase": None}, "usecase"),
    ({"usecase": "X" * 51}, "usecase"),
    ({"usecase": "MIXED"}, "subUsecases"),
    ({"usecase": "MIXED", "subUsecases": ["MARKETING"]}, "subUsecases"),
    ({"usecase": "LOW_VOLUME", "subUsecases": ["A", "B", "C", "D", "E", "F"]}, "subUsecases"),
    ({"usecase": "ACCOUNT_NOTIFICATION", "subUsecases": ["MARKETING"]}, "subUsecases"),
    ({"usecase": "CHARITY", "subUsecases": ["A", "B", "C", "D", "E", "F"]}, "subUsecases"),
    ({"description": "too short"}, "description"),
    ({"description": "x" * 39}, "description"),
    ({"description": "x" * 4097}, "description"),
    ({"messageFlow": "x" * 39}, "messageFlow"),
    ({"messageFlow": "x" * 2049}, "messageFlow"),
    ({"helpMessage": "x" * 19}, "helpMessage"),
    ({"helpMessage": "x" * 256}, "helpMessage"),
    ({"samples": []}, "samples"),
    ({"samples": ["a sample message"] * 6}, "samples"),
    ({"samples": None}, "samples"),
    ({"optinMessage": "x" * 19}, "optinMessage"),
    ({"optoutMessage": "x" * 19}, "optoutMessage"),
    ({"termsAndConditions": None}, "termsAndConditions"),
    ({"termsAndConditions": False}, "termsAndConditions"),
    ({"embeddedLink": "yes"}, "embeddedLink"),
    ({"resellerId": "not-a-uuid"}, "resellerId"),
    ({"resellerId": "99999999-9999-4999-8999-999999999999"}, "resellerId"),
])
async def test_campaign_field_errors_are_422_naming_the_field(bird: Bird, overrides: dict, field: str) -> None:
    brand = await bird.brand()
    error = await bird.error("POST", f"{BRANDS}/{brand['id']}/campaigns", 422, json=campaign_body(**overrides))
    assert field in error["details"], error


async def test_mixed_use_case_with_2_to_5_sub_use_cases_is_accepted(bird: Bird) -> None:
    brand = await bird.brand()
    for subs in (["MARKETING", "ACCOUNT_NOTIFICATION"], ["A", "B", "C", "D", "E"]):
        await bird.campaign(brand["id"], approved=False, usecase="MIXED", subUsecases=subs)


async def test_charity_use_case_with_up_to_5_sub_use_cases_or_none_is_accepted(bird: Bird) -> None:
    brand = await bird.brand()
    for subs in (None, ["ACCOUNT_NOTIFICATION"], ["A", "B", "C", "D", "E"]):
        await bird.campaign(brand["id"], approved=False, usecase="CHARITY", subUsecases=subs)


async def test_campaign_needs_an_approved_brand(bird: Bird) -> None:
    brand = await bird.brand(approved=False)
    error = await bird.error("POST", f"{BRANDS}/{brand['id']}/campaigns", 422, json=campaign_body())
    assert "brandId" in error["details"] and "PENDING" in error["details"]["brandId"][0]


async def test_campaign_reseller_must_be_active() -> None:
    inactive = "66666666-6666-4666-8666-666666666666"
    world = World.from_dict({"organizations": [{"id": ORG, "workspaces": [{"id": WS}], "stock": [{"count": 1}],
                                                "resellers": [{"id": inactive, "status": "PENDING"}]}]})
    async for bird in bird_for(world):
        brand = await bird.brand()
        error = await bird.error("POST", f"{BRANDS}/{brand['id']}/campaigns", 422,
                                 json=campaign_body(resellerId=inactive))
        assert "ACTIVE" in error["details"]["resellerId"][0]
        resellers = await bird.ok("GET", f"/workspaces/{WS}/tcr-resellers")
        assert [(r["id"], r["status"]) for r in resellers["results"]] == [(inactive, "PENDING")]


async def test_campaign_with_the_active_reseller_is_charged_fee_and_three_month_minimum(any_bird: Bird) -> None:
    bird = any_bird
    reseller = (await bird.ok("GET", f"/workspaces/{WS}/tcr-resellers"))["results"][0]
    assert reseller["status"] == "ACTIVE"
    brand = await bird.brand()
    campaign = await bird.ok("POST", f"{BRANDS}/{brand['id']}/campaigns", 201,
                             json=campaign_body(resellerId=reseller["id"]))
    assert campaign["status"] == "PENDING" and campaign["brandId"] == brand["id"]
    assert campaign["resellerId"] == reseller["id"] and campaign["subscription"]["status"] == "active"
    charges = {c["kind"]: Decimal(c["amount"]) for c in (await bird.state())["charges"]}
    assert charges["campaign-vetting"] == policy.CAMPAIGN_VETTING_FEE
    assert charges["campaign-minimum-commitment"] == 3 * policy.CAMPAIGN_MONTHLY_FEE
    wallet = Decimal((await bird.state())["wallets"][0]["balance"])
    assert wallet == policy.DEFAULT_WALLET - sum(charges.values())


async def test_campaign_is_approved_after_seven_days(bird: Bird) -> None:
    brand = await bird.brand()
    campaign = await bird.campaign(brand["id"], approved=False)
    path = f"{BRANDS}/{brand['id']}/campaigns/{campaign['id']}"
    await bird.advance(7 * 24 * 3600 - 1)
    assert (await bird.ok("GET", path))["status"] == "PENDING"
    await bird.advance(1)
    assert (await bird.ok("GET", path))["status"] == "APPROVED"
    listed = await bird.ok("GET", f"{BRANDS}/{brand['id']}/campaigns")
    assert [c["id"] for c in listed["results"]] == [campaign["id"]]


async def test_campaign_rejection_carries_code_and_description(bird: Bird) -> None:
    brand = await bird.brand()
    campaign = await bird.campaign(brand["id"], approved=False)
    await bird.admin("POST", "decide", json={"kind": "campaign", "id": campaign["id"], "status": "REJECTED",
                                             "rejection": {"code": "MESSAGE_FLOW", "description": "No opt-in"}})
    got = await bird.ok("GET", f"{BRANDS}/{brand['id']}/campaigns/{campaign['id']}")
    assert got["status"] == "REJECTED" and got["rejection"] == {"code": "MESSAGE_FLOW", "description": "No opt-in"}
    await bird.advance(8 * 24 * 3600)
    assert (await bird.ok("GET", f"{BRANDS}/{brand['id']}/campaigns/{campaign['id']}"))["status"] == "REJECTED"


@pytest.mark.parametrize("body", [
    {"kind": "planet", "id": "x", "status": "APPROVED"},
    {"kind": "brand", "id": "x", "status": "MAYBE"},
])
async def test_decide_rejects_unknown_kinds_and_statuses(bird: Bird, body: dict) -> None:
    response = await bird.http.post("/_emulator/decide", json=body)
    assert response.status_code == 422


async def test_decide_on_an_unknown_object_is_404(bird: Bird) -> None:
    response = await bird.http.post("/_emulator/decide", json={"kind": "brand", "id": "nope", "status": "APPROVED"})
    assert response.status_code == 404
