"""Weekly billing: one phone_number_weekly row per number held during the ISO week, never two."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from controller import tenant
from controller.tenant import InvalidWeek
from tests.tenant.conftest import T0, WEEK, buy, later, make_org, number, senderctl, senderctl_json

ROOT = Path(__file__).resolve().parents[2]
# This checkout's CLI (the venv's console script may belong to another checkout).
SENDERCTL = [sys.executable, "-m", "cli"]
WEEK_START = datetime(2026, 11, 16, tzinfo=UTC)
WEEK_END = WEEK_START + timedelta(days=7)
N = 1000


@pytest.fixture
def thousand_numbers(state_url, store):
    make_org(store, "acme", limit=N, price="2.99")
    buy(store, "acme", *range(N))
    return state_url


def count_rows(store, week: str = WEEK) -> int:
    return len(tenant.usage_logs(store, week=week))


@pytest.mark.slow
def test_1000_numbers_give_exactly_1000_rows_however_often_billing_runs(thousand_numbers, store):
    first = senderctl_json(thousand_numbers, "billing", "run", "--week", WEEK)
    assert first == {"week": WEEK, "billable": N, "written": N, "alreadyBilled": 0,
                     "writtenAmount": {"USD": str(Decimal("2.99") * N)}}
    for _ in range(2):
        again = senderctl_json(thousand_numbers, "billing", "run", "--week", WEEK)
        assert (again["written"], again["alreadyBilled"]) == (0, N)
    rows = tenant.usage_logs(store, week=WEEK)
    assert len(rows) == N and len({r["number"] for r in rows}) == N
    assert {(r["eventType"], r["amount"], r["currency"], r["organization"]) for r in rows} == {
        ("phone_number_weekly", "2.99", "USD", "acme")}


@pytest.mark.slow
def test_four_billing_processes_started_at_once_write_1000_rows(thousand_numbers, store):
    procs = [subprocess.Popen([*SENDERCTL, "billing", "run", "--week", WEEK, "-o", "json",
                               "--state", thousand_numbers], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err.decode() for _, err in outputs]
    results = [json.loads(out) for out, _ in outputs]
    assert sum(r["written"] for r in results) == N
    assert all(r["written"] + r["alreadyBilled"] == N for r in results)
    assert count_rows(store) == N


@pytest.mark.slow
def test_a_crash_mid_run_writes_nothing_and_the_rerun_writes_everything(thousand_numbers, store):
    crashing = textwrap.dedent(f"""
        import os, signal
        from controller import tenant
        from controller.state import StateStore
        from controller.state import tenant_repo

        write = tenant_repo.add_usage_logs

        def write_then_die(session, rows):
            write(session, rows)          # the rows are in the open transaction...
            os.kill(os.getpid(), signal.SIGKILL)   # ...and the process dies before the commit

        tenant_repo.add_usage_logs = write_then_die
        tenant.run_billing(StateStore.open({thousand_numbers!r}), {WEEK!r})
    """)
    crashed = subprocess.run([sys.executable, "-c", crashing], cwd=ROOT, capture_output=True, timeout=120)
    assert crashed.returncode == -9, crashed.stderr.decode()
    assert count_rows(store) == 0
    result = tenant.run_billing(store, WEEK)
    assert (result.written, count_rows(store)) == (N, N)


def test_a_number_is_billable_if_held_at_any_moment_of_the_week(store):
    make_org(store)
    mid_week = buy(store, "acme", 1, at=WEEK_START + timedelta(days=3))[0]
    last_second = buy(store, "acme", 2, at=WEEK_END - timedelta(seconds=1))[0]
    next_week = buy(store, "acme", 3, at=WEEK_END)[0]
    released_mid_week = buy(store, "acme", 4, at=WEEK_START - timedelta(days=30))[0]
    tenant.archive_number(store, "acme", released_mid_week, at=WEEK_START + timedelta(hours=1))
    released_before = buy(store, "acme", 5, at=WEEK_START - timedelta(days=30))[0]
    tenant.archive_number(store, "acme", released_before, at=WEEK_START - timedelta(days=1))
    released_at_start = buy(store, "acme", 6, at=WEEK_START - timedelta(days=30))[0]
    tenant.archive_number(store, "acme", released_at_start, at=WEEK_START)
    result = tenant.run_billing(store, WEEK)
    billed = {r["number"] for r in tenant.usage_logs(store, week=WEEK)}
    assert billed == {mid_week, last_second, released_mid_week}
    assert result.billable == 3
    assert {next_week, released_before, released_at_start}.isdisjoint(billed)


def test_rows_carry_the_assignee_at_the_time_and_the_tenants_price(state_url, store):
    make_org(store, "acme", price="2.99")
    make_org(store, "euro", price="3.25", currency="EUR")
    a, b, c = buy(store, "acme", 1, 2, 3, at=WEEK_START - timedelta(days=10))
    [e] = buy(store, "euro", 4, workspace="euro-main", at=WEEK_START - timedelta(days=10))
    tenant.assign(store, "acme", a, "alice", at=WEEK_START - timedelta(days=5))  # before and through the week
    tenant.assign(store, "acme", b, "bob", at=WEEK_START + timedelta(days=2))
    tenant.move(store, "acme", b, "carol", at=WEEK_START + timedelta(days=4))  # latest holder in the week
    tenant.assign(store, "acme", c, "dave", at=WEEK_END + timedelta(hours=1))  # after the week: not named
    result = tenant.run_billing(store, WEEK)
    rows = {r["number"]: r for r in tenant.usage_logs(store, week=WEEK)}
    assert {n: r["assignee"] for n, r in rows.items()} == {a: "alice", b: "carol", c: None, e: None}
    assert (rows[e]["amount"], rows[e]["currency"], rows[e]["organization"]) == ("3.25", "EUR", "euro")
    assert result.written_amount == {"USD": Decimal("8.97"), "EUR": Decimal("3.25")}


def test_weeks_are_separate(store):
    make_org(store)
    buy(store, "acme", 1, at=WEEK_START - timedelta(days=10))
    assert tenant.run_billing(store, "2026-W46").written == 1
    assert tenant.run_billing(store, WEEK).written == 1
    assert tenant.run_billing(store, "2026-W45").written == 1  # bought on the Friday of W45
    assert tenant.run_billing(store, "2026-W44").written == 0  # not held yet


def test_invalid_weeks_are_refused(state_url, store):
    for week, message in (("2026-47", "YYYY-Www"), ("2026-W54", "no ISO week 54"), ("2025-W53", "no ISO week 53")):
        code, _, err = senderctl(state_url, "billing", "run", "--week", week)
        assert code == 1 and message in err, err
    with pytest.raises(InvalidWeek):
        tenant.run_billing(store, "last week")
    assert tenant.week_bounds("2026-W53") == (datetime(2026, 12, 28, tzinfo=UTC), datetime(2027, 1, 4, tzinfo=UTC))


def test_the_week_just_ended(store):
    assert tenant.previous_week(datetime(2026, 11, 23, 0, 5, tzinfo=UTC)) == WEEK
    assert tenant.iso_week(later(0)) == WEEK
    assert T0.isocalendar()[1] == 47
    assert number(1) == "+14155550001"


def test_billing_text_output(state_url, store):
    make_org(store)
    buy(store, "acme", 1, 2)
    code, out, _ = senderctl(state_url, "billing", "run", "--week", WEEK)
    assert code == 0
    assert out.strip() == f"billing {WEEK}: 2 billable numbers, 2 usage rows written (5.98 USD), 0 already billed"


def test_a_week_that_has_not_ended_is_refused_naming_the_last_billable_week(state_url, store):
    make_org(store)
    buy(store, "acme", 1, at=datetime.now(UTC) - timedelta(days=1))
    now = datetime.now(UTC)
    this_week, last_week = tenant.iso_week(now), tenant.previous_week(now)
    next_week = tenant.iso_week(now + timedelta(days=7))
    for week in (this_week, next_week, "2027-W10"):
        code, _, err = senderctl(state_url, "billing", "run", "--week", week)
        assert code == 1 and "has not ended" in err and f"last week that can be billed now is {last_week}" in err, err
        assert "Traceback" not in err
    assert tenant.usage_logs(store) == []


def test_the_last_iso_week_a_date_can_hold_is_a_clear_error(state_url):
    code, _, err = senderctl(state_url, "billing", "run", "--week", "9999-W52")
    assert code == 1 and "9999-W52" in err and "Traceback" not in err, err


def test_a_number_archived_before_a_week_started_is_never_billed_for_it(store):
    """Billing a week ahead used to write a row for a number that was archived before that week began."""
    make_org(store)
    now = datetime.now(UTC)
    last_week = tenant.previous_week(now)
    start, _ = tenant.week_bounds(last_week)
    [kept, archived] = buy(store, "acme", 1, 2, at=start - timedelta(days=30))
    with pytest.raises(InvalidWeek):
        tenant.run_billing(store, tenant.iso_week(now))  # in advance: the archive below is still to come
    tenant.archive_number(store, "acme", archived, at=start - timedelta(hours=1))
    tenant.run_billing(store, last_week)
    assert {r["number"] for r in tenant.usage_logs(store)} == {kept}
