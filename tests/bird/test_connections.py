"""How many requests the client has on the wire, and over how many connections, against a real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from controller.bird import BirdConfigurationError
from controller.bird.client import BirdClient
from tests.bird.conftest import ACCESS_KEY, WS

pytestmark = pytest.mark.anyio


@dataclass
class Seen:
    connections: int = 0
    busy: int = 0
    most_busy: int = 0
    requests: int = 0
    peers: set[int] = field(default_factory=set)


@asynccontextmanager
async def slow_server(delay: float = 0.02) -> AsyncIterator[tuple[str, Seen]]:
    """An HTTP/1.1 server that keeps connections alive and answers every GET with an empty page after
    `delay`, counting connections and the requests it holds at once."""
    seen = Seen()
    body = json.dumps({"results": []}).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        seen.peers.add(writer.get_extra_info("peername")[1])
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                seen.requests += 1
                seen.busy += 1
                seen.most_busy = max(seen.most_busy, seen.busy)
                await asyncio.sleep(delay)
                seen.busy -= 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen


async def test_requests_in_flight_are_bounded_and_their_connections_kept_alive() -> None:
    async with slow_server() as (url, seen), \
            BirdClient(url, ACCESS_KEY, max_in_flight=3, requests_per_second=10_000) as client:
        pages = await asyncio.gather(*(client.json_pages("brands", workspaceId=WS).__anext__() for _ in range(30)))
    assert pages == [[]] * 30 and seen.requests == 30
    assert seen.most_busy == 3  # never more on the wire than allowed, and all of it used
    assert seen.connections == 3  # each slot kept its connection for the next request


async def test_max_in_flight_must_be_positive() -> None:
    with pytest.raises(BirdConfigurationError, match="max_in_flight"):
        BirdClient("http://127.0.0.1:9", ACCESS_KEY, max_in_flight=0)


async def test_a_proxy_named_by_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each connection's client skips httpx's read of the proxy variables only when there are none: with
    HTTP_PROXY set, a Bird that does not resolve is reached through the proxy (here a server that answers
    every request itself)."""
    async with slow_server(delay=0.0) as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with BirdClient("http://bird.invalid", ACCESS_KEY, max_attempts=1) as client:
            page = await client.json_pages("brands", workspaceId="11111111-2222-4222-8222-222222222222").__anext__()
    assert page == [] and seen.requests == 1
