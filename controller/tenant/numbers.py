"""Organization configuration, the numbers an organization holds, workspace phone numbers,
assignments (with history), archiving and the sender choice.

Each function is one transaction on the state: the rule and the write it guards commit together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from controller.state import Conflict, StateStore
from controller.state import tenant_repo as repo
from controller.state.records import utcnow
from controller.state.tables import ProviderPhoneRow, WorkspacePhoneRow
from controller.tenant import convert, rules
from controller.tenant.models import (
    DEFAULT_CURRENCY,
    DEFAULT_WEEKLY_PRICE,
    ArchiveBlocked,
    Assignment,
    AssignmentConflict,
    NumberNotHeld,
    OrgConfig,
    ProviderPhone,
    Sender,
    TenantSnapshot,
    UnknownOrganization,
    WorkspacePhone,
    WorkspacePhoneError,
)

# --- organization configuration -------------------------------------------------------------------


def sync_org_config(store: StateStore, org: str, *, bird_organization_id: str, enabled: bool, limit: int,
                    weekly_price: Decimal = DEFAULT_WEEKLY_PRICE, currency: str = DEFAULT_CURRENCY) -> None:
    """Create or update the organization's multi-number configuration (10DLC status is kept)."""
    if not isinstance(weekly_price, Decimal):
        raise TypeError(f"weekly_price must be a Decimal, not {type(weekly_price).__name__}")
    if weekly_price < 0:
        raise ValueError(f"organization {org}: the weekly price {weekly_price} is negative")
    if limit < 0:
        raise ValueError(f"organization {org}: the number limit {limit} is negative")
    with store.transaction() as tx:
        repo.save_org_config(tx, {"name": org, "bird_organization_id": bird_organization_id, "enabled": enabled,
                                  "number_limit": limit, "weekly_price": weekly_price,
                                  "currency": currency.upper(), "ten_dlc_active": False, "updated_at": utcnow()})


def set_ten_dlc_active(store: StateStore, org: str, active: bool) -> None:
    """Brand and campaign approved: SMS is active for the organization (the multi-number prerequisite)."""
    with store.transaction() as tx:
        if not repo.set_ten_dlc_active(tx, org, active, utcnow()):
            raise unknown_org(tx, org)


def org_config(store: StateStore, org: str) -> OrgConfig:
    with store.transaction() as tx:
        row = repo.org_config(tx, org)
        if row is None:
            raise unknown_org(tx, org)
        return convert.org_config(row)


def unknown_org(tx: Any, org: str) -> UnknownOrganization:
    known = ", ".join(c.name for c in repo.org_configs(tx)) or "none yet"
    return UnknownOrganization(f"organization {org!r} is not in the state (known: {known}): apply the specs "
                               "with its Organization document first, or check --state")


# --- numbers held ---------------------------------------------------------------------------------


def record_number_acquired(store: StateStore, org: str, workspace: str, number: str, *, bird_number_id: str,
                           monthly_price: Decimal | None, at: datetime, owner: str = "specs") -> None:
    """The organization now holds the number (bought or adopted), linked to a workspace phone number.
    Idempotent: recording the same number again only refreshes its Bird id and price.
    owner: "specs" (the reconciler) or "api" (the platform API). The specs adopting a number the
    API made take it over: what the specs declare, the specs own."""
    record_numbers_acquired(store, org, workspace, [(number, bird_number_id, monthly_price)], at=at, owner=owner)


def record_numbers_acquired(store: StateStore, org: str, workspace: str,
                            numbers: Sequence[tuple[str, str, Decimal | None]], *, at: datetime,
                            owner: str = "specs") -> None:
    """record_number_acquired for many (number, bird_number_id, monthly_price) at once, in one transaction."""
    at = rules.aware(at)
    wanted = [(rules.e164(n), bird_id, price) for n, bird_id, price in numbers]
    with store.transaction() as tx:
        numbers_wanted = [n for n, _, _ in wanted]
        held = repo.live_phone_numbers(tx, numbers_wanted)
        in_workspace = repo.live_workspace_phone_numbers(tx, workspace, numbers_wanted)
        fresh = [w for w in wanted if w[0] not in held and w[0] not in in_workspace]
        fresh = list({n: (n, b, p) for n, b, p in fresh}.values())  # a number listed twice is recorded once
        repo.insert_linked_phones(tx, org, workspace, fresh, at, owner)
        for number, bird_number_id, monthly_price in wanted:
            if number in held or number in in_workspace:
                acquire(tx, org, workspace, number, bird_number_id, monthly_price, at, owner)


