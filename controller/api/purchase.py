"""Seed 000 purchase, and seed 002 archive: the API's Bird writes, through the apply engine's journal.

A purchase is three steps:
  1. reserve (one transaction, under the organization's row lock): the Idempotency-Key, seed 000's
     prerequisites (tenant flag, 10DLC active, number limit) and a pending row that holds one slot
     of the limit. Concurrent purchases on any replica queue on that lock, so N requests with room
     for one reserve exactly one slot.
  2. buy by stock item (Bird "Buy a Number"), journaled exactly as apply buys: the intent (with the chosen
     stock item and number) is committed before Bird is called; an ambiguous answer is resolved by
     re-reading Bird and adopting what it bought.
  3. record the number in the organization's pool (owner "api") and install its SMS channel under
     the organization's 10DLC campaign (journaled too).
A retry with the same key after a crash or an ambiguous answer resumes from the journal and the
pending row; it never buys a second number.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import math
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from controller import tenant
from controller.api import ownership
from controller.api.directory import Directory, Workspace, read_directory
from controller.api.errors import ApiError, conflict, invalid, not_found
from controller.api.models import PhoneNumberResponse, PurchaseRequest, PurchaseResponse
from controller.bird import BirdError
from controller.bird.errors import BirdHTTPError
from controller.reconcile.apply import ApplyError, JournaledIO
from controller.reconcile.plan import Change
from controller.resources.phone_number import purchase_members
from controller.state import Conflict, lease, tenant_repo
from controller.state import api_repo as repo
from controller.state.lease import LeaseLost
from controller.state.tables import ApiPurchaseRow
from controller.tenant import rules
from controller.tenant.models import ArchiveBlocked

if TYPE_CHECKING:
    from controller.api.app import ApiContext
    from controller.api.tokens import Principal

# A pending purchase is worked on by the request that reserved it for this long; after that a retry
# with the same key takes it over (the first request died, or its replica did).
LEASE = timedelta(seconds=60)
STOCK_CANDIDATES = 25
BUY_ATTEMPTS = 5
# Stock reads per purchase: each round tries BUY_ATTEMPTS numbers that nobody else was buying.
STOCK_ROUNDS = 8
# Stock pages a purchase reads past when every number on them is held or being bought by another.
STOCK_PAGES = 8
CHANNEL_TEMPLATE = "sms-messagebird:1"
# Retry-After of a purchase stopped because its organization changed owner: a takeover's lease round.
MOVING_RETRY_SECONDS = 2


def request_hash(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def address_of(purchase_id: int) -> str:
    """The journal address of an API purchase (not a spec address: the planner never reads it)."""
    return f"api:purchase/{purchase_id}"


async def purchase_number(ctx: ApiContext, who: Principal, body: PurchaseRequest, key: str | None) -> PurchaseResponse:
    from controller.api.app import guarded

    if key is not None and not key.strip():
        raise invalid("Idempotency-Key is empty: send a unique value per purchase (e.g. a UUID), or no header")
    request = body.model_dump(mode="json")
    with guarded():
        directory = await asyncio.to_thread(read_directory, ctx.store)
        row, fresh = await asyncio.to_thread(reserve, ctx, who, request, key, directory)
    if row.status == "succeeded" and not fresh:
        if row.connector_id is None and row.bird_number_id:
            row = await install_channel(ctx, row, directory)  # a channel that failed before; buys nothing
        return await asyncio.to_thread(response, ctx, row, directory)
    row = await buy(ctx, who, row, directory)
    row = await install_channel(ctx, row, directory)
    ctx.log("api.purchase", f"{who.user} bought {row.number} for organization {who.organization}",
            token_id=who.token_id, organization=who.organization, number=row.number, purchase_id=row.id)
    return await asyncio.to_thread(response, ctx, row, directory)


# --- 1. reserve -------------------------------------------------------------------------------------


def reserve(ctx: ApiContext, who: Principal, request: dict[str, Any], key: str | None,
            directory: Directory) -> tuple[ApiPurchaseRow, bool]:
    """(the purchase row, whether this request must carry it out). Raises ApiError when refused."""
    org, now, digest = who.organization, ctx.now(), request_hash(request)
    try:
        with ctx.store.transaction() as tx:
            config = repo.lock_org(tx, org)
            if config is None:
                raise not_found(f"organization {org} is not in the state any more")
            existing = repo.purchase_by_key(tx, org, who.user, key) if key else None
            if existing is not None:
                if existing.request_hash != digest:
                    raise ApiError(409, "idempotency_key_reused",
                                   f"Idempotency-Key {key!r} was used for a different purchase "
                                   f"({json.dumps(existing.request, sort_keys=True)}); use a new key for a new purchase")
                if existing.status == "succeeded":
                    return existing, False
                if existing.status == "pending" and existing.lease_until > now:
                    wait = retry_after(existing.lease_until - now)
                    raise conflict(f"the purchase with Idempotency-Key {key!r} is in progress; retry in {wait} s "
                                   "with the same key (its worker's lease ends then, if it died)",
                                   code="purchase_in_progress", headers={"Retry-After": str(wait)})
            workspace = choose_workspace(who, directory)
            if existing is None or existing.status == "failed":
                refuse_unless_room(tx, config, org, directory, workspace)
            if existing is None:
                row = ApiPurchaseRow(organization=org, idempotency_key=key, request_hash=digest, request=request,
                                     status="pending", requested_by=who.user, workspace=workspace.name,
                                     created_at=now, updated_at=now, lease_until=now + LEASE)
                return repo.add_purchase(tx, row), True
            existing.status, existing.error = "pending", None
            existing.updated_at, existing.lease_until = now, now + LEASE
            tx.add(existing)
            return existing, True
    except Conflict:
        raise conflict(f"the purchase with Idempotency-Key {key!r} is in progress; retry in 1 s with the same key",
                       code="purchase_in_progress", headers={"Retry-After": "1"}) from None


def retry_after(left: timedelta) -> int:
    """Whole seconds until `left` has passed (at least 1): the Retry-After of an in-progress answer."""
    return max(1, math.ceil(left.total_seconds()))


def choose_workspace(who: Principal, directory: Directory) -> Workspace:
    """The token's workspace; else the organization's workspace that has its 10DLC campaign."""
    workspaces = directory.of_org(who.organization)
    if who.workspace is not None:
        ws = workspaces.get(who.workspace)
        if ws is None:
            raise conflict(f"workspace {who.workspace} of token {who.token_id} is not recorded in the state; apply "
                           "the specs first", code="no_workspace")
        return ws
    for ws in workspaces.values():
        if directory.campaign_in(ws.uuid):
            return ws
    if workspaces:
        return next(iter(workspaces.values()))
    raise conflict(f"organization {who.organization} has no workspace recorded in the state; apply the specs "
                   "with its Workspace first", code="no_workspace")


def refuse_unless_room(tx: Any, config: Any, org: str, directory: Directory, workspace: Workspace) -> None:
    """Seed 000's prerequisites, in the order a user fixes them."""
    if not config.enabled:
        raise conflict(f"multi-SMS numbers are not enabled for organization {org} (enable_multi_sms_numbers is "
                       "off): set multiSmsNumbers.enabled: true in its Organization spec", code="multi_sms_disabled")
    if not config.ten_dlc_active:
        raise conflict(f"organization {org}'s 10DLC is not active (its brand and campaign are not approved yet); "
                       "numbers are bought under the org's 10DLC campaign", code="ten_dlc_inactive")
    if directory.campaign_in(workspace.uuid) is None:
        raise conflict(f"workspace {workspace.name} has no 10DLC campaign recorded; declare one in the specs",
                       code="no_campaign")
    held, pending = repo.held_count(tx, org), repo.pending_purchases(tx, org)
    if held + pending >= config.number_limit:
        busy = f" and {pending} purchase(s) in progress" if pending else ""
        raise conflict(f"organization {org} holds {held} numbers{busy}; its limit is {config.number_limit}: raise "
                       "multiSmsNumbers.limit or archive a number first", code="limit_reached")


