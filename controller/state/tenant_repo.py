"""SQL for the tenant records. controller.tenant holds the rules; this module only reads and writes rows.

Every function takes the session of a transaction opened with StateStore.transaction(), so that a
rule checked by controller.tenant and the write that depends on it happen in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from controller.state.errors import Conflict
from controller.state.sql import chunks, connection_of, insert_new, insert_unless_taken, upsert
from controller.state.tables import (
    ApiPurchaseRow,
    AssignmentRow,
    InboxMessageRow,
    OperationRow,
    OrgConfigRow,
    ProviderPhoneRow,
    ResourceRow,
    UnroutedMessageRow,
    UsageLogRow,
    WorkspacePhoneRow,
)

# --- organization configuration -------------------------------------------------------------------


def org_configs(session: Session) -> list[OrgConfigRow]:
    return list(session.exec(select(OrgConfigRow).order_by(OrgConfigRow.name)))


def org_config(session: Session, org: str) -> OrgConfigRow | None:
    return session.get(OrgConfigRow, org)


def save_org_config(session: Session, values: dict[str, Any]) -> None:
    upsert(session, OrgConfigRow, [values], keys=["name"], keep=["ten_dlc_active"])


def set_ten_dlc_active(session: Session, org: str, active: bool, at: datetime) -> int:
    result = session.execute(update(OrgConfigRow).where(OrgConfigRow.name == org)
                             .values(ten_dlc_active=active, updated_at=at))
    return result.rowcount or 0


# --- provider phones (the numbers an organization holds) --------------------------------------


def live_phone(session: Session, number: str) -> ProviderPhoneRow | None:
    return session.exec(select(ProviderPhoneRow).where(ProviderPhoneRow.number == number,
                                                       ProviderPhoneRow.released_at.is_(None))).first()  # type: ignore[union-attr]


def live_phones(session: Session, org: str | None = None) -> list[ProviderPhoneRow]:
    query = select(ProviderPhoneRow).where(ProviderPhoneRow.released_at.is_(None))  # type: ignore[union-attr]
    if org is not None:
        query = query.where(ProviderPhoneRow.organization == org)
    return list(session.exec(query.order_by(ProviderPhoneRow.acquired_at, ProviderPhoneRow.id)))


def live_phones_for(session: Session, numbers: Sequence[str]) -> dict[str, ProviderPhoneRow]:
    found: dict[str, ProviderPhoneRow] = {}
    for chunk in chunks(list(numbers), 500):
        query = select(ProviderPhoneRow).where(ProviderPhoneRow.number.in_(chunk),  # type: ignore[attr-defined]
                                               ProviderPhoneRow.released_at.is_(None))  # type: ignore[union-attr]
        found.update({row.number: row for row in session.exec(query)})
    return found


_PHONES = ProviderPhoneRow.__table__  # type: ignore[attr-defined]
_WS_PHONES = WorkspacePhoneRow.__table__  # type: ignore[attr-defined]
# Built once, values bound at execution: apply records a number per purchase, and building these
# statements cost more than running them.
_LIVE_PHONE_NUMBERS = select(_PHONES.c.number).where(_PHONES.c.number.in_(bindparam("numbers", expanding=True)),
                                                     _PHONES.c.released_at.is_(None))
_LIVE_WS_PHONE_NUMBERS = select(_WS_PHONES.c.number).where(
    _WS_PHONES.c.workspace == bindparam("workspace"), _WS_PHONES.c.number.in_(bindparam("numbers", expanding=True)),
    _WS_PHONES.c.archived_at.is_(None))
_INSERT_PHONES = insert(_PHONES).returning(_PHONES.c.id, _PHONES.c.number)
_INSERT_WS_PHONES = insert(_WS_PHONES).returning(_WS_PHONES.c.id, _WS_PHONES.c.number)
_LINK_PHONE = update(_PHONES).where(_PHONES.c.id == bindparam("phone_id")).values(workspace_phone_id=bindparam("ws_id"))


def live_phone_numbers(session: Session, numbers: Sequence[str]) -> set[str]:
    """Which of these numbers have a live holding (one column, no ORM objects)."""
    conn = session.connection()
    return {n for chunk in chunks(list(numbers), 500)
            for n in conn.execute(_LIVE_PHONE_NUMBERS, {"numbers": chunk}).scalars()}


def live_workspace_phone_numbers(session: Session, workspace: str, numbers: Sequence[str]) -> set[str]:
    """Which of these numbers have a live workspace phone number in the workspace (one column)."""
    conn = session.connection()
    return {n for chunk in chunks(list(numbers), 500)
            for n in conn.execute(_LIVE_WS_PHONE_NUMBERS, {"workspace": workspace, "numbers": chunk}).scalars()}


def insert_linked_phones(session: Session, org: str, workspace: str,
                         items: Sequence[tuple[str, str | None, Any]], at: datetime, owner: str = "specs") -> None:
    """New holdings and their workspace phone numbers, linked both ways, in a few set-based statements.
    items: (number, bird_number_id, monthly_price) for numbers with neither a live holding nor a live
    workspace phone number."""
    if not items:
        return
    conn = session.connection()
    try:
        phone_ids: dict[str, int] = {}
        for chunk in chunks(list(items), 100):
            rows = [{"organization": org, "number": n, "bird_number_id": b, "monthly_price": p, "workspace": workspace,
                     "owner": owner, "acquired_at": at} for n, b, p in chunk]
            phone_ids.update({r.number: r.id for r in conn.execute(_INSERT_PHONES, rows)})
        ws_ids: dict[str, int] = {}
        for chunk in chunks(list(items), 100):
            rows = [{"workspace": workspace, "organization": org, "number": n, "provider_phone_id": phone_ids[n],
                     "owner": owner, "is_archived": False, "created_at": at} for n, _, _ in chunk]
            ws_ids.update({r.number: r.id for r in conn.execute(_INSERT_WS_PHONES, rows)})
        conn.execute(_LINK_PHONE, [{"phone_id": phone_ids[n], "ws_id": ws_ids[n]} for n, _, _ in items])
    except IntegrityError:
        raise Conflict(f"some of {len(items)} numbers were recorded by a concurrent change; re-read and retry") from None


def held_numbers(session: Session) -> dict[str, str]:
    """number -> organization of every live holding: two columns, no ORM objects (plan reads them all)."""
    query = (select(ProviderPhoneRow.number, ProviderPhoneRow.organization)
             .where(ProviderPhoneRow.released_at.is_(None)))  # type: ignore[union-attr]
    return {number: org for number, org in session.execute(query)}


def forgotten_numbers(session: Session) -> dict[str, tuple[str, datetime]]:
    """number -> (the record that forgot it, when) of every live holding a forgotten record left behind."""
    query = (select(ProviderPhoneRow.number, ProviderPhoneRow.forgotten_by, ProviderPhoneRow.forgotten_at)
             .where(ProviderPhoneRow.released_at.is_(None),  # type: ignore[union-attr]
                    ProviderPhoneRow.forgotten_by.is_not(None)))  # type: ignore[union-attr]
    return {number: (by, at) for number, by, at in session.execute(query)}


def api_held_numbers(session: Session) -> set[str]:
    """Numbers held that the platform API made (the API owns them)."""
    query = (select(ProviderPhoneRow.number)
             .where(ProviderPhoneRow.released_at.is_(None), ProviderPhoneRow.owner == "api"))  # type: ignore[union-attr]
    return set(session.execute(query).scalars())


def active_assignees(session: Session) -> dict[str, str]:
    """number -> user of every active assignment: two columns, no ORM objects."""
    query = (select(AssignmentRow.number, AssignmentRow.user)
             .where(AssignmentRow.unassigned_at.is_(None)).order_by(AssignmentRow.id))  # type: ignore[union-attr]
    return {number: user for number, user in session.execute(query)}


def released_numbers(session: Session) -> set[str]:
    """Numbers with a released holding and no live one."""
    released = set(session.exec(select(ProviderPhoneRow.number)
                                .where(ProviderPhoneRow.released_at.is_not(None))))  # type: ignore[union-attr]
    live = set(session.exec(select(ProviderPhoneRow.number)
                            .where(ProviderPhoneRow.released_at.is_(None))))  # type: ignore[union-attr]
    return released - live


def add_phone(session: Session, row: ProviderPhoneRow) -> ProviderPhoneRow:
    _flush(session, row, f"{row.number} is already held")
    return row


def _flush(session: Session, row: Any, what: str) -> None:
    """Write now, so that a unique index speaks inside the caller's transaction."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{what} (a concurrent change got there first; re-read and retry)") from None


