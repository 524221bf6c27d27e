"""A move never leaves a user without a number (make-before-break).

alice moves to a new number in one edit: the new number is bought and its SMS channel installed
before her old assignment ends, and the old one ends in the same transaction as the new one begins.
A failed purchase leaves her old assignment in place."""

from __future__ import annotations

from pathlib import Path

from controller import tenant
from controller.state import StateStore
from tests.engine.conftest import Emulator, senderctl
from tests.engine.test_apply_emulator import APPROVAL_STEPS
from tests.engine.test_forgotten_numbers_found_again import converge, env_for

BUY = "/workspaces/{workspaceId}/numbers-long-code"  # Bird "Buy a Number"

ALICE_NEW = """\
---
apiVersion: senderctl/v1
kind: PhoneNumber
metadata:
  name: alice-new
spec:
  workspace: acme-main
  select: {country: US, type: local}
  campaign: acme-alerts
  assignee: alice@acme.example
  channelName: Alice (new line)
"""


def alice_numbers(state_url: str) -> list[str]:
    with StateStore.open(state_url) as store:
        return [n for n, user in tenant.active_assignments(store, "acme").items() if user == "alice@acme.example"]


def number_of(state_url: str, address: str) -> str | None:
    with StateStore.open(state_url) as store:
        record = store.records().get(address)
    return record.data.get("number") if record else None


def move_alice(specs: Path) -> None:
    numbers = specs / "numbers.yaml"
    numbers.write_text(numbers.read_text().replace("  assignee: alice@acme.example\n", "", 1) + ALICE_NEW)


def test_a_failed_purchase_leaves_the_old_assignment_in_place(
        quickstart: Path, emulator: Emulator, state_url: str) -> None:
    env = env_for(emulator, state_url)
    converge(quickstart, env, emulator)
    old = number_of(state_url, "PhoneNumber/alice-line")
    assert alice_numbers(state_url) == [old]

    move_alice(quickstart)
    plan = senderctl("plan", str(quickstart), env=env)
    assert "- unassign" not in plan.stdout and "0 to unassign" in plan.stdout, plan.stdout
    assert "keeps " + str(old) in " ".join(plan.stdout.split()), plan.stdout
    emulator.fault(method="POST", route=BUY, effect="status", status=422, times=1)
    failed = senderctl("apply", str(quickstart), "--auto-approve", env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert alice_numbers(state_url) == [old]  # the purchase failed: she keeps her number

    seen = []
    for seconds in (0, 0, *APPROVAL_STEPS[1:]):
        if seconds:
            emulator.advance(seconds)
        run = senderctl("apply", str(quickstart), "--auto-approve", env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        seen.append(alice_numbers(state_url))
        assert len(seen[-1]) == 1, seen  # never none, never two
    new = number_of(state_url, "PhoneNumber/alice-new")
    assert new and new != old and alice_numbers(state_url) == [new]
    connectors = {c["arguments"]["phoneNumberId"] for c in emulator.state()["connectors"]}
    new_id = next(n["id"] for n in emulator.state()["numbers"] if n["number"] == new)
    assert new_id in connectors  # her new number's channel exists
    final = senderctl("plan", str(quickstart), "--detailed-exitcode", env=env)
    assert final.returncode == 0, final.stdout + final.stderr