# --- 2. buy -----------------------------------------------------------------------------------------


def change_for(row: ApiPurchaseRow, number: str | None, country: str, ws: str) -> Change:
    return Change(address_of(row.id or 0), "create", "bought through the platform API", None,
                  {"number": number},
                  payload={"number": number, "country": country, "workspaceId": ws})


async def buy(ctx: ApiContext, who: Principal, row: ApiPurchaseRow, directory: Directory) -> ApiPurchaseRow:
    from controller.reconcile import engine

    ws = directory.by_name(row.workspace)
    assert ws is not None
    request = row.request
    try:
        async with organization_fence(ctx, who.organization) as settings, engine.bird_client(settings) as client:
            io = JournaledIO(client, ctx.store, now=ctx.now)
            found = None if row.bird_number_id else await resume_open_intent(ctx, io, row, ws)
            if row.bird_number_id:
                number, number_id, price = row.number, row.bird_number_id, None
            elif found is not None:
                number, number_id, price = found.number, found.id, price_of(found)
            else:
                number, number_id, price = await buy_new(ctx, io, row, ws, request)
            await asyncio.to_thread(record_bought, ctx, row, ws, number or "", number_id, price)
            await asyncio.to_thread(io.settle, address_of(row.id or 0))
    except ApiError as exc:
        if await asyncio.to_thread(has_open_intent, ctx, row):
            await asyncio.to_thread(release_lease, ctx, row)  # still unknown: the slot stays taken
        else:
            await asyncio.to_thread(mark, ctx, row, "failed", exc.message)
        raise
    except LeaseLost as exc:
        # Its organization changed owner: nothing more is sent under the lease it began with. A retry with
        # the same key resumes it (an open intent is resolved by re-reading Bird) under the new owner's.
        if await asyncio.to_thread(has_open_intent, ctx, row):
            await asyncio.to_thread(release_lease, ctx, row)
        else:
            await asyncio.to_thread(mark, ctx, row, "failed", str(exc))
        raise ApiError(503, "organization_moving", f"{exc}. Nothing is bought twice: retry with the same "
                       f"Idempotency-Key in {MOVING_RETRY_SECONDS} s", headers={"Retry-After": str(MOVING_RETRY_SECONDS)}
                       ) from None
    except BirdHTTPError as exc:
        if exc.status in (401, 403, 429) or exc.status >= 500:
            await asyncio.to_thread(mark, ctx, row, "failed", str(exc))
            raise ApiError(503, "bird_unavailable", f"Bird cannot be used now: {exc}; retry later") from None
        # Bird refuses the search itself (a country or type it does not sell): the request is at fault.
        await asyncio.to_thread(mark, ctx, row, "failed", str(exc))
        raise ApiError(422, "invalid", f"Bird does not sell such a number: {exc}") from None
    except (ApplyError, BirdError) as exc:
        unknown = await asyncio.to_thread(has_open_intent, ctx, row)
        if unknown:
            # Bird may have bought it: the slot stays taken and a retry with the key resolves it.
            await asyncio.to_thread(release_lease, ctx, row)
            raise ApiError(503, "outcome_unknown", f"Bird's answer to the purchase is unknown ({exc}); nothing is "
                           "bought twice: retry with the same Idempotency-Key") from None
        await asyncio.to_thread(mark, ctx, row, "failed", str(exc))
        raise ApiError(502, "bird_error", f"Bird refused the purchase: {exc}") from None
    return await asyncio.to_thread(load, ctx, row.id or 0)


