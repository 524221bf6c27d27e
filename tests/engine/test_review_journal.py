"""Review findings on the operation journal: a long-lived resource keeps getting fresh idempotency keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.state import StateStore
from controller.state.tables import OperationRow
from tests.engine.conftest import Emulator

BRAND_CREATE = "/workspaces/{workspaceId}/tcr-brands"


def test_a_write_retried_more_than_a_thousand_times_still_gets_a_fresh_key(
        quickstart: Path, settings: Settings, emulator: Emulator) -> None:
    # A daemon retrying the same failing write every few minutes journals one attempt each time;
    # after 1,000 of them the resource must not be wedged by a key collision.
    emulator.fault(method="POST", route=BRAND_CREATE, effect="status", status=422, times=1)
    first = asyncio.run(engine.apply([str(quickstart)], settings))
    assert "Brand/acme" in {r.change.address for r in first.report.failed}
    emulator.http.delete("/_emulator/faults").raise_for_status()
    with StateStore.open(settings.state_url) as store:
        failed = next(op for op in store.operations(limit=1000) if op.address.startswith("Brand/"))
        now = datetime.now(UTC)
        with store.transaction() as session:
            session.add_all(OperationRow(address=failed.address, action=failed.action, key=f"{failed.key}.{n}",
                                         request=failed.request, status="failed", error="422",
                                         started_at=now, finished_at=now)
                            for n in range(2, 1002))

    second = asyncio.run(engine.apply([str(quickstart)], settings))

    assert not second.report.failed, [r.error for r in second.report.failed]
    assert len(emulator.state()["brands"]) == 1
