"""examples/policies/: each policy refuses a plan it is written against and lets another through. The plans
are real Plan objects (the planner's, or built from the plan's own classes) turned into the plan JSON
exactly as `plan --out` saves it, and evaluated by regopy as `plan --policy` does."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from controller.policy import evaluate_policies, load_policies
from controller.reconcile.plan import Change, Cost, Plan, Resource
from controller.render import render_json
from controller.resources.base import RecordView, TenantView
from tests.engine.test_planner import plan_of, removed_number

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "policies"


def verdict_of(policy_file: str, plan: Plan) -> tuple[list[str], list[str]]:
    policies = load_policies([str(EXAMPLES / policy_file)])
    verdict = evaluate_policies(policies, json.loads(render_json(plan)))
    assert {f.policy for f in (*verdict.denied, *verdict.warned)} <= {str(EXAMPLES / policy_file)}
    return [f.message for f in verdict.denied], [f.message for f in verdict.warned]


NUMBER_COST = Cost(Decimal("1.15"), Decimal("2.99"))


def purchases(count: int, kind: str = "PhoneNumber") -> tuple[Change, ...]:
    return tuple(Change(f"{kind}/line-{i}", "create", "not on Bird", None, {"select": {"country": "US"}},
                        cost=NUMBER_COST) for i in range(count))


def test_the_examples_directory_loads_as_one_policy_set() -> None:
    policies = load_policies([str(EXAMPLES)])
    assert sorted(Path(p.path).name for p in policies) == [
        "marketing_needs_approval.rego", "max_numbers_bought.rego", "max_run_rate_increase.rego",
        "no_archive_of_assigned_number.rego"]


def test_max_numbers_bought_denies_51_and_passes_50() -> None:
    denied, _ = verdict_of("max_numbers_bought.rego", Plan("f", changes=purchases(40) + purchases(11, "NumberPool")))
    assert denied == ["the plan buys 51 numbers; at most 50 may be bought by one plan (split the change, or raise "
                      "max_numbers)"]
    denied, _ = verdict_of("max_numbers_bought.rego", Plan("f", changes=purchases(50)))
    assert denied == []
    # Adopting numbers Bird already holds buys nothing.
    adopted = tuple(Change(f"PhoneNumber/a{i}", "adopt", "on Bird") for i in range(80))
    assert verdict_of("max_numbers_bought.rego", Plan("f", changes=adopted))[0] == []


def test_max_run_rate_increase_counts_monthly_and_weekly_prices() -> None:
    # 100 numbers: 115.00 a month on Bird + 299.00 a week on the platform (1295.67 a month).
    denied, _ = verdict_of("max_run_rate_increase.rego", Plan("f", changes=purchases(100)))
    assert denied == ["the plan adds 1410.67 USD a month to the run-rate; at most 500 is allowed per plan"]
    # 30 numbers: 34.50 + 89.70 x 52 / 12 = 423.20 a month.
    denied, warned = verdict_of("max_run_rate_increase.rego", Plan("f", changes=purchases(30)))
    assert denied == [] and warned == []
    fee = Change("Brand/acme", "create", "not on Bird", None, {}, cost=Cost(one_time=Decimal("4")))
    denied, warned = verdict_of("max_run_rate_increase.rego", Plan("f", changes=(fee,)))
    assert denied == [] and warned == ["the plan charges 4 USD in one-time fees"]


def campaign_plan(usecase: str, labels: dict[str, str]) -> Plan:
    change = Change("Campaign/spring-sale", "create", "not on Bird", None, {"name": "Spring sale", "usecase": usecase})
    return Plan("f", changes=(change,), resources={
        "Campaign/spring-sale": Resource("Campaign/spring-sale", labels, ("Brand/acme",))})


def test_marketing_campaign_needs_the_approval_label() -> None:
    denied, _ = verdict_of("marketing_needs_approval.rego", campaign_plan("MARKETING", {"team": "growth"}))
    assert denied == ["Campaign/spring-sale is a MARKETING campaign without the senderctl.io/approved-by label on "
                      "its document"]
    assert verdict_of("marketing_needs_approval.rego", campaign_plan("MARKETING", {"senderctl.io/approved-by": ""}))[0]
    approved = campaign_plan("MARKETING", {"senderctl.io/approved-by": "legal-jane"})
    assert verdict_of("marketing_needs_approval.rego", approved)[0] == []
    assert verdict_of("marketing_needs_approval.rego", campaign_plan("ACCOUNT_NOTIFICATION", {}))[0] == []


def test_no_archive_of_a_number_its_user_still_has() -> None:
    """The planner allows archiving a number whose assignment the same plan ends; the policy does not."""
    world = removed_number("Archive", False)
    world.tenant = TenantView(assignments={"+14155550100": "bob@acme.example"})
    world.records["Assignment/old"] = RecordView(
        "Assignment/old", "Assignment", None, None, {"user": "bob@acme.example"},
        {"number": "+14155550100", "organization": "acme", "numberAddress": "PhoneNumber/old"})
    plan = plan_of([], world)
    assert plan.blocked(allow_archive=True) == []  # nothing but the policy stands in the way
    archive = next(c for c in plan.changes if c.action == "archive")
    assert archive.before == {"number": "+14155550100", "assignee": "bob@acme.example"}
    denied, _ = verdict_of("no_archive_of_assigned_number.rego", plan)
    assert denied == ["PhoneNumber/old (+14155550100) is assigned to bob@acme.example; unassign it before "
                      "archiving it"]

    unassigned = removed_number("Archive", False)
    plan = plan_of([], unassigned)
    assert [c.action for c in plan.changes] == ["archive"]
    assert verdict_of("no_archive_of_assigned_number.rego", plan)[0] == []


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.rego")))
def test_every_example_passes_an_empty_plan(name: str) -> None:
    assert verdict_of(name, Plan("f")) == ([], [])


def test_a_copy_of_an_example_can_be_tightened(tmp_path: Path) -> None:
    """The limits are plain constants at the top of each file: a team edits its copy."""
    shutil.copy(EXAMPLES / "max_numbers_bought.rego", tmp_path / "max.rego")
    text = (tmp_path / "max.rego").read_text().replace("max_numbers := 50", "max_numbers := 1")
    (tmp_path / "max.rego").write_text(text)
    verdict = evaluate_policies(load_policies([str(tmp_path)]), json.loads(render_json(Plan("f", changes=purchases(2)))))
    assert [f.message for f in verdict.denied] == [
        "the plan buys 2 numbers; at most 1 may be bought by one plan (split the change, or raise max_numbers)"]