def acquire(tx: Any, org: str, workspace: str, number: str, bird_number_id: str, monthly_price: Decimal | None,
            at: datetime, owner: str = "specs") -> None:
    phone = repo.live_phone(tx, number)
    if phone is not None and phone.organization != org:
        raise NumberNotHeld(f"{number} is held by organization {phone.organization}, not {org}; "
                            "a number belongs to one organization at a time")
    if phone is None:
        phone = repo.add_phone(tx, ProviderPhoneRow(organization=org, number=number, bird_number_id=bird_number_id,
                                                    monthly_price=monthly_price, owner=owner, acquired_at=at))
    else:
        phone.bird_number_id = bird_number_id
        phone.forgotten_by, phone.forgotten_at = None, None  # managed again
        if owner == "specs":
            phone.owner = owner
        if monthly_price is not None:
            phone.monthly_price = monthly_price
    ws_phone = repo.live_workspace_phone(tx, workspace, number)
    if ws_phone is None:
        ws_phone = repo.add_workspace_phone(tx, WorkspacePhoneRow(workspace=workspace, organization=org,
                                                                  number=number, owner=owner, created_at=at))
    link_rows(tx, ws_phone, phone)


def link_rows(tx: Any, ws_phone: WorkspacePhoneRow, phone: ProviderPhoneRow) -> None:
    """Set both references, clearing any link either side had before."""
    if ws_phone.provider_phone_id not in (None, phone.id):
        unlink_provider(tx, ws_phone.provider_phone_id)
    if phone.workspace_phone_id not in (None, ws_phone.id):
        previous = repo.workspace_phone(tx, phone.workspace_phone_id)  # type: ignore[arg-type]
        if previous is not None:
            previous.provider_phone_id = None
            tx.add(previous)
    ws_phone.provider_phone_id = phone.id
    phone.workspace, phone.workspace_phone_id = ws_phone.workspace, ws_phone.id
    tx.add_all([ws_phone, phone])


def unlink_provider(tx: Any, provider_phone_id: int | None) -> None:
    phone = repo.provider_phone(tx, provider_phone_id) if provider_phone_id is not None else None
    if phone is not None:
        phone.workspace, phone.workspace_phone_id = None, None
        tx.add(phone)


def held_numbers(store: StateStore, org: str) -> list[ProviderPhone]:
    with store.transaction() as tx:
        return [convert.provider_phone(r) for r in repo.live_phones(tx, org)]


def archived_still_billed(store: StateStore, org: str, now: datetime) -> list[ProviderPhone]:
    """Numbers archived here that Bird still bills until the end of the month already paid."""
    with store.transaction() as tx:
        return [convert.provider_phone(r) for r in repo.archived_still_billed(tx, org, rules.aware(now))]


# --- workspace phone numbers (seed 002) ---------------------------------------------------------


def list_workspace_phones(store: StateStore, workspace: str, *, is_archived: bool | None = False) -> list[WorkspacePhone]:
    """The workspace's phone numbers; is_archived=None lists both."""
    with store.transaction() as tx:
        return [convert.workspace_phone(r) for r in repo.workspace_phones(tx, workspace, is_archived=is_archived)]


def archived_workspace_phones(store: StateStore, org: str, workspace: str | None = None) -> list[WorkspacePhone]:
    with store.transaction() as tx:
        return [convert.workspace_phone(r)
                for r in repo.workspace_phones(tx, workspace, organization=org, is_archived=True)]


def linkable_phones(store: StateStore, org: str, workspace: str) -> list[ProviderPhone]:
    """The organization's held numbers that are linked to no workspace, or already to this one."""
    with store.transaction() as tx:
        return [convert.provider_phone(r) for r in repo.live_phones(tx, org) if r.workspace in (None, workspace)]


