"""Terraform-like text: structure, symbols, costs, rails and colour."""

from __future__ import annotations

from decimal import Decimal

from controller.reconcile.plan import Change, Cost, FieldChange, Plan, Waiting
from controller.render import render
from tests.render.plans import SECRET, mixed_plan


def block(text: str, address: str) -> list[str]:
    """The lines of the change block whose head names `address`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith(" " + address) or f" {address}  [" in line)
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def test_every_action_has_its_symbol_in_plan_order() -> None:
    text = render(mixed_plan(), "text")
    heads = [line.strip() for line in text.splitlines() if line.startswith("  ") and not line.startswith("      ")]
    expected = ["+ create PhoneNumber/line-00001", "+ create PhoneNumber/line-00002",
                "~ update WebhookSubscription/inbound", "-/+ replace Channel/alice-line",
                "> assign Assignment/alice", "< unassign Assignment/bob", "- archive PhoneNumber/old",
                "x delete WebhookSubscription/legacy", "= adopt Brand/acme"]
    assert [h.split("  [")[0] for h in heads[: len(expected)]] == expected


def test_update_shows_field_diffs_drift_and_immutable_fields() -> None:
    lines = block(render(mixed_plan(), "text"), "WebhookSubscription/inbound")
    assert "[drift: changed on Bird outside senderctl]" in lines[0]
    assert "      reason: changed on Bird outside senderctl" in lines
    assert '      ~ url: "https://old.example/bird" -> "https://hooks.acme.example/bird"' in lines
    assert '      ~ event: "sms.inbound" -> "sms.outbound"   (cannot change on Bird)' in lines
    assert not any("cannot change on Bird" in line for line in lines if "url" in line)


def test_create_lists_attributes_and_its_cost() -> None:
    lines = block(render(mixed_plan(), "text"), "PhoneNumber/line-00001")
    assert '      + workspace = "acme-main"' in lines
    assert '      + select = {"country": "US", "prefix": "+1415", "type": "local"}' in lines
    assert lines[-1] == "      cost: 1.15 USD monthly, 2.99 USD weekly"


def test_replace_without_field_list_diffs_before_and_after() -> None:
    lines = block(render(mixed_plan(), "text"), "Channel/alice-line")
    assert '      ~ useCaseId: "c-1" -> "c-2"' in lines


def test_total_cost_sums_decimals_exactly() -> None:
    plan = Plan("x", changes=tuple(
        Change(f"PhoneNumber/n{i}", "create", "new", None, {}, cost=Cost(Decimal("0.1"), Decimal("0.1"), Decimal("0.1")))
        for i in range(3)))
    text = render(plan, "text")
    # 0.1 + 0.1 + 0.1 as floats would print 0.30000000000000004.
    assert "Cost: 0.30 USD monthly, 0.30 USD weekly, 0.30 USD one-time" in text.splitlines()
    assert "cost: 0.10 USD monthly, 0.10 USD weekly, 0.10 USD one-time" in text


def test_waiting_and_refusals_name_the_way_out() -> None:
    lines = render(mixed_plan(), "text").splitlines()
    waiting = lines.index("Waiting:")
    assert lines[waiting + 1] == "  Campaign/acme-alerts — brand acme is PENDING"
    refused = lines.index("Refused:")
    assert lines[refused + 1] == "  PhoneNumber/old — archiving needs confirmation (apply with --allow-archive to lift this)"
    assert lines[refused + 2] == ("  NumberPool/support — beyond the organization's limit of 10 numbers "
                                  "(no flag lifts this: change the specs)")
    assert waiting < refused < len(lines) - 1


def test_summary_line_is_last_and_counts_every_action() -> None:
    last = render(mixed_plan(), "text").splitlines()[-1]
    assert last == ("Plan: 2 to create, 1 to update, 1 to archive, 1 to assign, 1 to unassign, 1 to delete, "
                    "1 to replace, 1 to adopt.")


def test_no_changes_says_so_and_still_lists_waiting() -> None:
    plan = Plan("x", waiting=(Waiting("Campaign/a", "brand acme is PENDING"),), ready=("Brand/acme",))
    text = render(plan, "text")
    # Something the specs declare waits: never "match the specs".
    assert text.splitlines()[-1] == "No changes can be applied now: 1 waiting on Bird (listed above)."
    assert render(Plan("x", ready=("Brand/acme",)), "text").splitlines()[-1] == (
        "No changes. Bird and the records match the specs.")
    assert "  Campaign/a — brand acme is PENDING" in text
    assert "will perform" not in text


def test_orphaned_resources_are_forgotten_not_archived() -> None:
    text = render(Plan("x", forget=("PhoneNumber/gone",)), "text")
    assert "  . forget PhoneNumber/gone" in text
    assert text.splitlines()[-1].endswith("0 to delete, 1 to forget.")


def test_payload_and_secrets_never_appear() -> None:
    plan = mixed_plan()
    plan = Plan(plan.fingerprint, changes=(*plan.changes, Change(
        "WebhookSubscription/k", "update", "signing key rotated", {"signingKey": SECRET}, {"signingKey": SECRET},
        fields=(FieldChange("signingKey", SECRET, SECRET), FieldChange("auth", {"token": SECRET}, None)))))
    for color in (False, True):
        text = render(plan, "text", color=color)
        assert SECRET not in text
        assert "idempotencyKey" not in text
    assert "~ signingKey: (sensitive value) -> (sensitive value)" in render(plan, "text")


def test_colour_only_when_asked_and_markup_in_names_is_not_interpreted() -> None:
    plan = Plan("x", changes=(Change("PhoneNumber/[red]x[/red]", "create", "[bold]why[/bold]", None, {}),))
    plain = render(plan, "text")
    assert "\x1b[" not in plain
    coloured = render(plan, "text", color=True)
    assert "\x1b[32m" in coloured  # green for create
    assert "PhoneNumber/[red]x[/red]" in coloured and "[bold]why[/bold]" in coloured


def test_control_characters_cannot_rewrite_the_terminal() -> None:
    evil = "line\x1b[2J\r\nfake\u202eevil"
    plan = Plan("x", changes=(Change("PhoneNumber/a", "update", evil, {"v": evil}, {"v": "ok"},
                                     fields=(FieldChange("v", evil, "ok"),)),))
    text = render(plan, "text")
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    assert "reason: line\\x1b[2J\\x0d\\x0afake\\u202eevil" in text


def test_long_values_are_shortened() -> None:
    plan = Plan("x", changes=(Change("Campaign/a", "update", "spec differs", None, None,
                                     fields=(FieldChange("description", "a" * 5000, "b" * 5000),)),))
    line = next(line for line in render(plan, "text").splitlines() if "description" in line)
    assert len(line) < 500 and "…" in line
