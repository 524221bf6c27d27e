"""The tenant CLI commands (`numbers`, `config`, `billing`): open the state, call the tenant API,
render text or JSON, return the exit code. They read and write the state database only."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import click

from controller import tenant
from controller.state import StateError, StateStore, database_failure
from controller.state.records import utcnow
from controller.tenant import rules
from controller.tenant.models import TenantError

EXIT_OK, EXIT_ERROR = 0, 1

Row = dict[str, Any]


def run(state_url: str, action: Callable[[StateStore], Any], render: Callable[[Any], str], output: str,
        *, read_only: bool = True) -> int:
    """Open the state, run one read (or, read_only=False, a write), print it; errors become one clear line
    and exit 1. Reads open a SQLite state read-only, so they work on a read-only disk."""
    try:
        store = StateStore.open(state_url, read_only=read_only)
    except StateError as exc:
        return fail(str(exc))
    try:
        result = action(store)
    except (TenantError, StateError) as exc:
        return fail(str(exc))
    except Exception as exc:
        problem = database_failure(exc, state_url)  # e.g. a read-only or corrupted file, a lost connection
        if problem is None:
            raise
        return fail(problem)
    finally:
        store.close()
    click.echo(to_json(result) if output == "json" else render(result))
    return EXIT_OK


def fail(message: str) -> int:
    click.echo(f"error: {message}", err=True)
    return EXIT_ERROR


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=json_default)


def json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return rules.money_text(value)
    if isinstance(value, datetime):
        return rules.stamp(value)
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def table(rows: Sequence[Row], columns: Sequence[tuple[str, str]], empty: str) -> str:
    """Aligned text columns: (key, heading) pairs; None shows as '-'."""
    if not rows:
        return empty
    cells = [[heading.upper() for _, heading in columns]]
    cells += [["-" if row.get(key) is None else str(row[key]) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells)


# --- numbers -------------------------------------------------------------------------------------

NUMBER_COLUMNS = [("number", "number"), ("workspace", "workspace"), ("assignee", "assignee"), ("status", "status"),
                  ("monthlyPrice", "monthly"), ("weeklyPrice", "weekly"), ("currency", "currency")]


def number_rows(store: StateStore, org: str, workspace: str | None = None) -> list[Row]:
    config = tenant.org_config(store, org)
    assignments = tenant.active_assignments(store, org)
    rows = []
    for phone in tenant.held_numbers(store, org):
        if workspace is not None and phone.workspace != workspace:
            continue
        user = assignments.get(phone.number)
        # Forgotten: no spec manages it any more, but the organization still holds it and pays for it.
        status = ("assigned" if user else f"forgotten by {phone.forgotten_by}" if phone.forgotten_by
                  else "available")
        rows.append({"number": phone.number, "organization": org, "workspace": phone.workspace, "assignee": user,
                     "status": status, "forgottenBy": phone.forgotten_by, "forgottenAt": phone.forgotten_at,
                     "monthlyPrice": phone.monthly_price,
                     "weeklyPrice": config.weekly_price, "currency": config.currency,
                     "birdNumberId": phone.bird_number_id, "acquiredAt": phone.acquired_at})
    if workspace is None:  # an archived number is in no workspace, but the organization still pays for it
        rows += [{"number": phone.number, "organization": org, "workspace": None, "assignee": None,
                  "status": still_billed(phone), "billedUntil": phone.billed_until, "monthlyPrice": phone.monthly_price,
                  "weeklyPrice": config.weekly_price, "currency": config.currency,
                  "birdNumberId": phone.bird_number_id, "acquiredAt": phone.acquired_at}
                 for phone in tenant.archived_still_billed(store, org, utcnow())]
    return rows


def still_billed(phone: Any) -> str:
    return f"archived, billed until {phone.billed_until.date().isoformat()}"


def archived_rows(store: StateStore, org: str, workspace: str | None) -> list[Row]:
    tenant.org_config(store, org)  # the organization must exist
    return [{"number": p.number, "organization": org, "workspace": p.workspace, "assignee": None, "status": "archived",
             "archivedAt": p.archived_at, "workspacePhoneId": p.id}
            for p in tenant.archived_workspace_phones(store, org, workspace)]


def numbers_list(state_url: str, org: str, output: str, *, workspace: str | None = None,
                 archived: bool = False) -> int:
    if archived:
        return run(state_url, lambda s: archived_rows(s, org, workspace),
                   lambda rows: table(rows, [("number", "number"), ("workspace", "workspace"),
                                             ("archivedAt", "archived at")],
                                      f"organization {org} has no archived numbers"), output)
    return run(state_url, lambda s: number_rows(s, org, workspace),
               lambda rows: table(rows, NUMBER_COLUMNS, f"organization {org} holds no numbers"), output)


def numbers_available(state_url: str, org: str, output: str) -> int:
    return run(state_url, lambda s: [r for r in number_rows(s, org) if r["assignee"] is None
                                     and not r.get("billedUntil")],
               lambda rows: table(rows, NUMBER_COLUMNS, f"organization {org} has no unassigned number"), output)


def my_number(store: StateStore, org: str, user: str) -> Row:
    tenant.org_config(store, org)
    own = next((a for a in tenant.assignment_history(store, org) if rules.same_user(a.user, user) and a.unassigned_at is None), None)
    sender = tenant.sender_for(store, org, user)
    return {"organization": org, "user": user, "number": own.number if own else None,
            "assignedAt": own.assigned_at if own else None,
            "sender": {"number": sender.number, "source": sender.source, "reason": sender.reason}}


def render_mine(row: Row) -> str:
    if row["number"]:
        return f"{row['user']}: {row['number']} (assigned {rules.stamp(row['assignedAt'])})"
    if row["sender"]["number"]:  # the reason already says the user has no number of their own
        return str(row["sender"]["reason"])
    return f"{row['user']} has no number of their own. {row['sender']['reason']}"


def numbers_mine(state_url: str, org: str, user: str, output: str) -> int:
    return run(state_url, lambda s: my_number(s, org, user), render_mine, output)


def blockers(store: StateStore, org: str, number: str) -> Row:
    found = tenant.archive_blockers(store, org, number)
    return {"organization": org, "number": rules.e164(number), "archivable": not found, "blockers": found}


def render_blockers(row: Row) -> str:
    if row["archivable"]:
        return f"{row['number']} has no archive blockers: it can be archived"
    return "\n".join([f"{row['number']} cannot be archived:"] + [f"  - {b}" for b in row["blockers"]])


def numbers_blockers(state_url: str, org: str, number: str, output: str) -> int:
    return run(state_url, lambda s: blockers(s, org, number), render_blockers, output)


def numbers_unrouted(state_url: str, org: str | None, output: str) -> int:
    where = f" for organization {org}" if org else ""
    return run(state_url, lambda s: tenant.unrouted(s, org),
               lambda rows: table(rows, [("receivedAt", "received"), ("number", "to"), ("from", "from"),
                                         ("reason", "reason"), ("text", "text")],
                                  f"no unrouted messages{where}"), output)


def numbers_history(state_url: str, org: str, number: str | None, output: str) -> int:
    def history(store: StateStore) -> list[Row]:
        tenant.org_config(store, org)
        return [{"number": a.number, "user": a.user, "from": a.assigned_at, "to": a.unassigned_at}
                for a in tenant.assignment_history(store, org, number)]

    def render(rows: list[Row]) -> str:
        shown = [{**r, "from": rules.stamp(r["from"]), "to": rules.stamp(r["to"]) if r["to"] else "now"} for r in rows]
        return table(shown, [("number", "number"), ("user", "user"), ("from", "from"), ("to", "to")],
                     f"no assignments in organization {org}")

    return run(state_url, history, render, output)


# --- config --------------------------------------------------------------------------------------


def config_row(store: StateStore, org: str) -> Row:
    config = tenant.org_config(store, org)
    return {"organization": org, "birdOrganizationId": config.bird_organization_id, "enabled": config.enabled,
            "limit": config.limit, "used": len(tenant.held_numbers(store, org)), "weeklyPrice": config.weekly_price,
            "currency": config.currency, "tenDlcActive": config.ten_dlc_active,
            "archivedStillBilled": [{"number": p.number, "billedUntil": p.billed_until, "status": still_billed(p)}
                                    for p in tenant.archived_still_billed(store, org, utcnow())]}


def render_config(row: Row) -> str:
    return "\n".join([
        f"organization:  {row['organization']} ({row['birdOrganizationId']})",
        f"multi-number:  {'enabled' if row['enabled'] else 'disabled'}",
        f"limit:         {row['limit']}",
        f"used:          {row['used']}",
        f"weekly price:  {rules.money_text(row['weeklyPrice'])} {row['currency']}",
        f"10DLC active:  {'yes' if row['tenDlcActive'] else 'no (brand and campaign not approved yet)'}",
        *[f"still billed:  {p['number']} ({p['status']} by Bird)" for p in row["archivedStillBilled"]],
    ])


def config(state_url: str, org: str, output: str) -> int:
    return run(state_url, lambda s: config_row(s, org), render_config, output)


# --- billing -------------------------------------------------------------------------------------


def billing_run(state_url: str, week: str, output: str) -> int:
    def bill(store: StateStore) -> Row:
        result = tenant.run_billing(store, week)
        return {"week": result.week, "billable": result.billable, "written": result.written,
                "alreadyBilled": result.already_billed,
                "writtenAmount": {c: a for c, a in sorted(result.written_amount.items())}}

    def render(row: Row) -> str:
        amounts = ", ".join(f"{rules.money_text(a)} {c}" for c, a in row["writtenAmount"].items()) or "nothing"
        return (f"billing {row['week']}: {row['billable']} billable numbers, {row['written']} usage rows written "
                f"({amounts}), {row['alreadyBilled']} already billed")

    return run(state_url, bill, render, output, read_only=False)
