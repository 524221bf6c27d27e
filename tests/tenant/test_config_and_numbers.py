"""Organization configuration and the number views, through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from controller import tenant
from controller.tenant import InvalidNumber, NumberNotHeld, UnknownOrganization
from tests.tenant.conftest import buy, later, make_org, number, senderctl, senderctl_json


def test_config_shows_enabled_limit_used_price_and_10dlc(state_url, store):
    make_org(store, "acme", enabled=True, limit=5, price="3.49", active=False)
    buy(store, "acme", 1, 2)
    assert senderctl_json(state_url, "config", "--org", "acme") == {
        "organization": "acme", "birdOrganizationId": "acme-bird-id", "enabled": True, "limit": 5, "used": 2,
        "weeklyPrice": "3.49", "currency": "USD", "tenDlcActive": False, "archivedStillBilled": []}
    tenant.set_ten_dlc_active(store, "acme", True)
    code, out, _ = senderctl(state_url, "config", "--org", "acme")
    assert code == 0
    assert "multi-number:  enabled" in out and "used:          2" in out
    assert "weekly price:  3.49 USD" in out and "10DLC active:  yes" in out


def test_resyncing_the_config_keeps_the_10dlc_status(store):
    make_org(store, "acme", active=True)
    tenant.sync_org_config(store, "acme", bird_organization_id="x", enabled=False, limit=1,
                           weekly_price=Decimal("2.99"))
    config = tenant.org_config(store, "acme")
    assert (config.enabled, config.limit, config.ten_dlc_active) == (False, 1, True)


def test_config_refuses_float_money_and_negative_limits(store):
    with pytest.raises(TypeError, match="Decimal"):
        tenant.sync_org_config(store, "acme", bird_organization_id="x", enabled=True, limit=2,
                               weekly_price=2.99)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        tenant.sync_org_config(store, "acme", bird_organization_id="x", enabled=True, limit=-1,
                               weekly_price=Decimal("2.99"))


def test_unknown_organization_is_a_clear_error_with_exit_1(state_url, store):
    make_org(store, "acme")
    for args in (["config", "--org", "nope"], ["numbers", "list", "--org", "nope"],
                 ["numbers", "available", "--org", "nope"], ["numbers", "mine", "--org", "nope", "--user", "a"]):
        code, out, err = senderctl(state_url, *args)
        assert code == 1, args
        assert "organization 'nope' is not in the state (known: acme)" in err
        assert "Traceback" not in out + err
    with pytest.raises(UnknownOrganization):
        tenant.set_ten_dlc_active(store, "nope", True)


def test_numbers_list_shows_assignee_workspace_status_and_prices(state_url, store):
    make_org(store, "acme", price="2.99")
    make_org(store, "other")
    a, b = buy(store, "acme", 1, 2)
    buy(store, "acme", 3, workspace="sales", price=None)
    buy(store, "other", 4)
    tenant.assign(store, "acme", a, "alice@acme.example", at=later(1))
    rows = senderctl_json(state_url, "numbers", "list", "--org", "acme")
    assert [(r["number"], r["workspace"], r["assignee"], r["status"], r["monthlyPrice"], r["weeklyPrice"])
            for r in rows] == [
        (a, "main", "alice@acme.example", "assigned", "1.15", "2.99"),
        (b, "main", None, "available", "1.15", "2.99"),
        (number(3), "sales", None, "available", None, "2.99"),
    ]
    sales = senderctl_json(state_url, "numbers", "list", "--org", "acme", "--workspace", "sales")
    assert [r["number"] for r in sales] == [number(3)]
    code, out, _ = senderctl(state_url, "numbers", "list", "--org", "acme")
    assert code == 0 and "alice@acme.example" in out and "NUMBER" in out


def test_numbers_available_lists_only_unassigned_numbers(state_url, store):
    make_org(store, "acme")
    a, b, c = buy(store, "acme", 1, 2, 3)
    tenant.assign(store, "acme", b, "bob", at=later(1))
    assert [r["number"] for r in senderctl_json(state_url, "numbers", "available", "--org", "acme")] == [a, c]


def test_numbers_mine_shows_the_users_number_or_their_sender(state_url, store):
    make_org(store, "acme")
    a, b = buy(store, "acme", 1, 2)
    tenant.assign(store, "acme", b, "bob", at=later(1))
    mine = senderctl_json(state_url, "numbers", "mine", "--org", "acme", "--user", "bob")
    assert (mine["number"], mine["sender"]["source"]) == (b, "user")
    code, out, _ = senderctl(state_url, "numbers", "mine", "--org", "acme", "--user", "carol")
    assert code == 0 and "carol has no number of their own" in out and a in out


def test_empty_views_say_so(state_url, store):
    make_org(store, "acme")
    code, out, _ = senderctl(state_url, "numbers", "list", "--org", "acme")
    assert (code, out.strip()) == (0, "organization acme holds no numbers")
    assert senderctl_json(state_url, "numbers", "available", "--org", "acme") == []


def test_numbers_are_validated_as_e164(store):
    make_org(store, "acme")
    with pytest.raises(InvalidNumber, match="E.164"):
        tenant.record_number_acquired(store, "acme", "main", "4155550100", bird_number_id="x", monthly_price=None,
                                      at=later(0))
    with pytest.raises(InvalidNumber, match="not a valid"):
        tenant.record_number_acquired(store, "acme", "main", "+1000", bird_number_id="x", monthly_price=None,
                                      at=later(0))


def test_recording_a_number_again_is_idempotent_and_another_org_cannot_take_it(store):
    make_org(store, "acme")
    make_org(store, "other")
    [a] = buy(store, "acme", 1)
    tenant.record_number_acquired(store, "acme", "main", a, bird_number_id="new-id", monthly_price=Decimal("1.50"),
                                  at=later(5))
    [phone] = tenant.held_numbers(store, "acme")
    assert (phone.bird_number_id, phone.monthly_price, phone.acquired_at) == ("new-id", Decimal("1.50"), later(0))
    assert len(tenant.list_workspace_phones(store, "main")) == 1
    with pytest.raises(NumberNotHeld, match="held by organization acme"):
        buy(store, "other", 1)


def test_snapshot_has_orgs_numbers_assignments_and_archived_numbers(store):
    make_org(store, "acme", limit=7, price="4.00")
    a, b, c = buy(store, "acme", 1, 2, 3)
    tenant.assign(store, "acme", a, "alice", at=later(1))
    tenant.archive_number(store, "acme", c, at=later(2))
    snap = tenant.snapshot(store)
    assert snap.orgs["acme"].limit == 7 and snap.orgs["acme"].weekly_price == Decimal("4.00")
    assert snap.held_numbers == {a: "acme", b: "acme"}
    assert snap.assignments == {a: "alice"}
    assert snap.archived_numbers == {c}
    assert snap.blockers == {a: ["assigned to alice since 2026-11-16T09:01:00Z: unassign it first"]}
    assert {p.number for p in snap.workspace_phones} == {a, b}
