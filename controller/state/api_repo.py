"""SQL for the platform API: tokens, purchases, and the paginated number lists.

controller.api holds the rules; this module only reads and writes rows. Every function takes the
session of a transaction opened with StateStore.transaction().
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from controller.state.errors import Conflict
from controller.state.tables import (
    ApiPurchaseRow,
    ApiTokenRow,
    AssignmentRow,
    OrgConfigRow,
    ProviderPhoneRow,
    ResourceRow,
    WorkspacePhoneRow,
)

# --- tokens ------------------------------------------------------------------------------------------


def add_token(session: Session, row: ApiTokenRow) -> None:
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("a token with this id or hash exists already; create it again") from None


def token_by_hash(session: Session, token_hash: str) -> ApiTokenRow | None:
    return session.exec(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash)).first()


def token(session: Session, token_id: str) -> ApiTokenRow | None:
    return session.get(ApiTokenRow, token_id)


def tokens(session: Session, org: str) -> list[ApiTokenRow]:
    return list(session.exec(select(ApiTokenRow).where(ApiTokenRow.organization == org)
                             .order_by(ApiTokenRow.created_at, ApiTokenRow.id)))


# --- the organization lock ---------------------------------------------------------------------------


def lock_org(session: Session, org: str) -> OrgConfigRow | None:
    """The organization's configuration row, locked until the transaction ends: purchases of one
    organization queue here, on every replica. PostgreSQL: a row lock (SELECT ... FOR UPDATE).
    SQLite: every transaction starts with BEGIN IMMEDIATE, so writers are serialised already."""
    query = select(OrgConfigRow).where(OrgConfigRow.name == org)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).first()


def held_count(session: Session, org: str) -> int:
    return session.exec(select(func.count()).select_from(ProviderPhoneRow).where(
        ProviderPhoneRow.organization == org, ProviderPhoneRow.released_at.is_(None))).one()  # type: ignore[union-attr]


def pending_purchases(session: Session, org: str) -> int:
    """Purchases in progress that do not hold their number yet: a purchase records its number, then the
    holding, then that it succeeded, each in a transaction of its own; between the last two it is counted
    among the held numbers (held_count), not twice."""
    held = select(ProviderPhoneRow.number).where(ProviderPhoneRow.organization == org,
                                                 ProviderPhoneRow.released_at.is_(None))  # type: ignore[union-attr]
    return session.exec(select(func.count()).select_from(ApiPurchaseRow).where(
        ApiPurchaseRow.organization == org, ApiPurchaseRow.status == "pending",
        or_(ApiPurchaseRow.number.is_(None), ApiPurchaseRow.number.not_in(held)))).one()  # type: ignore[union-attr]


# --- purchases ---------------------------------------------------------------------------------------


def purchase_by_key(session: Session, org: str, user: str, key: str) -> ApiPurchaseRow | None:
    """The user's purchase with that Idempotency-Key (a key is scoped to the user who sent it)."""
    return session.exec(select(ApiPurchaseRow).where(ApiPurchaseRow.organization == org,
                                                     ApiPurchaseRow.requested_by == user,
                                                     ApiPurchaseRow.idempotency_key == key)).first()


def purchase(session: Session, purchase_id: int) -> ApiPurchaseRow | None:
    return session.get(ApiPurchaseRow, purchase_id)


def add_purchase(session: Session, row: ApiPurchaseRow) -> ApiPurchaseRow:
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"a purchase with Idempotency-Key {row.idempotency_key!r} was just started by a concurrent "
                       "request") from None
    return row


def purchases_of_numbers(session: Session, numbers: Sequence[str]) -> dict[str, ApiPurchaseRow]:
    if not numbers:
        return {}
    query = select(ApiPurchaseRow).where(ApiPurchaseRow.number.in_(list(numbers)),  # type: ignore[union-attr]
                                         ApiPurchaseRow.status == "succeeded")
    return {row.number: row for row in session.exec(query) if row.number}


# --- paginated reads ---------------------------------------------------------------------------------