def create_workspace_phone(store: StateStore, workspace: str, org: str, number: str, *, at: datetime,
                           owner: str = "specs", label: str | None = None) -> WorkspacePhone:
    """A workspace phone number for one of the organization's numbers, linked to it when it is linkable."""
    number, at = rules.e164(number), rules.aware(at)
    with store.transaction() as tx:
        phone = repo.live_phone(tx, number)
        if phone is None or phone.organization != org:
            raise NumberNotHeld(f"organization {org} does not hold {number}; buy or adopt it first")
        if repo.live_workspace_phone(tx, workspace, number) is not None:
            raise WorkspacePhoneError(f"workspace {workspace} already has a phone number {number}")
        ws_phone = repo.add_workspace_phone(tx, WorkspacePhoneRow(workspace=workspace, organization=org,
                                                                  number=number, owner=owner, label=label,
                                                                  created_at=at))
        if phone.workspace in (None, workspace):
            link_rows(tx, ws_phone, phone)
        return convert.workspace_phone(ws_phone)


def link(store: StateStore, workspace: str, phone_id: int, number: str | None) -> WorkspacePhone:
    """Link the workspace phone number to one of the organization's numbers, or unlink it (number=None),
    keeping both references consistent."""
    with store.transaction() as tx:
        ws_phone = repo.workspace_phone(tx, phone_id)
        if ws_phone is None or ws_phone.workspace != workspace:
            raise WorkspacePhoneError(f"workspace {workspace} has no phone number with id {phone_id}")
        if ws_phone.is_archived:
            raise WorkspacePhoneError(f"phone number {phone_id} ({ws_phone.number}) is archived; archiving cannot "
                                      "be undone, create a new workspace phone number instead")
        if number is None:
            unlink_provider(tx, ws_phone.provider_phone_id)
            ws_phone.provider_phone_id = None
            tx.add(ws_phone)
            return convert.workspace_phone(ws_phone)
        number = rules.e164(number)
        phone = repo.live_phone(tx, number)
        if phone is None or phone.organization != ws_phone.organization:
            raise NumberNotHeld(f"organization {ws_phone.organization} does not hold {number}")
        if phone.workspace not in (None, workspace):
            raise WorkspacePhoneError(f"{number} is linked to workspace {phone.workspace}; unlink it there first")
        link_rows(tx, ws_phone, phone)
        return convert.workspace_phone(ws_phone)


# --- assignments -----------------------------------------------------------------------------------


def assign(store: StateStore, org: str, number: str, user: str, *, at: datetime, release: str | None = None,
           owner: str = "specs") -> None:
    """Give the number to the user. Idempotent; refuses a second owner or a second number for the user.
    release: the user's previous number, taken back from them in the same transaction.
    owner: who made the assignment, "specs" or "api" (the reconciler ends only its own)."""
    number, at = rules.e164(number), rules.aware(at)
    with store.transaction() as tx:
        require_held(tx, org, number)
        current = repo.active_assignment_of_number(tx, number)
        if current is not None and rules.same_user(current.user, user):
            return
        if current is not None:
            raise AssignmentConflict(f"{number} is assigned to {current.user}; unassign it first, or move it to {user}")
        release_previous(tx, org, user, release, at)
        open_assignment(tx, org, number, user, at, owner)


def unassign(store: StateStore, org: str, number: str, *, at: datetime) -> str | None:
    """Take the number back from its user (history kept). Returns who had it; None if nobody did."""
    number, at = rules.e164(number), rules.aware(at)
    with store.transaction() as tx:
        current = repo.active_assignment_of_number(tx, number)
        if current is None:
            return None
        if current.organization != org:
            raise NumberNotHeld(f"{number} is assigned in organization {current.organization}, not {org}")
        repo.close_assignment(tx, current, at)
        return current.user


def move(store: StateStore, org: str, number: str, new_user: str, *, at: datetime, release: str | None = None) -> None:
    """Unassign and assign in one transaction: the number never has two owners, nor a moment with none
    visible to others. release: the new user's previous number (two users swapping numbers), taken
    back from them in the same transaction."""
    number, at = rules.e164(number), rules.aware(at)
    with store.transaction() as tx:
        require_held(tx, org, number)
        current = repo.active_assignment_of_number(tx, number)
        if current is not None and rules.same_user(current.user, new_user):
            return
        if current is not None:
            repo.close_assignment(tx, current, at)
        release_previous(tx, org, new_user, release, at)
        open_assignment(tx, org, number, new_user, at)


def release_previous(tx: Any, org: str, user: str, number: str | None, at: datetime) -> None:
    """Close the user's assignment of `number`, if they still hold exactly that number."""
    held = repo.active_assignment_of_user(tx, org, user) if number else None
    if held is not None and held.number == rules.e164(number or ""):
        repo.close_assignment(tx, held, at)


