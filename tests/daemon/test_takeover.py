"""A replica busy with a long reconcile takes organizations over and reconciles them at once, beside it.

Bird is made slow for one organization only (every read of its workspace is answered 429, which the client
waits out): the reconcile of the replica that holds it does not end while the fault lasts. Its peer dies with
work left; the busy replica takes the peer's organizations over when their leases expire, and buys their
numbers while the slow reconcile still runs. Once Bird answers again, that one finishes too.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.conftest import Emulator, wait_until
from tests.daemon.test_fencing import organizations, owned, tenants_world, workspace_id

pytestmark = pytest.mark.postgres

ORGANIZATIONS = 4
LEASE_TTL = "3s"


@pytest.fixture
def four_tenants(tmp_path: Path) -> Iterator[Emulator]:
    from controller.emulator.server import running_emulator

    with running_emulator(str(tenants_world(tmp_path / "world.yaml", ORGANIZATIONS, stock=3))) as running:
        emu = Emulator(running.url)
        yield emu
        emu.http.close()


def number_doc(org: str) -> str:
    return f"""apiVersion: senderctl/v1
kind: PhoneNumber
metadata: {{name: line-{org}}}
spec: {{workspace: {org}-main, select: {{country: US, type: local}}}}
"""


def numbers_in(emulator: Emulator, org: str) -> int:
    ws = workspace_id(int(org.removeprefix("org-")))
    return sum(1 for n in emulator.state()["numbers"] if n["workspaceId"] == ws)


def reads_of(emulator: Emulator, org: str) -> int:
    counts = emulator.request_counts().get("byWorkspace", {}).get(workspace_id(int(org.removeprefix("org-"))), {})
    return sum(n for route, n in counts.items() if route.startswith("GET "))


def test_a_busy_replica_reconciles_the_organizations_it_takes_over_beside_its_long_reconcile(
        tmp_path, daemons, postgres_url, four_tenants):
    emulator = four_tenants
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    for i in range(1, ORGANIZATIONS + 1):
        (spec_dir / f"org-{i}.yaml").write_text(organizations(i))
    busy, peer = (daemons(spec_dir, postgres_url, emulator.url, extra=("--lease-ttl", LEASE_TTL)) for _ in range(2))
    for d in (busy, peer):
        d.wait_healthy()
    wait_until(lambda: all(len(owned(d) or []) == 2 for d in (busy, peer)), 60, "an even split")
    slow, other = owned(busy)
    theirs: list[str] = owned(peer)

    # Every read of the slow organization's workspace is refused (429, retry after 1 s) until the fault ends.
    emulator.fault(method="GET", effect="rate-limit", retryAfter=1, workspaceId=workspace_id(int(slow[4:])))
    emulator.zero_requests()
    (spec_dir / "numbers-busy.yaml").write_text("---\n".join(number_doc(o) for o in (slow, other)))
    wait_until(lambda: reads_of(emulator, slow) >= 3, 60, "the busy replica's reconcile to wait on Bird")

    # The peer, stopped, is given work it never does; it dies, and the busy replica takes it over.
    peer.proc.send_signal(signal.SIGSTOP)
    loads = len(busy.events("specs.loaded"))
    (spec_dir / "numbers-peer.yaml").write_text("---\n".join(number_doc(o) for o in theirs))
    busy.wait_event("specs.loaded", count=loads + 1)
    peer.proc.send_signal(signal.SIGKILL)
    peer.proc.wait(timeout=10)
    wait_until(lambda: len(owned(busy) or []) == ORGANIZATIONS, 60, "the busy replica to hold every organization")

    def taken_over_reconciled() -> bool:
        return all(numbers_in(emulator, org) == 1 for org in theirs)

    wait_until(taken_over_reconciled, 60, "the numbers of the organizations taken over")
    busy.wait_event("reconcile.done", where=lambda e: e.get("scope") == "organizations" and e.get("outcome") == "ok")
    # ... while the long reconcile still runs: it has bought nothing yet, and it is still reading.
    assert numbers_in(emulator, slow) == 0 and numbers_in(emulator, other) == 0
    reads = reads_of(emulator, slow)
    wait_until(lambda: reads_of(emulator, slow) > reads, 30, "the long reconcile to go on reading")
    assert not [e for e in busy.events("reconcile.done") if e.get("scope") == "targeted"], "the long one ended"

    emulator.http.delete("/_emulator/faults").raise_for_status()
    wait_until(lambda: all(numbers_in(emulator, f"org-{i}") == 1 for i in range(1, ORGANIZATIONS + 1)), 120,
               "the long reconcile to finish once Bird answers")
