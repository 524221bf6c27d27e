"""The pure planner and what the platform API made (no I/O)."""

from __future__ import annotations

from controller.resources.base import RecordView, TenantView
from tests.engine.test_planner import ACTIVE_ORG, STOCK_KEY, TEN_DLC, number, org, plan_of, stock, world


def test_a_purchase_the_api_is_carrying_out_holds_a_slot_of_the_limit() -> None:
    tenant = TenantView(orgs=ACTIVE_ORG.orgs, held_numbers={"+14155550001": "acme"},
                        api_purchases_pending={"acme": 1})
    w = world(stock={STOCK_KEY: stock("+14155550100")}, tenant=tenant, **TEN_DLC)
    p = plan_of([org(limit=2), number("a")], w)
    assert [r.address for r in p.refusals] == ["PhoneNumber/a"] and "limit is 2" in p.refusals[0].reason


def test_an_assignment_the_api_made_is_never_ended_by_a_removed_spec() -> None:
    """A spec's Assignment record whose number the API has reassigned since: the API's assignment stays."""
    record = RecordView("Assignment/alice-line", "Assignment", None, "", {"user": "alice@acme.example"},
                        {"organization": "acme", "number": "+14155550001", "numberAddress": "PhoneNumber/alice-line"})
    for api_made in (frozenset(), frozenset({"+14155550001"})):
        tenant = TenantView(orgs=ACTIVE_ORG.orgs, held_numbers={"+14155550001": "acme"},
                            assignments={"+14155550001": "alice@acme.example"}, api_assignments=api_made)
        p = plan_of([org()], world(tenant=tenant, records={record.address: record}, **TEN_DLC))
        unassigns = [c.address for c in p.changes if c.action == "unassign"]
        assert unassigns == ([] if api_made else ["Assignment/alice-line"])