def open_assignment(tx: Any, org: str, number: str, user: str, at: datetime, owner: str = "specs") -> None:
    other = repo.active_assignment_of_user(tx, org, user)
    if other is not None:
        raise AssignmentConflict(f"{user} already has {other.number} in organization {org}; a user has one "
                                 f"number: unassign {other.number} first")
    try:
        repo.add_assignment(tx, org, number, user, at, owner)
    except Conflict as exc:
        raise AssignmentConflict(str(exc)) from None


def require_held(tx: Any, org: str, number: str) -> ProviderPhoneRow:
    phone = repo.live_phone(tx, number)
    if phone is None or phone.organization != org:
        holder = f" (it is held by {phone.organization})" if phone is not None else ""
        raise NumberNotHeld(f"organization {org} does not hold {number}{holder}; buy or adopt it first")
    return phone


def assignment_history(store: StateStore, org: str, number: str | None = None) -> list[Assignment]:
    with store.transaction() as tx:
        numbered = rules.e164(number) if number else None
        return [convert.assignment(r) for r in repo.assignment_history(tx, org, numbered)]


def active_assignments(store: StateStore, org: str) -> dict[str, str]:
    """number -> user."""
    with store.transaction() as tx:
        return {r.number: r.user for r in repo.active_assignments(tx, org)}


# --- archiving -----------------------------------------------------------------------------------


def archive_blockers(store: StateStore, org: str, number: str) -> list[str]:
    """What keeps the number from being archived: an active assignment, a channel (and its campaign)
    still using it, a pending journal operation. Empty when it can be archived."""
    number = rules.e164(number)
    with store.transaction() as tx:
        require_held(tx, org, number)
        return blockers_in(tx, number)


def blockers_in(tx: Any, number: str) -> list[str]:
    assignment = repo.active_assignment_of_number(tx, number)
    number_addresses = [r.address for r in repo.number_records(tx) + repo.channel_records(tx)
                        if (r.data or {}).get("number") == number]
    return rules.archive_blockers(
        number,
        assignment=convert.assignment(assignment) if assignment else None,
        channels=[convert.record_facts(r) for r in repo.channel_records(tx)],
        open_operations=[convert.operation_facts(r) for r in repo.open_operations(tx)],
        number_addresses=number_addresses,
    )


def archive_number(store: StateStore, org: str, number: str, *, at: datetime, billed_until: datetime | None = None
                   ) -> None:
    """Release the number back to the organization's pool: archive its workspace phone numbers and
    clear their links. History (assignments, messages, usage) is kept. Cannot be undone. `billed_until`:
    the end of the month Bird already billed (its subscription cancelled), until which the views show the
    number and billing counts it.
    Raises ArchiveBlocked listing what still uses it. Archiving an archived number does nothing."""
    number, at = rules.e164(number), rules.aware(at)
    with store.transaction() as tx:
        phone = repo.live_phone(tx, number)
        if phone is None and number in repo.released_numbers(tx):
            return
        phone = require_held(tx, org, number)
        blockers = blockers_in(tx, number)
        if blockers:
            raise ArchiveBlocked(number, blockers)
        for ws_phone in repo.workspace_phones(tx, organization=org, is_archived=False):
            if ws_phone.number == number:
                ws_phone.is_archived, ws_phone.archived_at, ws_phone.provider_phone_id = True, at, None
                tx.add(ws_phone)
        phone.released_at, phone.workspace, phone.workspace_phone_id = at, None, None
        phone.billed_until = rules.aware(billed_until) if billed_until else None
        tx.add(phone)


def archive_workspace_phone(store: StateStore, workspace: str, phone_id: int, *, at: datetime) -> WorkspacePhone:
    """Seed 002: archive one workspace phone number. Linked to the organization's number, it releases
    that number (archive_number: blockers checked, history kept); unlinked, only this record is
    archived. Cannot be undone; archiving an archived one returns it unchanged."""
    at = rules.aware(at)
    with store.transaction() as tx:
        ws_phone = repo.workspace_phone(tx, phone_id)
        if ws_phone is None or ws_phone.workspace != workspace:
            raise WorkspacePhoneError(f"workspace {workspace} has no phone number with id {phone_id}")
        if ws_phone.is_archived:
            return convert.workspace_phone(ws_phone)
        linked = ws_phone.provider_phone_id is not None
        if not linked:
            ws_phone.is_archived, ws_phone.archived_at = True, at
            tx.add(ws_phone)
            return convert.workspace_phone(ws_phone)
        org, number = ws_phone.organization, ws_phone.number
    archive_number(store, org, number, at=at)
    with store.transaction() as tx:
        return convert.workspace_phone(repo.workspace_phone(tx, phone_id))


