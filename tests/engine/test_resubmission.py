"""A rejected campaign or brand fixed in the specs is updated and resubmitted in place (Bird "Update a
campaign" / "Update a brand"): one object on Bird, the resubmission fee in the plan, then approval and
a converged quick start. An approved campaign takes content edits in place; what Bird forbids is
refused with Bird's reason."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.resources import fees
from tests.engine.conftest import Emulator
from tests.engine.test_apply_emulator import apply, converge

BRAND_REVIEW = 3600 + 60
CAMPAIGN_REVIEW = 7 * 24 * 3600
CARRIER_ACK = 15 * 60 + 60


def decide(emulator: Emulator, kind: str, object_id: str, status: str, **rejection: str) -> None:
    body = {"kind": kind, "id": object_id, "status": status, **({"rejection": rejection} if rejection else {})}
    emulator.http.post("/_emulator/decide", json=body).raise_for_status()


def edit(specs: Path, old: str, new: str) -> None:
    path = specs / "brand.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def status_of(paths: list[str], settings: Settings, address: str) -> engine.StatusLine:
    return next(line for line in asyncio.run(engine.status(paths, settings)) if line.address == address)


def finish(paths: list[str], settings: Settings, emulator: Emulator) -> None:
    """Campaign review, carrier acknowledgement, then nothing is left to do."""
    for seconds in (CAMPAIGN_REVIEW, CARRIER_ACK):
        emulator.advance(seconds)
        outcome = apply(paths, settings)
        assert not outcome.report.failed, [r.error for r in outcome.report.failed]
    assert [line.text() for line in asyncio.run(engine.status(paths, settings)) if line.status != "Ready"] == []
    computed = asyncio.run(engine.plan(paths, settings))
    assert computed.plan.changes == () and computed.plan.refusals == ()


def test_a_rejected_campaign_fixed_in_the_specs_is_resubmitted_in_place_then_converges(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    paths = [str(quickstart)]
    apply(paths, settings)
    emulator.advance(BRAND_REVIEW)
    apply(paths, settings)  # the brand is approved: the campaign is registered
    [campaign] = emulator.state()["campaigns"]
    decide(emulator, "campaign", campaign["id"], "REJECTED", code="CR4002",
           description="Message flow does not show how consent is collected")

    line = status_of(paths, settings, "Campaign/acme-alerts")
    assert line.status == "Failed"
    assert "CR4002" in line.reason and "Message flow does not show how consent is collected" in line.reason

    edit(quickstart, 'and confirming their mobile number;',
         'and confirming their mobile number with a one-time code (screenshot: https://acme.example/optin.png);')
    computed = asyncio.run(engine.plan(paths, settings))
    changes = [c for c in computed.plan.changes if c.address == "Campaign/acme-alerts"]
    assert [c.action for c in changes] == ["update"], changes
    assert changes[0].cost is not None and changes[0].cost.one_time == fees.CAMPAIGN_RESUBMISSION
    assert "CR4002" in changes[0].reason and [f.path for f in changes[0].fields] == ["messageFlow"]
    assert computed.plan.refusals == ()

    outcome = apply(paths, settings)
    assert not outcome.report.failed, [r.error for r in outcome.report.failed]
    [resubmitted] = emulator.state()["campaigns"]  # one campaign on Bird: the same one, in place
    assert resubmitted["id"] == campaign["id"] and resubmitted["status"] == "PENDING"
    assert "one-time code" in resubmitted["messageFlow"] and "rejection" not in resubmitted
    charged = [c for c in emulator.state()["charges"] if c["kind"] == "campaign-resubmission"]
    assert [Decimal(c["amount"]) for c in charged] == [Decimal("15.00")]
    assert not [c for c in emulator.state()["charges"] if c["kind"] == "campaign-vetting"][1:]
    finish(paths, settings, emulator)
    assert len(emulator.state()["campaigns"]) == 1


def test_an_approved_campaign_takes_content_edits_in_place_and_refuses_the_rest_with_bird_s_reason(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    paths = [str(quickstart)]
    converge(paths, settings, emulator)
    [campaign] = emulator.state()["campaigns"]
    edit(quickstart, 'helpMessage: "Acme alerts: help at support@acme.example.',
         'helpMessage: "Acme alerts: help at help@acme.example.')
    computed = asyncio.run(engine.plan(paths, settings))
    [change] = [c for c in computed.plan.changes if c.address == "Campaign/acme-alerts"]
    # Never called free: Bird may charge the resubmission fee and send the campaign back to review.
    assert change.action == "update" and change.cost is not None
    assert change.cost.one_time == fees.CAMPAIGN_RESUBMISSION
    assert "may charge a resubmission fee" in change.reason and "back to review" in change.reason
    assert not apply(paths, settings).report.failed
    [updated] = emulator.state()["campaigns"]
    assert (updated["id"], updated["status"]) == (campaign["id"], "APPROVED")
    assert updated["helpMessage"].startswith("Acme alerts: help at help@acme.example")

    edit(quickstart, "usecase: ACCOUNT_NOTIFICATION", "usecase: CUSTOMER_CARE")
    computed = asyncio.run(engine.plan(paths, settings))
    [refusal] = [r for r in computed.plan.refusals if r.address == "Campaign/acme-alerts"]
    assert "usecase cannot change while campaign acme-alerts is APPROVED" in refusal.reason
    assert "messageFlow" in refusal.reason  # Bird's list of what an approved campaign may change
    assert not [c for c in computed.plan.changes if c.address == "Campaign/acme-alerts"]


def test_a_rejected_brand_fixed_in_the_specs_is_resubmitted_in_place_then_converges(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    paths = [str(quickstart)]
    apply(paths, settings)
    [brand] = emulator.state()["brands"]
    decide(emulator, "brand", brand["id"], "REJECTED", code="BR101", description="Website does not load")
    line = status_of(paths, settings, "Brand/acme")
    assert line.status == "Failed" and "BR101" in line.reason and "Website does not load" in line.reason

    edit(quickstart, "website: https://acme.example\n", "website: https://www.acme.example\n")
    computed = asyncio.run(engine.plan(paths, settings))
    [change] = [c for c in computed.plan.changes if c.address == "Brand/acme"]
    assert change.action == "update" and change.cost is not None
    assert change.cost.one_time == fees.BRAND_RESUBMISSION and "BR101" in change.reason
    assert not apply(paths, settings).report.failed
    [resubmitted] = emulator.state()["brands"]
    assert (resubmitted["id"], resubmitted["status"], resubmitted["website"]) == (
        brand["id"], "PENDING", "https://www.acme.example")
    assert [c["kind"] for c in emulator.state()["charges"]].count("brand-resubmission") == 1

    emulator.advance(BRAND_REVIEW)
    assert not apply(paths, settings).report.failed  # approved: the campaign is registered
    finish(paths, settings, emulator)
    assert len(emulator.state()["brands"]) == 1

    edit(quickstart, "ein: \"123456789\"", "ein: \"987654321\"")
    [refusal] = [r for r in asyncio.run(engine.plan(paths, settings)).plan.refusals if r.address == "Brand/acme"]
    assert "ein cannot change once the brand is approved" in refusal.reason


def test_a_resubmission_bird_refuses_falls_back_to_a_new_registration_with_its_fee_saying_why(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    paths = [str(quickstart)]
    apply(paths, settings)
    emulator.advance(BRAND_REVIEW)
    apply(paths, settings)
    [campaign] = emulator.state()["campaigns"]
    decide(emulator, "campaign", campaign["id"], "REJECTED", code="CR4002", description="No opt-in shown")
    edit(quickstart, 'and confirming their mobile number;',
         'and confirming their mobile number with a one-time code (screenshot: https://acme.example/optin.png);')
    [change] = [c for c in asyncio.run(engine.plan(paths, settings)).plan.changes
                if c.address == "Campaign/acme-alerts"]
    assert change.action == "update" and "a new campaign is registered instead" in change.reason
    assert str(fees.campaign_one_time()) in change.reason  # the fee of the fallback, said before apply

    # Bird follows its registration guide here: a rejected campaign is not resubmitted in place.
    emulator.fault(method="PATCH", route="/workspaces/{workspaceId}/tcr-brands/{brandId}/campaigns/{campaignId}",
                   effect="status", status=422, times=1)
    outcome = apply(paths, settings)
    assert not outcome.report.failed, [r.error for r in outcome.report.failed]
    campaigns = {c["id"]: c for c in emulator.state()["campaigns"]}
    assert len(campaigns) == 2 and campaigns[campaign["id"]]["status"] == "REJECTED", "the old one is untouched"
    [new] = [c for c in campaigns.values() if c["id"] != campaign["id"]]
    assert new["status"] == "PENDING" and "one-time code" in new["messageFlow"]
    assert not [c for c in emulator.state()["charges"] if c["kind"] == "campaign-resubmission"]
    from controller.state import StateStore

    with StateStore.open(settings.state_url) as store:
        record = store.records()["Campaign/acme-alerts"]
    assert record.bird_id == new["id"] and record.data["replaces"] == campaign["id"]
    assert "Bird refused to resubmit the REJECTED campaign" in record.data["registeredAnew"]
    assert "HTTP 422" in record.data["registeredAnew"]
    finish(paths, settings, emulator)


def test_a_create_that_loses_bird_s_answer_never_adopts_the_campaign_it_replaced(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    """After the fallback registration, the rejected campaign keeps the spec's name on Bird. When the new
    campaign is gone (deleted on Bird) the plan registers another, not the rejected one back; and when Bird
    commits that registration but its answer is lost, the re-read adopts the campaign the intent created."""
    from controller.state import StateStore

    paths = [str(quickstart)]
    apply(paths, settings)
    emulator.advance(BRAND_REVIEW)
    apply(paths, settings)
    [rejected] = emulator.state()["campaigns"]
    decide(emulator, "campaign", rejected["id"], "REJECTED", code="CR4002", description="No opt-in shown")
    edit(quickstart, 'and confirming their mobile number;',
         'and confirming their mobile number with a one-time code (screenshot: https://acme.example/optin.png);')
    emulator.fault(method="PATCH", route="/workspaces/{workspaceId}/tcr-brands/{brandId}/campaigns/{campaignId}",
                   effect="status", status=422, times=1)
    assert not apply(paths, settings).report.failed
    [anew] = [c for c in emulator.state()["campaigns"] if c["id"] != rejected["id"]]
    emulator.bird("DELETE", f"/workspaces/{anew['workspaceId']}/tcr-brands/{anew['brandId']}/campaigns/{anew['id']}")

    actions = [c.action for c in asyncio.run(engine.plan(paths, settings)).plan.changes
               if c.address == "Campaign/acme-alerts"]
    assert actions == ["create"], actions  # not "adopt" of the rejected campaign of the same name

    emulator.fault(method="POST", route="/workspaces/{workspaceId}/tcr-brands/{brandId}/campaigns",
                   effect="commit-then-fail", times=1)
    outcome = apply(paths, settings)
    assert not outcome.report.failed, [r.error for r in outcome.report.failed]
    [created] = [c for c in emulator.state()["campaigns"] if c["id"] not in (rejected["id"], anew["id"])]
    with StateStore.open(settings.state_url) as store:
        record = store.records()["Campaign/acme-alerts"]
    assert record.bird_id == created["id"]
    assert rejected["id"] in record.data["replaced"]
