"""A new, empty or mistyped state never buys, registers or subscribes twice (issue 11).

What Bird already holds that matches the specs' natural keys is adopted before anything is
created — brands by EIN and name, campaigns by name, numbers chosen by `select` through the SMS
channel linking them to the spec's campaign or, failing that, any owned number matching the selection
that nothing manages, channels by number, subscriptions by event, URL and filters."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.state import StateError, StateStore
from controller.tenant import active_assignments
from tests.engine.conftest import ACCESS_KEY, SIGNING_ENV, Emulator, senderctl
from tests.engine.test_apply_emulator import APPROVAL_STEPS
from tests.support import EmulatorAdmin

KEYS = ("numbers", "brands", "vettings", "campaigns", "connectors", "webhookSubscriptions")


def holdings(emulator: Emulator) -> dict[str, Any]:
    """What Bird holds and what it charged, as counts (and the wallet's balance)."""
    state = emulator.state()
    return {**{key: len(state[key]) for key in KEYS}, "charges": len(state["charges"]),
            "balance": [w["balance"] for w in state["wallets"]]}


def duplicates(emulator: Emulator) -> dict[str, list[Any]]:
    """Objects Bird holds twice under one natural key (0 expected everywhere)."""
    state = emulator.state()
    keys = {
        "numbers": [n["number"] for n in state["numbers"]],
        "brands": [(b["ein"], b["companyName"]) for b in state["brands"]],
        "campaigns": [(c["brandId"], c["name"]) for c in state["campaigns"]],
        "connectors": [c["arguments"]["phoneNumberId"] for c in state["connectors"]],
        "webhookSubscriptions": [(s["event"], s["url"], str(sorted((f["key"], f["value"])
                                                                 for f in s.get("eventFilters") or [])))
                                 for s in state["webhookSubscriptions"]],
    }
    return {kind: [k for k, n in Counter(values).items() if n > 1] for kind, values in keys.items()}


def converge(paths: list[str], settings: Settings, emulator: EmulatorAdmin,
             steps: tuple[float, ...] = APPROVAL_STEPS) -> None:
    for seconds in steps:
        if seconds:
            emulator.advance(seconds)
        outcome = asyncio.run(engine.apply(paths, settings))
        assert not outcome.report.failed, [r.error for r in outcome.report.failed]


def numbers_of_users(state_url: str) -> dict[str, str]:
    with StateStore.open(state_url) as store:
        return {user: number for number, user in active_assignments(store, "acme").items()}


def lose_the_state_and_apply_again(quickstart: Path, emulator: Emulator, settings: Settings, tmp_path: Path,
                                   how: str) -> None:
    paths = [str(quickstart)]
    first = Settings(**{**vars(settings), "state_url": f"sqlite:///{tmp_path / 'first.db'}"})
    converge(paths, first, emulator)
    before, users = holdings(emulator), numbers_of_users(first.state_url)

    if how == "other-state":  # a mistyped --state: a new database (SQLite file or PostgreSQL)
        again = settings
    else:
        path = tmp_path / "first.db"
        path.unlink()
        if how == "zero-bytes":  # refused as a lost state, nothing written; deleted, it is a new state
            path.write_bytes(b"")
            with pytest.raises(StateError, match="empty"):
                asyncio.run(engine.apply(paths, first))
            assert holdings(emulator) == before and path.read_bytes() == b""
            path.unlink()
        again = first
    outcome = asyncio.run(engine.apply(paths, again))
    assert not outcome.report.failed, [r.error for r in outcome.report.failed]
    assert {r.change.action for r in outcome.report.results} <= {"adopt", "assign", "create"}
    created = [r.change.address for r in outcome.report.results if r.change.action == "create"]
    assert created == ["Organization/acme"], created  # the tenant configuration lives in the state only

    assert holdings(emulator) == before
    assert not any(duplicates(emulator).values()), duplicates(emulator)
    assert numbers_of_users(again.state_url) == users  # each user keeps the number they had
    # Bird never returns signing keys: the adopted subscriptions' keys are rotated to the specs' (free).
    rotations = asyncio.run(engine.plan(paths, again)).plan
    assert all(c.kind == "WebhookSubscription" and c.payload.get("unprovenKey") for c in rotations.changes), (
        rotations.changes)
    converge(paths, again, emulator, steps=(0,))
    final = asyncio.run(engine.plan(paths, again)).plan
    assert final.changes == () and final.refusals == (), final.changes
    assert holdings(emulator) == before


@pytest.mark.parametrize("how", ["deleted", "zero-bytes"])
def test_a_deleted_or_emptied_state_adopts_what_bird_holds_and_buys_nothing(
        quickstart: Path, emulator: Emulator, sqlite_url: str, tmp_path: Path, how: str) -> None:
    settings = Settings(state_url=sqlite_url, bird_url=emulator.url, access_key=ACCESS_KEY,
                        environ={**os.environ, **SIGNING_ENV})
    lose_the_state_and_apply_again(quickstart, emulator, settings, tmp_path, how)


def test_a_mistyped_state_adopts_what_bird_holds_and_buys_nothing(
        quickstart: Path, emulator: Emulator, settings: Settings, tmp_path: Path) -> None:
    """`settings` uses the `state_url` fixture: a new SQLite file, and a new PostgreSQL database."""
    lose_the_state_and_apply_again(quickstart, emulator, settings, tmp_path, "other-state")


def test_an_apply_beside_unknown_numbers_adopts_them_before_buying(
        quickstart: Path, emulator: Emulator, tmp_path: Path) -> None:
    """State lost before the channels exist (brand still PENDING): nothing links the numbers to the
    specs, but a number the organization owns, that matches the selection and that nothing manages is
    adopted before anything is bought, by a plain apply (as `senderctl import` would); then nothing is bought."""
    state = tmp_path / "state.db"
    env = {"BIRD_API_URL": emulator.url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": f"sqlite:///{state}"}
    assert senderctl("apply", str(quickstart), "--auto-approve", env=env).returncode == 0
    bought = {n["number"] for n in emulator.state()["numbers"]}
    assert len(bought) == 1  # the second number waits for 10DLC
    state.unlink()

    again = senderctl("apply", str(quickstart), "--auto-approve", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "adopt PhoneNumber/alice-line" in again.stdout, again.stdout
    assert {n["number"] for n in emulator.state()["numbers"]} == bought
    with StateStore.open(env["SENDERCTL_STATE"]) as store:
        records = store.records()
    assert {records["PhoneNumber/alice-line"].data["number"]} == bought
    assert records["Brand/acme"].bird_id and records["Vetting/acme"].bird_id

    for seconds in APPROVAL_STEPS:
        if seconds:
            emulator.advance(seconds)
        run = senderctl("apply", str(quickstart), "--auto-approve", env=env)
        assert run.returncode == 0, run.stdout + run.stderr
    after = holdings(emulator)
    assert (after["numbers"], after["brands"], after["campaigns"], after["connectors"]) == (2, 1, 1, 2)
    assert bought <= {n["number"] for n in emulator.state()["numbers"]}
    assert not any(duplicates(emulator).values()), duplicates(emulator)


def test_import_into_a_new_state_adopts_every_kind(quickstart: Path, emulator: Emulator, settings: Settings,
                                                   tmp_path: Path) -> None:
    """Numbers chosen by `select`, their channels, the subscriptions filtered on those channels,
    brands, vettings and campaigns: import adopts them all, and the next plan creates nothing."""
    paths = [str(quickstart)]
    converge(paths, Settings(**{**vars(settings), "state_url": f"sqlite:///{tmp_path / 'first.db'}"}), emulator)
    before = holdings(emulator)

    report, _ = asyncio.run(engine.import_existing(paths, settings))
    assert not report.failed, [r.error for r in report.failed]
    adopted = {r.change.address for r in report.results}
    for address in ("PhoneNumber/alice-line", "PhoneNumber/bob-line", "Channel/alice-line", "Channel/bob-line",
                    "WebhookSubscription/inbound-sms-alice", "WebhookSubscription/outbound-sms-bob",
                    "WebhookSubscription/brand-status", "Brand/acme", "Vetting/acme", "Campaign/acme-alerts",
                    "Workspace/acme-main"):
        assert address in adopted, (address, sorted(adopted))
    planned = asyncio.run(engine.plan(paths, settings)).plan
    # Assignments live in the state only; imported signing keys cannot be proven equal to Bird's: rotated.
    assert not [c for c in planned.changes if c.action not in ("assign", "create")
                and not c.payload.get("unprovenKey")], planned.changes
    assert "Organization/acme" in adopted  # the tenant configuration, recorded with the rest
    assert [c.address for c in planned.changes if c.action == "create"] == []
    assert holdings(emulator) == before
