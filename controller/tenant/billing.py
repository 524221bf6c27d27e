"""Weekly billing: one phone_number_weekly usage row per number an organization held during an ISO week.

The whole week is written in one transaction with INSERT ... ON CONFLICT DO NOTHING on a unique
(event type, number, week): a second run, concurrent runs or a crash mid-run never write a second row.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from controller.state import StateStore
from controller.state import tenant_repo as repo
from controller.state.records import utcnow
from controller.tenant import convert, rules
from controller.tenant.models import BillingResult


def run_billing(store: StateStore, week: str, *, now: datetime | None = None) -> BillingResult:
    """Bill an ISO week that has ended (InvalidWeek otherwise, naming the last billable week)."""
    rules.require_ended(week, now or utcnow())
    start, end = rules.week_bounds(week)
    with store.transaction() as tx:
        rows = rules.billing_rows(
            week,
            holdings=[convert.provider_phone(r) for r in repo.holdings_during(tx, start, end)],
            assignments=[convert.assignment(r) for r in repo.assignments_during(tx, start, end)],
            orgs={r.name: convert.org_config(r) for r in repo.org_configs(tx)},
        )
        already = {r.number for r in repo.usage_logs(tx, week=week)}
        fresh = [r for r in rows if r.number not in already]
        now = utcnow()
        written = repo.add_usage_logs(tx, [
            {"event_type": r.event_type, "organization": r.organization, "number": r.number, "assignee": r.assignee,
             "amount": r.amount, "currency": r.currency, "week": r.week, "created_at": now} for r in fresh])
    totals: dict[str, Decimal] = defaultdict(Decimal)
    if written == len(fresh):
        for r in fresh:
            totals[r.currency] += r.amount
    return BillingResult(week=week, billable=len(rows), written=written, already_billed=len(rows) - written,
                         written_amount=dict(totals))


def usage_logs(store: StateStore, *, week: str | None = None, org: str | None = None) -> list[dict[str, Any]]:
    with store.transaction() as tx:
        return [{"eventType": r.event_type, "organization": r.organization, "number": r.number,
                 "assignee": r.assignee, "amount": rules.money_text(r.amount), "currency": r.currency, "week": r.week}
                for r in repo.usage_logs(tx, week=week, org=org)]
