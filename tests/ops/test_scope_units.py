"""The pure planner's scoping: records of every kind that belong to an Organization the specs do not
declare are neither removed nor forgotten, and are listed as out of scope (no I/O: plain data in)."""

from __future__ import annotations

from controller.planner import compute_plan
from controller.resources.base import Desired, RecordView, World
from controller.scope import Controls

GLOBEX_ORG, GLOBEX_WS, BRAND = "org-globex-id", "ws-globex-id", "brand-globex-id"


def record(address: str, bird_id: str | None, **data: str) -> RecordView:
    return RecordView(address, address.split("/")[0], bird_id, None, {"deletionPolicy": "Archive", "protected": False},
                      data)


GLOBEX_RECORDS = [
    record("Organization/globex", GLOBEX_ORG, organization="globex"),
    record("Workspace/globex-main", GLOBEX_WS, organizationId=GLOBEX_ORG),
    record("Brand/globex", BRAND, workspaceId=GLOBEX_WS),
    record("Vetting/globex", "vet-1", brandId=BRAND),
    record("Campaign/globex-care", "camp-1", brandId=BRAND),
    record("NumberPool/agents[0]", "num-1", number="+13125550100", workspaceId=GLOBEX_WS, workspace="globex-main",
           organization="globex"),
    record("Channel/agents[0]", "conn-1", number="+13125550100", numberAddress="NumberPool/agents[0]",
           workspaceId=GLOBEX_WS, campaignId="camp-1"),
    record("Assignment/agents[0]", None, organization="globex", number="+13125550100",
           numberAddress="NumberPool/agents[0]"),
    record("WebhookSubscription/globex-hook", "sub-1", organizationId=GLOBEX_ORG, workspaceId=GLOBEX_WS),
]

ACME = Desired("Organization/acme", "Organization", "acme",
               {"birdOrganizationId": "org-acme-id", "enabled": True, "limit": 5, "weeklyPrice": "2.99",
                "currency": "USD"}, {"workspaceIds": []})


def world() -> World:
    w = World(records={r.address: r for r in GLOBEX_RECORDS})
    # Bird still holds globex's subscription and connector: a whole-estate plan would delete them.
    w.subscriptions[(GLOBEX_ORG, GLOBEX_WS)] = [{"id": "sub-1"}]
    w.connectors[GLOBEX_WS] = [{"id": "conn-1", "arguments": {"phoneNumberId": "num-1"}}]
    return w


def test_records_of_undeclared_organizations_are_out_of_scope() -> None:
    plan = compute_plan([ACME], world(), specs_fingerprint="t", controls=Controls(declared_orgs=frozenset({"acme"})))
    assert {c.address for c in plan.changes} == {"Organization/acme"}
    assert plan.forget == ()
    assert {o.address for o in plan.out_of_scope} == {r.address for r in GLOBEX_RECORDS}


def test_without_declared_organizations_the_records_are_removed_as_before() -> None:
    plan = compute_plan([ACME], world(), specs_fingerprint="t")
    removed = {c.address for c in plan.changes if c.action in ("delete", "archive")}
    assert {"WebhookSubscription/globex-hook", "Channel/agents[0]"} <= removed
    assert plan.out_of_scope == ()
