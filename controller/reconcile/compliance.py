"""The campaign doctor in the plan: a brand or campaign with compliance errors is not submitted.

Bird charges every registration and resubmission, whatever the result ("Campaign registration": "Fees
apply, independent of the result"), so a finding the registries would reject refuses that document's
create / update before any fee: a refusal no flag lifts (plan and apply exit 3). Warnings ride along in
the desired resource's context for the commands to list. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from controller.reconcile.plan import Refusal
from controller.resources.base import Desired, Outcome

CONTEXT_KEY = "compliance"
GATED_ACTIONS = frozenset({"create", "update", "replace"})


def with_findings(desired: Sequence[Desired], specs: Any) -> list[Desired]:
    """Each Brand / Campaign desired resource with its findings (code, severity, text) in its context."""
    from specs.compliance import diagnose, findings_by_address

    found = findings_by_address(diagnose(specs))
    if not found:
        return list(desired)
    return [d if d.address not in found else dataclasses.replace(d, context={
        **d.context, CONTEXT_KEY: [{"code": f.code, "severity": f.severity, "text": f.short()}
                                   for f in found[d.address]]}) for d in desired]


def errors_of(d: Desired) -> list[dict[str, str]]:
    return [f for f in d.context.get(CONTEXT_KEY, ()) if f["severity"] == "error"]


def warnings_of(desired: Sequence[Desired]) -> list[tuple[str, dict[str, str]]]:
    return [(d.address, f) for d in desired for f in d.context.get(CONTEXT_KEY, ()) if f["severity"] == "warning"]


def gate(d: Desired, outcome: Outcome) -> Outcome:
    """The outcome without the registration the findings forbid, refused with the findings instead.

    A document not yet on Bird is refused even while it waits (a campaign waits for its brand): the
    first plan says so, before the brand's fee is paid for a campaign that would be declined."""
    errors = errors_of(d)
    blocked = [c for c in outcome.changes if c.address == d.address and c.action in GATED_ACTIONS]
    registered = "birdId" in outcome.facts
    if not errors or (registered and not blocked):
        return outcome
    actions = {c.action for c in blocked} or {"registration"}
    reason = (f"compliance: {' and '.join(sorted(actions))} refused before any Bird fee, {len(errors)} finding(s) "
              "the registries would reject: " + " | ".join(f["text"] for f in errors)
              + " (silence a finding with metadata.annotations senderctl.io/ignore-compliance: \"CODE\")")
    kept = tuple(c for c in outcome.changes if c not in blocked)
    codes = ", ".join(sorted({f["code"] for f in errors}))
    return dataclasses.replace(
        outcome, changes=kept, refusals=(*outcome.refusals, Refusal(d.address, reason)),
        status=outcome.status if registered else "Failed",
        reason=outcome.reason if registered else f"compliance errors ({codes}): fix the spec; nothing is submitted")
