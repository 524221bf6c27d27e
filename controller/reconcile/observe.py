"""Observe: read Bird and the state into a World, with the fewest calls.

Whole collections are listed page by page at Bird's largest page (99; channels 1000, webhook
subscriptions 100) once per workspace — never one GET per resource where a list answers — and
concurrently. Stock is searched only for numbers that still
have to be bought. The state is read in a handful of queries.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controller.bird import BirdAuthError, BirdClient, BirdError, BirdNotFound
from controller.bird.client import PAGE_SIZE
from controller.resources.base import (
    ORDER,
    Desired,
    OperationView,
    OrgConfigView,
    RecordView,
    TenantView,
    World,
)
from controller.resources.organization import ten_dlc_active
from controller.resources.phone_number import StockKey, number_of, stock_key, stock_shortfall

# Stock numbers asked for beyond the need on the first page: held numbers are skipped by the planner.
STOCK_MARGIN = 5
# A stock search pages one request at a time (each page names the next): 10,000 numbers are 101 round
# trips, 15 s at 150 ms. A search that needs more pages than this is split by the prefix's next digit
# into ten searches read side by side, each from another of the organization's workspaces (Bird's GET
# limit is per workspace).
STOCK_SPLIT_PAGES = 3


StateRead = tuple[dict[str, RecordView], list[OperationView], TenantView]


@dataclass(eq=False)
class StockSource:
    """One stock search being paged: from which workspace, its pages, what it found so far."""

    workspace: str
    pages: AsyncIterator[list[Any]]
    part: bool = False  # one of the ten searches a split search reads (see Observer.stock_sources)
    exact: bool = False  # an exact number's one-item search
    spent: bool = False
    items: list[dict[str, Any]] = field(default_factory=list)

    async def close(self) -> None:
        aclose = getattr(self.pages, "aclose", None)
        if aclose is not None:
            await aclose()


def in_use(sources: list[StockSource]) -> list[StockSource]:
    """The split searches while they stand for the whole one, else the whole one."""
    parts = [s for s in sources if s.part]
    return parts or [s for s in sources if not s.part]


def calling_code(country: str) -> str:
    """"+1" for US: what every number of the country begins with ("" for a country phonenumbers does not know)."""
    import phonenumbers

    code = phonenumbers.country_code_for_region(country)
    return f"+{code}" if code else ""


async def collect(pages: AsyncIterator[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [item async for page in pages for item in page]


def read_state(store: Any, known_rows: Any = None) -> StateRead:
    """The records, open operations and tenant view. `known_rows`: the state's RecordRowCache of a
    long-running caller (the daemon), so that only the records changed since its last read are decoded."""
    from controller import tenant

    # The records' dicts are not copied (at 20,000 records the copies were tens of MB at the plan's peak):
    # nothing changes them in place, so a cache may share them between plans.
    records = {row[0]: RecordView(*row) for row in store.record_rows(known_rows)}
    ops = [OperationView(o.id, o.address, o.action, o.key, dict(o.request or {})) for o in store.open_operations()]
    return records, ops, tenant_view(tenant.plan_snapshot(store))


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
        api_numbers=frozenset(snap.api_numbers),
        api_assignments=frozenset(snap.api_assignments),
        api_purchases_pending=dict(snap.api_purchases_pending),
        forgotten=dict(snap.forgotten),
    )


# What a workspace's observation lists first (a prefetch asks for the same).
WORKSPACE_LISTS = ("numbers", "brands", "channels")


def named_workspaces(desired: Iterable[Desired]) -> set[str]:
    """The Bird workspaces the specs name (each one's lists are read)."""
    return {d.context["workspaceId"] for d in desired if d.context.get("workspaceId")}


def desired_subscription_scopes(desired: Iterable[Desired]) -> set[tuple[str, str]]:
    """The (organization, workspace) pairs whose webhook subscriptions the specs make worth reading."""
    return {(d.context["organizationId"], d.context["workspaceId"]) for d in desired
            if d.kind in ("WebhookSubscription", "Workspace") and d.context.get("organizationId")}


class Observer:
    def __init__(self, client: BirdClient | None, desired: Iterable[Desired], records: dict[str, RecordView],
                 tenant: TenantView | None = None, *, only: frozenset[str] | None = None,
                 earlier: World | None = None, prefetch: Prefetch | None = None):
        self.client = client
        self.prefetch = prefetch
        self.desired = list(desired)
        self.records = records
        self.tenant = tenant
        self.world = World(records=records, observed_workspaces=only)
        # Per stock search, the organization's workspaces that ask for it, in the planner's order.
        self.search_workspaces: dict[StockKey, list[str]] = {}
        # A targeted reconcile reads only the workspaces `only` names; `earlier` (the last observation)
        # stands in for the others, so organization-wide facts (10DLC active, stock needs) still see them.
        self.only = only
        self.earlier = earlier if only is not None else None
        # What each workspace's observation asks of the specs and records, indexed once: asked per
        # workspace by scanning, it made a plan of hundreds of workspaces quadratic.
        self.reseller_workspaces = {d.context["workspaceId"] for d in self.desired
                                    if d.kind == "Campaign" and d.fields.get("resellerId")}
        self.recorded_brands = {r.bird_id for r in records.values() if r.kind == "Brand" and r.bird_id}
        self.brand_keys: dict[str, set[tuple[Any, Any]]] = {}
        for d in self.desired:
            if d.kind == "Brand":
                self.brand_keys.setdefault(d.context["workspaceId"], set()).add(
                    (d.fields.get("ein"), d.fields.get("companyName")))

    def workspaces(self) -> set[str]:
        ids = named_workspaces(self.desired)
        ids |= {r.data["workspaceId"] for r in self.records.values() if r.data.get("workspaceId")}
        return ids if self.only is None else ids & self.only

    def subscription_scopes(self) -> set[tuple[str, str]]:
        scopes = desired_subscription_scopes(self.desired)
        scopes |= {
            (r.data["organizationId"], r.data["workspaceId"])
            for r in self.records.values()
            if r.kind == "WebhookSubscription" and r.data.get("organizationId")
        }
        return scopes if self.only is None else {(o, w) for o, w in scopes if w in self.only}

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
        # With an earlier observation (the daemon's), the campaigns and vettings of the brands it listed here
        # are read alongside the workspace's lists, not after them: a targeted plan is one round trip
        # shorter (150 ms with Bird that far away). A brand listed now and not then is read after the lists;
        # the early read of one no longer listed is dropped.
        listed_before = self.earlier.brands.get(ws, []) if self.earlier is not None else []
        early = {b: asyncio.ensure_future(self.read_brand(ws, b)) for b in self.relevant_brands(ws, listed_before)}
        try:
            # A channel carries its connector, number, campaign and readiness, 1000 a page: the SMS connectors
            # are read on their channels, not listed again 99 a page.
            numbers, brands, channels = await asyncio.gather(
                *(self.guarded(scope, self.listing(what, workspaceId=ws)) for what in WORKSPACE_LISTS))
            if scope in self.world.unreachable:
                return
            self.world.numbers[ws], self.world.brands[ws], self.world.channels[ws] = numbers, brands, channels
            if ws in self.reseller_workspaces:
                self.world.resellers[ws] = await collect(self.client.json_pages("resellers", workspaceId=ws))
            relevant = sorted(self.relevant_brands(ws, brands))
            read = await asyncio.gather(*(early.pop(b) if b in early else self.read_brand(ws, b) for b in relevant))
            for brand_id, (campaigns, vettings) in zip(relevant, read, strict=True):
                self.world.campaigns[(ws, brand_id)] = campaigns
                self.world.vettings[(ws, brand_id)] = vettings
        finally:
            # What is no longer wanted (a brand gone, the workspace unreachable, a failed read) finishes
            # here, its answer or its error dropped, so that no read outlives the observation.
            await asyncio.gather(*early.values(), return_exceptions=True)

    def listing(self, what: str, **params: str) -> Awaitable[list[dict[str, Any]]]:
        """One whole Bird list: as prefetched, if it was, else read now."""
        assert self.client is not None
        ahead = self.prefetch.take(what, params) if self.prefetch is not None else None
        return ahead if ahead is not None else collect(self.client.json_pages(what, **params))

    def relevant_brands(self, ws: str, brands: list[dict[str, Any]]) -> set[str]:
        """Only brands the specs or the state point at: their campaigns and vettings are listed."""
        wanted, keys = self.recorded_brands, self.brand_keys.get(ws, set())
        return {b["id"] for b in brands if b["id"] in wanted or (b.get("ein"), b.get("companyName")) in keys}

    async def read_brand(self, ws: str, brand_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A brand's campaigns and vettings."""
        assert self.client is not None
        campaigns, vettings = await asyncio.gather(
            self.listing("campaigns", workspaceId=ws, brandId=brand_id),
            self.listing("vettings", workspaceId=ws, brandId=brand_id),
        )
        return campaigns, vettings

    async def observe_subscriptions(self, org: str, ws: str) -> None:
        assert self.client is not None
        subs = await self.guarded(f"workspace {ws}",
                                  self.listing("webhook-subscriptions", organizationId=org, workspaceId=ws))
        if subs is not None:
            self.world.subscriptions[(org, ws)] = subs

    def stock_requests(self) -> list[StockKey]:
        """The stock search of every desired number that is not owned yet and that the plan may buy now,
        in the planner's order (so the shortfall computed here is the planner's)."""
        budgets = self.purchase_budgets()
        requests: list[StockKey] = []
        owned_ids: dict[str, set[str]] = {}
        owned_numbers: dict[str, set[str | None]] = {}
        numbers = [d for d in self.desired if d.kind in ("PhoneNumber", "NumberPool")]
        for d in sorted(numbers, key=lambda d: (ORDER.get(d.kind, 99), d.address)):
            ws = d.context["workspaceId"]
            owned = self.world.numbers.get(ws)
            if owned is None or (self.only is not None and ws not in self.only):
                continue  # not read now (an earlier observation's): nothing is bought there in this plan
            if ws not in owned_ids:
                owned_ids[ws] = {n["id"] for n in owned}
                owned_numbers[ws] = {number_of(n) for n in owned}
            record = self.records.get(d.address)
            if record and record.bird_id in owned_ids[ws]:
                continue
            if "number" in d.fields and d.fields["number"] in owned_numbers[ws]:
                continue
            if budgets.get(d.organization, 1) <= 0:
                continue  # the planner makes it wait (10DLC not active yet) or refuses it (limit)
            if d.organization in budgets:
                budgets[d.organization] -= 1
            key = stock_key(d.organization, d.fields)
            requests.append(key)
            # Searched through the organization's workspaces that ask (the first, unless the search is
            # split): the stock is the organization's, and one search serves all of them.
            asking = self.search_workspaces.setdefault(key, [])
            if ws not in asking:
                asking.append(ws)
        return requests

    def purchase_budgets(self) -> dict[str, int]:
        """Per organization, at most how many numbers the planner may buy in this plan (seed 000): the first
        number always; more only with multiSmsNumbers enabled and the 10DLC active; never beyond the limit.
        An upper bound (adoptions count too in the planner): stock is never searched for numbers that
        only wait, and never too little."""
        held = Counter(self.tenant.held_numbers.values()) if self.tenant else Counter()
        budgets = {}
        for d in self.desired:
            if d.kind != "Organization":
                continue
            limit = int(d.fields.get("limit", 1))
            more = bool(d.fields.get("enabled")) and ten_dlc_active(d.context.get("workspaceIds", []), self.world)
            budgets[d.organization] = max(0, (limit if more else min(1, limit)) - held[d.organization])
        return budgets

    async def search_stock(self, requests: list[StockKey]) -> None:
        """Page through each search until every request can get a number the others did not take, or
        the stock has no more pages: ceil(need / 99) requests per search when nothing is in the way, read
        ten side by side when that is more than STOCK_SPLIT_PAGES (see stock_sources)."""
        assert self.client is not None
        needs = Counter(requests)
        sources = {key: self.stock_sources(key, count + STOCK_MARGIN) for key, count in needs.items()}
        for key in needs:
            self.world.stock[key] = []
        # A few more than needed first: numbers the organization holds already are skipped.
        targets = {key: count + STOCK_MARGIN for key, count in needs.items()}
        unavailable = self.tenant.held_numbers if self.tenant else {}
        try:
            while targets:
                await asyncio.gather(*(self.fetch_stock(key, sources, target) for key, target in targets.items()))
                short = stock_shortfall(requests, self.world.stock, unavailable)
                targets = {key: len(self.world.stock[key]) + count for key, count in short.items()
                           if any(not source.spent for source in in_use(sources[key]))}
        finally:
            for source in (source for listed in sources.values() for source in listed):
                await source.close()

    def stock_sources(self, key: StockKey, need: int) -> list[StockSource]:
        """One search for the key; or, when it needs more than STOCK_SPLIT_PAGES pages, ten: the prefix
        (the country's calling code without one) followed by each digit, which together hold exactly the
        numbers the whole search holds. Bird documents the prefix both as "numbers beginning with the
        prefix" and as an area code; where the ten find nothing, fetch_stock falls back to the one search."""
        assert self.client is not None
        _, country, kind, prefix = key
        workspaces = self.search_workspaces[key]
        if kind == "number":  # an exact number: its whole E.164 string as the prefix, one item
            return [StockSource(workspaces[0], self.client.stock_item_pages(workspaces[0], country=country,
                                                                            prefix=prefix, limit=1), exact=True)]
        whole = StockSource(workspaces[0], self.client.stock_item_pages(workspaces[0], country=country, type=kind,
                                                                         prefix=prefix or None))
        base = prefix or calling_code(country)
        if need <= STOCK_SPLIT_PAGES * PAGE_SIZE or not base:
            return [whole]
        parts = [StockSource(ws, self.client.stock_item_pages(ws, country=country, type=kind, prefix=f"{base}{digit}"),
                             part=True)
                 for digit, ws in zip(range(10), itertools.cycle(workspaces), strict=False)]
        return [*parts, whole]

    async def fetch_stock(self, key: StockKey, sources: dict[StockKey, list[StockSource]], target: int) -> None:
        """Read pages, one round trip at a time, until the key's search holds `target` items or is spent.
        Split searches are read side by side, as many at once as the items still missing need pages."""
        listed = sources[key]
        while len(self.world.stock[key]) < target:
            live = [s for s in in_use(listed) if not s.spent]
            if not live:
                return
            missing = target - len(self.world.stock[key])
            await asyncio.gather(*(self.next_stock_page(s) for s in live[:max(1, -(-missing // PAGE_SIZE))]))
            parts = [s for s in listed if s.part]
            if parts and all(s.spent for s in parts) and not any(s.items for s in parts):
                for s in parts:  # the ten found nothing: this Bird takes the prefix as an area code only
                    s.part = False
            self.world.stock[key] = [item for s in in_use(listed) for item in s.items]

    async def next_stock_page(self, source: StockSource) -> None:
        try:
            page = await self.guarded(f"workspace {source.workspace}", anext(source.pages))
        except StopAsyncIteration:
            page = None
        if page is None:  # the stock has no more pages (or the workspace cannot be read)
            source.spent = True
            return
        source.items.extend(item.model_dump(mode="json", by_alias=True) for item in page)
        if source.exact:  # an exact number: its one-item search answers it
            source.spent = True

    async def run(self) -> World:
        if self.client is not None:
            # Subscriptions are read alongside the workspaces (their scopes come from the specs and the state,
            # not from what is read): one round trip less for every plan, 150 ms when Bird is that far away.
            await asyncio.gather(*(self.observe_workspace(ws) for ws in sorted(self.workspaces())),
                                 *(self.observe_subscriptions(o, w) for o, w in sorted(self.subscription_scopes())))
            if self.earlier is not None:
                carry_over(self.earlier, self.world, self.only or frozenset())
            requests = self.stock_requests()
            if requests:
                await self.search_stock(requests)
        return self.world


def carry_over(earlier: World, world: World, read: frozenset[str]) -> None:
    """Copy the earlier observation's Bird collections of the workspaces not read now into `world`.
    Stock is never carried over: it is searched afresh for what the plan may buy."""
    for name in ("numbers", "brands", "channels", "resellers"):
        mine, theirs = getattr(world, name), getattr(earlier, name)
        for ws, items in theirs.items():
            if ws not in read:
                mine.setdefault(ws, items)
    for name in ("campaigns", "vettings"):
        mine, theirs = getattr(world, name), getattr(earlier, name)
        for (ws, brand), items in theirs.items():
            if ws not in read:
                mine.setdefault((ws, brand), items)
    for (org, ws), items in earlier.subscriptions.items():
        if ws not in read:
            world.subscriptions.setdefault((org, ws), items)
    for scope, why in earlier.unreachable.items():
        if scope.removeprefix("workspace ") not in read:
            world.unreachable.setdefault(scope, why)


class Prefetch:
    """Bird lists a plan is going to read, started before it reads the state: the lists wait on Bird and
    the state read on this process, so together they take the longer of the two, not the sum (at 150 ms a
    call, a round trip or two beside 0.3 s of state). Built from the specs (and the earlier observation's
    brands, if any); whatever the observation does not take is cancelled by close()."""

    def __init__(self, client: BirdClient, lists: Iterable[tuple[str, dict[str, str]]]) -> None:
        self.tasks = {self.key(what, params): asyncio.ensure_future(collect(client.json_pages(what, **params)))
                      for what, params in lists}

    @staticmethod
    def key(what: str, params: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
        return what, tuple(sorted(params.items()))

    @classmethod
    def of_workspaces(cls, client: BirdClient, workspaces: Iterable[str], earlier: World | None,
                      desired: Iterable[Desired]) -> Prefetch:
        """Each workspace's numbers, brands, channels and webhook subscriptions, and the campaigns and
        vettings of the brands whose campaigns the earlier observation, if any, read there."""
        wanted = set(workspaces)
        lists: list[tuple[str, dict[str, str]]] = []
        for ws in sorted(wanted):
            lists += [(what, {"workspaceId": ws}) for what in WORKSPACE_LISTS]
        for ws, brand_id in sorted(earlier.campaigns if earlier is not None else ()):
            if ws in wanted:
                lists += [(what, {"workspaceId": ws, "brandId": brand_id}) for what in ("campaigns", "vettings")]
        scopes = {(org, ws) for org, ws in desired_subscription_scopes(desired) if ws in wanted}
        lists += [("webhook-subscriptions", {"organizationId": org, "workspaceId": ws}) for org, ws in sorted(scopes)]
        return cls(client, lists)

    def take(self, what: str, params: dict[str, str]) -> asyncio.Future[list[dict[str, Any]]] | None:
        return self.tasks.pop(self.key(what, params), None)

    async def close(self) -> None:
        """Cancel what was not taken; its answer or error is dropped."""
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()


async def observe(client: BirdClient | None, store: Any, desired: Iterable[Desired], *,
                  only: frozenset[str] | None = None, earlier: World | None = None,
                  state: StateRead | None = None, prefetch: Prefetch | None = None) -> World:
    """Read Bird and the state. `only`: read just these workspaces (the world says so in
    observed_workspaces, and the planner acts on nothing elsewhere); `earlier` fills in the others;
    `state`: read_state(store), when the caller has read it already; `prefetch`: lists already asked for."""
    records, ops, tenant = state if state is not None else read_state(store)
    observer = Observer(client, desired, records, tenant, only=only, earlier=earlier, prefetch=prefetch)
    world = await observer.run()
    world.open_operations = ops
    world.tenant = tenant
    world.known_addresses = store.condition_addresses()
    if client is not None and client.bird_now:
        world.bird_now = datetime.fromtimestamp(client.bird_now, UTC)
    return world


__all__ = ["observe", "BirdError"]
