"""Observe: read Bird and the state into a World, with the fewest calls.

Whole collections are listed page by page (limit=99) once per workspace — never one GET per
resource where a list answers — and concurrently. Stock is searched only for numbers that still
have to be bought. The state is read in a handful of queries.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from typing import Any

from controller.bird import BirdAuthError, BirdClient, BirdError, BirdNotFound
from controller.resources.base import (
    Desired,
    OperationView,
    OrgConfigView,
    RecordView,
    TenantView,
    World,
)
from controller.resources.phone_number import number_of, stock_key


async def collect(items: AsyncIterator[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", by_alias=True) async for item in items]


def read_state(store: Any) -> tuple[dict[str, RecordView], list[OperationView], TenantView]:
    from controller import tenant

    records = {
        address: RecordView(r.address, r.kind, r.bird_id, r.spec_hash, dict(r.spec or {}), dict(r.data or {}))
        for address, r in store.records().items()
    }
    ops = [OperationView(o.id, o.address, o.action, o.key, dict(o.request or {})) for o in store.open_operations()]
    return records, ops, tenant_view(tenant.snapshot(store))


def tenant_view(snap: Any) -> TenantView:
    orgs = {
        name: OrgConfigView(
            bird_organization_id=c.bird_organization_id,
            enabled=c.enabled,
            limit=c.limit,
            weekly_price=c.weekly_price,
            currency=c.currency,
            ten_dlc_active=c.ten_dlc_active,
        )
        for name, c in snap.orgs.items()
    }
    return TenantView(
        orgs=orgs,
        assignments=dict(snap.assignments),
        held_numbers=dict(snap.held_numbers),
        archived_numbers=frozenset(snap.archived_numbers),
    )


class Observer:
    def __init__(self, client: BirdClient | None, desired: Iterable[Desired], records: dict[str, RecordView]):
        self.client = client
        self.desired = list(desired)
        self.records = records
        self.world = World(records=records)

    def workspaces(self) -> set[str]:
        ids = {d.context["workspaceId"] for d in self.desired if d.context.get("workspaceId")}
        ids |= {r.data["workspaceId"] for r in self.records.values() if r.data.get("workspaceId")}
        return ids

    def subscription_scopes(self) -> set[tuple[str, str]]:
        scopes = {
            (d.context["organizationId"], d.context["workspaceId"])
            for d in self.desired
            if d.kind in ("WebhookSubscription", "Workspace") and d.context.get("organizationId")
        }
        scopes |= {
            (r.data["organizationId"], r.data["workspaceId"])
            for r in self.records.values()
            if r.kind == "WebhookSubscription" and r.data.get("organizationId")
        }
        return scopes

    async def guarded(self, scope: str, coro: Any) -> Any:
        """Run one observation; a workspace Bird does not know is reported, not raised.

        A 401/403 is not "this workspace is empty": the key is wrong or not allowed, so the whole run
        stops (BirdAuthError propagates) before anything is planned, written to Bird or to the state."""
        try:
            return await coro
        except BirdAuthError:
            raise
        except BirdNotFound as exc:
            self.world.unreachable[scope] = str(exc)
            return None

    async def observe_workspace(self, ws: str) -> None:
        assert self.client is not None
        scope = f"workspace {ws}"
        numbers, brands, connectors = await asyncio.gather(
            self.guarded(scope, collect(self.client.list_numbers(ws))),
            self.guarded(scope, collect(self.client.list_brands(ws))),
            self.guarded(scope, collect(self.client.list_connectors(ws))),
        )
        if scope in self.world.unreachable:
            return
        self.world.numbers[ws], self.world.brands[ws], self.world.connectors[ws] = numbers, brands, connectors
        if connectors:  # readiness is the channel's (Bird): one list, only where a channel can exist
            channels = await self.guarded(scope, collect(self.client.list_channels(ws)))
            if scope in self.world.unreachable:
                return
            self.world.channels[ws] = channels
        if any(d.kind == "Campaign" and d.fields.get("resellerId") and d.context["workspaceId"] == ws
               for d in self.desired):
            self.world.resellers[ws] = await collect(self.client.list_resellers(ws))
        await asyncio.gather(*(self.observe_brand(ws, brand_id) for brand_id in self.relevant_brands(ws, brands)))

    def relevant_brands(self, ws: str, brands: list[dict[str, Any]]) -> set[str]:
        """Only brands the specs or the state point at: their campaigns and vettings are listed."""
        wanted = {r.bird_id for r in self.records.values() if r.kind == "Brand" and r.bird_id}
        keys = {
            (d.fields.get("ein"), d.fields.get("companyName"))
            for d in self.desired
            if d.kind == "Brand" and d.context["workspaceId"] == ws
        }
        return {b["id"] for b in brands if b["id"] in wanted or (b.get("ein"), b.get("companyName")) in keys}

    async def observe_brand(self, ws: str, brand_id: str) -> None:
        assert self.client is not None
        campaigns, vettings = await asyncio.gather(
            collect(self.client.list_campaigns(ws, brand_id)),
            collect(self.client.list_vettings(ws, brand_id)),
        )
        self.world.campaigns[(ws, brand_id)] = campaigns
        self.world.vettings[(ws, brand_id)] = vettings

    async def observe_subscriptions(self, org: str, ws: str) -> None:
        assert self.client is not None
        subs = await self.guarded(f"workspace {ws}", collect(self.client.list_webhook_subscriptions(org, ws)))
        if subs is not None:
            self.world.subscriptions[(org, ws)] = subs

    def stock_needs(self) -> Counter[tuple[str, str, str, str]]:
        """How many numbers each stock search must offer: one per desired number not owned yet."""
        needs: Counter[tuple[str, str, str, str]] = Counter()
        owned_ids: dict[str, set[str]] = {}
        owned_numbers: dict[str, set[str | None]] = {}
        for d in self.desired:
            if d.kind not in ("PhoneNumber", "NumberPool"):
                continue
            ws = d.context["workspaceId"]
            owned = self.world.numbers.get(ws)
            if owned is None:
                continue
            if ws not in owned_ids:
                owned_ids[ws] = {n["id"] for n in owned}
                owned_numbers[ws] = {number_of(n) for n in owned}
            record = self.records.get(d.address)
            if record and record.bird_id in owned_ids[ws]:
                continue
            if "number" in d.fields and d.fields["number"] in owned_numbers[ws]:
                continue
            needs[stock_key(ws, d.fields)] += 1
        return needs

    async def observe_stock(self, key: tuple[str, str, str, str], count: int) -> None:
        assert self.client is not None
        ws, country, kind, prefix = key
        items: list[dict[str, Any]] = []
        search = (
            self.client.available_numbers(ws, country=country, prefix=prefix, limit=1)
            if kind == "number"
            else self.client.available_numbers(ws, country=country, type=kind, prefix=prefix or None,
                                               limit=min(99, count + 5))
        )
        async for item in search:
            items.append(item.model_dump(mode="json", by_alias=True))
            # Held numbers and numbers picked by other resources are skipped by the planner, so
            # ask for a few more than needed; stop early, the search can be long.
            if len(items) >= count + 5:
                break
        self.world.stock[key] = items

    async def run(self) -> World:
        if self.client is not None:
            await asyncio.gather(*(self.observe_workspace(ws) for ws in sorted(self.workspaces())))
            await asyncio.gather(*(self.observe_subscriptions(o, w) for o, w in sorted(self.subscription_scopes())))
            await asyncio.gather(*(self.observe_stock(k, n) for k, n in sorted(self.stock_needs().items())))
        return self.world


async def observe(client: BirdClient | None, store: Any, desired: Iterable[Desired]) -> World:
    records, ops, tenant = read_state(store)
    observer = Observer(client, desired, records)
    world = await observer.run()
    world.open_operations = ops
    world.tenant = tenant
    world.known_addresses = frozenset(store.conditions())
    return world


__all__ = ["observe", "BirdError"]