def holdings_during(session: Session, start: datetime, end: datetime) -> list[ProviderPhoneRow]:
    """Every holding that overlaps [start, end)."""
    query = select(ProviderPhoneRow).where(
        ProviderPhoneRow.acquired_at < end,
        # Archived numbers count until Bird stops billing them (billed_until), not only until the archive.
        or_(ProviderPhoneRow.released_at.is_(None),  # type: ignore[union-attr]
            func.coalesce(ProviderPhoneRow.billed_until, ProviderPhoneRow.released_at) > start),
    )
    return list(session.exec(query.order_by(ProviderPhoneRow.number, ProviderPhoneRow.acquired_at)))


def archived_still_billed(session: Session, org: str, now: datetime) -> list[ProviderPhoneRow]:
    """The organization's numbers archived here that Bird still bills (until the end of the month paid)."""
    query = select(ProviderPhoneRow).where(ProviderPhoneRow.organization == org,
                                           ProviderPhoneRow.released_at.is_not(None),  # type: ignore[union-attr]
                                           ProviderPhoneRow.billed_until > now)  # type: ignore[operator]
    return list(session.exec(query.order_by(ProviderPhoneRow.number)))


# --- workspace phones ------------------------------------------------------------------------------


def workspace_phones(session: Session, workspace: str | None = None, *, is_archived: bool | None = None,
                     organization: str | None = None) -> list[WorkspacePhoneRow]:
    query = select(WorkspacePhoneRow)
    if workspace is not None:
        query = query.where(WorkspacePhoneRow.workspace == workspace)
    if organization is not None:
        query = query.where(WorkspacePhoneRow.organization == organization)
    if is_archived is not None:
        query = query.where(WorkspacePhoneRow.is_archived == is_archived)
    return list(session.exec(query.order_by(WorkspacePhoneRow.id)))


