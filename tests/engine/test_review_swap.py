"""Review finding: two users swapping numbers in the specs converge in one apply (a user holds one
number, so each move alone is refused while the other user still holds the target)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.state import StateStore
from controller.tenant import active_assignments
from tests.engine.conftest import Emulator


def test_swapping_the_assignees_of_two_numbers_converges_in_one_apply(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    paths = [str(quickstart)]
    for seconds in (0, 3600 + 60, 7 * 24 * 3600):  # brand, then campaign approval: the second number
        if seconds:
            emulator.advance(seconds)
        asyncio.run(engine.apply(paths, settings))
    with StateStore.open(settings.state_url) as store:
        before = active_assignments(store, "acme")
    assert sorted(before.values()) == ["alice@acme.example", "bob@acme.example"]

    numbers = quickstart / "numbers.yaml"
    text = numbers.read_text().replace("assignee: alice@", "assignee: TMP@").replace("assignee: bob@", "assignee: alice@")
    numbers.write_text(text.replace("assignee: TMP@", "assignee: bob@"))
    outcome = asyncio.run(engine.apply(paths, settings))

    assert not outcome.report.failed, [r.error for r in outcome.report.failed]
    with StateStore.open(settings.state_url) as store:
        after = active_assignments(store, "acme")
    swap = {"alice@acme.example": "bob@acme.example", "bob@acme.example": "alice@acme.example"}
    assert after == {number: swap[user] for number, user in before.items()}
    assert not [c for c in asyncio.run(engine.plan(paths, settings)).plan.changes if c.kind == "Assignment"]