def phones_page(session: Session, org: str, *, after_id: int, limit: int, workspace: str | None = None,
                unassigned_only: bool = False) -> list[Any]:
    """The organization's live numbers after `after_id` (by id), with their active assignee: plain rows
    (id, number, workspace, bird_number_id, monthly_price, owner, acquired_at, assignee), one query."""
    phones, assignments = ProviderPhoneRow.__table__, AssignmentRow.__table__  # type: ignore[attr-defined]
    live_assignment = and_(assignments.c.number == phones.c.number, assignments.c.unassigned_at.is_(None))
    query = (select(phones.c.id, phones.c.number, phones.c.workspace, phones.c.bird_number_id,
                    phones.c.monthly_price, phones.c.owner, phones.c.acquired_at,
                    assignments.c.user.label("assignee"))
             .select_from(phones.outerjoin(assignments, live_assignment))
             .where(phones.c.organization == org, phones.c.released_at.is_(None), phones.c.id > after_id))
    if workspace is not None:
        query = query.where(phones.c.workspace == workspace)
    if unassigned_only:
        query = query.where(assignments.c.id.is_(None))
    return list(session.execute(query.order_by(phones.c.id).limit(limit)))


def workspace_phones_page(session: Session, workspace: str, *, after_id: int, limit: int,
                          is_archived: bool | None) -> list[Any]:
    """Plain rows of the workspace's phone numbers after `after_id`, with the linked provider phone's
    Bird id as provider_uuid, in one query."""
    ws_phones, phones = WorkspacePhoneRow.__table__, ProviderPhoneRow.__table__  # type: ignore[attr-defined]
    query = (select(ws_phones, phones.c.bird_number_id.label("provider_uuid"))
             .select_from(ws_phones.outerjoin(phones, phones.c.id == ws_phones.c.provider_phone_id))
             .where(ws_phones.c.workspace == workspace, ws_phones.c.id > after_id))
    if is_archived is not None:
        query = query.where(ws_phones.c.is_archived == is_archived)
    return list(session.execute(query.order_by(ws_phones.c.id).limit(limit)))


def provider_phones_by_id(session: Session, ids: Sequence[int]) -> dict[int, ProviderPhoneRow]:
    if not ids:
        return {}
    query = select(ProviderPhoneRow).where(ProviderPhoneRow.id.in_(list(ids)))  # type: ignore[union-attr]
    return {row.id: row for row in session.exec(query) if row.id is not None}


def live_phone_by_bird_id(session: Session, bird_number_id: str) -> ProviderPhoneRow | None:
    return session.exec(select(ProviderPhoneRow).where(ProviderPhoneRow.bird_number_id == bird_number_id,
                                                       ProviderPhoneRow.released_at.is_(None))).first()  # type: ignore[union-attr]


def set_label(session: Session, phone_id: int, label: str | None) -> WorkspacePhoneRow | None:
    row = session.get(WorkspacePhoneRow, phone_id)
    if row is not None:
        row.label = label
        session.add(row)
        session.flush()
    return row


def set_workspace_phone_owner(session: Session, phone_id: int, owner: str) -> None:
    row = session.get(WorkspacePhoneRow, phone_id)
    if row is not None:
        row.owner = owner
        session.add(row)


# --- what the reconciler's records say --------------------------------------------------------------


def records_of_kinds(session: Session, kinds: Sequence[str]) -> list[ResourceRow]:
    return list(session.exec(select(ResourceRow).where(ResourceRow.kind.in_(list(kinds)))))  # type: ignore[attr-defined]


def number_records_holding(session: Session, number: str) -> list[ResourceRow]:
    """PhoneNumber / NumberPool records whose number is `number` (JSON column: filtered in Python,
    after narrowing by the number's text in the serialised data)."""
    like = f"%{number}%"
    query = select(ResourceRow).where(ResourceRow.kind.in_(["PhoneNumber", "NumberPool", "Assignment"]),  # type: ignore[attr-defined]
                                      text("CAST(data AS TEXT) LIKE :like").bindparams(like=like))
    return [r for r in session.exec(query) if (r.data or {}).get("number") == number]
