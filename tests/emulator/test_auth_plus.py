"""Authentication+ on the emulator: a PUBLIC_PROFIT brand's business contact is sent TCR's e-mail, verified
through the admin call, or left to expire after 7 days of the emulator's clock (the brand UNVERIFIED, with
Bird's rejection), with a 10dlc.brand event each time."""

from __future__ import annotations

from typing import Any

import pytest

from controller.emulator import policy
from tests.emulator.conftest import WS, Bird, brand_body

BRANDS = f"/workspaces/{WS}/tcr-brands"
pytestmark = pytest.mark.anyio

PUBLIC = {"entityType": "PUBLIC_PROFIT", "stockSymbol": "ACME", "stockExchange": "NASDAQ",
          "businessContactEmail": "jane.doe@acme.example"}


async def public_brand(bird: Bird, **overrides: Any) -> dict[str, Any]:
    return await bird.ok("POST", BRANDS, 201, json=brand_body(**{**PUBLIC, **overrides}))


async def test_a_public_brand_is_sent_the_e_mail_when_registered(bird: Bird) -> None:
    brand = await public_brand(bird)
    assert brand["authPlusStatus"] == "PENDING"
    assert brand["authPlusEmailSentDate"] == brand["createdAt"]
    assert "businessContactEmailVerifiedDate" not in brand


async def test_other_brands_have_no_auth_plus(bird: Bird) -> None:
    private = await bird.ok("POST", BRANDS, 201, json=brand_body(businessContactEmail="jane.doe@acme.example"))
    assert "authPlusStatus" not in private
    no_contact = await bird.ok("POST", BRANDS, 201, json=brand_body(**{**PUBLIC, "businessContactEmail": None}))
    assert "authPlusStatus" not in no_contact


async def test_verified_through_the_admin_call_sets_birds_verified_date(bird: Bird) -> None:
    brand = await public_brand(bird)
    await bird.advance(3600)
    answer = await bird.admin("POST", "authplus/verify", json={"brandId": brand["id"]})
    verified = await bird.ok("GET", f"{BRANDS}/{brand['id']}")
    assert answer["object"]["authPlusStatus"] == verified["authPlusStatus"] == "VERIFIED"
    assert verified["businessContactEmailVerifiedDate"] == verified["updatedAt"]
    await bird.advance(policy.AUTH_PLUS_LINK_SECONDS)
    assert (await bird.ok("GET", f"{BRANDS}/{brand['id']}"))["authPlusStatus"] == "VERIFIED"


async def test_unanswered_for_7_days_the_link_expires_with_birds_rejection(bird: Bird) -> None:
    brand = await public_brand(bird)
    await bird.advance(policy.AUTH_PLUS_LINK_SECONDS - 1)
    assert (await bird.ok("GET", f"{BRANDS}/{brand['id']}"))["authPlusStatus"] == "PENDING"
    advanced = await bird.advance(1)
    assert {"kind": "authplus", "id": brand["id"], "status": "EXPIRED"} in advanced["transitions"]
    expired = await bird.ok("GET", f"{BRANDS}/{brand['id']}")
    assert expired["authPlusStatus"] == "EXPIRED"
    assert expired["rejection"]["code"] == "AUTH_PLUS_EXPIRED"
    assert "UNVERIFIED" in expired["rejection"]["description"]
    late = await bird.http.post("/_emulator/authplus/verify", json={"brandId": brand["id"]})
    assert late.status_code == 422 and "expired link" in late.text


async def test_a_new_contact_sends_a_new_e_mail_with_a_fresh_week(bird: Bird) -> None:
    brand = await public_brand(bird)
    await bird.advance(policy.AUTH_PLUS_LINK_SECONDS)
    resent = await bird.ok("PATCH", f"{BRANDS}/{brand['id']}", json={"businessContactEmail": "john.roe@acme.example"})
    assert resent["authPlusStatus"] == "PENDING" and "rejection" not in resent
    assert resent["authPlusEmailSentDate"] == resent["updatedAt"]
    await bird.advance(policy.AUTH_PLUS_LINK_SECONDS - 60)
    assert (await bird.ok("GET", f"{BRANDS}/{brand['id']}"))["authPlusStatus"] == "PENDING"
    await bird.advance(60)
    assert (await bird.ok("GET", f"{BRANDS}/{brand['id']}"))["authPlusStatus"] == "EXPIRED"


async def test_an_unrelated_update_does_not_resend(bird: Bird) -> None:
    brand = await public_brand(bird)
    await bird.advance(3600)
    updated = await bird.ok("PATCH", f"{BRANDS}/{brand['id']}", json={"website": "https://acme.example/about"})
    assert updated["authPlusEmailSentDate"] == brand["authPlusEmailSentDate"]


async def test_expiry_and_verification_send_brand_events(bird: Bird) -> None:
    await bird.subscribe("10dlc.brand", "http://127.0.0.1:1/hook")
    expiring, verified = await public_brand(bird), await public_brand(bird, ein="987654321")
    await bird.advance(3600)  # both approved: one event each
    await bird.admin("POST", "authplus/verify", json={"brandId": verified["id"]})
    await bird.advance(policy.AUTH_PLUS_LINK_SECONDS)
    events = [d for d in (await bird.state())["deliveries"] if d["event"] == "10dlc.brand"]
    # two approvals, one verification, one expiry (each retried: the receiver is down)
    assert len({d["requestId"] for d in events}) == 4, events
    assert not any("EXPIRED" in str(d) and verified["id"] in str(d) for d in events)
    assert expiring["id"]
