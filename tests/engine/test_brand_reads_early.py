"""With an earlier observation (the daemon's warm cache), a workspace's brands' campaigns and vettings are
read alongside its lists, not after the brand list answered: one round trip less for a targeted plan.
Checked against the emulator: the brand list's answer is held until a brand's campaigns are asked for,
which can only happen before it if that read was started early."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from controller.bird.client import BirdClient
from controller.emulator.app import create_app
from controller.emulator.world import World as EmulatorWorld
from controller.reconcile.observe import Observer
from controller.resources.base import RecordView, World

ORG = "11111111-1111-4111-8111-111111111111"
WS = "22222222-2222-4222-8222-222222222222"
GONE_BRAND = "bbbbbbbb-0000-4000-8000-000000000001"  # listed by the earlier observation, not on Bird now


class HoldBrandList(httpx.AsyncBaseTransport):
    """The emulator over ASGI; the brand list is answered only once a brand's campaigns or vettings were
    asked for, or after `hold` seconds (which a read started only after the list's answer always waits out)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, hold: float) -> None:
        self.inner, self.hold = inner, hold
        self.brand_read = asyncio.Event()
        self.list_held_for_brand_read: bool | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith(("/campaigns", "/vettings")):
            self.brand_read.set()
        elif path.endswith("/tcr-brands"):
            try:
                await asyncio.wait_for(self.brand_read.wait(), self.hold)
                self.list_held_for_brand_read = True
            except TimeoutError:
                self.list_held_for_brand_read = False
        return await self.inner.handle_async_request(request)


def brand_record() -> dict[str, RecordView]:
    return {"Brand/acme": RecordView("Brand/acme", "Brand", GONE_BRAND, None, {}, {"workspaceId": WS})}


async def observe(earlier: World | None, hold: float) -> tuple[World, HoldBrandList]:
    world = EmulatorWorld.from_dict({"organizations": [{"id": ORG, "workspaces": [{"id": WS, "wallet": "10.00"}]}],
                                     "accessKeys": [{"key": "k", "organizations": [ORG]}]})
    transport = HoldBrandList(httpx.ASGITransport(app=create_app(world)), hold)
    async with BirdClient("http://bird.test", "k", transport=transport, requests_per_second=1000.0) as client:
        observer = Observer(client, [], brand_record(), only=frozenset({WS}), earlier=earlier)
        return await observer.run(), transport


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_brand_known_from_the_earlier_observation_is_read_beside_the_brand_list(anyio_backend: str) -> None:
    earlier = World(records={}, brands={WS: [{"id": GONE_BRAND}]})
    world, transport = await observe(earlier, hold=4.0)  # (Bird's answer is awaited longer than that)
    assert transport.list_held_for_brand_read is True
    # The brand is no longer listed: its early read (a 404 from Bird) is dropped, not raised or kept.
    assert world.brands[WS] == [] and (WS, GONE_BRAND) not in world.campaigns
    assert not world.unreachable


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_without_an_earlier_observation_brands_are_read_after_their_list(anyio_backend: str) -> None:
    """The check itself: with nothing to start early, the list is answered before any brand read."""
    earlier = World(records={}, brands={})
    world, transport = await observe(earlier, hold=0.5)
    assert transport.list_held_for_brand_read is False
    assert world.brands[WS] == []
