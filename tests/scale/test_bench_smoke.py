"""The benchmark at 1 % size (10 workspaces x 10 numbers), over real HTTP against a `senderctl emulator`
subprocess that enforces Bird's rate limits: convergence in one apply per 10DLC step, never 'not in
stock', numbers bought 25 per call, and a no-op plan that makes exactly sum(ceil(items/page)) Bird calls (Bird's
largest page: 99, channels 1000, webhook subscriptions 100). No timings: those are in
bench/ (python bench/run.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench import run as bench
from bench import world as bench_world

WORKSPACES = 10


@pytest.mark.slow
@pytest.mark.parametrize(("numbers", "noop_reads"), [
    (10, 6),    # per workspace: numbers 1 page, brands 1, channels 1, campaigns 1, vettings 1, subscriptions 1
    (100, 7),   # numbers 2 pages (99 a page); the 100 channels are still one page (1000 a page)
])
def test_ten_workspaces_converge_in_one_apply_per_step_and_a_noop_plan_reads_the_minimum(
        tmp_path: Path, numbers: int, noop_reads: int) -> None:
    world_file = bench_world.write_world(tmp_path / "world.yaml", WORKSPACES, numbers, stock_margin=5)
    specs = bench_world.write_specs(tmp_path / "specs", WORKSPACES, numbers)
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    with bench.Emulator(world_file) as emulator:
        # A modest parallelism: on a loaded test machine the single-threaded emulator must not queue
        # requests past the client's timeout (a timed-out write is left for the next apply to adopt).
        steps = asyncio.run(bench.converge(emulator, specs, state_url, bench.CallLog(), parallelism=8))
        assert [(s["step"], s["applies"]) for s in steps] == [(name, 1) for name, _ in bench.STEPS], steps
        assert sum(s["not_in_stock"] for s in steps) == 0
        # Bought 25 per Bird call: ceil(n / 25) calls per workspace and step (the organization's first number
        # alone, the rest once its 10DLC is active).
        assert [s["purchase_calls"] for s in steps] == [s["purchase_bound"] for s in steps], steps
        assert sum(s["purchase_calls"] for s in steps) == 1 + sum(
            -(-(numbers - (i == 0)) // 25) for i in range(WORKSPACES))
        state = emulator.admin("GET", "state")
        owned = [n["number"] for n in state["numbers"]]
        assert len(owned) == len(set(owned)) == WORKSPACES * numbers, "every number bought once, none twice"
        assert {c["status"] for c in state["channels"]} == {"active"}
        plan = bench.noop_plan(emulator, specs, state_url, WORKSPACES, runs=1)
    assert plan["calls"] == plan["lower_bound"] == noop_reads * WORKSPACES, plan