@contextlib.asynccontextmanager
async def organization_fence(ctx: ApiContext, organization: str) -> AsyncIterator[Any]:
    """The settings an API write's Bird client uses (a purchase, its channel, an archive's channel removal),
    fenced by its organization's lease (lease.bind): its intents check that lease's epoch (through
    TASK_FENCE, its store being shared) and its writes the lease's deadline. Where no daemon fences the
    state, the settings as they are."""
    fence = await asyncio.to_thread(lease.bind, ctx.store.engine, organization)
    token = lease.TASK_FENCE.set(fence)
    try:
        yield ctx.settings if fence is None else dataclasses.replace(ctx.settings, fence=fence)
    finally:
        lease.TASK_FENCE.reset(token)


async def resume_open_intent(ctx: ApiContext, io: JournaledIO, row: ApiPurchaseRow, ws: Workspace) -> Any:
    """An earlier attempt's intent: adopt what it bought, else abandon it (its lease ran out)."""
    address = address_of(row.id or 0)
    ops = [op for op in await asyncio.to_thread(ctx.store.open_operations) if op.address == address
           and op.action == "create"]
    for op in ops:
        wanted = {number for _, number in purchase_members(op.address, op.request)}
        async for owned in io.client.list_numbers(ws.uuid):
            if owned.number in wanted:
                io.pending.setdefault(address, []).append(op.id)
                return owned
        if ctx.now() - op.started_at < LEASE:
            # Bird may still complete the write: buying another number now could buy two.
            wait = retry_after(LEASE - (ctx.now() - op.started_at))
            raise ApiError(503, "outcome_unknown", f"Bird has not shown {', '.join(sorted(wanted))} yet after an "
                           f"unknown answer; retry with the same Idempotency-Key in {wait} s",
                           headers={"Retry-After": str(wait)})
        await asyncio.to_thread(ctx.store.finish, op.id, "abandoned",
                                result={"settledBy": "a retried API purchase: Bird does not hold the number"})
    return None


