"""An archived number Bird still bills until the end of its paid month: `numbers list` and `config` show it
("archived, billed until <date>"), and weekly billing counts exactly the weeks up to Bird's end of the
subscription (endpointSubscription.endAt of "Cancel Number Subscription"), none after."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from controller import tenant
from controller.reconcile.engine import Settings
from controller.state import StateStore
from controller.tenant import rules
from tests.engine.conftest import Emulator, senderctl
from tests.engine.test_apply_emulator import apply, converge
from tests.engine.test_tenant_rules import drop_bob, drop_bob_webhooks

FAR_FUTURE = datetime.fromisoformat("2100-01-01T00:00:00+00:00")


def archive_bob(quickstart: Path, settings: Settings, emulator: Emulator) -> str:
    numbers = quickstart / "numbers.yaml"
    numbers.write_text(re.sub(r"(name: bob-line\nspec:\n)", r"\1  deletionPolicy: Archive\n  protected: false\n",
                              numbers.read_text()))
    converge([str(quickstart)], settings, emulator)
    with StateStore.open(settings.state_url) as store:
        bob = store.records()["PhoneNumber/bob-line"].data["number"]
    drop_bob(numbers)
    drop_bob_webhooks(quickstart / "webhooks.yaml")
    outcome = apply([str(quickstart)], settings, allow_archive=True)
    assert not outcome.report.failed, [r.error for r in outcome.report.failed]
    return bob


def weeks_between(start: datetime, end: datetime) -> list[str]:
    """Every ISO week that overlaps [start, end)."""
    weeks, at = [], start
    while at < end:
        weeks.append(rules.iso_week(at))
        at = rules.week_bounds(rules.iso_week(at))[1]
    return weeks


def test_an_archived_number_is_shown_and_billed_until_bird_stops_charging_it(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    bob = archive_bob(quickstart, settings, emulator)
    [on_bird] = [n for n in emulator.state()["numbers"] if n["number"] == bob]
    ends = datetime.fromisoformat(on_bird["deactivatesAt"].replace("Z", "+00:00"))
    env = {"SENDERCTL_STATE": settings.state_url}

    listed = senderctl("numbers", "list", "--org", "acme", env=env)
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if bob in x)
    assert f"archived, billed until {ends.date().isoformat()}" in line, listed.stdout
    available = senderctl("numbers", "available", "--org", "acme", env=env)
    assert bob not in available.stdout  # billed, but archived: not for assignment
    shown = senderctl("config", "--org", "acme", env=env)
    assert shown.returncode == 0 and f"{bob} (archived, billed until {ends.date().isoformat()}" in shown.stdout, \
        shown.stdout

    with StateStore.open(settings.state_url) as store:
        acquired = next(r.acquired_at for r in _holdings(store) if r.number == bob)
        expected = weeks_between(acquired, ends)
        around = weeks_between(acquired - timedelta(days=14), ends + timedelta(days=21))
        billed = [week for week in around
                  if bob in {r["number"] for r in _bill(store, week)}]
    assert billed == expected, (billed, expected)


def _holdings(store: StateStore) -> list:
    from controller.state import tenant_repo as repo

    with store.transaction() as tx:
        return repo.holdings_during(tx, datetime.fromisoformat("2000-01-01T00:00:00+00:00"), FAR_FUTURE)


def _bill(store: StateStore, week: str) -> list[dict]:
    tenant.run_billing(store, week, now=FAR_FUTURE)
    return tenant.usage_logs(store, week=week)
