"""Seed 000/002 rules reached through plan and apply against the emulator and a real database."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from controller import tenant
from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.state import StateStore
from tests.engine.conftest import Emulator
from tests.engine.test_apply_emulator import apply, converge


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, path)
    path.write_text(text.replace(old, new))


def drop_bob(numbers: Path) -> None:
    """Remove bob-line's PhoneNumber document and what refers to it."""
    docs = numbers.read_text().split("\n---\n")
    numbers.write_text("\n---\n".join(d for d in docs if "name: bob-line" not in d))


def drop_bob_webhooks(webhooks: Path) -> None:
    docs = webhooks.read_text().split("\n---\n")
    webhooks.write_text("\n---\n".join(d for d in docs if "phoneNumber: bob-line" not in d))


def test_number_limit_and_multi_number_switch_refuse_in_the_plan(quickstart: Path, settings: Settings,
                                                                 emulator: Emulator) -> None:
    org = quickstart / "organization.yaml"
    edit(org, "limit: 5", "limit: 1")
    # The spec language already refuses 2 numbers for a limit of 1; the plan refuses the state's
    # numbers too: one number held outside the specs fills the limit.
    drop_bob(quickstart / "numbers.yaml")
    drop_bob_webhooks(quickstart / "webhooks.yaml")
    store = StateStore.open(settings.state_url)
    try:
        tenant.sync_org_config(store, "acme", bird_organization_id="11111111-1111-4111-8111-111111111111",
                               enabled=True, limit=1, weekly_price=__import__("decimal").Decimal("2.99"))
        tenant.record_number_acquired(store, "acme", "acme-main", "+12125550199", bird_number_id="elsewhere",
                                      monthly_price=None, at=__import__("datetime").datetime.now(
                                          __import__("datetime").UTC))
    finally:
        store.close()
    p = asyncio.run(engine.plan([str(quickstart)], settings)).plan
    refusal = next(r for r in p.refusals if r.address == "PhoneNumber/alice-line")
    assert refusal.flag is None and "limit is 1" in refusal.reason
    with pytest.raises(engine.Refused):
        apply([str(quickstart)], settings)
    assert emulator.state()["numbers"] == []

    edit(org, "enabled: true", "enabled: false")
    edit(org, "limit: 1", "limit: 3")
    p = asyncio.run(engine.plan([str(quickstart)], settings)).plan
    refusal = next(r for r in p.refusals if r.address == "PhoneNumber/alice-line")
    assert "multiSmsNumbers.enabled is false" in refusal.reason


def test_removed_number_is_archived_only_with_allow_archive_and_never_when_protected(
    quickstart: Path, settings: Settings, emulator: Emulator
) -> None:
    numbers = quickstart / "numbers.yaml"
    text = numbers.read_text()
    text = re.sub(r"(name: bob-line\nspec:\n)", r"\1  deletionPolicy: Archive\n  protected: true\n", text)
    numbers.write_text(text)
    converge([str(quickstart)], settings, emulator)
    bob = next(n["number"] for n in emulator.state()["numbers"] if n["number"] != _alice(settings))

    drop_bob(numbers)
    drop_bob_webhooks(quickstart / "webhooks.yaml")
    p = asyncio.run(engine.plan([str(quickstart)], settings)).plan
    assert any("protected" in r.reason and r.flag is None for r in p.refusals)
    with pytest.raises(engine.Refused):
        apply([str(quickstart)], settings, allow_archive=True, force=True)

    # Unprotect it (apply the spec with protected: false), then remove it again.
    numbers.write_text(text.replace("protected: true", "protected: false"))
    (quickstart / "webhooks.yaml").write_text((quickstart / "webhooks.yaml").read_text())
    apply([str(quickstart)], settings)
    drop_bob(numbers)
    p = asyncio.run(engine.plan([str(quickstart)], settings)).plan
    assert ("archive", "PhoneNumber/bob-line") in {(c.action, c.address) for c in p.changes}
    assert [r.flag for r in p.blocked()] == ["--allow-archive"]
    with pytest.raises(engine.Refused):
        apply([str(quickstart)], settings)

    outcome = apply([str(quickstart)], settings, allow_archive=True)
    assert not outcome.report.failed, [r.error for r in outcome.report.failed]
    done = {(r.change.action, r.change.address) for r in outcome.report.done}
    assert {("unassign", "Assignment/bob-line"), ("delete", "Channel/bob-line"),
            ("archive", "PhoneNumber/bob-line")} <= done
    store = StateStore.open(settings.state_url)
    try:
        snapshot = tenant.snapshot(store)
    finally:
        store.close()
    assert bob in snapshot.archived_numbers and bob not in snapshot.held_numbers
    assert bob not in snapshot.assignments
    # Archiving ends what Bird charges: the number's subscription is cancelled on Bird, which keeps the
    # number until the end of the month already paid, then it leaves the workspace.
    [held] = [n for n in emulator.state()["numbers"] if n["number"] == bob]
    assert held["subscription"]["status"] == "canceled" and held.get("deactivatesAt"), held
    archive = next(c for c in p.changes if c.action == "archive")
    assert "subscription is cancelled" in archive.reason, archive.reason
    emulator.advance(31 * 24 * 3600)
    assert bob not in [n["number"] for n in emulator.state()["numbers"]]
    assert not [c for c in asyncio.run(engine.plan([str(quickstart)], settings)).plan.changes
                if c.kind in ("PhoneNumber", "NumberPool")]


def _alice(settings: Settings) -> str:
    store = StateStore.open(settings.state_url)
    try:
        return store.records()["PhoneNumber/alice-line"].data["number"]
    finally:
        store.close()