# --- the read model plan uses --------------------------------------------------------------------


def plan_snapshot(store: StateStore) -> TenantSnapshot:
    """The part of the snapshot plan reads (organizations, holdings, assignments, archived numbers), in
    four column queries: plan never needs the provider phones' or workspace phones' rows, nor the
    archive blockers (the planner derives those from the observed world)."""
    with store.transaction() as tx:
        orgs = {r.name: convert.org_config(r) for r in repo.org_configs(tx)}
        held = repo.held_numbers(tx)
        assignments = repo.active_assignees(tx)
        released = repo.released_numbers(tx)
        forgotten = repo.forgotten_numbers(tx)
        api_numbers = repo.api_held_numbers(tx)
    return TenantSnapshot(orgs=orgs, assignments=assignments, held_numbers=held, archived_numbers=frozenset(released),
                          forgotten=forgotten, api_numbers=frozenset(api_numbers))


def snapshot(store: StateStore) -> TenantSnapshot:
    with store.transaction() as tx:
        orgs = {r.name: convert.org_config(r) for r in repo.org_configs(tx)}
        phones = {r.number: convert.provider_phone(r) for r in repo.live_phones(tx)}
        assignments = {r.number: convert.assignment(r) for r in repo.active_assignments(tx)}
        ws_phones = tuple(convert.workspace_phone(r) for r in repo.workspace_phones(tx, is_archived=False))
        released = repo.released_numbers(tx)
        channels = [convert.record_facts(r) for r in repo.channel_records(tx)]
        number_records = [convert.record_facts(r) for r in repo.number_records(tx)]
        ops = [convert.operation_facts(r) for r in repo.open_operations(tx)]
        pending_purchases = repo.pending_api_purchases(tx)
    # Grouped once by number: looking them up per number keeps the snapshot linear in size.
    channels_of: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    addresses_of: defaultdict[str, list[str]] = defaultdict(list)
    for r in channels:
        channels_of[r["data"].get("number")].append(r)
    for r in number_records + channels:
        addresses_of[r["data"].get("number")].append(r["address"])
    blockers = {}
    for number in phones:
        found = rules.archive_blockers(
            number, assignment=assignments.get(number), channels=channels_of.get(number, []), open_operations=ops,
            number_addresses=addresses_of.get(number, []))
        if found:
            blockers[number] = found
    return TenantSnapshot(
        orgs=orgs,
        provider_phones=phones,
        assignments={n: a.user for n, a in assignments.items()},
        held_numbers={n: p.organization for n, p in phones.items()},
        archived_numbers=frozenset(released),
        api_numbers=frozenset(n for n, p in phones.items() if p.owner == "api"),
        api_assignments=frozenset(n for n, a in assignments.items() if a.owner == "api"),
        api_purchases_pending=pending_purchases,
        workspace_phones=ws_phones,
        blockers=blockers,
    )


# --- sending -------------------------------------------------------------------------------------


def sender_for(store: StateStore, org: str, user: str) -> Sender:
    """The number the user's campaigns send from: their own, else the organization's default number
    (the earliest held number no user owns), else no sender and why."""
    with store.transaction() as tx:
        if repo.org_config(tx, org) is None:
            return Sender(org, user, None, None, str(unknown_org(tx, org)))
        own = repo.active_assignment_of_user(tx, org, user)
        if own is not None:
            return Sender(org, user, own.number, "user", f"{own.number} is assigned to {user}")
        phones = [convert.provider_phone(r) for r in repo.live_phones(tx, org)]
        assigned = [a.number for a in repo.active_assignments(tx, org)]
    default = rules.default_number(phones, assigned)
    if default is not None:
        return Sender(org, user, default, "organization-default",
                      f"{user} has no number of their own; sending from the organization's default number {default}")
    if not phones:
        why = f"organization {org} holds no number yet"
    else:
        why = f"every number of organization {org} is assigned to another user"
    return Sender(org, user, None, None, f"no sender for {user}: {why}; assign a number to {user} or add one to "
                                         "the organization's specs")
