"""`senderctl costs`: the estate's run-rate and fees from Bird and the state, matching what the emulator
charged; plus the pure parts (ghost campaigns, the 3-month minimum, a plan's run-rate change)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from controller.reconcile.plan import Change, Cost
from controller.resources.costs import add_months, campaign_cost, plan_run_rate
from controller.resources.ghost import campaign_silence
from controller.state.traffic import Traffic
from tests.cli.conftest import Senderctl
from tests.gitops.conftest import Bird

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_costs_match_the_emulators_charges(cli: Senderctl, bird: Bird, specs: Path) -> None:
    assert cli("apply", str(specs), "--auto-approve").code == 0
    bird.advance(3600 + 60)  # brand approved: the campaign and vetting follow
    planned = cli("plan", str(specs))
    assert "Monthly run-rate on Bird: +10.00 USD (numbers +0.00, campaigns +10.00)" in planned.out, planned
    assert cli("apply", str(specs), "--auto-approve").code == 0
    run = cli("costs", "-o", "json")
    assert run.code == 0, run
    [org] = json.loads(run.out)["organizations"]
    [ws] = org["workspaces"]
    charges = bird.state()["charges"]
    one_time = sum(Decimal(c["amount"]) for c in charges if c["kind"] != "number")
    first_months = sum(Decimal(c["amount"]) for c in charges if c["kind"] == "number")
    assert Decimal(org["oneTimeChargedSoFar"]) == one_time == Decimal("89")  # brand 4, vetting 40, campaign 15 + 30
    assert Decimal(ws["numbers"]["monthly"]) == first_months and ws["numbers"]["count"] == len(bird.state()["numbers"])
    [campaign] = ws["campaigns"]
    assert campaign["monthly"] == "10" and campaign["ghost"] is False
    registered = datetime.fromisoformat(campaign["registeredAt"].replace("Z", "+00:00"))
    assert campaign["minimumCommitmentEnds"].startswith(add_months(registered, 3).date().isoformat())
    assert Decimal(org["monthly"]) == first_months + 10
    assert org["platformWeekly"] == {"numbers": ws["numbers"]["count"], "weeklyPrice": "2.99",
                                     "total": str(Decimal("2.99") * ws["numbers"]["count"])}
    text = cli("costs", "--org", "acme")
    assert text.code == 0 and "Organization acme:" in text.out and "3-month minimum ends" in text.out
    assert cli("costs").out == text.out  # one organization: the same
    bird.zero_requests()
    assert cli("costs").code == 0 and bird.writes() == {}  # costs only reads


def test_costs_of_an_unknown_organization_is_an_error(cli: Senderctl, bird: Bird, specs: Path) -> None:
    assert cli("apply", str(specs), "--auto-approve").code == 0
    run = cli("costs", "--org", "globex")
    assert run.code == 1 and "--org globex: no such Organization in the state (it holds: acme)" in run.err


def test_a_campaign_silent_for_60_days_is_a_ghost_and_its_fee_is_at_risk() -> None:
    campaign = {"id": "c1", "name": "alerts", "status": "APPROVED", "createdAt": "2026-01-01T00:00:00Z"}

    def cost(last: datetime | None, **changes: str):
        traffic = {"ch": Traffic(3, last)} if last else {}
        row = {**campaign, **changes}
        return campaign_cost(row, campaign_silence(row, ["ch"], traffic, NOW))

    assert cost(NOW - timedelta(days=60)).ghost and cost(NOW - timedelta(days=60)).at_risk == Decimal("10")
    assert not cost(NOW - timedelta(days=59)).ghost and cost(NOW - timedelta(days=59)).at_risk == 0
    assert cost(None).ghost  # registered 11 months ago, nothing ever sent
    fresh = NOW - timedelta(days=59)
    assert not cost(None, createdAt=fresh.isoformat()).ghost  # registered 59 days ago: not yet
    assert not cost(NOW - timedelta(days=90), status="REJECTED").ghost  # only an approved campaign counts
    assert not cost(None, status="PENDING").ghost
    assert cost(None, status="REJECTED").monthly == 0
    ghost = cost(NOW - timedelta(days=61)).to_json()
    assert ghost["ghost"] is True and ghost["monthlyAtRisk"] == "10" and ghost["fineAtRisk"] == "250"
    assert ghost["outboundCounted"] == 3 and ghost["silentSince"].startswith("2026-10-03")


def test_the_newest_outbound_on_any_channel_of_the_campaign_counts() -> None:
    campaign = {"id": "c1", "status": "APPROVED", "createdAt": "2026-01-01T00:00:00Z"}
    traffic = {"old": Traffic(5, NOW - timedelta(days=100)), "new": Traffic(1, NOW - timedelta(days=2)),
               "other": Traffic(9, NOW)}
    both = campaign_silence(campaign, ["old", "new"], traffic, NOW)
    assert not both.ghost and both.last_outbound == NOW - timedelta(days=2) and both.outbound_count == 6
    assert campaign_silence(campaign, ["old"], traffic, NOW).ghost


def test_three_month_minimum_ends_on_the_same_day_or_the_months_last() -> None:
    assert add_months(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 15, tzinfo=UTC), 3) == datetime(2026, 4, 15, tzinfo=UTC)


def test_plan_run_rate_change() -> None:
    changes = [Change("Campaign/a", "create", "", cost=Cost(one_time=Decimal("45"))),
               Change("PhoneNumber/x", "create", "", cost=Cost(monthly=Decimal("1.15"), weekly=Decimal("2.99"))),
               Change("NumberPool/p", "create", "", cost=Cost(monthly=Decimal("1.15"))),
               Change("Brand/b", "create", "", cost=Cost(one_time=Decimal("4")))]
    assert plan_run_rate(changes) == (Decimal("2.30"), Decimal("10"))


def test_costs_reads_a_missing_state_as_empty_and_leaves_no_file(cli: Senderctl, tmp_path: Path) -> None:
    state = tmp_path / "nothing-yet.db"
    run = cli("costs", env={"SENDERCTL_STATE": f"sqlite:///{state}"})
    assert run.code == 0, run
    assert "The state holds no Organization" in run.out and not state.exists()


def test_costs_on_a_state_of_an_older_schema_says_how_to_migrate_it(cli: Senderctl, bird: Bird, specs: Path,
                                                                    tmp_path: Path) -> None:
    """The short way in reads only a current schema; an older one goes through the store, which migrates
    a writable state and, on a read-only file, says what to run."""
    import sqlite3

    state = tmp_path / "old.db"
    url = f"sqlite:///{state}"
    assert cli("apply", str(specs), "--auto-approve", env={"SENDERCTL_STATE": url}).code == 0
    with sqlite3.connect(state) as db:
        db.execute("UPDATE alembic_version SET version_num = 'compliance_0006_channel_traffic'")
    state.chmod(0o444)
    try:
        run = cli("costs", env={"SENDERCTL_STATE": url})
    finally:
        state.chmod(0o644)
    assert run.code != 0 and "compliance_0006_channel_traffic" in run.err and "senderctl apply" in run.err, run
    assert "Traceback" not in run.err
