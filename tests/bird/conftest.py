"""The Bird client against the emulator, both in-process (ASGI) and over real HTTP (uvicorn, free port).

Every test that takes the ``bird`` fixture runs twice. The HTTP server is started once per module and
reset before each test through the admin API, so both modes start from the default world.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from controller.bird.client import BirdClient
from controller.emulator.app import create_app
from controller.emulator.core import Emulator
from controller.emulator.server import running_emulator
from controller.emulator.world import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_ORGANIZATION_ID,
    DEFAULT_RESELLER_ID,
    DEFAULT_WORKSPACE_ID,
    World,
)

ACCESS_KEY = DEFAULT_ACCESS_KEY
ORG = DEFAULT_ORGANIZATION_ID
WS = DEFAULT_WORKSPACE_ID
RESELLER = DEFAULT_RESELLER_ID
ASGI_BASE_URL = "http://bird.test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Bird:
    """One emulator and the ways to reach it: ``client()`` for Bird's API, ``admin()`` for /_emulator."""

    mode: str
    url: str
    emulator: Emulator
    app: Starlette | None = None

    def transport(self) -> httpx.AsyncBaseTransport | None:
        return httpx.ASGITransport(app=self.app) if self.app is not None else None

    def client(self, access_key: str = ACCESS_KEY, **options: Any) -> BirdClient:
        options.setdefault("requests_per_second", 1000.0)
        options.setdefault("backoff_initial", 0.01)
        options.setdefault("backoff_max", 0.05)
        return BirdClient(self.url, access_key, transport=self.transport(), **options)

    async def admin(self, method: str, action: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.url, transport=self.transport()) as http:
            response = await http.request(method, f"/_emulator/{action}", json=body)
        assert response.status_code < 300, f"admin {method} {action}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    async def advance(self, seconds: float) -> Any:
        return await self.admin("POST", "clock/advance", {"seconds": seconds})

    async def fault(self, **spec: Any) -> Any:
        return await self.admin("POST", "faults", spec)

    async def requests_by_route(self) -> dict[str, int]:
        return (await self.admin("GET", "requests"))["byRoute"]

    async def reset_counts(self) -> None:
        await self.admin("DELETE", "requests")


@pytest.fixture(scope="module")
def http_emulator() -> Iterator[Any]:
    with running_emulator() as running:
        yield running


@pytest.fixture(params=["asgi", "http"])
def bird(request: pytest.FixtureRequest) -> Bird:
    if request.param == "asgi":
        app = create_app()
        return Bird("asgi", ASGI_BASE_URL, app.state.emulator, app)
    running = request.getfixturevalue("http_emulator")
    httpx.post(f"{running.url}/_emulator/reset").raise_for_status()
    return Bird("http", running.url, running.emulator)


def big_world(*, stock: int, owned: int = 0, wallet: str = "20000.00") -> World:
    return World.from_dict({
        "organizations": [{
            "id": ORG,
            "resellers": [{"id": RESELLER, "status": "ACTIVE"}],
            "stock": [{"country": "US", "type": "local", "count": stock}],
            "workspaces": [{"id": WS, "wallet": wallet, "ownedNumbers": owned}],
        }],
        "accessKeys": [{"key": ACCESS_KEY, "organizations": [ORG]}],
    })


def _serve(mode: str, world: World) -> Iterator[Bird]:
    if mode == "asgi":
        app = create_app(world)
        yield Bird("asgi", ASGI_BASE_URL, app.state.emulator, app)
        return
    with running_emulator(world=world) as running:
        yield Bird("http", running.url, running.emulator)


@pytest.fixture(params=["asgi", "http"])
def big_bird(request: pytest.FixtureRequest) -> Iterator[Bird]:
    """An emulator whose workspace already owns 10,000 numbers."""
    yield from _serve(request.param, big_world(stock=0, owned=10_000))


@pytest.fixture(params=["asgi", "http"])
def stock_bird(request: pytest.FixtureRequest) -> Iterator[Bird]:
    """An emulator whose organization has 200 US local numbers in stock and nothing owned."""
    yield from _serve(request.param, big_world(stock=200))