async def buy_new(ctx: ApiContext, io: JournaledIO, row: ApiPurchaseRow, ws: Workspace,
                  request: dict[str, Any]) -> tuple[str, str, Decimal | None]:
    """Buy a free stock number. Concurrent purchases see the same stock: each starts at its own place
    in it, and one that Bird refuses (another purchase took it) is passed over; when a round's numbers
    are all gone, the stock is read again, so a purchase that loses races buys while stock lasts.
    An ambiguous answer stops here: the intent stays open."""
    country, kind, prefix = request.get("country", "US"), request.get("type", "local"), request.get("prefix")
    tried: set[str] = set()
    refused: list[str] = []
    for _ in range(STOCK_ROUNDS):
        candidates = [c for c in await pick_stock(ctx, io, ws, country, kind, prefix) if c.numberString not in tried]
        if not candidates:
            break
        start = (row.id or 0) % len(candidates)
        for candidate in (candidates[start:] + candidates[:start])[:BUY_ATTEMPTS]:
            tried.add(candidate.numberString)
            got = await buy_one(ctx, io, row, ws, country, candidate, refused)
            if got is not None:
                return got
    if not refused:
        what = " ".join(v for v in (country, kind, prefix) if v)
        raise conflict(f"no {what} number is in Bird's stock for workspace {ws.name}", code="no_stock")
    raise ApplyError(f"Bird refused {len(refused)} stock numbers in a row; the last: {refused[-1]}")


async def buy_one(ctx: ApiContext, io: JournaledIO, row: ApiPurchaseRow, ws: Workspace, country: str,
                  candidate: Any, refused: list[str]) -> tuple[str, str, Decimal | None] | None:
    """(number, Bird's id, price), or None when Bird refused the stock item (the reason in `refused`)."""
    number = candidate.numberString
    change = change_for(row, number, country, ws.uuid)

    async def owned() -> Any:
        async for item in io.client.list_numbers(ws.uuid):
            if item.number == number:
                return item
        return None

    # The intent names the stock item and the number, exactly as apply's purchases do.
    request = {"workspaceId": ws.uuid, "purchase": row.id,
               "numbers": [{"address": change.address, "number": number, "stockItemId": candidate.id}]}
    try:
        bought = await io.journaled(change, request=request, probe=owned,
                                    call=lambda: io.client.buy_stock_items(ws.uuid, [candidate.id]))
    except ApplyError as exc:
        if await asyncio.to_thread(has_open_intent, ctx, row):
            raise
        refused.append(str(exc))
        return None
    got = next((n for n in bought if n.number == number), None) if isinstance(bought, list) else bought
    if got is None:  # Bird's answer does not name it: its list does
        got = await owned()
    if got is None:
        raise ApplyError(f"Bird accepted the purchase of {number} but does not list it yet; the intent stays "
                         "open: retry with the same Idempotency-Key")
    return got.number or number, got.id, price_of(got) or price_of(candidate)


async def pick_stock(ctx: ApiContext, io: JournaledIO, ws: Workspace, country: str, kind: str,
                     prefix: str | None) -> list[Any]:
    """Stock numbers nobody holds and no other purchase is buying right now (its intent names it), from the
    first page of the stock that has any: with more purchases in flight than a page holds, every number of
    the first page can be another purchase's, while the stock goes on."""
    pages = io.client.stock_item_pages(ws.uuid, country=country, type=kind, prefix=prefix, limit=STOCK_CANDIDATES)

    def free(candidates: list[Any]) -> list[Any]:
        with ctx.store.transaction() as tx:
            held = tenant_repo.live_phones_for(tx, [c.numberString for c in candidates])
        buying = {number for op in ctx.store.open_operations() for _, number in purchase_members(op.address, op.request)}
        return [c for c in candidates if c.numberString not in held and c.numberString not in buying]

    try:
        for _ in range(STOCK_PAGES):
            candidates = await anext(pages, [])  # a page: a few more than the attempts a purchase makes
            if not candidates:
                return []
            found = await asyncio.to_thread(free, candidates)
            if found:
                return found
        return []
    finally:
        await pages.aclose()


def price_of(item: Any) -> Decimal | None:
    from controller.resources.phone_number import price_of as bird_price

    data = item.model_dump(mode="json", by_alias=True) if hasattr(item, "model_dump") else dict(item or {})
    return bird_price(data)


