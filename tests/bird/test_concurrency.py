"""The in-flight limit that follows Bird's round-trip time: its arithmetic (no clock), the gate, and a
client against a server 100 ms away that ends up with more than 16 requests on the wire."""

from __future__ import annotations

import asyncio

import pytest

from controller.bird.client import BirdClient
from controller.bird.concurrency import DEFAULT_MINIMUM, Gate, GradientLimit
from tests.bird.conftest import ACCESS_KEY
from tests.bird.test_connections import slow_server

pytestmark = pytest.mark.anyio


def feed(limit: GradientLimit, rtt: float, answers: int, *, busy: bool = True) -> None:
    for _ in range(answers):
        limit.sample(rtt, limit.current if busy else 1)


def test_a_steady_round_trip_with_every_slot_used_grows_the_limit_to_its_maximum() -> None:
    limit = GradientLimit(maximum=300)
    feed(limit, 0.15, 40)
    assert limit.current > 2 * DEFAULT_MINIMUM  # about doubles per round trip's worth of answers
    feed(limit, 0.15, 2000)
    assert limit.current == 300


def test_answers_slower_than_the_tolerance_shrink_it_and_never_below_the_minimum() -> None:
    limit = GradientLimit()
    feed(limit, 0.15, 400)
    grown = limit.current
    feed(limit, 0.45, 5)  # our event loop (or Bird) is queueing: three times the baseline
    assert limit.current < grown
    feed(limit, 0.45, 200)
    assert limit.current == DEFAULT_MINIMUM


def test_jitter_within_the_tolerance_does_not_shrink_it() -> None:
    limit = GradientLimit(maximum=300)
    for i in range(3000):
        limit.sample(0.135 + 0.03 * ((i * 7919) % 100) / 100, limit.current)  # 150 ms +- 10 %
    assert limit.current == 300


def test_an_idle_client_does_not_grow_it_and_a_lost_request_backs_it_off() -> None:
    limit = GradientLimit()
    feed(limit, 0.15, 500, busy=False)
    assert limit.current == DEFAULT_MINIMUM
    feed(limit, 0.15, 200)
    grown = limit.limit
    limit.dropped()
    assert limit.limit == pytest.approx(grown * 0.9)
    for _ in range(100):
        limit.dropped()
    assert limit.current == DEFAULT_MINIMUM


def test_a_fixed_limit_never_moves() -> None:
    limit = GradientLimit(minimum=3, maximum=3)
    feed(limit, 0.15, 500)
    limit.dropped()
    assert limit.current == 3


def test_a_workspace_holds_what_its_rate_can_use_at_the_round_trip() -> None:
    limit = GradientLimit()
    assert limit.workspace_cap(500) == 8  # nothing measured yet
    feed(limit, 0.15, 100)
    assert limit.workspace_cap(500) == 150  # 500/s x 150 ms x 2
    assert limit.workspace_cap(50) == 15
    near = GradientLimit()
    feed(near, 0.002, 100)
    assert near.workspace_cap(500) == 8  # the loopback: a few suffice


async def test_the_gate_admits_in_order_follows_a_raised_limit_and_hands_on_a_cancelled_slot() -> None:
    allowed = 1
    gate = Gate(lambda: allowed)
    await gate.acquire()
    order: list[int] = []

    async def holder(i: int) -> None:
        await gate.acquire()
        order.append(i)

    waiters = [asyncio.create_task(holder(i)) for i in range(4)]
    await asyncio.sleep(0)
    assert gate.waiting == 4 and order == []
    waiters[0].cancel()
    await asyncio.sleep(0)
    allowed = 3
    gate.wake()
    await asyncio.sleep(0)
    assert order == [1, 2] and gate.holders == 3
    gate.release()
    await asyncio.sleep(0)
    assert order == [1, 2, 3]


async def test_against_a_distant_server_the_client_keeps_more_than_16_requests_on_the_wire() -> None:
    # 100 ms per answer, 60 workspaces x 5 reads: 16 in flight would carry 160 reads a second. The limit
    # grows from the answers' round trips (no clock is asserted on: only how many were out at once).
    async with slow_server(delay=0.1) as (url, seen), BirdClient(url, ACCESS_KEY) as client:
        workspaces = [f"{i:08d}-2222-4222-8222-222222222222" for i in range(60)]
        reads = [client.json_pages("brands", workspaceId=ws).__anext__() for ws in workspaces for _ in range(5)]
        pages = await asyncio.gather(*reads)
        assert pages == [[]] * 300 and seen.requests == 300
        # What the server saw out at once; the limit left at the end is not asserted: on a loaded machine
        # the event loop's own delays (rightly) shrink it again.
        assert seen.most_busy > DEFAULT_MINIMUM, seen


async def test_a_fixed_max_in_flight_is_kept() -> None:
    async with slow_server(delay=0.05) as (url, seen), BirdClient(url, ACCESS_KEY, max_in_flight=5) as client:
        workspaces = [f"{i:08d}-2222-4222-8222-222222222222" for i in range(20)]
        await asyncio.gather(*(client.json_pages("brands", workspaceId=ws).__anext__() for ws in workspaces * 3))
    assert seen.most_busy == 5


async def test_requests_waiting_for_one_workspaces_rate_leave_slots_to_the_others() -> None:
    # Workspace A's reads are paused (as after a 429 with a long Retry-After) and 40 of them wait; B's
    # reads still go out: A holds at most its share of the slots, not all 16.
    async with slow_server(delay=0.0) as (url, seen), BirdClient(url, ACCESS_KEY) as client:
        a, b = "aaaaaaaa-2222-4222-8222-222222222222", "bbbbbbbb-2222-4222-8222-222222222222"
        client.limits.pause(a, "GET", 3600)
        stuck = [asyncio.ensure_future(client.json_pages("brands", workspaceId=a).__anext__()) for _ in range(40)]
        await asyncio.sleep(0)
        pages = await asyncio.wait_for(asyncio.gather(
            *(client.json_pages("brands", workspaceId=b).__anext__() for _ in range(20))), 120)
        assert pages == [[]] * 20 and seen.requests == 20
        assert not any(task.done() for task in stuck)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)


def test_slow_answers_at_a_steady_pace_keep_what_that_pace_needs_in_flight() -> None:
    """A client whose own CPU is the bottleneck (answers wait on its event loop, so they look three times
    slower than the baseline) still keeps the pace's bandwidth-delay product on the wire: 400 answers a
    second at a 150 ms baseline need 60. Without a clock the pace is not measured and it shrinks as before."""
    limit = GradientLimit()
    now = 0.0
    for _ in range(400):
        now += 1 / 400
        limit.sample(0.15, limit.current, now)
    assert limit.current > 200
    for _ in range(400):
        now += 1 / 400
        limit.sample(0.45, limit.current, now)
    assert 55 <= limit.current <= 70
    feed(limit, 0.45, 400)  # no clock: the last pace still holds the floor, it never goes below it
    assert limit.current >= 55
    unclocked = GradientLimit()
    feed(unclocked, 0.15, 400)
    feed(unclocked, 0.45, 400)
    assert unclocked.current == DEFAULT_MINIMUM
