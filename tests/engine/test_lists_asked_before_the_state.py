"""A plan asks Bird for the lists of the workspaces its specs name before it reads the state, and reads
the state while Bird answers: at 150 ms a call the two overlap instead of adding up. A whole plan does so
for every workspace the specs name; a targeted one with an earlier observation (the daemon's warm cache)
for those its addresses need. Checked with the emulator over ASGI and a real SQLite state whose record
read is held until Bird was asked for the numbers: that happens only if the lists were asked for first
(else the hold times out, and the test fails)."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx

from controller.emulator.app import create_app
from controller.emulator.world import World as EmulatorWorld
from controller.reconcile import engine
from controller.reconcile.settings import bird_client, open_store
from tests.support import ACCESS_KEY

ROOT = Path(__file__).resolve().parents[2]
HOLD_SECONDS = 20.0


class SeesNumbersList(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.numbers_asked = threading.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/numbers"):
            self.numbers_asked.set()
        return await self.inner.handle_async_request(request)


def quickstart(tmp_path: Path) -> tuple[Path, SeesNumbersList, engine.Settings]:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "examples" / "quickstart", specs)
    transport = SeesNumbersList(httpx.ASGITransport(app=create_app(EmulatorWorld.default())))
    settings = engine.Settings(state_url=f"sqlite:///{tmp_path / 'state.db'}", bird_url="http://bird.test",
                               access_key=ACCESS_KEY, transport=transport,
                               environ={**os.environ, "SENDERCTL_DEMO_SIGNING_KEY": "k"})
    return specs, transport, settings


def held_until_asked(read_rows: Any, transport: SeesNumbersList, held: list[bool]) -> Any:
    """The state's record read, held until Bird was asked for the numbers (whether it was: `held`)."""

    def record_rows_once_bird_was_asked(*args: Any, **kw: Any) -> Any:
        held.append(transport.numbers_asked.wait(HOLD_SECONDS))
        return read_rows(*args, **kw)

    return record_rows_once_bird_was_asked


def test_a_targeted_plan_asks_for_its_lists_while_it_reads_the_state(tmp_path: Path) -> None:
    specs, transport, settings = quickstart(tmp_path)
    loaded = engine.load([str(specs)])
    cache = engine.WorldCache()
    store = open_store(settings)
    held: list[bool] = []
    record_rows_once_bird_was_asked = held_until_asked(store.record_rows, transport, held)

    async def plans() -> engine.Computed:
        async with bird_client(settings) as client:
            await engine.compute(loaded, client, store, settings.environ, settings, cache=cache)  # warms the cache
            transport.numbers_asked.clear()
            store.record_rows = record_rows_once_bird_was_asked  # (the hold: nothing else changes)
            return await engine.compute(loaded, client, store, settings.environ, settings, cache=cache,
                                        scope=frozenset({"PhoneNumber/alice-line"}))

    try:
        targeted = asyncio.run(plans())
    finally:
        store.close()
    assert held == [True], "the state was read before Bird was asked for the workspace's numbers"
    assert "PhoneNumber/alice-line" in {c.address for c in targeted.plan.changes}


def test_a_whole_plan_asks_for_the_lists_its_specs_name_while_it_reads_the_state(tmp_path: Path) -> None:
    specs, transport, settings = quickstart(tmp_path)
    store = open_store(settings)
    held: list[bool] = []
    record_rows_once_bird_was_asked = held_until_asked(store.record_rows, transport, held)

    store.record_rows = record_rows_once_bird_was_asked

    async def whole_plan() -> engine.Computed:
        async with bird_client(settings) as client:
            return await engine.compute(engine.load([str(specs)]), client, store, settings.environ, settings)

    try:
        computed = asyncio.run(whole_plan())
    finally:
        store.close()
    assert held == [True], "the state was read before Bird was asked for the workspace's numbers"
    assert "PhoneNumber/alice-line" in {c.address for c in computed.plan.changes}
