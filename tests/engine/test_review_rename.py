"""Review finding: a PhoneNumber renamed in the specs keeps its number and its user.

The old name's removal must not archive (or unassign) a number the new name now declares."""

from __future__ import annotations

import asyncio
from pathlib import Path

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.state import StateStore
from controller.tenant import active_assignments, held_numbers
from tests.engine.conftest import Emulator

ARCHIVE = "  deletionPolicy: Archive\n  protected: false\n"


def test_renaming_a_number_with_deletion_policy_archive_keeps_it_and_its_user(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    numbers = quickstart / "numbers.yaml"
    numbers.write_text(numbers.read_text().replace("  channelName: Alice (Acme alerts)\n",
                                                   "  channelName: Alice (Acme alerts)\n" + ARCHIVE))
    asyncio.run(engine.apply([str(quickstart)], settings))
    with StateStore.open(settings.state_url) as store:
        number = store.records()["PhoneNumber/alice-line"].data["number"]
        assert active_assignments(store, "acme").get(number) == "alice@acme.example"

    # The rename: a new name pinned to the same number; references follow the new name.
    text = numbers.read_text().replace("name: alice-line", "name: alice-phone")
    numbers.write_text(text.replace("  select: {country: US, type: local}\n  campaign: acme-alerts\n  assignee: alice",
                                    f"  number: '{number}'\n  campaign: acme-alerts\n  assignee: alice", 1))
    hooks = quickstart / "webhooks.yaml"
    hooks.write_text(hooks.read_text().replace("phoneNumber: alice-line", "phoneNumber: alice-phone"))

    planned = asyncio.run(engine.plan([str(quickstart)], settings)).plan
    actions = {(c.action, c.address) for c in planned.changes}
    assert ("archive", "PhoneNumber/alice-line") not in actions
    assert ("unassign", "Assignment/alice-line") not in actions
    assert not planned.blocked(allow_archive=False, force=False), planned.refusals

    asyncio.run(engine.apply([str(quickstart)], settings, allow_archive=True))
    with StateStore.open(settings.state_url) as store:
        assert number in {p.number for p in held_numbers(store, "acme")}
        assert active_assignments(store, "acme").get(number) == "alice@acme.example"
        records = store.records()
        assert "PhoneNumber/alice-line" not in records and records["PhoneNumber/alice-phone"].data["number"] == number
    again = asyncio.run(engine.plan([str(quickstart)], settings)).plan
    assert not [c for c in again.changes if "alice" in c.address], again.changes


def test_renaming_a_linked_number_keeps_its_sms_channel(quickstart: Path, settings: Settings,
                                                        emulator: Emulator) -> None:
    numbers = quickstart / "numbers.yaml"
    numbers.write_text(numbers.read_text().replace("  channelName: Alice (Acme alerts)\n",
                                                   "  channelName: Alice (Acme alerts)\n" + ARCHIVE))
    paths = [str(quickstart)]
    for seconds in (0, 3600 + 60, 7 * 24 * 3600, 15 * 60 + 60):  # brand, campaign, carriers approve
        if seconds:
            emulator.advance(seconds)
        asyncio.run(engine.apply(paths, settings))
    with StateStore.open(settings.state_url) as store:
        channel = store.records()["Channel/alice-line"]
    connectors = {c["id"] for c in emulator.state()["connectors"]}
    assert channel.bird_id in connectors

    text = numbers.read_text().replace("name: alice-line", "name: alice-phone")
    numbers.write_text(text.replace("  select: {country: US, type: local}\n  campaign: acme-alerts\n  assignee: alice",
                                    f"  number: '{channel.data['number']}'\n  campaign: acme-alerts\n  assignee: alice", 1))
    hooks = quickstart / "webhooks.yaml"
    hooks.write_text(hooks.read_text().replace("phoneNumber: alice-line", "phoneNumber: alice-phone"))

    planned = asyncio.run(engine.plan(paths, settings)).plan
    assert ("delete", "Channel/alice-line") not in {(c.action, c.address) for c in planned.changes}
    asyncio.run(engine.apply(paths, settings, allow_archive=True))

    assert {c["id"] for c in emulator.state()["connectors"]} == connectors
    with StateStore.open(settings.state_url) as store:
        assert store.records()["Channel/alice-phone"].bird_id == channel.bird_id
    assert not asyncio.run(engine.plan(paths, settings)).plan.changes
