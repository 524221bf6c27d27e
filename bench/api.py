"""Platform API benchmark: `python bench/api.py [--numbers 10000]` prints the figures; not a test.

  api-list   GET /v1/sms/phone-numbers and /api/v2/w/{ws}/phone-numbers pages of an organization
             holding N numbers (a third assigned), on a SQLite state file, through the real ASGI app
             (auth, query, pydantic models, JSON). Target: p95 <= 100 ms per page at N = 10,000.

bench/run.py can call bench_api_list(n) and print its dict with the other figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WS = "22222222-2222-4222-8222-222222222222"
ORG_ID = "11111111-1111-4111-8111-111111111111"
TARGET_P95_MS = 100.0


def seed_state(url: str, n: int) -> str:
    """An organization with n numbers in workspace main, a third assigned; returns an admin token."""
    from controller import tenant
    from controller.api import tokens
    from controller.state import ResourceRecord, StateStore

    with StateStore.open(url) as store:
        tenant.sync_org_config(store, "acme", bird_organization_id=ORG_ID, enabled=True, limit=n + 10,
                               weekly_price=Decimal("2.99"))
        store.save_record(ResourceRecord(address="Workspace/main", kind="Workspace", bird_id=WS,
                                         spec={"birdWorkspaceId": WS}, data={"organizationId": ORG_ID}))
        now = datetime.now(UTC)
        numbers = [(f"+1415{200 + i // 10000:03d}{i % 10000:04d}", f"bird-{i}", Decimal("1.15")) for i in range(n)]
        for start in range(0, n, 1000):
            tenant.record_numbers_acquired(store, "acme", "main", numbers[start:start + 1000], at=now, owner="api")
        # A third assigned, in one statement (tenant.assign checks each one: minutes for 10,000).
        from sqlalchemy import insert

        from controller.state.tables import AssignmentRow

        with store.transaction() as tx:
            tx.execute(insert(AssignmentRow.__table__), [  # type: ignore[attr-defined]
                {"organization": "acme", "number": numbers[i][0], "user": f"user{i}@acme.example", "owner": "api",
                 "assigned_at": now} for i in range(0, n, 3)])
        _, secret = tokens.create_token(store, org="acme", user="bench@acme.example", role="admin",
                                        scopes=tokens.SCOPES, workspace=None, expires_in=None,
                                        workspaces={"main": WS})
    return secret


async def timed_pages(app: Any, token: str, path: str, requests: int, limit: int) -> list[float]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    rng = random.Random(7)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
        # The page tokens of a full walk, so that deep pages are timed as often as the first.
        walk, page_token = [None], None
        while True:
            query = {"limit": limit, **({"pageToken": page_token} if page_token else {})}
            body = (await client.get(path, params=query)).raise_for_status().json()
            page_token = body["nextPageToken"]
            if not page_token:
                break
            walk.append(page_token)
        samples = []
        for _ in range(requests):
            chosen = rng.choice(walk)
            query = {"limit": limit, **({"pageToken": chosen} if chosen else {})}
            started = time.perf_counter()
            (await client.get(path, params=query)).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2),
            "max_ms": round(ordered[-1], 2), "p95_vs_target": round(ordered[int(len(ordered) * 0.95) - 1]
                                                                    / TARGET_P95_MS, 3)}


def bench_api_list(n: int = 10_000, requests: int = 200) -> dict[str, Any]:
    from controller.api.app import ApiContext, create_api
    from controller.state import StateStore

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'state.db'}"
        started = time.perf_counter()
        token = seed_state(url, n)
        seeded = time.perf_counter() - started
        with StateStore.open(url) as store:
            app = create_api(ApiContext(store=store))
            out: dict[str, Any] = {"numbers": n, "seed_seconds": round(seeded, 1)}
            for name, path, limit in (("seed000 limit=100", "/v1/sms/phone-numbers", 100),
                                      ("seed000 available limit=100", "/v1/sms/phone-numbers/available", 100),
                                      ("seed000 limit=1000", "/v1/sms/phone-numbers", 1000),
                                      ("seed002 limit=100", f"/api/v2/w/{WS}/phone-numbers", 100)):
                samples = asyncio.run(timed_pages(app, token, path, requests, limit))
                out[name] = summary(samples)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--numbers", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    result = bench_api_list(args.numbers, args.requests)
    print(f"api-list: {result['numbers']} numbers (seeded in {result['seed_seconds']} s)")
    for name, figures in result.items():
        if isinstance(figures, dict):
            print(f"  {name:30} p50 {figures['p50_ms']:7.2f} ms  p95 {figures['p95_ms']:7.2f} ms  "
                  f"max {figures['max_ms']:7.2f} ms  (p95 {figures['p95_vs_target']:.2f} of the 100 ms target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
