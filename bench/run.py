"""senderctl benchmarks: `python bench/run.py` prints each figure; nothing here is a pass/fail test.

  plan-core     compute_plan for N numbers (pure: desired + observed -> Plan), time and peak memory
  observe       one plan against the in-process emulator with N owned numbers: time and Bird calls
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc
from decimal import Decimal
from typing import Any

from controller.planner import compute_plan
from controller.resources.base import Desired, OrgConfigView, RecordView, TenantView, World

WS = "22222222-2222-4222-8222-222222222222"
ORG_ID = "11111111-1111-4111-8111-111111111111"


def synthetic(n: int) -> tuple[list[Desired], World]:
    """n managed numbers, all converged: the steady state a daemon re-plans all day."""
    desired = [Desired("Organization/acme", "Organization", "acme",
                       {"birdOrganizationId": ORG_ID, "enabled": True, "limit": n + 1, "weeklyPrice": "2.99",
                        "currency": "USD"}, context={"workspaceIds": [WS]})]
    owned, records, held = [], {}, {}
    for i in range(n):
        number = f"+1415{i:07d}"
        address = f"NumberPool/pool[{i}]"
        desired.append(Desired(address, "NumberPool", "acme",
                               {"workspaceId": WS, "select": {"country": "US", "type": "local"}},
                               context={"workspace": "main", "workspaceId": WS, "index": i,
                                        "deletionPolicy": "Orphan", "protected": True}))
        owned.append({"id": f"n{i}", "number": number, "country": "US", "type": "local"})
        records[address] = RecordView(address, "NumberPool", f"n{i}", None, {}, {"number": number})
        held[number] = "acme"
    tenant = TenantView(orgs={"acme": OrgConfigView(ORG_ID, True, n + 1, Decimal("2.99"), "USD", False)},
                        held_numbers=held)
    return desired, World(numbers={WS: owned}, records=records, tenant=tenant)


def bench_plan_core(n: int) -> dict[str, Any]:
    desired, world = synthetic(n)
    tracemalloc.start()
    started = time.perf_counter()
    plan = compute_plan(desired, world, specs_fingerprint="bench")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert not plan.changes
    return {"resources": n, "seconds": round(elapsed, 4), "per_resource_us": round(elapsed / n * 1e6, 1),
            "peak_MiB": round(peak / 2**20, 2)}


async def bench_list_numbers(n: int) -> dict[str, Any]:
    import httpx

    from controller.bird import BirdClient
    from controller.emulator.app import create_app

    app = create_app()
    emulator = app.state.emulator
    seed_owned = getattr(emulator, "seed_owned_numbers", None)
    if seed_owned is None:
        return {"skipped": "the emulator has no seed_owned_numbers helper"}
    seed_owned(WS, n)
    transport = httpx.ASGITransport(app=app)
    async with BirdClient("http://bird.test", "emulator-key", transport=transport, requests_per_second=10_000) as c:
        started = time.perf_counter()
        count = sum([1 async for _ in c.list_numbers(WS)])
        elapsed = time.perf_counter() - started
    return {"numbers": count, "seconds": round(elapsed, 3), "requests": -(-count // 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    base = None
    for n in sizes:
        figures = bench_plan_core(n)
        base = base or figures["per_resource_us"]
        print(f"plan-core  n={n:>6}  {figures['seconds']:>8.4f} s  {figures['per_resource_us']:>7.1f} µs/resource "
              f"(x{figures['per_resource_us'] / base:.2f} of n={sizes[0]})  peak {figures['peak_MiB']} MiB")
    for n in sizes:
        print(f"list-numbers n={n:>6}  {asyncio.run(bench_list_numbers(n))}")


if __name__ == "__main__":
    main()
