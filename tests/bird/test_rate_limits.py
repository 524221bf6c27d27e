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


@pytest.fixture
def five_posts_a_second() -> Iterator[Bird]:
    """Over real HTTP: only a real connection writes its request after the client took its token."""
    yield from _serve("http", limited_world({"GET": 50, "POST": 5}))


async def test_a_request_written_late_is_counted_from_when_it_was_written(five_posts_a_second: Bird) -> None:
    # The first write's event loop pauses 80 ms between its rate token and its socket write (as a garbage
    # collection did, measured at 20-50 ms). Bird counts it when it arrives; so must the client's window,
    # or the sixth write, a window after the first token, arrives 0.95 s after the first and is refused.
    from tests.bird.test_client import brand_body

    stall = 0.08
    gates: list[float] = []
    written_first = 0.0

    def before_write() -> dict[str, str]:
        nonlocal written_first
        gates.append(time.monotonic())
        if len(gates) == 1:
            time.sleep(stall)  # the whole event loop stops, as in a collection
            written_first = time.monotonic()
        return {}

    async with five_posts_a_second.client(post_rate=5, requests_per_second=None, before_write=before_write) as client:
        await asyncio.gather(*(client.create_brand(WS_A, brand_body(displayName=f"Acme {i}")) for i in range(6)))
    # Lower bounds only: a slower machine writes later, never earlier. (Whether the emulator also refused
    # one depends on when its thread read the first request, so the test does not ask.)
    assert len(gates) >= 6
    assert gates[5] - written_first >= 1.0, (
        f"the sixth write went {gates[5] - written_first:.3f} s after the first was written: Bird counts 6 in a second")