def record_bought(ctx: ApiContext, row: ApiPurchaseRow, ws: Workspace, number: str, number_id: str,
                  price: Decimal | None) -> None:
    """The row learns the number first (a crash after this resumes by recording, never by buying),
    then the pool holds it (owner api), then the purchase is done."""
    with ctx.store.transaction() as tx:
        fresh = repo.purchase(tx, row.id or 0)
        assert fresh is not None
        fresh.number, fresh.bird_number_id, fresh.updated_at = number, number_id, ctx.now()
        tx.add(fresh)
    tenant.record_number_acquired(ctx.store, row.organization, ws.name, number, bird_number_id=number_id,
                                  monthly_price=price, at=ctx.now(), owner="api")
    mark(ctx, row, "succeeded", None)


def mark(ctx: ApiContext, row: ApiPurchaseRow, status: str, error: str | None) -> None:
    with ctx.store.transaction() as tx:
        fresh = repo.purchase(tx, row.id or 0)
        if fresh is not None:
            fresh.status, fresh.error, fresh.updated_at = status, error, ctx.now()
            tx.add(fresh)


def release_lease(ctx: ApiContext, row: ApiPurchaseRow) -> None:
    with ctx.store.transaction() as tx:
        fresh = repo.purchase(tx, row.id or 0)
        if fresh is not None:
            fresh.lease_until = ctx.now()
            tx.add(fresh)


def has_open_intent(ctx: ApiContext, row: ApiPurchaseRow) -> bool:
    address = address_of(row.id or 0)
    return any(op.address == address and op.action == "create" for op in ctx.store.open_operations())


def load(ctx: ApiContext, purchase_id: int) -> ApiPurchaseRow:
    with ctx.store.transaction() as tx:
        row = repo.purchase(tx, purchase_id)
    assert row is not None
    return row


# --- 3. the SMS channel -----------------------------------------------------------------------------


async def install_channel(ctx: ApiContext, row: ApiPurchaseRow, directory: Directory) -> ApiPurchaseRow:
    """The number's SMS channel under the organization's 10DLC campaign. A failure leaves the number
    bought (and says why); the same Idempotency-Key retries the channel alone."""
    from controller.bird.models import ConnectorCreate
    from controller.reconcile import engine

    ws = directory.by_name(row.workspace)
    campaign = directory.campaign_in(ws.uuid) if ws else None
    if ws is None or campaign is None or not row.bird_number_id:
        return row
    body = {"connectorTemplateRef": CHANNEL_TEMPLATE, "name": f"SMS {row.number} (platform API)",
            "arguments": {"phoneNumberId": row.bird_number_id, "useCaseId": campaign.campaign_id,
                          "channelMessageType": "transactional"},
            "channelConversationalStatusEnabled": True}
    change = Change(address_of(row.id or 0), "create", "channel for a number bought through the platform API", None,
                    {"number": row.number}, payload={})
    try:
        async with organization_fence(ctx, row.organization) as settings, engine.bird_client(settings) as client:
            io = JournaledIO(client, ctx.store, now=ctx.now)

            async def probe() -> Any:
                async for connector in client.list_connectors(ws.uuid):
                    if (connector.arguments or {}).get("phoneNumberId") == row.bird_number_id:
                        return connector
                return None

            connector = await probe()
            if connector is None:
                connector = await io.journaled(change, request=body, key_suffix="channel", probe=probe,
                                               call=lambda: client.create_connector(ws.uuid,
                                                                                    ConnectorCreate.model_validate(body)))
            await asyncio.to_thread(save_channel, ctx, row, connector, campaign.campaign_id, None)
            await asyncio.to_thread(io.settle, change.address)
    except (ApplyError, BirdError, LeaseLost) as exc:
        # LeaseLost: the organization changed owner; nothing more is sent, the same key retries the channel.
        await asyncio.to_thread(save_channel, ctx, row, None, campaign.campaign_id, f"channel: {exc}")
    return await asyncio.to_thread(load, ctx, row.id or 0)


def save_channel(ctx: ApiContext, row: ApiPurchaseRow, connector: Any, campaign_id: str, error: str | None) -> None:
    from controller.resources.channel import connector_channel_id

    with ctx.store.transaction() as tx:
        fresh = repo.purchase(tx, row.id or 0)
        if fresh is None:
            return
        if connector is not None:
            fresh.connector_id, fresh.channel_id = connector.id, connector_channel_id(connector)
        fresh.error = error
        tx.add(fresh)


