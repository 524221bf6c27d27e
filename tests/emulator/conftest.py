"""Emulator fixtures: the app in-process (httpx ASGI transport) and over real HTTP, a webhook receiver."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from controller.emulator.app import create_app
from controller.emulator.core import Emulator
from controller.emulator.server import running_emulator
from controller.emulator.world import World

KEY = "emulator-key"
ORG = "11111111-1111-4111-8111-111111111111"
WS = "22222222-2222-4222-8222-222222222222"
RESELLER = "33333333-3333-4333-8333-333333333333"
AUTH = {"Authorization": f"AccessKey {KEY}"}


def brand_body(**overrides: Any) -> dict[str, Any]:
    body = {"entityType": "PRIVATE_PROFIT", "firstName": "Ada", "lastName": "Lovelace", "displayName": "Acme",
            "companyName": "Acme Inc.", "ein": "123456789", "einIssuingCountry": "US", "phone": "+12025550143",
            "street": "123 6th Ave", "city": "New York", "state": "NY", "postalCode": "10001", "country": "US",
            "email": "compliance@acme.example", "website": "https://acme.example", "vertical": "TECHNOLOGY"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def campaign_body(**overrides: Any) -> dict[str, Any]:
    body = {"name": "Acme alerts", "usecase": "ACCOUNT_NOTIFICATION",
            "description": "Acme sends account notifications: sign-in alerts and billing reminders.",
            "messageFlow": "Customers opt in on https://acme.example/settings by ticking Send me SMS alerts.",
            "helpMessage": "Acme: help at support@acme.example. Reply STOP to opt out.",
            "samples": ["Acme: a new sign-in to your account. Not you? Visit https://acme.example/security"],
            "optinMessage": "Acme: you are subscribed to alerts.", "optoutMessage": "Acme: you are unsubscribed.",
            "termsAndConditions": True, "subscriberOptin": True}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


class Bird:
    """A client for one emulator plus shortcuts for the 10DLC path."""

    def __init__(self, http: httpx.AsyncClient, emulator: Emulator) -> None:
        self.http = http
        self.emulator = emulator

    async def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        response = await self.http.request(method, path, headers=AUTH, **kw)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    async def error(self, method: str, path: str, status: int, **kw: Any) -> dict[str, Any]:
        response = await self.http.request(method, path, headers=AUTH, **kw)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json()

    async def admin(self, method: str, action: str, **kw: Any) -> Any:
        response = await self.http.request(method, f"/_emulator/{action}", **kw)
        assert response.status_code < 300, (action, response.status_code, response.text)
        return response.json() if response.content else None

    async def advance(self, seconds: float) -> dict[str, Any]:
        return await self.admin("POST", "clock/advance", json={"seconds": seconds})

    async def decide(self, kind: str, object_id: str, status: str, **rejection: str) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": kind, "id": object_id, "status": status}
        if rejection:
            body["rejection"] = rejection
        return await self.admin("POST", "decide", json=body)

    async def state(self) -> dict[str, Any]:
        return await self.admin("GET", "state")

    async def buy(self, count: int = 1, ws: str = WS) -> list[dict[str, Any]]:
        """Bird's documented flow (search the stock, buy by stock item id); the numbers as the workspace's
        number list shows them."""
        stock = await self.ok("GET", f"/workspaces/{ws}/numbers-stock-items",
                              params={"countryCodes": "US", "types": "local", "limit": count})
        ids = [item["id"] for item in stock["results"]]
        bought = await self.ok("POST", f"/workspaces/{ws}/numbers-long-code", 201, json={"numberStockItemIds": ids})
        owned = {n["id"]: n for n in (await self.ok("GET", f"/workspaces/{ws}/numbers", params={"limit": 99}))["results"]}
        return [owned[n["id"]] for n in bought["results"]]

    async def brand(self, approved: bool = True, **overrides: Any) -> dict[str, Any]:
        brand = await self.ok("POST", f"/workspaces/{WS}/tcr-brands", 201, json=brand_body(**overrides))
        if approved:
            await self.admin("POST", "decide", json={"kind": "brand", "id": brand["id"], "status": "APPROVED"})
        return brand

    async def campaign(self, brand_id: str, approved: bool = True, **overrides: Any) -> dict[str, Any]:
        campaign = await self.ok("POST", f"/workspaces/{WS}/tcr-brands/{brand_id}/campaigns", 201,
                                 json=campaign_body(**overrides))
        if approved:
            await self.admin("POST", "decide", json={"kind": "campaign", "id": campaign["id"], "status": "APPROVED"})
        return campaign

    async def connector(self, number_id: str, campaign_id: str, status: int = 201) -> dict[str, Any]:
        body = {"connectorTemplateRef": "sms-messagebird:1", "name": "SMS channel",
                "arguments": {"phoneNumberId": number_id, "useCaseId": campaign_id,
                              "channelMessageType": "transactional"},
                "channelConversationalStatusEnabled": True}
        return await self.ok("POST", f"/workspaces/{WS}/connectors", status, json=body)

    async def subscribe(self, event: str, url: str, key: str = "signing-key", service: str | None = None,
                        filters: list[dict[str, str]] | None = None) -> dict[str, Any]:
        service = service or ("numbers" if event.startswith("10dlc") else "channels")
        body = {"service": service, "event": event, "url": url, "signingKey": key, "eventFilters": filters or []}
        return await self.ok("POST", f"/organizations/{ORG}/workspaces/{WS}/webhook-subscriptions", 201, json=body)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def asgi_client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bird.test")


@pytest.fixture
async def bird() -> AsyncIterator[Bird]:
    """The default world, in-process."""
    app = create_app(seed=7)
    async with asgi_client(app) as http:
        yield Bird(http, app.state.emulator)


@pytest.fixture(params=["asgi", "http"])
async def any_bird(request: pytest.FixtureRequest) -> AsyncIterator[Bird]:
    """The default world, in-process and over real HTTP (uvicorn on a free port)."""
    if request.param == "asgi":
        app = create_app(seed=7)
        async with asgi_client(app) as http:
            yield Bird(http, app.state.emulator)
        return
    with running_emulator(seed=7) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
            yield Bird(http, running.emulator)


async def bird_for(world: World) -> AsyncIterator[Bird]:
    app = create_app(world, seed=1)
    async with asgi_client(app) as http:
        yield Bird(http, app.state.emulator)


@dataclass
class Received:
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP webhook receiver on 127.0.0.1 recording every request."""

    base: str
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.base}/hooks/bird"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    target = Receiver(f"http://127.0.0.1:{port}")

    async def hook(request: Request) -> Response:
        target.received.append(Received(str(request.url), dict(request.headers), await request.body()))
        return Response(status_code=204)

    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/hooks/bird", hook, methods=["POST"])]),
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.005)
    yield target
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()
