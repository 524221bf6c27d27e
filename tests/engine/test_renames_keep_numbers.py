"""Renames keep what users hold (issue 11).

Renaming a `select` PhoneNumber or a NumberPool whose spec is otherwise identical keeps the
numbers, their SMS channels and their users in one apply; a rename with other changes too is not
guessed: the plan refuses and names `senderctl state mv FROM TO`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.state import StateStore
from controller.tenant import active_assignments
from tests.engine.conftest import Emulator
from tests.engine.test_fresh_state_never_rebuys import converge, duplicates

POOL = """---
apiVersion: senderctl/v1
kind: NumberPool
metadata:
  name: support
spec:
  workspace: acme-main
  count: 2
  select: {country: US, type: local}
  campaign: acme-alerts
  assignees: [carol@acme.example, dave@acme.example]
"""


def bird_ids(emulator: Emulator) -> dict[str, set[str]]:
    state = emulator.state()
    return {key: {item["id"] for item in state[key]}
            for key in ("numbers", "connectors", "channels", "webhookSubscriptions")}


def assignments(state_url: str) -> dict[str, str]:
    with StateStore.open(state_url) as store:
        return active_assignments(store, "acme")


def rename_alice(specs: Path, extra: str = "") -> None:
    numbers = specs / "numbers.yaml"
    text = numbers.read_text().replace("name: alice-line", "name: alice-phone")
    if extra:
        text = text.replace("  channelName: Alice (Acme alerts)\n", "  channelName: Alice (Acme alerts)\n" + extra)
    numbers.write_text(text)
    hooks = specs / "webhooks.yaml"
    hooks.write_text(hooks.read_text().replace("phoneNumber: alice-line", "phoneNumber: alice-phone"))


def test_renaming_a_select_number_keeps_number_channel_and_user_in_one_apply(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    paths = [str(quickstart)]
    converge(paths, settings, emulator)
    before, users = bird_ids(emulator), assignments(settings.state_url)

    rename_alice(quickstart)
    planned = asyncio.run(engine.plan(paths, settings)).plan
    assert not [c for c in planned.changes if c.action in ("create", "replace", "delete", "unassign")], planned.changes
    assert planned.refusals == ()
    asyncio.run(engine.apply(paths, settings))

    assert bird_ids(emulator) == before
    assert assignments(settings.state_url) == users
    with StateStore.open(settings.state_url) as store:
        records = store.records()
    assert not [a for a in records if "alice-line" in a]
    number = records["PhoneNumber/alice-phone"].data["number"]
    assert users[number] == "alice@acme.example"
    assert records["Channel/alice-phone"].bird_id in before["connectors"]
    again = asyncio.run(engine.plan(paths, settings)).plan
    assert again.changes == () and again.forget == () and again.refusals == (), again.changes


def test_renaming_a_number_pool_keeps_its_numbers_channels_and_users(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    (quickstart / "pool.yaml").write_text(POOL)
    paths = [str(quickstart)]
    converge(paths, settings, emulator)
    before, users = bird_ids(emulator), assignments(settings.state_url)
    assert len(before["numbers"]) == 4

    (quickstart / "pool.yaml").write_text(POOL.replace("name: support", "name: helpdesk"))
    asyncio.run(engine.apply(paths, settings))

    assert bird_ids(emulator) == before
    assert assignments(settings.state_url) == users
    with StateStore.open(settings.state_url) as store:
        records = store.records()
    assert not [a for a in records if "support[" in a]
    members = {records[f"NumberPool/helpdesk[{i}]"].data["number"] for i in range(2)}
    assert {users[n] for n in members} == {"carol@acme.example", "dave@acme.example"}
    assert not asyncio.run(engine.plan(paths, settings)).plan.changes


@pytest.mark.parametrize("extra", ["  channelMessageType: promotional\n", "  protected: false\n"])
def test_a_rename_with_other_changes_is_refused_with_state_mv(
        quickstart: Path, settings: Settings, emulator: Emulator, extra: str) -> None:
    paths = [str(quickstart)]
    converge(paths, settings, emulator)
    before = bird_ids(emulator)
    # replace the existing channelMessageType line rather than adding a second one
    if "channelMessageType" in extra:
        numbers = quickstart / "numbers.yaml"
        numbers.write_text(numbers.read_text().replace("  channelMessageType: transactional\n  channelName: Alice",
                                                       "  channelName: Alice", 1))
    rename_alice(quickstart, extra)

    planned = asyncio.run(engine.plan(paths, settings)).plan
    hint = "senderctl state mv PhoneNumber/alice-line PhoneNumber/alice-phone"
    assert [r for r in planned.refusals if r.address == "PhoneNumber/alice-phone" and hint in r.reason], \
        planned.refusals
    with pytest.raises(engine.Refused, match="state mv"):
        asyncio.run(engine.apply(paths, settings))
    assert bird_ids(emulator) == before
    assert not any(duplicates(emulator).values())