def workspace_phone(session: Session, phone_id: int) -> WorkspacePhoneRow | None:
    return session.get(WorkspacePhoneRow, phone_id)


def live_workspace_phone(session: Session, workspace: str, number: str) -> WorkspacePhoneRow | None:
    return session.exec(select(WorkspacePhoneRow).where(
        WorkspacePhoneRow.workspace == workspace, WorkspacePhoneRow.number == number,
        WorkspacePhoneRow.archived_at.is_(None))).first()  # type: ignore[union-attr]


def provider_phone(session: Session, phone_id: int) -> ProviderPhoneRow | None:
    return session.get(ProviderPhoneRow, phone_id)


def add_workspace_phone(session: Session, row: WorkspacePhoneRow) -> WorkspacePhoneRow:
    _flush(session, row, f"workspace {row.workspace} already has a live phone number {row.number}")
    return row


# --- assignments -----------------------------------------------------------------------------------


def active_assignments(session: Session, org: str | None = None) -> list[AssignmentRow]:
    query = select(AssignmentRow).where(AssignmentRow.unassigned_at.is_(None))  # type: ignore[union-attr]
    if org is not None:
        query = query.where(AssignmentRow.organization == org)
    return list(session.exec(query.order_by(AssignmentRow.id)))


def active_assignment_of_number(session: Session, number: str) -> AssignmentRow | None:
    return session.exec(select(AssignmentRow).where(AssignmentRow.number == number,
                                                    AssignmentRow.unassigned_at.is_(None))).first()  # type: ignore[union-attr]


def active_assignment_of_user(session: Session, org: str, user: str) -> AssignmentRow | None:
    # E-mail addresses name one user whatever their case, as the specs' one-number-per-user rule reads them.
    return session.exec(select(AssignmentRow).where(AssignmentRow.organization == org,
                                                    func.lower(AssignmentRow.user) == user.lower(),
                                                    AssignmentRow.unassigned_at.is_(None))).first()  # type: ignore[union-attr]


def assignment_history(session: Session, org: str, number: str | None = None) -> list[AssignmentRow]:
    query = select(AssignmentRow).where(AssignmentRow.organization == org)
    if number is not None:
        query = query.where(AssignmentRow.number == number)
    return list(session.exec(query.order_by(AssignmentRow.assigned_at, AssignmentRow.id)))


