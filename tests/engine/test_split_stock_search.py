"""A stock search that needs many pages is read as ten searches side by side (the prefix followed by each
digit), each from another of the organization's workspaces: one search pages one round trip at a time, so
10,000 numbers were 101 round trips in a row (15 s at 150 ms). Checked against the emulator under both
readings Bird documents for `prefix`: leading digits, and whole area codes only (where the ten find
nothing and the one search is read instead)."""

from __future__ import annotations

import math
import urllib.parse
from collections import Counter

import httpx
import pytest

from controller.bird.client import PAGE_SIZE, BirdClient
from controller.emulator.app import create_app
from controller.emulator.world import World
from controller.reconcile.observe import STOCK_MARGIN, Observer

ORG = "11111111-1111-4111-8111-111111111111"
WORKSPACES = [f"22222222-2222-4222-8222-22222222222{i}" for i in range(4)]
KEY = (ORG, "US", "local", "")
STOCK = 1500


class Recording(httpx.AsyncBaseTransport):
    """The ASGI transport, keeping each stock search's (workspace, prefix)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.searches: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/numbers-stock-items"):
            query = urllib.parse.parse_qs(request.url.query.decode())
            self.searches.append((request.url.path.split("/")[2], (query.get("prefix") or [""])[0]))
        return await self.inner.handle_async_request(request)


async def search(need: int, reading: str = "leading-digits") -> tuple[list[dict], Recording]:
    world = World.from_dict({
        "organizations": [{"id": ORG, "stock": [{"country": "US", "type": "local", "count": STOCK}],
                           "workspaces": [{"id": ws, "wallet": "100.00"} for ws in WORKSPACES]}],
        "accessKeys": [{"key": "k", "organizations": [ORG]}], "stockPrefix": reading})
    transport = Recording(httpx.ASGITransport(app=create_app(world)))
    async with BirdClient("http://bird.test", "k", transport=transport, requests_per_second=1000.0) as client:
        observer = Observer(client, [], {})
        observer.search_workspaces[KEY] = list(WORKSPACES)
        await observer.search_stock([KEY] * need)
    return observer.world.stock[KEY], transport


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_large_need_is_read_as_ten_searches_spread_over_the_workspaces(anyio_backend: str) -> None:
    items, transport = await search(1000)
    numbers = [item["numberString"] for item in items]
    assert len(numbers) == len(set(numbers)) >= 1000 + STOCK_MARGIN
    prefixes = Counter(prefix for _, prefix in transport.searches)
    assert set(prefixes) <= {f"+1{d}" for d in range(10)} and len(prefixes) >= 8  # +10 and +11 hold no US number
    assert {ws for ws, _ in transport.searches} == set(WORKSPACES)
    # At most one page more per search than one search would have read, never the whole stock.
    assert len(transport.searches) <= math.ceil((1000 + STOCK_MARGIN) / PAGE_SIZE) + 10
    assert len(numbers) < STOCK


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_where_bird_reads_the_prefix_as_an_area_code_the_one_search_is_read(anyio_backend: str) -> None:
    items, transport = await search(1000, reading="area-code")
    numbers = [item["numberString"] for item in items]
    assert len(numbers) == len(set(numbers)) >= 1000 + STOCK_MARGIN
    whole = [s for s in transport.searches if s[1] == ""]
    assert len(whole) == math.ceil((1000 + STOCK_MARGIN) / PAGE_SIZE)
    assert len(transport.searches) == len(whole) + 10  # the ten, once each, found nothing


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_need_of_a_few_pages_stays_one_search(anyio_backend: str) -> None:
    items, transport = await search(150)
    assert len(items) >= 150 + STOCK_MARGIN
    assert transport.searches == [(WORKSPACES[0], "")] * 2
