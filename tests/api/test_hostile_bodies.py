"""Bodies are bounded before anything else: the daemon (a real process, over HTTP) refuses a body
without a token before reading it (401), one above the route's cap as soon as it is declared or
counted (413, the JSON error shape), and its memory stays where it was under 20 concurrent 100 MB
bodies of each kind."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from controller.api import access
from tests.api.conftest import World, build_world, make_token
from tests.api.hostile import MB, send_body
from tests.api.hostile import rss_kib as memory

PURCHASE = "/v1/sms/phone-numbers/purchase"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("api-bodies")
    yield from build_world(tmp, f"sqlite:///{tmp / 'state.db'}")


@pytest.fixture(scope="module")
def writer(world: World) -> str:
    return make_token(world.state_url, "svc@acme.example", "member", "--scopes", "phones:read,phones:write")


def test_no_token_is_refused_before_a_byte_of_the_body_is_read(world: World) -> None:
    answer = asyncio.run(send_body(world.daemon.port, "POST", PURCHASE, total=100 * MB))
    assert answer.status == 401 and answer.json()["error"]["code"] == "unauthorized"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.sent < 100 * MB


def test_a_body_above_the_cap_is_refused_when_declared_and_when_streamed(world: World, writer: str) -> None:
    cap = access.RULES[("POST", PURCHASE)].body_cap
    declared = asyncio.run(send_body(world.daemon.port, "POST", PURCHASE, total=cap + 1, token=writer))
    streamed = asyncio.run(send_body(world.daemon.port, "POST", PURCHASE, total=100 * MB, token=writer, chunked=True))
    for answer in (declared, streamed):
        assert answer.status == 413, answer
        assert answer.json()["error"]["code"] == "too_large" and f"at most {cap} bytes" in answer.json()["error"][
            "message"]
    assert streamed.sent < 100 * MB
    # At the cap, the body reaches the handler (which then judges it).
    at_cap = httpx.post(f"{world.daemon.url}{PURCHASE}", headers={"Authorization": f"Bearer {writer}",
                        "Content-Type": "application/json"}, content=b'{"country": "US"}'.ljust(cap), timeout=30)
    assert at_cap.status_code == 201, at_cap.text
    # A route that takes no body takes none.
    answer = asyncio.run(send_body(world.daemon.port, "GET", "/v1/sms/phone-numbers", total=10, token=writer))
    assert answer.status == 413 and "takes no body" in answer.json()["error"]["message"]


def test_memory_stays_put_under_twenty_concurrent_100_mb_bodies_of_each_kind(world: World, writer: str) -> None:
    pid, port = world.daemon.proc.pid, world.daemon.port

    kinds = [dict(token=None), dict(token=writer), dict(token=writer, chunked=True),
             dict(token=None, chunked=True, path="/webhooks/bird")]

    async def flood(times: int) -> list[int]:
        sends = [send_body(port, "POST", str(kind.get("path", PURCHASE)), total=100 * MB,
                           token=kind.get("token"), chunked=bool(kind.get("chunked")))  # type: ignore[arg-type]
                 for kind in kinds for _ in range(times)]
        return [a if isinstance(a, Exception) else a.status for a in await asyncio.gather(*sends, return_exceptions=True)]

    asyncio.run(flood(1))  # warm up: the first requests import and cache what later ones reuse
    before, peak_before = memory(pid)
    statuses = asyncio.run(flood(20))
    after, peak_after = memory(pid)
    assert statuses == [401] * 20 + [413] * 20 + [413] * 20 + [413] * 20
    print(f"RSS {before} KiB -> {after} KiB; peak {peak_before} KiB -> {peak_after} KiB")
    assert after - before < 8 * 1024, (before, after)
    # The webhook receiver holds up to its 1 MiB cap per delivery while it reads: 20 of them at most.
    assert peak_after - peak_before < 8 * 1024 + 20 * 1024, (peak_before, peak_after)
