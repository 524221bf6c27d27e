"""Numbers are bought as Bird documents it: a stock search, then "Buy a Number" by stock item id, 25 per
call at most, each call one journaled intent naming every stock item, number and resource it buys for.

Run in-process (the emulator's ASGI app as the client's transport) and over real HTTP."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench import world as bench_world
from controller.emulator.app import create_app
from controller.emulator.core import Emulator
from controller.emulator.server import running_emulator
from controller.emulator.world import World
from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.state import StateStore

BUY = "POST /workspaces/{workspaceId}/numbers-long-code"
OLD_ROUTES = ("GET /workspaces/{workspaceId}/numbers-available", "POST /workspaces/{workspaceId}/numbers")
WORKSPACES, POOL = 2, 60
# Seed 000: an organization's first number is bought at once; more wait for its 10DLC (brand and campaign
# approved). Then the rest: ceil(n / 25) calls per workspace (ws-000 holds the first one already).
BATCHED_CALLS = math.ceil((POOL - 1) / 25) + (WORKSPACES - 1) * math.ceil(POOL / 25)


@dataclass
class Estate:
    """Bench-style specs (W workspaces x N numbers, no channels) against one emulator, in-process or over HTTP."""

    emulator: Emulator
    settings: Settings
    specs: Path
    fault: Callable[..., None]

    def apply(self, *, failures: bool = False) -> engine.ApplyOutcome:
        outcome = asyncio.run(engine.apply([str(self.specs)], self.settings))
        if not failures:
            assert not outcome.report.failed, [r.error for r in outcome.report.failed]
        return outcome

    def converge_10dlc(self) -> None:
        """Brand and campaign registered and approved: the organization's 10DLC is active."""
        self.apply()
        self.emulator.advance(3600 + 60)
        self.apply()
        self.emulator.advance(7 * 24 * 3600)
        self.emulator.take_outbox()  # nobody listens at the specs' webhook URL

    def calls(self, route: str) -> int:
        return self.emulator.requests.get(route, 0)

    def owned(self) -> list[str]:
        return [n["number"] for n in self.emulator.dump()["numbers"]]

    def journal(self, *, open_only: bool = False) -> list[Any]:
        with StateStore.open(self.settings.state_url) as store:
            return store.open_operations() if open_only else store.operations(limit=1000)


@pytest.fixture(params=["asgi", "http"])
def estate(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Estate]:
    world = World.from_dict(bench_world.world_dict(WORKSPACES, POOL, rate_limits={}, stock_margin=20))
    specs = bench_world.write_specs(tmp_path / "specs", WORKSPACES, POOL, channels=False)
    common = dict(state_url=f"sqlite:///{tmp_path / 'state.db'}", access_key=bench_world.ACCESS_KEY,
                  environ={bench_world.SIGNING_ENV: "signing-key"})
    if request.param == "asgi":
        app = create_app(world)

        def fault_in_process(**spec: Any) -> None:
            async def post() -> None:
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bird.test") as http:
                    (await http.post("/_emulator/faults", json=spec)).raise_for_status()
            asyncio.run(post())

        yield Estate(app.state.emulator, Settings(bird_url="http://bird.test", transport=httpx.ASGITransport(app=app),
                                                  **common), specs, fault_in_process)
        return
    with running_emulator(world=world) as running, httpx.Client(base_url=running.url) as admin:
        def fault_over_http(**spec: Any) -> None:
            admin.post("/_emulator/faults", json=spec).raise_for_status()

        yield Estate(running.emulator, Settings(bird_url=running.url, **common), specs, fault_over_http)


def test_numbers_are_bought_25_per_call_each_call_one_intent_naming_its_batch(estate: Estate) -> None:
    estate.converge_10dlc()
    assert len(estate.owned()) == 1 and estate.calls(BUY) == 1
    estate.apply()
    owned = estate.owned()
    assert len(owned) == len(set(owned)) == WORKSPACES * POOL, "every number bought once"
    assert estate.calls(BUY) == 1 + BATCHED_CALLS
    assert not any(estate.calls(route) for route in OLD_ROUTES), "only the documented stock-item routes"

    purchases = [op for op in estate.journal() if op.action == "create" and "numbers" in op.request]
    assert sorted(len(op.request["numbers"]) for op in purchases) == sorted(
        [1, 25, 25, 9] + [25, 25, 10] * (WORKSPACES - 1))
    assert all(op.status == "succeeded" for op in purchases)
    named = [m for op in purchases for m in op.request["numbers"]]
    assert sorted(m["number"] for m in named) == sorted(owned)
    assert len({m["stockItemId"] for m in named}) == len({m["address"] for m in named}) == len(owned)
    for op in purchases:  # a batch is one workspace's
        assert {m["address"].split("[")[0] for m in op.request["numbers"]} == {
            op.request["numbers"][0]["address"].split("[")[0]}
    assert estate.journal(open_only=True) == []

    estate.apply()  # converged: nothing more is bought
    assert estate.calls(BUY) == 1 + BATCHED_CALLS


@pytest.mark.parametrize("effect", ["commit-then-fail", "commit-then-drop"])
def test_a_batch_whose_answer_is_lost_is_adopted_never_bought_again(estate: Estate, effect: str) -> None:
    """Bird buys the 25 numbers and the answer is lost (a 502, or the connection dropped): the re-read finds
    them all, the run records them, and nothing is bought twice."""
    if effect == "commit-then-drop" and estate.settings.transport is not None:
        pytest.skip("a dropped connection exists over HTTP only (in-process, the app's exception reaches the client)")
    estate.converge_10dlc()
    estate.fault(method="POST", route=BUY.split(" ", 1)[1], effect="commit-then-fail", times=1,
                 drop=effect == "commit-then-drop")
    estate.apply()
    owned = estate.owned()
    assert len(owned) == len(set(owned)) == WORKSPACES * POOL
    assert estate.calls(BUY) == 1 + BATCHED_CALLS
    assert estate.journal(open_only=True) == []


def test_a_batch_bird_refused_without_buying_is_bought_by_the_next_run_and_its_intent_settled(
        estate: Estate) -> None:
    """A 503 leaves the outcome unknown and nothing is on Bird: the intent naming the 25 stays open (the
    members are reported failed, saying why), the next run buys them, and the old intent is settled once
    every member is Ready."""
    estate.converge_10dlc()
    estate.fault(method="POST", route=BUY.split(" ", 1)[1], effect="status", status=503, times=1)
    first = estate.apply(failures=True)
    failed = [r for r in first.report.failed]
    assert len(failed) == 25 and all("one Bird call" in (r.error or "") for r in failed), failed[:1]
    [left_open] = estate.journal(open_only=True)
    assert len(left_open.request["numbers"]) == 25 and left_open.address.endswith("and 24 more")
    assert len(estate.owned()) == WORKSPACES * POOL - 25

    estate.apply()
    owned = estate.owned()
    assert len(owned) == len(set(owned)) == WORKSPACES * POOL
    assert estate.journal(open_only=True) == []
    statuses = {op.id: op.status for op in estate.journal()}
    assert statuses[left_open.id] == "succeeded"
