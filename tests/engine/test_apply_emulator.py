"""The engine end to end against the emulator over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from tests.engine.conftest import Emulator

# Brand review (1 h), campaign approval (7 days), carrier acknowledgement (15 min), with margins.
APPROVAL_STEPS = (0, 3600 + 60, 7 * 24 * 3600, 15 * 60 + 60)


def apply(paths: list[str], settings: Settings, **kw: object) -> engine.ApplyOutcome:
    return asyncio.run(engine.apply(paths, settings, **kw))  # type: ignore[arg-type]


def converge(paths: list[str], settings: Settings, emulator: Emulator) -> engine.ApplyOutcome:
    outcome = None
    for seconds in APPROVAL_STEPS:
        if seconds:
            emulator.advance(seconds)
        outcome = apply(paths, settings)
        assert not outcome.report.failed, [r.error for r in outcome.report.failed]
    assert outcome is not None
    return outcome


def test_quickstart_converges_and_a_second_plan_is_empty_and_list_only(
    quickstart: Path, settings: Settings, emulator: Emulator
) -> None:
    paths = [str(quickstart)]
    converge(paths, settings, emulator)
    lines = asyncio.run(engine.status(paths, settings))
    assert [line.text() for line in lines if line.status != "Ready"] == []

    state = emulator.state()
    assert len(state["numbers"]) == 2
    assert len(state["brands"]) == 1 and len(state["campaigns"]) == 1
    assert len(state["connectors"]) == 2
    subscriptions = state["webhookSubscriptions"]
    assert len(subscriptions) == 7  # as many as examples/quickstart declares

    emulator.reset_requests()
    computed = asyncio.run(engine.plan(paths, settings))
    assert computed.plan.changes == () and computed.plan.waiting == ()
    routes = emulator.requests()["byRoute"]
    assert routes and all(route.startswith("GET ") for route in routes), routes
    # Lists only: no per-resource GET (an item route ends in an id placeholder).
    assert not [r for r in routes if r.endswith("Id}")], routes


def test_apply_twice_changes_nothing_the_second_time(quickstart: Path, settings: Settings,
                                                     emulator: Emulator) -> None:
    paths = [str(quickstart)]
    first = apply(paths, settings)
    assert first.report.done
    before = emulator.state()
    second = apply(paths, settings)
    assert second.report.results == []
    after = emulator.state()
    for key in ("numbers", "brands", "vettings", "webhookSubscriptions", "charges"):
        assert len(after[key]) == len(before[key]), key


def test_waiting_resources_are_reported_with_reasons(quickstart: Path, settings: Settings,
                                                     emulator: Emulator) -> None:
    outcome = apply([str(quickstart)], settings)
    assert outcome.final is not None
    reasons = {w.address: w.reason for w in outcome.final.plan.waiting}
    assert any("PENDING" in r for a, r in reasons.items() if a.startswith("Campaign/")), reasons


def test_saved_plan_applies_exactly_and_a_stale_one_is_refused(quickstart: Path, settings: Settings,
                                                               emulator: Emulator) -> None:
    paths = [str(quickstart)]
    saved = asyncio.run(engine.plan(paths, settings)).plan
    outcome = apply(paths, settings, saved=saved)
    assert {(r.change.address, r.change.action) for r in outcome.report.results} == {
        (c.address, c.action) for c in saved.changes}
    emulator.advance(3600 + 60)  # the brand is approved: the world moved
    try:
        apply(paths, settings, saved=saved)
    except engine.Refused as exc:
        assert "stale" in str(exc)
    else:
        raise AssertionError("a stale saved plan was applied")


def test_first_plan_prices_numbers_from_birds_stock_and_fees(quickstart: Path, settings: Settings,
                                                             emulator: Emulator) -> None:
    from decimal import Decimal

    p = asyncio.run(engine.plan([str(quickstart)], settings)).plan
    buy = next(c for c in p.changes if c.address == "PhoneNumber/alice-line")
    stock = emulator.http.get(f"/workspaces/{emulator.workspace}/numbers-stock-items",
                              params={"countryCodes": "US", "limit": 99},
                              headers={"Authorization": "AccessKey emulator-key"}).json()["results"]
    offered = next(i for i in stock if (i.get("numberString") or i.get("number")) == buy.payload["number"])
    price = offered.get("monthlyPrice") or offered.get("monthlyRecurringPrice")
    assert buy.cost is not None
    assert buy.cost.monthly == Decimal(price["amount"]).scaleb(price["exponent"]) < Decimal("10")
    assert buy.cost.weekly == Decimal("2.99")
    brand = next(c for c in p.changes if c.address == "Brand/acme")
    assert brand.cost is not None and brand.cost.one_time == Decimal("4")
