"""The pure planner's scoping: records of every kind that belong to an Organization the specs do not
declare are neither removed nor forgotten, and are listed as out of scope (no I/O: plain data in)."""

from __future__ import annotations

from controller.reconcile.planner import compute_plan
from controller.reconcile.scope import Controls
from controller.resources.base import Desired, RecordView, World

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
    w.channels[GLOBEX_WS] = [{"id": "ch-1", "connectorId": "conn-1", "identifier": "+13125550100"}]
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


def test_a_brand_or_campaign_brings_its_organization_and_all_it_holds_other_organizations_stay_out():
    from controller.reconcile.scope import affected

    def d(address: str, org: str, *deps: str) -> Desired:
        return Desired(address, address.split("/")[0], org, {}, {}, deps)

    estate = [
        d("Organization/acme", "acme"), d("Workspace/main", "acme", "Organization/acme"),
        d("Brand/acme", "acme", "Workspace/main"), d("Campaign/alerts", "acme", "Brand/acme"),
        d("PhoneNumber/alice", "acme", "Workspace/main"), d("PhoneNumber/bob", "acme", "Workspace/main"),
        d("Channel/bob", "acme", "PhoneNumber/bob", "Campaign/alerts"), d("Assignment/bob", "acme", "PhoneNumber/bob"),
        d("WebhookSubscription/bob-in", "acme", "Channel/bob"),
        d("Organization/globex", "globex"), d("Workspace/globex", "globex", "Organization/globex"),
        d("PhoneNumber/gina", "globex", "Workspace/globex"),
    ]
    acme = {x.address for x in estate if x.organization == "acme"}
    # The campaign's approval turns acme's 10DLC on: acme's extra numbers (alice) are re-planned too.
    assert affected(estate, ["Campaign/alerts"]) == acme
    assert affected(estate, ["Brand/acme"]) == acme
    # Derived the other way only: a channel or a number brings what depends on it, not its organization.
    assert affected(estate, ["Channel/bob"]) == {"Channel/bob", "WebhookSubscription/bob-in"}
    assert affected(estate, ["PhoneNumber/bob"]) == {"PhoneNumber/bob", "Channel/bob", "Assignment/bob",
                                                     "WebhookSubscription/bob-in"}
