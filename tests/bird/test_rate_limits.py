"""Bird's rate limits as its docs state them: per workspace and per method (50 GET/s, 500 POST/s by default),
held by the client and enforced by the emulator from its world file (429 with Retry-After). The client
waits every 429 out; none reaches the caller.

Timings here are coarse lower bounds that hold on a loaded machine (a limit makes calls slower, never
faster); speed targets live in bench/.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from controller.bird.ratelimit import RateLimits
from controller.emulator.world import World
from tests.bird.conftest import ACCESS_KEY, ORG, RESELLER, Bird, _serve

pytestmark = pytest.mark.anyio

WS_A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
WS_B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


def limited_world(limits: dict[str, float]) -> World:
    return World.from_dict({
        "organizations": [{"id": ORG, "resellers": [{"id": RESELLER}], "stock": [{"count": 50}],
                           "workspaces": [{"id": WS_A, "wallet": "1000.00"}, {"id": WS_B, "wallet": "1000.00"}]}],
        "accessKeys": [{"key": ACCESS_KEY, "organizations": [ORG]}],
        "rateLimits": limits,
    })


@pytest.fixture(params=["asgi", "http"])
def limited_bird(request: pytest.FixtureRequest) -> Iterator[Bird]:
    """Two workspaces; the emulator allows 10 GET/s per workspace (and 500 POST/s)."""
    yield from _serve(request.param, limited_world({"GET": 10, "POST": 500}))


async def brands(client: Any, ws: str) -> list[Any]:
    return [b async for b in client.list_brands(ws)]


async def test_limits_are_per_workspace_and_per_method(limited_bird: Bird) -> None:
    # 15 GETs in each of two workspaces, at 10 GET/s per workspace: about 1.4 s whether the workspaces
    # run one after the other or together only if each workspace has its own bucket (one shared
    # bucket would take 2.9 s). POSTs meanwhile do not wait behind the GETs.
    async with limited_bird.client(get_rate=10, post_rate=500, requests_per_second=None) as client:
        started = time.monotonic()
        await asyncio.gather(*(brands(client, ws) for ws in (WS_A, WS_B) for _ in range(15)))
        both = time.monotonic() - started
        limits = client.limits
        assert limits.bucket(WS_A, "GET") is not limits.bucket(WS_B, "GET")
        assert limits.bucket(WS_A, "GET") is not limits.bucket(WS_A, "POST")
        assert limits.bucket(WS_A, "POST") is limits.bucket(WS_A, "PATCH"), "writes share the POST limit"
    assert 1.2 <= both < 2.8, f"15 GETs per workspace at 10/s per workspace took {both:.2f} s"


async def test_a_client_faster_than_bird_waits_every_429_out(limited_bird: Bird) -> None:
    async with limited_bird.client(requests_per_second=1000) as client:
        results = await asyncio.gather(*(brands(client, WS_A) for _ in range(30)))
    assert len(results) == 30, "every call succeeded"
    assert client.rate_limited_count > 0, "the emulator enforced its 10 GET/s"
    assert client.request_count == 30 + client.rate_limited_count


async def test_the_emulator_answers_429_with_retry_after_per_workspace_and_method(limited_bird: Bird) -> None:
    import httpx

    headers = {"Authorization": f"AccessKey {ACCESS_KEY}"}
    async with httpx.AsyncClient(base_url=limited_bird.url, transport=limited_bird.transport(),
                                 headers=headers) as http:
        first = [(await http.get(f"/workspaces/{WS_A}/tcr-brands")).status_code for _ in range(12)]
        other_workspace = (await http.get(f"/workspaces/{WS_B}/tcr-brands")).status_code
        limited = await http.get(f"/workspaces/{WS_A}/tcr-brands")
    assert first[:10] == [200] * 10 and 429 in first[10:]
    assert other_workspace == 200, "another workspace has its own limit"
    assert limited.status_code == 429 and float(limited.headers["retry-after"]) > 0


def test_rate_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="GET rate limit"):
        RateLimits(0, 500)
