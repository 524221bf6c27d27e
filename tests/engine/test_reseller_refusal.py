"""A campaign's reseller as Bird's list has it (`GET /workspaces/{id}/tcr-resellers`): unknown or not ACTIVE,
the plan refuses the campaign, naming the status, before the brand's or the campaign's fee."""

from __future__ import annotations

from typing import Any

import pytest

from controller.resources.base import Desired
from tests.engine.test_planner import WS, brand, org, plan_of, workspace, world

RESELLER = "33333333-3333-4333-8333-333333333333"


def campaign(reseller: str) -> Desired:
    return Desired("Campaign/alerts", "Campaign", "acme",
                   {"name": "Acme alerts", "usecase": "ACCOUNT_NOTIFICATION", "resellerId": reseller},
                   context={"workspaceId": WS, "brand": "Brand/acme"})


def approved_brand() -> dict[str, Any]:
    return {"id": "b1", "status": "APPROVED", "entityType": "PRIVATE_PROFIT", "displayName": "Acme",
            "companyName": "Acme Inc.", "ein": "123456789"}


@pytest.mark.parametrize(("listed", "expected"), [
    ([], f"reseller {RESELLER} is not among the workspace's TCR resellers on Bird (listed: none)"),
    ([{"id": "44444444-4444-4444-8444-444444444444", "status": "ACTIVE"}],
     f"reseller {RESELLER} is not among the workspace's TCR resellers on Bird (listed: "
     "44444444-4444-4444-8444-444444444444 (ACTIVE))"),
    ([{"id": RESELLER, "status": "INACTIVE"}], f"reseller {RESELLER} is INACTIVE on Bird"),
    ([{"id": RESELLER, "status": "PENDING"}], f"reseller {RESELLER} is PENDING on Bird"),
])
@pytest.mark.parametrize("brand_on_bird", [False, True])
def test_unknown_or_inactive_reseller_refuses_the_campaign(listed: list[dict[str, Any]], expected: str,
                                                            brand_on_bird: bool) -> None:
    w = world(resellers={WS: listed}, brands={WS: [approved_brand()] if brand_on_bird else []},
              campaigns={(WS, "b1"): []})
    p = plan_of([org(), workspace(), brand(), campaign(RESELLER)], w)
    [refusal] = [r for r in p.refusals if r.address == "Campaign/alerts"]
    assert refusal.reason.startswith(expected) and refusal.flag is None
    assert not [c for c in p.changes if c.address == "Campaign/alerts"]
    assert [f.address for f in p.failed] == ["Campaign/alerts"]


def test_an_active_reseller_lets_the_campaign_register() -> None:
    w = world(resellers={WS: [{"id": RESELLER, "status": "ACTIVE"}]}, brands={WS: [approved_brand()]},
              campaigns={(WS, "b1"): []})
    p = plan_of([org(), workspace(), brand(), campaign(RESELLER)], w)
    assert not p.refusals
    assert [c.action for c in p.changes if c.address == "Campaign/alerts"] == ["create"]
