"""Plans built as data, shared by the renderer tests."""

from __future__ import annotations

from decimal import Decimal

from controller.reconcile.plan import Change, Cost, FieldChange, Plan, Refusal, Waiting

SECRET = "sk-live-do-not-print-0000"


def number_change(i: int) -> Change:
    return Change(
        f"PhoneNumber/line-{i:05d}", "create", "not on Bird", None,
        {"workspace": "acme-main", "select": {"country": "US", "type": "local", "prefix": "+1415"}},
        cost=Cost(Decimal("1.15"), Decimal("2.99"), Decimal("0")),
        payload={"idempotencyKey": f"key-{i}", "accessKey": SECRET},
    )


def mixed_plan() -> Plan:
    return Plan(
        fingerprint_source="f" * 64,
        changes=(
            number_change(1),
            number_change(2),
            Change("WebhookSubscription/inbound", "update", "changed on Bird outside senderctl",
                   {"url": "https://old.example/bird"}, {"url": "https://hooks.acme.example/bird"},
                   fields=(FieldChange("url", "https://old.example/bird", "https://hooks.acme.example/bird"),
                           FieldChange("event", "sms.inbound", "sms.outbound", immutable=True)),
                   drift=True, payload={"signingKey": SECRET}),
            Change("Channel/alice-line", "replace", "linked to another campaign on Bird",
                   {"useCaseId": "c-1"}, {"useCaseId": "c-2"}),
            Change("Assignment/alice", "assign", "alice has no number yet", None,
                   {"user": "alice@acme.example", "number": "+14155550100"}),
            Change("Assignment/bob", "unassign", "the spec no longer assigns it",
                   {"user": "bob@acme.example", "number": "+14155550101"}, None),
            Change("PhoneNumber/old", "archive", "removed from the specs", {"number": "+14155550102"}, None,
                   cost=Cost(one_time=Decimal("0.5"))),
            Change("WebhookSubscription/legacy", "delete", "removed from the specs", {"url": "https://x"}, None),
            Change("Brand/acme", "adopt", "a brand with the same EIN exists on Bird", None, {"ein": "123456789"}),
        ),
        waiting=(Waiting("Campaign/acme-alerts", "brand acme is PENDING"),),
        refusals=(Refusal("PhoneNumber/old", "archiving needs confirmation", "--allow-archive"),
                  Refusal("NumberPool/support", "beyond the organization's limit of 10 numbers")),
    )
