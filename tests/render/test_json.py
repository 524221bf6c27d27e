"""-o json: the CONTRACT.md Plan JSON, exact and stable."""

from __future__ import annotations

import json
from decimal import Decimal

from controller.reconcile.plan import Change, Cost, Plan
from controller.render import render
from tests.render.plans import mixed_plan


def test_contract_fields_and_values() -> None:
    data = json.loads(render(mixed_plan(), "json"))
    assert data["format_version"] == "1"
    assert data["fingerprint"] == "f" * 64
    assert {"changes", "waiting", "summary", "refusals", "total_cost"} <= set(data)
    first = data["changes"][0]
    assert first["address"] == "PhoneNumber/line-00001" and first["action"] == "create"
    assert first["before"] is None and first["reason"] == "not on Bird"
    assert first["cost"] == {"currency": "USD", "monthly": "1.15", "weekly": "2.99", "one_time": "0"}
    assert data["waiting"] == [{"address": "Campaign/acme-alerts", "reason": "brand acme is PENDING"}]
    assert data["summary"] == {"create": 2, "update": 1, "archive": 1, "assign": 1, "unassign": 1, "delete": 1,
                               "replace": 1, "adopt": 1}
    assert {c["action"] for c in data["changes"]} <= {"create", "update", "replace", "archive", "delete",
                                                       "assign", "unassign", "adopt"}


def test_money_is_a_decimal_string() -> None:
    plan = Plan("x", changes=tuple(
        Change(f"PhoneNumber/n{i}", "create", "new", None, {}, cost=Cost(Decimal("0.1"), Decimal("2.99"))) for i in range(3)))
    total = json.loads(render(plan, "json"))["total_cost"]
    assert total == {"currency": "USD", "monthly": "0.30", "weekly": "8.97", "one_time": "0"}
    assert all(isinstance(v, str) for v in total.values())


def test_pretty_sorted_and_deterministic() -> None:
    text = render(mixed_plan(), "json")
    assert text == render(mixed_plan(), "json") and text.endswith("}\n")
    assert text.startswith('{\n  "changes": [')
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_round_trips_into_the_same_plan() -> None:
    plan = mixed_plan()
    again = Plan.from_json(json.loads(render(plan, "json")))
    assert again.changes == plan.changes and again.waiting == plan.waiting and again.refusals == plan.refusals
