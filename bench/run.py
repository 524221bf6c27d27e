"""senderctl benchmarks: `python bench/run.py` prints each figure; nothing here is a pass/fail test.

  plan-core    compute_plan for N converged numbers (pure: desired + observed -> Plan): time, peak memory
  plan-e2e     `senderctl plan` work for N owned numbers against the in-process emulator: observe
               (Bird list calls) + state read + plan, with the client's rate limit lifted
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from controller.planner import compute_plan
from controller.resources.base import Desired, OrgConfigView, RecordView, TenantView, World

WS = "22222222-2222-4222-8222-222222222222"
ORG_ID = "11111111-1111-4111-8111-111111111111"
POOL_MAX = 1000  # a NumberPool holds at most 1,000 numbers


def synthetic(n: int) -> tuple[list[Desired], World]:
    """n managed numbers, all converged: the steady state a daemon re-plans all day."""
    desired = [Desired("Organization/acme", "Organization", "acme",
                       {"birdOrganizationId": ORG_ID, "enabled": True, "limit": n + 1, "weeklyPrice": "2.99",
                        "currency": "USD"}, context={"workspaceIds": [WS]})]
    owned, records, held = [], {}, {}
    for i in range(n):
        number = f"+1415{i:07d}"
        address = f"NumberPool/pool[{i}]"
        fields = {"workspaceId": WS, "select": {"country": "US", "type": "local"}}
        desired.append(Desired(address, "NumberPool", "acme", fields,
                               context={"workspace": "main", "workspaceId": WS, "index": i,
                                        "deletionPolicy": "Orphan", "protected": True}))
        owned.append({"id": f"n{i}", "number": number, "country": "US", "type": "local"})
        spec = {**fields, "deletionPolicy": "Orphan", "protected": True}
        records[address] = RecordView(address, "NumberPool", f"n{i}", None, spec, {"number": number})
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
    assert not plan.changes, plan.changes[:3]
    return {"seconds": elapsed, "us_per_resource": elapsed / n * 1e6, "peak_mib": peak / 2**20}


def spec_text(n: int) -> str:
    docs = [f"""apiVersion: senderctl/v1
kind: Organization
metadata: {{name: acme}}
spec:
  birdOrganizationId: {ORG_ID}
  multiSmsNumbers: {{enabled: true, limit: {n + 1}, weeklyPrice: "2.99"}}
---
apiVersion: senderctl/v1
kind: Workspace
metadata: {{name: main}}
spec: {{organization: acme, birdWorkspaceId: {WS}}}
"""]
    for i in range(0, n, POOL_MAX):
        docs.append(f"""apiVersion: senderctl/v1
kind: NumberPool
metadata: {{name: pool-{i // POOL_MAX}}}
spec:
  workspace: main
  count: {min(POOL_MAX, n - i)}
  select: {{country: US, type: local}}
""")
    return "---\n".join(docs)


def seed_converged_state(state_url: str, n: int, owned: list[dict[str, Any]]) -> None:
    """The state after n numbers were bought by the pools: records, pool, organization config."""
    from controller import tenant
    from controller.resources.common import spec_hash
    from controller.state import ResourceRecord, StateStore
    from controller.state.store import save_record_in

    fields = {"workspaceId": WS, "select": {"country": "US", "type": "local"}}
    spec = {**fields, "deletionPolicy": "Orphan", "protected": True}
    with StateStore.open(state_url) as store:
        tenant.sync_org_config(store, "acme", bird_organization_id=ORG_ID, enabled=True, limit=n + 1,
                               weekly_price=Decimal("2.99"))
        tenant.record_numbers_acquired(store, "acme", "main", [(o["number"], o["id"], None) for o in owned],
                                       at=datetime.now(UTC))
        with store.transaction() as session:
            for i, o in enumerate(owned):
                address = f"NumberPool/pool-{i // POOL_MAX}[{i % POOL_MAX}]"
                save_record_in(session, ResourceRecord(
                    address=address, kind="NumberPool", bird_id=o["id"], spec_hash=spec_hash(spec), spec=spec,
                    data={"number": o["number"], "workspaceId": WS, "workspace": "main", "organization": "acme"}))
            save_record_in(session, ResourceRecord(address="Workspace/main", kind="Workspace", bird_id=WS,
                                                   spec_hash="", spec={"birdWorkspaceId": WS},
                                                   data={"organizationId": ORG_ID}))


async def bench_plan_e2e(n: int) -> dict[str, Any]:
    """The daemon's steady state: n numbers converged; one plan observes Bird and the state."""
    import httpx

    from controller import engine
    from controller.emulator.app import create_app
    from controller.emulator.world import World as EmulatorWorld

    world = EmulatorWorld.from_dict({
        "organizations": [{"id": ORG_ID, "stock": [{"country": "US", "type": "local", "count": 10}],
                           "workspaces": [{"id": WS, "wallet": "1000.00", "ownedNumbers": n}]}],
        "accessKeys": [{"key": "bench-key", "organizations": [ORG_ID]}],
    })
    app = create_app(world)
    owned = sorted(app.state.emulator.dump()["numbers"], key=lambda o: o["number"])
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "specs.yaml").write_text(spec_text(n))
        state_url = f"sqlite:///{tmp}/state.db"
        seed_converged_state(state_url, n, owned)
        settings = engine.Settings(state_url=state_url, bird_url="http://bird.test", access_key="bench-key",
                                   transport=httpx.ASGITransport(app=app), requests_per_second=100_000)
        tracemalloc.start()
        started = time.perf_counter()
        computed = await engine.plan([f"{tmp}/specs.yaml"], settings)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert not computed.plan.changes, computed.plan.changes[:3]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bird.test") as admin:
        requests = (await admin.get("/_emulator/requests")).json()
    return {"seconds": elapsed, "requests": requests["total"], "peak_mib": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    base = None
    for n in sizes:
        f = bench_plan_core(n)
        base = base or f["us_per_resource"]
        print(f"plan-core n={n:>6}: {f['seconds']:.3f} s, {f['us_per_resource']:.0f} µs/resource "
              f"(x{f['us_per_resource'] / base:.2f} per resource vs n={sizes[0]}), peak {f['peak_mib']:.1f} MiB")
    base = None
    for n in sizes:
        f = asyncio.run(bench_plan_e2e(n))
        per = f["seconds"] / n * 1e6
        base = base or per
        print(f"plan-e2e  n={n:>6}: {f['seconds']:.3f} s, {per:.0f} µs/number (x{per / base:.2f} per number vs "
              f"n={sizes[0]}), {f['requests']} Bird requests, peak {f['peak_mib']:.1f} MiB")


if __name__ == "__main__":
    main()
