"""A Bird write whose outcome is unknown stays open in the journal until Bird shows what happened."""

from __future__ import annotations

import asyncio
from pathlib import Path

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.state import StateStore
from tests.engine.conftest import Emulator
from tests.engine.test_apply_emulator import apply

BUY = "/workspaces/{workspaceId}/numbers-long-code"  # Bird "Buy a Number"
SUBSCRIPTIONS = "/organizations/{organizationId}/workspaces/{workspaceId}/webhook-subscriptions"


def open_operations(settings: Settings) -> list:
    store = StateStore.open(settings.state_url)
    try:
        return store.open_operations()
    finally:
        store.close()


def test_a_purchase_bird_completes_late_is_adopted_not_bought_again(quickstart: Path, settings: Settings,
                                                                     emulator: Emulator) -> None:
    paths = [str(quickstart)]
    # Bird answers 503 without buying: the client cannot know, and the re-read finds nothing yet.
    emulator.fault(method="POST", route=BUY, effect="status", status=503, times=1)
    first = apply(paths, settings)
    failed = [r for r in first.report.failed if r.change.address == "PhoneNumber/alice-line"]
    assert failed and "stays open in the journal" in (failed[0].error or "")
    (intent,) = [op for op in open_operations(settings) if op.address == "PhoneNumber/alice-line"]
    [member] = intent.request["numbers"]  # the intent names the stock item, the number and the resource
    wanted = member["number"]
    assert member["address"] == "PhoneNumber/alice-line" and member["stockItemId"]
    assert emulator.state()["numbers"] == []

    # Bird completes the purchase after all (late, as a retried request inside Bird would).
    emulator.bird("POST", f"/workspaces/{emulator.workspace}/numbers-long-code",
                  {"numberStockItemIds": [member["stockItemId"]]})
    p = asyncio.run(engine.plan(paths, settings)).plan
    (adopt,) = [c for c in p.changes if c.address == "PhoneNumber/alice-line"]
    assert adopt.action == "adopt" and "interrupted" in adopt.reason

    second = apply(paths, settings)
    assert not second.report.failed, [r.error for r in second.report.failed]
    assert [n["number"] for n in emulator.state()["numbers"]] == [wanted]
    assert [op for op in open_operations(settings) if op.address == "PhoneNumber/alice-line"] == []


def test_an_unfinished_intent_is_abandoned_when_a_new_write_supersedes_it(quickstart: Path, settings: Settings,
                                                                          emulator: Emulator) -> None:
    paths = [str(quickstart)]
    emulator.fault(method="POST", route=BUY, effect="status", status=503, times=1)
    apply(paths, settings)
    (intent,) = [op for op in open_operations(settings) if op.address == "PhoneNumber/alice-line"]
    # Bird never bought it: the next run buys (this time it works) and closes the old intent.
    second = apply(paths, settings)
    assert not second.report.failed, [r.error for r in second.report.failed]
    assert len(emulator.state()["numbers"]) == 1
    store = StateStore.open(settings.state_url)
    try:
        history = {op.id: op.status for op in store.operations("PhoneNumber/alice-line")}
    finally:
        store.close()
    assert history[intent.id] == "abandoned"
    assert sorted(history.values()) == ["abandoned", "succeeded"]


def test_one_unknown_outcome_does_not_hold_back_what_waits_on_the_other_changes(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    """Round 2 of an apply (the vetting of the brand round 1 registered) goes on beside a failed webhook
    subscription; the failed one is not tried again in this apply, and the next apply settles it."""
    paths = [str(quickstart)]
    emulator.fault(method="POST", route=SUBSCRIPTIONS, effect="status", status=503, times=1)
    first = apply(paths, settings)
    (failed,) = [r.change.address for r in first.report.failed]
    assert failed.startswith("WebhookSubscription/")
    done = [(r.change.action, r.change.address) for r in first.report.results if r.ok]
    assert first.rounds >= 2 and ("create", "Vetting/acme") in done, done
    assert [r.change.address for r in first.report.results].count(failed) == 1  # never retried blindly
    second = apply(paths, settings)
    assert not second.report.failed, [r.error for r in second.report.failed]
    subscriptions = emulator.state()["webhookSubscriptions"]
    assert len(subscriptions) == len({(s["event"], s["url"], str(s.get("eventFilters"))) for s in subscriptions})
