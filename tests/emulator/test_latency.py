"""The world file's latency: every Bird answer is delayed, no request waits for another's delay, admin
routes are never delayed, and the delays follow the seed. No test here depends on the machine's speed:
a delay is checked as a lower bound (a sleep never ends early) or by which request finishes first."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from controller.emulator.app import create_app
from controller.emulator.latency import Distance
from controller.emulator.world import Delay, Latency, World, WorldError
from tests.emulator.conftest import AUTH, ORG, WS, asgi_client, brand_body

pytestmark = pytest.mark.anyio


def world(latency: Any) -> World:
    return World.from_dict({"organizations": [{"id": ORG, "workspaces": [{"id": WS}], "stock": [{"count": 5}]}],
                            "latency": latency})


def test_world_file_declares_a_latency_per_method_class() -> None:
    latency = world({"mean": 0.15, "jitter": 0.02, "methods": {"post": {"mean": 0.3}}}).latency
    assert latency.for_method("GET") == Delay(0.15, 0.02)
    assert latency.for_method("POST") == Delay(0.3, 0.02)  # the jitter it leaves out comes from the top
    assert not latency.none
    assert World.default().latency.none and world({"mean": 0}).latency.none


@pytest.mark.parametrize(("latency", "message"), [
    (0.15, "expected a mapping"),
    ({"mean": -1}, "latency.mean: expected a number of seconds >= 0"),
    ({"mean": "150ms"}, "latency.mean"),
    ({"mean": 0.1, "median": 0.1}, "unknown field"),
    ({"methods": {"FETCH": {"mean": 1}}}, "not an HTTP method"),
    ({"methods": {"GET": {"methods": {}}}}, "cannot nest"),
])
def test_latency_errors_say_where_and_how(latency: Any, message: str) -> None:
    with pytest.raises(WorldError, match=message):
        world(latency)


def test_delays_are_uniform_within_the_jitter_and_follow_the_seed() -> None:
    def samples(seed: int) -> list[float]:
        distance = Distance(Latency(Delay(0.15, 0.05)), seed)
        return [distance.sample("GET") for _ in range(1000)]

    drawn = samples(3)
    assert all(0.10 <= s <= 0.20 for s in drawn)
    assert 0.14 < sum(drawn) / len(drawn) < 0.16
    assert drawn == samples(3) and drawn != samples(4)
    assert Distance(Latency(Delay(0.01, 0.5)), 0).sample("GET") >= 0.0  # never below zero


async def test_an_answer_waits_at_least_the_mean() -> None:
    app = create_app(world({"mean": 0.2}))
    async with asgi_client(app) as http:
        began = time.monotonic()
        response = await http.get(f"/workspaces/{WS}/numbers", headers=AUTH)
        assert response.status_code == 200
        assert time.monotonic() - began >= 0.2


async def test_a_delayed_request_holds_up_no_other_and_admin_routes_are_never_delayed() -> None:
    # Reads are a quarter of an hour away, writes are not delayed: a write sent after a read is answered
    # while the read is still on its way, and so are admin calls.
    app = create_app(world({"mean": 0, "methods": {"GET": {"mean": 900}}}))
    async with asgi_client(app) as http:
        read = asyncio.create_task(http.get(f"/workspaces/{WS}/numbers", headers=AUTH))
        await asyncio.sleep(0)  # the read is sent first
        written = await http.post(f"/workspaces/{WS}/tcr-brands", headers=AUTH, json=brand_body())
        assert written.status_code == 201
        counted = (await http.get("/_emulator/requests")).json()
        # The read is still on its way there (half its delay): Bird has not seen it yet.
        assert counted["byRoute"] == {"POST /workspaces/{workspaceId}/tcr-brands": 1}
        state = (await http.get("/_emulator/state")).json()
        assert len(state["brands"]) == 1
        assert not read.done()
        read.cancel()