def response(ctx: ApiContext, row: ApiPurchaseRow, directory: Directory) -> PurchaseResponse:
    from controller.api.app import number_item

    with ctx.store.transaction() as tx:
        config = tenant_repo.org_config(tx, row.organization)
        phone = tenant_repo.live_phone(tx, row.number or "")
        assignment = tenant_repo.active_assignment_of_number(tx, row.number or "")
    if phone is None or config is None:
        raise not_found(f"{row.number}, bought by purchase {row.id}, is no longer held (archived since)")
    item = number_item(phone, assignment, directory, rules.money_text(config.weekly_price), config.currency)
    ws = directory.by_name(row.workspace)
    campaign = directory.campaign_in(ws.uuid) if ws else None
    return PurchaseResponse(**item.model_dump(), purchaseId=row.id or 0, idempotencyKey=row.idempotency_key,
                            channelId=row.channel_id, connectorId=row.connector_id,
                            campaignId=campaign.campaign_id if campaign and row.connector_id else None,
                            channelError=row.error if row.error and row.error.startswith("channel:") else None)


# --- seed 002 archive -------------------------------------------------------------------------------


async def archive_workspace_phone(ctx: ApiContext, who: Principal, ws: Workspace, pid: int) -> PhoneNumberResponse:
    """Archive (irreversible, history kept); 409 naming the spec that owns the number, or the blockers.
    An API-bought number's own SMS channel is the API's to remove, so archiving removes it first."""
    from controller.api.app import guarded, one_ws_phone

    phone = await asyncio.to_thread(one_ws_phone, ctx, pid, ws)
    if phone.isArchived:
        return phone
    claim, _, _ = await asyncio.to_thread(ownership.number_claim, ctx.store, ctx.specs(), phone.number)
    if claim:
        raise conflict(f"{phone.number} is declared by the specs at {claim.text()}: remove it from the spec file "
                       "(with deletionPolicy: Archive) to archive it", code="owned_by_specs")
    with guarded():
        if phone.providerPhoneUuid is not None:
            blockers = await asyncio.to_thread(tenant.archive_blockers, ctx.store, who.organization, phone.number)
            if blockers:
                raise ArchiveBlocked(phone.number, blockers)
            await remove_api_channel(ctx, phone.number)
        await asyncio.to_thread(tenant.archive_workspace_phone, ctx.store, ws.name, pid, at=ctx.now())
    ctx.log("api.workspace_phone.archive", f"{who.user} archived workspace phone {pid} ({phone.number})",
            token_id=who.token_id, organization=who.organization, number=phone.number)
    return await asyncio.to_thread(one_ws_phone, ctx, pid, ws)


async def remove_api_channel(ctx: ApiContext, number: str) -> None:
    from controller.reconcile import engine

    def bought() -> ApiPurchaseRow | None:
        with ctx.store.transaction() as tx:
            return repo.purchases_of_numbers(tx, [number]).get(number)

    row = await asyncio.to_thread(bought)
    if row is None or not row.connector_id:
        return
    directory = await asyncio.to_thread(read_directory, ctx.store)
    ws = directory.by_name(row.workspace)
    if ws is None:
        return
    change = Change(address_of(row.id or 0), "delete", "archived through the platform API", {"number": number},
                    None, payload={})
    connector_id = row.connector_id
    try:
        async with organization_fence(ctx, row.organization) as settings, engine.bird_client(settings) as client:
            io = JournaledIO(client, ctx.store, now=ctx.now)
            await io.journaled(change, request={"connectorId": connector_id}, key_suffix="channel",
                               call=lambda: client.delete_connector(ws.uuid, connector_id))
            await asyncio.to_thread(io.settle, change.address)
    except LeaseLost as exc:
        raise ApiError(503, "organization_moving", f"{exc}; the channel was not removed: retry in "
                       f"{MOVING_RETRY_SECONDS} s", headers={"Retry-After": str(MOVING_RETRY_SECONDS)}) from None
    except (ApplyError, BirdError) as exc:
        if "404" not in str(exc) and "not found" not in str(exc).lower():
            raise ApiError(502, "bird_error", f"removing {number}'s SMS channel failed: {exc}; retry") from None

    def forget_channel() -> None:
        with ctx.store.transaction() as tx:
            fresh = repo.purchase(tx, row.id or 0)
            if fresh is not None:
                fresh.connector_id, fresh.channel_id = None, None
                tx.add(fresh)

    await asyncio.to_thread(forget_channel)
