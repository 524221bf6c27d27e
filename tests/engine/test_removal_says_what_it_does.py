"""Removal says what it does (issue 11).

A PhoneNumber removed from the specs with deletionPolicy Orphan is forgotten, but the assignment
that spec declared ends with it (an `unassign` in the plan), and the plan states what stays on
Bird and what stays billed. An assignment no spec made (the platform API's) is never ended for
being absent from the specs. A multiSmsNumbers.limit below the numbers held is refused."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller import tenant
from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.render import render_text
from controller.state import StateStore
from tests.engine.conftest import Emulator
from tests.engine.test_fresh_state_never_rebuys import converge

ALICE_HOOKS = ("inbound-sms-alice", "outbound-sms-alice")


def remove_alice(specs: Path) -> None:
    """alice-line leaves the specs, with the subscriptions filtered on its channel."""
    numbers = specs / "numbers.yaml"
    numbers.write_text(numbers.read_text().split("---\n", 1)[1])
    hooks = specs / "webhooks.yaml"
    docs = hooks.read_text().split("---\n")
    hooks.write_text("---\n".join(d for d in docs if not any(f"name: {h}\n" in d for h in ALICE_HOOKS)))


def held(state_url: str) -> dict[str, str | None]:
    """number -> assignee, for the numbers organization acme holds."""
    with StateStore.open(state_url) as store:
        assigned = tenant.active_assignments(store, "acme")
        return {p.number: assigned.get(p.number) for p in tenant.held_numbers(store, "acme")}


def test_removing_a_number_ends_its_assignment_and_says_what_stays_billed(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    paths = [str(quickstart)]
    asyncio.run(engine.apply(paths, settings))  # alice-line is bought and assigned; bob-line waits for 10DLC
    [(number, user)] = held(settings.state_url).items()
    assert user == "alice@acme.example"

    remove_alice(quickstart)
    planned = asyncio.run(engine.plan(paths, settings)).plan
    unassign = [c for c in planned.changes if c.action == "unassign"]
    assert [(c.address, c.before) for c in unassign] == [("Assignment/alice-line", {"user": user, "number": number})]
    assert "PhoneNumber/alice-line" in planned.forget
    keeps = planned.keeps["PhoneNumber/alice-line"]
    assert number in keeps and "1.15 USD/month" in keeps and "2.99 USD/week" in keeps, keeps
    assert re.search(r"multiSmsNumbers.limit \(1 of 5 held\)", keeps), keeps
    assert keeps in render_text(planned)
    assert planned.to_json()["keeps"]["PhoneNumber/alice-line"] == keeps

    asyncio.run(engine.apply(paths, settings))
    # Forgotten and unassigned, still held (and so still billed) by the organization; Bird keeps the number,
    # and bob-line, which selects a number alike and had none yet, adopts it instead of buying another.
    assert held(settings.state_url) == {number: "bob@acme.example"}
    assert {n["number"] for n in emulator.state()["numbers"]} == {number}
    with StateStore.open(settings.state_url) as store:
        assert store.records()["PhoneNumber/bob-line"].data["number"] == number
    assert not asyncio.run(engine.plan(paths, settings)).plan.changes


def test_an_assignment_no_spec_made_survives_the_numbers_removal(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    numbers = quickstart / "numbers.yaml"
    numbers.write_text(numbers.read_text().replace("  assignee: alice@acme.example\n", "", 1))
    paths = [str(quickstart)]
    asyncio.run(engine.apply(paths, settings))
    [number] = held(settings.state_url)
    with StateStore.open(settings.state_url) as store:  # an org admin assigns it, as the platform API does
        tenant.assign(store, "acme", number, "alice@acme.example", at=datetime.now(UTC))

    remove_alice(quickstart)
    planned = asyncio.run(engine.plan(paths, settings)).plan
    assert not [c for c in planned.changes if c.action == "unassign"], planned.changes
    asyncio.run(engine.apply(paths, settings))
    assert held(settings.state_url) == {number: "alice@acme.example"}


def test_a_limit_below_the_numbers_held_is_refused_with_the_count(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    paths = [str(quickstart)]
    converge(paths, settings, emulator)
    assert len(held(settings.state_url)) == 2
    # alice-line leaves the specs (Orphan: still held, still billed) and the limit goes down to 1.
    remove_alice(quickstart)
    org = quickstart / "organization.yaml"
    org.write_text(org.read_text().replace("limit: 5", "limit: 1"))

    planned = asyncio.run(engine.plan(paths, settings)).plan
    [refusal] = [r for r in planned.refusals if r.address == "Organization/acme"]
    assert "limit 1 is below the 2 numbers" in refusal.reason and refusal.flag is None
    with pytest.raises(engine.Refused, match="below the 2 numbers"):
        asyncio.run(engine.apply(paths, settings, force=True, allow_archive=True))
    with StateStore.open(settings.state_url) as store:
        assert tenant.org_config(store, "acme").limit == 5
