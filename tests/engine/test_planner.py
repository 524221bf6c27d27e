"""The plan core: pure (desired, observed) -> Plan, tested exhaustively without any I/O."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.reconcile.planner import compute_plan
from controller.resources.base import (
    Desired,
    OperationView,
    OrgConfigView,
    RecordView,
    TenantView,
    World,
)

WS = "22222222-2222-4222-8222-222222222222"
ORG_ID = "11111111-1111-4111-8111-111111111111"


def org(enabled: bool = True, limit: int = 10, price: str = "2.99") -> Desired:
    return Desired("Organization/acme", "Organization", "acme",
                   {"birdOrganizationId": ORG_ID, "enabled": enabled, "limit": limit, "weeklyPrice": price,
                    "currency": "USD"},
                   context={"workspaceIds": [WS]})


def workspace() -> Desired:
    return Desired("Workspace/main", "Workspace", "acme", {"birdWorkspaceId": WS},
                   context={"workspaceId": WS, "organizationId": ORG_ID})


BRAND_FIELDS = {"entityType": "PRIVATE_PROFIT", "displayName": "Acme", "companyName": "Acme Inc.", "ein": "123456789"}


def brand(**fields: Any) -> Desired:
    return Desired("Brand/acme", "Brand", "acme", {**BRAND_FIELDS, **fields}, context={"workspaceId": WS})


def campaign() -> Desired:
    return Desired("Campaign/alerts", "Campaign", "acme", {"name": "Acme alerts", "usecase": "ACCOUNT_NOTIFICATION"},
                   context={"workspaceId": WS, "brand": "Brand/acme"})


def number(name: str, *, exact: str | None = None, prefix: str | None = None, policy: str = "Orphan",
           protected: bool = True, pool: bool = False) -> Desired:
    fields: dict[str, Any] = {"workspaceId": WS}
    if exact:
        fields["number"] = exact
    else:
        fields["select"] = {"country": "US", "type": "local", **({"prefix": prefix} if prefix else {})}
    kind = "NumberPool" if pool else "PhoneNumber"
    return Desired(f"{kind}/{name}", kind, "acme", fields,
                   context={"workspace": "main", "workspaceId": WS, "index": 0, "deletionPolicy": policy,
                            "protected": protected})


def stock(*numbers: str, amount: int = 1150000, exponent: int = -6) -> list[dict[str, Any]]:
    return [{"id": f"stock-{n}", "number": n, "monthlyPrice": {"currencyCode": "USD", "amount": amount,
                                                              "exponent": exponent}} for n in numbers]


def owned(n: str, id_: str | None = None) -> dict[str, Any]:
    return {"id": id_ or f"num-{n}", "number": n, "country": "US", "type": "local"}


def world(**kw: Any) -> World:
    base = World(numbers={WS: []}, brands={WS: []}, channels={WS: []}, subscriptions={(ORG_ID, WS): []})
    for key, value in kw.items():
        setattr(base, key, value)
    return base


def plan_of(desired: list[Desired], w: World):  # type: ignore[no-untyped-def]
    return compute_plan(desired, w, specs_fingerprint="specs")


def actions(p) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(c.action, c.address) for c in p.changes]


STOCK_KEY = ("acme", "US", "local", "")  # the organization's stock, shared by its workspaces
ACTIVE_ORG = TenantView(orgs={"acme": OrgConfigView(ORG_ID, True, 10, Decimal("2.99"), "USD", True)})
# Seed 000: extra numbers need the organization's 10DLC active: an approved brand and campaign.
TEN_DLC = {
    "brands": {WS: [{"id": "b1", **BRAND_FIELDS, "status": "APPROVED"}]},
    "campaigns": {(WS, "b1"): [{"id": "c1", "name": "Acme alerts", "status": "APPROVED"}]},
}


def test_empty_world_creates_brand_with_its_fee_and_waits_for_campaign() -> None:
    p = plan_of([org(), workspace(), brand(), campaign()], world())
    assert ("create", "Brand/acme") in actions(p)
    brand_change = next(c for c in p.changes if c.address == "Brand/acme")
    assert brand_change.cost is not None and brand_change.cost.one_time == Decimal("4")
    assert [(w.address, w.reason) for w in p.waiting] == [("Campaign/alerts", "Brand/acme is not registered yet")]


def test_pending_brand_makes_campaign_wait_with_the_reason() -> None:
    w = world(brands={WS: [{"id": "b1", **BRAND_FIELDS, "status": "PENDING"}]},
              records={"Brand/acme": RecordView("Brand/acme", "Brand", "b1", None, BRAND_FIELDS, {})},
              campaigns={(WS, "b1"): []})
    p = plan_of([brand(), campaign()], w)
    assert actions(p) == []
    assert {w.address: w.reason for w in p.waiting} == {
        "Brand/acme": "brand acme is PENDING",
        "Campaign/alerts": "brand acme is PENDING",
    }


def test_approved_brand_lets_the_campaign_be_registered_with_its_fees() -> None:
    w = world(brands={WS: [{"id": "b1", **BRAND_FIELDS, "status": "APPROVED"}]},
              records={"Brand/acme": RecordView("Brand/acme", "Brand", "b1", None, BRAND_FIELDS, {})},
              campaigns={(WS, "b1"): []})
    p = plan_of([brand(), campaign()], w)
    assert actions(p) == [("create", "Campaign/alerts")]
    assert p.changes[0].cost is not None and p.changes[0].cost.one_time == Decimal("45")
    assert "Brand/acme" in p.ready


def test_rejected_brand_fails_with_birds_code_and_description() -> None:
    rejected = {"id": "b1", **BRAND_FIELDS, "status": "REJECTED",
                "rejection": {"code": "R-101", "description": "EIN does not match"}}
    w = world(brands={WS: [rejected]},
              records={"Brand/acme": RecordView("Brand/acme", "Brand", "b1", None, BRAND_FIELDS, {})})
    p = plan_of([brand()], w)
    assert len(p.failed) == 1 and "R-101" in p.failed[0].reason and "EIN does not match" in p.failed[0].reason


def test_existing_brand_with_same_ein_and_name_is_adopted_not_registered_again() -> None:
    w = world(brands={WS: [{"id": "b9", **BRAND_FIELDS, "status": "APPROVED"}]}, campaigns={(WS, "b9"): []})
    p = plan_of([brand()], w)
    assert actions(p) == [("adopt", "Brand/acme")]


def test_entity_type_cannot_change_once_approved() -> None:
    w = world(brands={WS: [{"id": "b1", **BRAND_FIELDS, "status": "APPROVED"}]},
              records={"Brand/acme": RecordView("Brand/acme", "Brand", "b1", None, BRAND_FIELDS, {})})
    p = plan_of([brand(entityType="PUBLIC_PROFIT")], w)
    assert [r.flag for r in p.refusals] == [None]
    assert "entityType cannot change" in p.refusals[0].reason
    assert not any(c.action == "update" and c.address == "Brand/acme" for c in p.changes)


def test_brand_field_change_is_an_update_with_field_diff_and_drift_label() -> None:
    on_bird = {"id": "b1", **BRAND_FIELDS, "displayName": "Edited on Bird", "status": "APPROVED"}
    w = world(brands={WS: [on_bird]},
              records={"Brand/acme": RecordView("Brand/acme", "Brand", "b1", None, BRAND_FIELDS, {})})
    p = plan_of([brand()], w)
    (change,) = p.changes
    assert change.action == "update" and change.drift
    assert [(f.path, f.before, f.after) for f in change.fields] == [("displayName", "Edited on Bird", "Acme")]


def test_first_number_is_bought_at_stock_price_and_org_weekly_price() -> None:
    w = world(stock={STOCK_KEY: stock("+14155550100")})
    p = plan_of([org(price="3.49"), number("alice")], w)
    buy = next(c for c in p.changes if c.address == "PhoneNumber/alice")
    assert buy.action == "create" and buy.payload["number"] == "+14155550100"
    assert buy.cost is not None and buy.cost.monthly == Decimal("1.15") and buy.cost.weekly == Decimal("3.49")


def test_extra_numbers_wait_until_ten_dlc_is_active() -> None:
    w = world(stock={STOCK_KEY: stock("+14155550100", "+14155550101")})
    p = plan_of([org(), number("a"), number("b")], w)
    assert [a for a in actions(p) if a[1].startswith("PhoneNumber")] == [("create", "PhoneNumber/a")]
    assert any(x.address == "PhoneNumber/b" and "10DLC is not active" in x.reason for x in p.waiting)


def test_multi_number_off_refuses_a_second_number() -> None:
    w = world(stock={STOCK_KEY: stock("+14155550100", "+14155550101")})
    p = plan_of([org(enabled=False), number("a"), number("b")], w)
    assert [r.address for r in p.refusals] == ["PhoneNumber/b"]
    assert "multiSmsNumbers.enabled is false" in p.refusals[0].reason and p.refusals[0].flag is None


def test_limit_counts_held_and_planned_numbers() -> None:
    tenant = TenantView(orgs=ACTIVE_ORG.orgs, held_numbers={"+14155550001": "acme"})
    w = world(stock={STOCK_KEY: stock("+14155550100", "+14155550101")}, tenant=tenant, **TEN_DLC)
    p = plan_of([org(limit=2), number("a"), number("b")], w)
    refused = [r.address for r in p.refusals]
    assert refused == ["PhoneNumber/b"] and "limit is 2" in p.refusals[0].reason


def test_exact_number_already_owned_is_adopted() -> None:
    w = world(numbers={WS: [owned("+14155550100")]})
    p = plan_of([number("a", exact="+14155550100")], w)
    assert actions(p) == [("adopt", "PhoneNumber/a")]


def test_interrupted_purchase_is_adopted_not_bought_again() -> None:
    ops = [OperationView(1, "PhoneNumber/a", "create", "k", {"number": "+14155550123", "country": "US"})]
    w = world(numbers={WS: [owned("+14155550123")]}, open_operations=ops,
              stock={STOCK_KEY: stock("+14155550100")})
    p = plan_of([number("a")], w)
    assert actions(p) == [("adopt", "PhoneNumber/a")]
    assert "interrupted" in p.changes[0].reason


def test_a_number_is_never_released_to_satisfy_a_diff() -> None:
    rec = RecordView("PhoneNumber/a", "PhoneNumber", "num-1", None, {}, {"number": "+14155550100"})
    tenant = TenantView(held_numbers={"+14155550100": "acme"})
    w = world(numbers={WS: [owned("+14155550100", "num-1")]}, records={"PhoneNumber/a": rec}, tenant=tenant)
    p = plan_of([number("a", prefix="+1212")], w)
    assert actions(p) == []
    assert len(p.refusals) == 1 and "never releases a number" in p.refusals[0].reason


def removed_number(policy: str, protected: bool) -> World:
    spec = {"deletionPolicy": policy, "protected": protected}
    rec = RecordView("PhoneNumber/old", "PhoneNumber", "num-1", None, spec, {"number": "+14155550100",
                                                                             "organization": "acme"})
    return world(records={"PhoneNumber/old": rec})


def test_removed_orphan_number_is_forgotten_and_untouched() -> None:
    p = plan_of([], removed_number("Orphan", False))
    assert actions(p) == [] and p.forget == ("PhoneNumber/old",)


def test_removed_archive_number_needs_allow_archive() -> None:
    p = plan_of([], removed_number("Archive", False))
    assert actions(p) == [("archive", "PhoneNumber/old")]
    assert [r.flag for r in p.refusals] == ["--allow-archive"]
    assert p.blocked(allow_archive=True) == [] and p.blocked() != []


def test_protected_number_is_never_archived_whatever_the_flags() -> None:
    p = plan_of([], removed_number("Archive", True))
    assert actions(p) == []
    assert p.blocked(allow_archive=True, force=True) and "protected" in p.refusals[0].reason


def test_safety_rail_refuses_updating_more_than_ten_percent() -> None:
    records = {}
    desired = []
    subs = []
    for i in range(10):
        address = f"WebhookSubscription/s{i}"
        spec = {"service": "channels", "event": "sms.inbound", "url": f"https://h.example/{i}", "eventFilters": []}
        records[address] = RecordView(address, "WebhookSubscription", f"sub{i}", None, spec,
                                      {"organizationId": ORG_ID, "workspaceId": WS, "signingKeyDigest": "d"})
        url = f"https://h.example/{i}" if i >= 2 else "https://edited.example/"
        subs.append({"id": f"sub{i}", "service": "channels", "event": "sms.inbound", "url": url, "eventFilters": []})
        desired.append(Desired(address, "WebhookSubscription", "acme",
                               {"service": "channels", "event": "sms.inbound", "url": f"https://h.example/{i}"},
                               context={"workspaceId": WS, "organizationId": ORG_ID, "filters": [],
                                        "signingKey": {"fromEnv": "K"}, "specDir": ".", "signingKeyDigest": "d"}))
    p = plan_of(desired, world(records=records, subscriptions={(ORG_ID, WS): subs}))
    assert sorted(a for a in actions(p)) == [("update", "WebhookSubscription/s0"), ("update", "WebhookSubscription/s1")]
    assert all(c.drift for c in p.changes)
    assert [r.flag for r in p.refusals] == ["--force"] and "2 of 10" in p.refusals[0].reason


@settings(max_examples=60, deadline=None)
@given(wanted=st.integers(0, 12), in_stock=st.integers(0, 12), limit=st.integers(1, 12))
def test_purchases_never_exceed_limit_or_stock_and_never_pick_a_number_twice(wanted: int, in_stock: int,
                                                                               limit: int) -> None:
    numbers = [f"+1415555{i:04d}" for i in range(in_stock)]
    w = world(stock={STOCK_KEY: stock(*numbers)}, tenant=ACTIVE_ORG, **TEN_DLC)
    desired = [org(limit=limit)] + [number(f"n{i}") for i in range(wanted)]
    p = plan_of(desired, w)
    buys = [c for c in p.changes if c.action == "create" and c.kind == "PhoneNumber"]
    picked = [c.payload["number"] for c in buys]
    assert len(picked) == len(set(picked)) <= min(limit, in_stock)
    assert len(buys) == min(wanted, limit, in_stock)
    # Everything not bought is explained: refused (limit) or failed (no stock), never silent.
    explained = {r.address for r in p.refusals} | {f.address for f in p.failed} | {c.address for c in buys}
    assert explained >= {d.address for d in desired if d.kind == "PhoneNumber"}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_plan_is_deterministic_and_fingerprint_tracks_the_world(seed: int) -> None:
    n = seed % 5
    numbers = [f"+1415555{i:04d}" for i in range(n + 2)]
    desired = [org(), workspace(), brand(), campaign()] + [number(f"n{i}") for i in range(n)]
    w1 = world(stock={STOCK_KEY: stock(*numbers)}, tenant=ACTIVE_ORG)
    w2 = world(stock={STOCK_KEY: stock(*numbers)}, tenant=ACTIVE_ORG)
    assert plan_of(desired, w1) == plan_of(desired, w2)
    w2.brands = {WS: [{"id": "b1", **BRAND_FIELDS, "status": "PENDING"}]}
    assert plan_of(desired, w1).fingerprint != plan_of(desired, w2).fingerprint


def test_plan_json_round_trips() -> None:
    from controller.reconcile.plan import Plan

    w = world(stock={STOCK_KEY: stock("+14155550100")})
    p = plan_of([org(), workspace(), brand(), campaign(), number("a")], w)
    again = Plan.from_json(p.to_json())
    assert again.changes == p.changes and again.fingerprint == p.fingerprint
    assert again.to_json()["summary"] == p.to_json()["summary"]


def channel(name: str = "a") -> Desired:
    return Desired(f"Channel/{name}", "Channel", "acme", {"campaign": "alerts", "channelMessageType": "transactional"},
                   context={"workspaceId": WS, "number": f"PhoneNumber/{name}", "campaign": "Campaign/alerts",
                            "name": f"SMS {name}"})


def assignment(user: str, name: str = "a") -> Desired:
    return Desired(f"Assignment/{name}", "Assignment", "acme", {"user": user},
                   context={"number": f"PhoneNumber/{name}"})


def inbound_webhook(filters: list[dict[str, str]]) -> Desired:
    return Desired("WebhookSubscription/inbound", "WebhookSubscription", "acme",
                   {"service": "channels", "event": "sms.inbound", "url": "https://hooks.example/bird"},
                   context={"workspaceId": WS, "organizationId": ORG_ID, "filters": filters,
                            "signingKey": {"fromEnv": "K"}, "specDir": ".", "signingKeyDigest": "d1"})


def owned_number_world(**kw: Any) -> World:
    from controller.resources.phone_number import spec_record

    rec = RecordView("PhoneNumber/a", "PhoneNumber", "num-1", None, spec_record(number("a")),
                     {"number": "+14155550100"})
    base: dict[str, Any] = {
        "numbers": {WS: [owned("+14155550100", "num-1")]},
        "records": {"PhoneNumber/a": rec},
        "tenant": TenantView(held_numbers={"+14155550100": "acme"}),
        **TEN_DLC,
    }
    base.update(kw)
    return world(**base)


def test_channel_waits_for_campaign_approval_then_is_created_then_waits_for_carriers() -> None:
    pending = {"brands": TEN_DLC["brands"], "campaigns": {(WS, "b1"): [{"id": "c1", "name": "Acme alerts",
                                                                        "status": "PENDING"}]}}
    desired = [brand(), campaign(), number("a"), channel()]
    p = plan_of(desired, owned_number_world(**pending))
    assert any(w.address == "Channel/a" and "not approved yet" in w.reason for w in p.waiting)

    p = plan_of(desired, owned_number_world())
    create = next(c for c in p.changes if c.address == "Channel/a")
    assert create.action == "create" and create.payload["numberId"] == "num-1" and create.payload["campaignId"] == "c1"

    # Bird's channel of the connector (seed 001): its connector, number, campaign and readiness.
    channel_on_bird = {"id": "ch1", "platformId": "sms-messagebird", "connectorId": "conn1",
                       "identifier": "+14155550100", "useCaseId": "c1", "useCaseType": "transactional",
                       "status": "pending", "useCaseStatus": {"status": "warning"}}
    records = {**owned_number_world().records,
               "Channel/a": RecordView("Channel/a", "Channel", "conn1", None, {}, {"number": "+14155550100"})}
    p = plan_of(desired, owned_number_world(channels={WS: [channel_on_bird]}, records=records))
    assert any(w.address == "Channel/a" and "carriers have not acknowledged +14155550100" in w.reason
               for w in p.waiting)
    assert not [c for c in p.changes if c.address == "Channel/a"]
    # A WhatsApp channel of the same number is not the SMS connector's.
    whatsapp = {**channel_on_bird, "id": "wa1", "platformId": "whatsapp", "connectorId": "conn-wa",
                "status": "active", "useCaseStatus": {"status": "ok"}}
    p = plan_of(desired, owned_number_world(channels={WS: [whatsapp]}, records=records))
    assert [(c.action, c.address) for c in p.changes if c.address == "Channel/a"] == [("create", "Channel/a")]
    channel_on_bird.update(status="active", useCaseStatus={"status": "ok"})
    p = plan_of(desired, owned_number_world(channels={WS: [whatsapp, channel_on_bird]}, records=records))
    assert "Channel/a" in p.ready


def test_webhook_filter_on_a_phone_number_waits_for_its_channel_id() -> None:
    desired = [number("a"), channel(), inbound_webhook([{"key": "channelId", "phoneNumber": "a"}])]
    p = plan_of(desired, owned_number_world())
    assert any(w.address == "WebhookSubscription/inbound" and "has no id yet" in w.reason for w in p.waiting)
    on_bird = {"id": "ch1", "platformId": "sms-messagebird", "connectorId": "conn1", "identifier": "+14155550100",
               "useCaseId": "c1", "status": "active"}
    p = plan_of(desired, owned_number_world(channels={WS: [on_bird]}))
    sub = next(c for c in p.changes if c.address == "WebhookSubscription/inbound")
    assert sub.action == "create" and sub.after["eventFilters"] == [{"key": "channelId", "value": "ch1"}]
    assert "signingKey" not in str(sub.to_json()["after"])


def test_webhook_deleted_on_bird_is_recreated_as_drift_and_key_change_updates() -> None:
    want = {"service": "channels", "event": "sms.inbound", "url": "https://hooks.example/bird", "eventFilters": []}
    rec = RecordView("WebhookSubscription/inbound", "WebhookSubscription", "s1", None, want,
                     {"organizationId": ORG_ID, "workspaceId": WS, "signingKeyDigest": "d1"})
    p = plan_of([inbound_webhook([])], world(records={rec.address: rec}))
    assert [(c.action, c.drift) for c in p.changes] == [("create", True)]

    on_bird = {"id": "s1", **want}
    rotated = Desired(**{**vars(inbound_webhook([])), "context": {**inbound_webhook([]).context,
                                                                   "signingKeyDigest": "d2"}})
    p = plan_of([rotated], world(records={rec.address: rec}, subscriptions={(ORG_ID, WS): [on_bird]}))
    (change,) = p.changes
    assert change.action == "update" and [f.path for f in change.fields] == ["signingKey"] and not change.drift


def test_missing_signing_key_secret_fails_with_the_reference() -> None:
    d = inbound_webhook([])
    d = Desired(**{**vars(d), "context": {**d.context, "secretError": "environment variable K is not set"}})
    p = plan_of([d], world())
    assert [(f.address, f.reason) for f in p.failed] == [
        ("WebhookSubscription/inbound", "signingKey: environment variable K is not set")]


def test_assignment_assign_move_unassign() -> None:
    p = plan_of([number("a"), assignment("alice@acme.example")], owned_number_world())
    assert actions(p) == [("assign", "Assignment/a")]

    held = TenantView(held_numbers={"+14155550100": "acme"}, assignments={"+14155550100": "bob@acme.example"})
    p = plan_of([number("a"), assignment("alice@acme.example")], owned_number_world(tenant=held))
    (move,) = p.changes
    assert move.action == "assign" and move.before == {"user": "bob@acme.example", "number": "+14155550100"}

    rec = RecordView("Assignment/a", "Assignment", None, None, {"user": "bob@acme.example"},
                     {"number": "+14155550100", "organization": "acme", "numberAddress": "PhoneNumber/a"})
    p = plan_of([number("a")], owned_number_world(tenant=held, records={**owned_number_world().records,
                                                                         "Assignment/a": rec}))
    assert actions(p) == [("unassign", "Assignment/a")]


def test_removals_run_before_creates_in_reverse_dependency_order() -> None:
    from controller.reconcile.plan import Change
    from controller.reconcile.planner import change_order

    changes = [Change("PhoneNumber/x", "archive", ""), Change("Assignment/x", "unassign", ""),
               Change("Brand/b", "create", ""), Change("Channel/x", "delete", ""), Change("Campaign/c", "create", "")]
    ordered = [c.address for c in sorted(changes, key=change_order)]
    assert ordered == ["Assignment/x", "Channel/x", "PhoneNumber/x", "Brand/b", "Campaign/c"]


def test_archive_lists_blockers_this_plan_does_not_remove() -> None:
    w = removed_number("Archive", False)
    w.tenant = TenantView(assignments={"+14155550100": "bob@acme.example"})
    w.channels = {WS: [{"id": "ch9", "connectorId": "conn9", "identifier": "+14155550100", "useCaseId": "c1"}]}
    p = plan_of([], w)
    (blocked,) = [r for r in p.refusals if r.flag is None]
    assert "assigned to bob@acme.example" in blocked.reason and "conn9" in blocked.reason
    assert p.blocked(allow_archive=True)

    # The same plan unassigns it and deletes its channel: nothing blocks any more.
    w.records["Assignment/old"] = RecordView("Assignment/old", "Assignment", None, None,
                                             {"user": "bob@acme.example"},
                                             {"number": "+14155550100", "organization": "acme",
                                              "numberAddress": "PhoneNumber/old"})
    w.records["Channel/old"] = RecordView("Channel/old", "Channel", "conn9", None, {},
                                          {"number": "+14155550100", "numberAddress": "PhoneNumber/old",
                                           "workspaceId": WS})
    p = plan_of([], w)
    assert sorted(actions(p)) == [("archive", "PhoneNumber/old"), ("delete", "Channel/old"),
                                  ("unassign", "Assignment/old")]
    assert p.blocked(allow_archive=True) == []


def test_changing_protection_is_a_bookkeeping_update_of_the_record() -> None:
    from controller.resources.phone_number import spec_record

    unprotected = number("a", protected=False, policy="Archive")
    p = plan_of([unprotected], owned_number_world())
    (change,) = p.changes
    assert change.action == "update" and change.payload["spec"] == spec_record(unprotected)
    assert {f.path for f in change.fields} == {"deletionPolicy", "protected"}


def test_rejected_campaign_fails_with_birds_code_and_description() -> None:
    campaign_on_bird = {"id": "c1", "name": "Acme alerts", "usecase": "ACCOUNT_NOTIFICATION", "status": "REJECTED",
                        "rejection": {"code": "C-7", "description": "sample messages missing opt-out"}}
    w = world(brands={WS: [{"id": "b1", **BRAND_FIELDS, "status": "APPROVED"}]},
              records={"Brand/acme": RecordView("Brand/acme", "Brand", "b1", None, BRAND_FIELDS, {}),
                       "Campaign/alerts": RecordView("Campaign/alerts", "Campaign", "c1", None, {}, {})},
              campaigns={(WS, "b1"): [campaign_on_bird]})
    p = plan_of([brand(), campaign()], w)
    (failed,) = p.failed
    assert failed.address == "Campaign/alerts"
    assert "REJECTED" in failed.reason and "C-7: sample messages missing opt-out" in failed.reason


def test_workspaces_of_one_organization_share_its_stock_and_each_number_goes_to_one_resource() -> None:
    """Issue 13: every workspace searched the same first page of the organization's stock, so the second
    workspace's numbers were 'not in stock' while the stock held plenty. One list per organization now;
    each purchase takes the next number no other resource took."""
    ws2 = "33333333-3333-4333-8333-333333333333"
    numbers = [f"+1415555{i:04d}" for i in range(8)]
    w = world(stock={STOCK_KEY: stock(*numbers)}, tenant=ACTIVE_ORG, **TEN_DLC)
    w.numbers[ws2] = []
    second = [Desired(f"NumberPool/b[{i}]", "NumberPool", "acme", {"workspaceId": ws2,
                      "select": {"country": "US", "type": "local"}},
                      context={"workspace": "second", "workspaceId": ws2, "index": i, "deletionPolicy": "Orphan",
                               "protected": True}) for i in range(3)]
    desired = [org()] + [number(f"a{i}") for i in range(3)] + second
    p = plan_of(desired, w)
    picked = {c.address: c.payload["number"] for c in p.changes if c.action == "create" and "/" in c.address
              and c.kind in ("PhoneNumber", "NumberPool")}
    assert len(picked) == 6 and len(set(picked.values())) == 6, picked
    assert not p.failed
    assert plan_of(desired, w).changes == p.changes, "the same world picks the same numbers"


def test_a_field_removed_from_the_spec_is_cleared_on_bird_not_left_in_place() -> None:
    applied = {**BRAND_FIELDS, "vertical": "TECHNOLOGY"}
    on_bird = {"id": "b1", **applied, "status": "APPROVED"}
    w = world(brands={WS: [on_bird]}, records={"Brand/acme": RecordView("Brand/acme", "Brand", "b1", None, applied, {})})
    (change,) = plan_of([brand()], w).changes
    assert change.action == "update" and change.payload["body"] == {"vertical": None}
    # Once applied (the record is the spec again) nothing is left to clear.
    w.records["Brand/acme"] = RecordView("Brand/acme", "Brand", "b1", None, BRAND_FIELDS, {})
    assert plan_of([brand()], w).changes == ()


APPROVED_CAMPAIGN = {"id": "c1", "name": "Acme alerts", "usecase": "ACCOUNT_NOTIFICATION", "status": "APPROVED"}


def campaign_world(on_bird: dict[str, Any], applied: dict[str, Any], brand_id: str = "b1") -> World:
    return world(brands={WS: [{"id": "b1", **BRAND_FIELDS, "status": "APPROVED"}]},
                 records={"Brand/acme": RecordView("Brand/acme", "Brand", "b1", None, BRAND_FIELDS, {}),
                          "Campaign/alerts": RecordView("Campaign/alerts", "Campaign", "c1", None, applied,
                                                        {"brandId": brand_id})},
                 campaigns={(WS, "b1"): [on_bird]})


def test_a_campaign_s_attachment_urls_are_compared_with_bird_s_attachments() -> None:
    with_urls = Desired("Campaign/alerts", "Campaign", "acme", {**campaign().fields, "attachmentUrls": ["https://a.example/x.png"]},
                        context=campaign().context)
    on_bird = {**APPROVED_CAMPAIGN, "attachments": [{"id": "a1", "mediaUrl": "https://a.example/x.png"}]}
    assert plan_of([brand(), with_urls], campaign_world(on_bird, with_urls.fields)).changes == ()
    moved = {**on_bird, "attachments": [{"id": "a2", "mediaUrl": "https://a.example/y.png"}]}
    (refusal,) = plan_of([brand(), with_urls], campaign_world(moved, with_urls.fields)).refusals
    assert "attachmentUrls cannot change while campaign alerts is APPROVED" in refusal.reason


def test_a_campaign_moved_to_another_brand_is_registered_there_and_says_so() -> None:
    p = plan_of([brand(), campaign()], campaign_world({**APPROVED_CAMPAIGN, "id": "c9", "name": "Other"},
                                                      campaign().fields, brand_id="b0"))
    (create,) = [c for c in p.changes if c.address == "Campaign/alerts"]
    assert create.action == "create" and not create.drift and create.cost is not None
    assert "moves the campaign to Brand/acme" in create.reason and "b0 stays registered" in create.reason


def test_a_brand_moved_to_another_workspace_is_registered_there_and_says_so() -> None:
    w = world(records={"Brand/acme": RecordView("Brand/acme", "Brand", "b1", None, BRAND_FIELDS,
                                                {"workspaceId": "old-workspace"})})
    (create,) = [c for c in plan_of([brand()], w).changes if c.address == "Brand/acme"]
    assert create.action == "create" and not create.drift and create.cost is not None
    assert f"moves the brand from workspace old-workspace to {WS}" in create.reason