def assignments_during(session: Session, start: datetime, end: datetime) -> list[AssignmentRow]:
    query = select(AssignmentRow).where(
        AssignmentRow.assigned_at < end,
        or_(AssignmentRow.unassigned_at.is_(None), AssignmentRow.unassigned_at > start),  # type: ignore[union-attr,operator]
    )
    return list(session.exec(query.order_by(AssignmentRow.assigned_at, AssignmentRow.id)))


def add_assignment(session: Session, org: str, number: str, user: str, at: datetime, owner: str = "specs") -> None:
    _flush(session, AssignmentRow(organization=org, number=number, user=user, owner=owner, assigned_at=at),
           f"{number} or {user} already has an active assignment in organization {org}")


def close_assignment(session: Session, row: AssignmentRow, at: datetime) -> None:
    row.unassigned_at = at
    session.add(row)
    session.flush()


# --- what else uses a number (archive blockers) ----------------------------------------------------


def channel_records(session: Session) -> list[ResourceRow]:
    return list(session.exec(select(ResourceRow).where(ResourceRow.kind == "Channel")))


def number_records(session: Session) -> list[ResourceRow]:
    return list(session.exec(select(ResourceRow).where(ResourceRow.kind.in_(["PhoneNumber", "NumberPool"]))))  # type: ignore[attr-defined]


def pending_api_purchases(session: Session) -> dict[str, int]:
    """organization -> platform API purchases reserved and not finished."""
    query = (select(ApiPurchaseRow.organization, func.count()).where(ApiPurchaseRow.status == "pending")
             .group_by(ApiPurchaseRow.organization))
    return {org: count for org, count in session.exec(query)}


def open_operations(session: Session) -> list[OperationRow]:
    return list(session.exec(select(OperationRow).where(OperationRow.status == "intent").order_by(OperationRow.id)))


# --- inbound messages ------------------------------------------------------------------------------


# Inbound routing runs once per message the daemon receives: its statements are built once.
_INBOX, _UNROUTED = InboxMessageRow.__table__, UnroutedMessageRow.__table__  # type: ignore[attr-defined]
_ASSIGNMENTS = AssignmentRow.__table__  # type: ignore[attr-defined]
_INBOX_MESSAGE = select(_INBOX.c.number, _INBOX.c.organization, _INBOX.c.user).where(
    _INBOX.c.message_id == bindparam("message_id")).limit(1)
_UNROUTED_MESSAGE = select(_UNROUTED.c.number, _UNROUTED.c.organization, _UNROUTED.c.reason).where(
    _UNROUTED.c.message_id == bindparam("message_id")).limit(1)
_HOLDER = select(_PHONES.c.organization).where(_PHONES.c.number == bindparam("number"),
                                               _PHONES.c.released_at.is_(None)).limit(1)
_ASSIGNEE = select(_ASSIGNMENTS.c.organization, _ASSIGNMENTS.c.user).where(
    _ASSIGNMENTS.c.number == bindparam("number"), _ASSIGNMENTS.c.unassigned_at.is_(None)).limit(1)


def inbox_message(session: Session, message_id: str) -> Any:
    """The inbox entry of a message (number, organization, user), or None."""
    return session.connection().execute(_INBOX_MESSAGE, {"message_id": message_id}).first()


def unrouted_message(session: Session, message_id: str) -> Any:
    """The unrouted log's entry of a message (number, organization, reason), or None."""
    return session.connection().execute(_UNROUTED_MESSAGE, {"message_id": message_id}).first()


def holder_of(session: Session, number: str) -> str | None:
    """The organization holding the number now, or None."""
    return session.connection().execute(_HOLDER, {"number": number}).scalar()


def assignee_of(session: Session, number: str) -> Any:
    """The number's active assignment (organization, user), or None."""
    return session.connection().execute(_ASSIGNEE, {"number": number}).first()


# A drained batch of inbound messages is looked up with one statement per question, not one per message.
_INBOX_MESSAGES = select(_INBOX.c.message_id, _INBOX.c.number, _INBOX.c.organization, _INBOX.c.user).where(
    _INBOX.c.message_id.in_(bindparam("ids", expanding=True)))
