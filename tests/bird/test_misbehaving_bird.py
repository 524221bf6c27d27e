"""What the emulator never does but a network or a broken server can: drop the connection after reading
the request, loop its page tokens, answer garbage. The client must classify each one correctly."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from controller.bird import BirdAmbiguousWriteError, BirdResponseError, BirdTransportError, routes
from controller.bird.client import BirdClient
from tests.bird.conftest import ACCESS_KEY, WS
from tests.bird.test_client import brand_body, collect

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def dropping_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A TCP server on a free loopback port that reads each request and closes without answering."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.read(65536))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", seen


def quick(url: str, **options: Any) -> BirdClient:
    return BirdClient(url, ACCESS_KEY, max_attempts=3, backoff_initial=0.01, backoff_max=0.02, timeout=2,
                      **options)


async def test_dropped_connection_after_a_post_is_ambiguous_and_not_resent(caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    async with dropping_server() as (url, seen), quick(url) as client:
        with pytest.raises(BirdAmbiguousWriteError) as info:
            await client.create_brand(WS, brand_body())
        await asyncio.sleep(0.05)
    assert "connection lost" in str(info.value) and info.value.route == routes.BRAND_CREATE
    assert len(seen) == 1 and seen[0].startswith(b"POST /workspaces/")
    assert client.request_count == 1
    assert ACCESS_KEY not in str(info.value) + repr(info.value) + caplog.text


async def test_dropped_connection_on_a_read_is_retried_then_reported() -> None:
    async with dropping_server() as (url, seen), quick(url) as client:
        with pytest.raises(BirdTransportError) as info:
            await collect(client.list_brands(WS))
        await asyncio.sleep(0.05)
    assert info.value.attempts == 3 and len(seen) == 3
    assert "Check the Bird URL" in str(info.value)


def asgi(handler: Callable[[dict[str, Any]], Awaitable[tuple[int, Any]]]) -> httpx.ASGITransport:
    """A minimal ASGI app answering every request with ``handler(scope)`` as JSON."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        status, body = await handler(scope)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": raw})

    return httpx.ASGITransport(app=app)


async def test_a_page_token_that_repeats_is_an_error_not_an_endless_loop() -> None:
    async def same_token(scope: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"results": [{"id": "b1"}], "nextPageToken": "again"}

    async with quick("http://bird.test", transport=asgi(same_token)) as client:
        with pytest.raises(BirdResponseError, match="repeated"):
            await collect(client.list_brands(WS))
        assert client.request_count == 2


@pytest.mark.parametrize("body", [b"<html>oops</html>", {"items": []}, {"results": [{"noId": True}]}])
async def test_a_success_with_an_unreadable_body_is_a_response_error(body: Any) -> None:
    async def garbage(scope: dict[str, Any]) -> tuple[int, Any]:
        return 200, body

    async with quick("http://bird.test", transport=asgi(garbage)) as client:
        with pytest.raises(BirdResponseError) as info:
            await collect(client.list_brands(WS))
    assert routes.BRANDS_LIST in str(info.value)


async def test_retries_are_logged_for_operators(caplog: Any) -> None:
    calls = 0

    async def flaky(scope: dict[str, Any]) -> tuple[int, Any]:
        nonlocal calls
        calls += 1
        return (503, {"code": "Unavailable", "message": "try later"}) if calls == 1 else (200, {"results": []})

    caplog.set_level(logging.WARNING, logger="senderctl.bird")
    async with quick("http://bird.test", transport=asgi(flaky)) as client:
        assert await collect(client.list_brands(WS)) == []
    assert "retrying" in caplog.text and "503" in caplog.text and "attempt 2 of 3" in caplog.text