_UNROUTED_MESSAGES = select(_UNROUTED.c.message_id, _UNROUTED.c.number, _UNROUTED.c.organization,
                            _UNROUTED.c.reason).where(_UNROUTED.c.message_id.in_(bindparam("ids", expanding=True)))
_HOLDERS = select(_PHONES.c.number, _PHONES.c.organization).where(
    _PHONES.c.number.in_(bindparam("numbers", expanding=True)), _PHONES.c.released_at.is_(None))
_ASSIGNEES = select(_ASSIGNMENTS.c.number, _ASSIGNMENTS.c.organization, _ASSIGNMENTS.c.user).where(
    _ASSIGNMENTS.c.number.in_(bindparam("numbers", expanding=True)), _ASSIGNMENTS.c.unassigned_at.is_(None))


def seen_messages(session: Session, message_ids: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inbox entries, unrouted entries) of these message ids, by id."""
    connection = connection_of(session)
    inbox, unrouted = {}, {}
    for chunk in chunks(list(message_ids), 500):
        inbox.update({r.message_id: r for r in connection.execute(_INBOX_MESSAGES, {"ids": chunk})})
        unrouted.update({r.message_id: r for r in connection.execute(_UNROUTED_MESSAGES, {"ids": chunk})})
    return inbox, unrouted


def holders_and_assignees(session: Session, numbers: Sequence[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """(number -> the organization holding it, number -> its active assignment (organization, user))."""
    connection = connection_of(session)
    holders, assignees = {}, {}
    for chunk in chunks(list(numbers), 500):
        holders.update({r.number: r.organization for r in connection.execute(_HOLDERS, {"numbers": chunk})})
        assignees.update({r.number: r for r in connection.execute(_ASSIGNEES, {"numbers": chunk})})
    return holders, assignees


def add_messages(session: Session, inbox_rows: list[dict[str, Any]], unrouted_rows: list[dict[str, Any]]) -> set[str]:
    """Write inbox and unrouted rows (a message id taken already is skipped); the message ids written."""
    written: set[str] = set()
    for table, rows in ((InboxMessageRow, inbox_rows), (UnroutedMessageRow, unrouted_rows)):
        if rows:
            statement = insert_unless_taken(connection_of(session).dialect.name, table.__table__, ("message_id",))  # type: ignore[attr-defined]
            written |= {r.message_id for r in connection_of(session).execute(statement, rows)}
    return written


def add_inbox_message(session: Session, values: dict[str, Any]) -> bool:
    return insert_new(session, InboxMessageRow, [values], keys=["message_id"]) == 1


def add_unrouted_message(session: Session, values: dict[str, Any]) -> bool:
    return insert_new(session, UnroutedMessageRow, [values], keys=["message_id"]) == 1


def inbox(session: Session, org: str, user: str | None = None) -> list[InboxMessageRow]:
    query = select(InboxMessageRow).where(InboxMessageRow.organization == org)
    if user is not None:
        query = query.where(func.lower(InboxMessageRow.user) == user.lower())
    return list(session.exec(query.order_by(InboxMessageRow.received_at, InboxMessageRow.id)))


def unrouted(session: Session, org: str | None = None) -> list[UnroutedMessageRow]:
    query = select(UnroutedMessageRow)
    if org is not None:
        query = query.where(UnroutedMessageRow.organization == org)
    return list(session.exec(query.order_by(UnroutedMessageRow.received_at, UnroutedMessageRow.id)))


# --- usage logs ----------------------------------------------------------------------------------


def add_usage_logs(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows not written yet (unique per event type, number and week); returns how many were new."""
    written = 0
    for chunk in chunks(sorted(rows, key=lambda r: r["number"]), 100):  # sorted: concurrent runs lock alike
        written += insert_new(session, UsageLogRow, chunk, keys=["event_type", "number", "week"])
    return written


def usage_logs(session: Session, *, week: str | None = None, org: str | None = None) -> list[UsageLogRow]:
    query = select(UsageLogRow)
    if week is not None:
        query = query.where(UsageLogRow.week == week)
    if org is not None:
        query = query.where(UsageLogRow.organization == org)
    return list(session.exec(query.order_by(UsageLogRow.week, UsageLogRow.number)))

