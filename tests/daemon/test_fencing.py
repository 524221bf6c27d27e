"""Three daemon replicas on one PostgreSQL database, their leader cut off, stopped or killed mid-apply.

Every Bird write a daemon makes names its replica and lease epoch (the Senderctl-Holder header), and the
emulator logs the writes in arrival order. In each scenario: no write arrives under an epoch after the next
epoch began (by the lease history's server time, and by the log's order), nothing is bought twice, and the
replicas that remain finish the work.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, text

from controller.emulator.world import DEFAULT_RESELLER_ID
from tests.daemon.conftest import Emulator, wait_until

pytestmark = pytest.mark.postgres

ORGANIZATIONS = 12  # one workspace and one number each: twelve Bird purchases, each its own call
LEASE_TTL = "3s"


def org_id(i: int) -> str:
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def workspace_id(i: int) -> str:
    return f"{i:08x}-1111-4111-8111-{i:012x}"


def tenants_world(path: Path, organizations: int, *, stock: int) -> Path:
    """An emulator world of organizations 1..N, each with one workspace, an ACTIVE reseller and `stock`
    local US numbers, and one access key for all of them."""
    orgs = "\n".join(f"""  - id: {org_id(i)}
    resellers: [{{id: {DEFAULT_RESELLER_ID}, status: ACTIVE}}]
    stock: [{{country: US, type: local, count: {stock}}}]
    workspaces: [{{id: {workspace_id(i)}, wallet: "100.00"}}]""" for i in range(1, organizations + 1))
    keys = ", ".join(org_id(i) for i in range(1, organizations + 1))
    path.write_text(f"organizations:\n{orgs}\naccessKeys:\n  - {{key: emulator-key, organizations: [{keys}]}}\n")
    return path


@pytest.fixture
def fenced_emulator(tmp_path: Path) -> Iterator[Emulator]:
    from controller.emulator.server import running_emulator

    with running_emulator(str(tenants_world(tmp_path / "world.yaml", ORGANIZATIONS, stock=5))) as running:
        emu = Emulator(running.url)
        # Most purchase attempts are answered 429 (retry after 1 s): an apply's writes spread over seconds,
        # so there is an apply to interrupt, and retries that a lapsed lease must stop.
        emu.fault(method="POST", route="/workspaces/{workspaceId}/numbers-long-code", effect="rate-limit",
                  probability=0.85, times=100000, retryAfter=1)
        yield emu
        emu.http.close()


def organizations(i: int) -> str:
    return f"""apiVersion: senderctl/v1
kind: Organization
metadata: {{name: org-{i}}}
spec:
  birdOrganizationId: {org_id(i)}
  multiSmsNumbers: {{enabled: true, limit: 5, weeklyPrice: "2.99", currency: USD}}
---
apiVersion: senderctl/v1
kind: Workspace
metadata: {{name: org-{i}-main}}
spec: {{organization: org-{i}, birdWorkspaceId: {workspace_id(i)}}}
"""


def specs(tmp_path: Path) -> Path:
    """The organizations and their workspaces (no Bird write); add_numbers() adds the work."""
    root = tmp_path / "specs"
    root.mkdir()
    for i in range(1, ORGANIZATIONS + 1):
        (root / f"org-{i}.yaml").write_text(organizations(i))
    return root


def add_numbers(spec_dir: Path) -> None:
    (spec_dir / "numbers.yaml").write_text("---\n".join(f"""apiVersion: senderctl/v1
kind: PhoneNumber
metadata: {{name: line-{i}}}
spec: {{workspace: org-{i}-main, select: {{country: US, type: local}}}}
""" for i in range(1, ORGANIZATIONS + 1)))


def owned(d: Any) -> list[str] | None:
    try:
        return d.get("/readyz").json().get("organizations")
    except Exception:
        return None


def replicas(daemons, tmp_path: Path, state_url: str, emulator: Emulator) -> tuple[list[Any], Path]:
    """Three replicas, once they divided the organizations evenly."""
    spec_dir = specs(tmp_path)
    started = [daemons(spec_dir, state_url, emulator.url, extra=("--lease-ttl", LEASE_TTL), env={"PGAPPNAME": name})
               for name in ("replica-a", "replica-b", "replica-c")]
    for d in started:
        d.wait_healthy()
    share = ORGANIZATIONS // len(started)
    wait_until(lambda: all(len(owned(d) or []) == share for d in started), 60, "an even split of the organizations")
    return started, spec_dir


def writes(emulator: Emulator) -> list[dict[str, Any]]:
    return emulator.http.get("/_emulator/requests", params={"writes": "1"}).raise_for_status().json()["writes"]


def parsed(holder: str | None) -> tuple[str, str, int]:
    """(replica, shard, epoch) of a write's Senderctl-Holder header."""
    assert holder, "every daemon write names its replica, shard and lease epoch"
    name, _, rest = holder.partition(" shard=")
    shard, _, epoch = rest.partition(" epoch=")
    return name, shard, int(epoch)


def epochs(state_url: str) -> dict[tuple[str, int], tuple[str, float]]:
    """(shard, epoch) -> (holder, when it began, as a Unix time by the database server's clock)."""
    engine = create_engine(state_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT shard, epoch, holder, extract(epoch FROM acquired_at) FROM lease_epochs"
                                     )).all()
    finally:
        engine.dispose()
    return {(s, int(e)): (h, float(t)) for s, e, h, t in rows}


def writes_by(emulator: Emulator, d: Any) -> int:
    pid = f"/{d.proc.pid} "
    return sum(1 for w in writes(emulator) if w["holder"] and pid in w["holder"])


def converged(emulator: Emulator, state_url: str) -> bool:
    numbers = emulator.state()["numbers"]
    engine = create_engine(state_url)
    try:
        with engine.connect() as conn:
            recorded = conn.execute(text("SELECT count(*) FROM resources WHERE kind = 'PhoneNumber'")).scalar_one()
            open_intents = conn.execute(text("SELECT count(*) FROM operations WHERE status = 'intent'")).scalar_one()
    finally:
        engine.dispose()
    return len(numbers) >= ORGANIZATIONS and recorded == ORGANIZATIONS and open_intents == 0


def check_fenced(emulator: Emulator, state_url: str, victim_pid: int) -> None:
    log = writes(emulator)
    began = epochs(state_url)
    highest: dict[str, int] = {}
    for w in log:
        name, shard, epoch = parsed(w["holder"])
        assert began[(shard, epoch)][0] == name, f"write {w} names a holder the lease never had"
        # No write of an epoch arrives once a later epoch of its shard began (one machine's clock) ...
        later = [t for (s, e), (_, t) in began.items() if s == shard and e > epoch]
        assert not later or w["at"] < min(later), f"write {w} arrived after epoch {epoch} of {shard} moved on"
        # ... nor after a write of a later epoch of its shard.
        assert epoch >= highest.get(shard, 0), f"write {w} after a write of epoch {highest[shard]} of {shard}"
        highest[shard] = epoch
    # Nothing bought twice: one number per declared PhoneNumber, every one of them recorded.
    numbers = emulator.state()["numbers"]
    assert len(numbers) == ORGANIZATIONS, f"bought {len(numbers)} numbers for {ORGANIZATIONS} declared"
    # The victim wrote before it was interrupted. That the work was finished without it is waited on by each
    # test (converged) before this check; which replica wrote the last of it depends on the machine's speed.
    mine = f"/{victim_pid}"
    assert any(parsed(w["holder"])[0].endswith(mine) for w in log), "the victim wrote before it was interrupted"


def start_and_interrupt_after_writes(daemons, tmp_path, state_url, emulator) -> tuple[list[Any], Any]:
    group, spec_dir = replicas(daemons, tmp_path, state_url, emulator)
    add_numbers(spec_dir)
    victim = wait_until(lambda: next((d for d in group if writes_by(emulator, d) >= 2), None), 60,
                        "a replica's first Bird writes")
    return group, victim


def others_took_over(group: list[Any], victim: Any) -> None:
    rest = [d for d in group if d is not victim]
    wait_until(lambda: sum(len(owned(d) or []) for d in rest) == ORGANIZATIONS, 60,
               "the other replicas to hold every organization")


def test_a_replica_cut_off_from_the_database_makes_no_write_once_others_hold_its_organizations(
        tmp_path, daemons, postgres_url, fenced_emulator):
    emulator = fenced_emulator
    group, victim = start_and_interrupt_after_writes(daemons, tmp_path, postgres_url, emulator)
    name = {d: n for d, n in zip(group, ("replica-a", "replica-b", "replica-c"), strict=True)}[victim]
    database = postgres_url.rsplit("/", 1)[1]
    # End every session the leader opens, as fast as it opens them, until another replica leads.
    cutting = threading.Event()
    cut_count = [0]

    def cut() -> None:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}", autocommit=True) as conn:
            while not cutting.is_set():
                cut_count[0] += conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = %s AND pid <> pg_backend_pid()", (name,)).fetchone()[0]

    cutter = threading.Thread(target=cut, daemon=True)
    cutter.start()
    try:
        others_took_over(group, victim)
        wait_until(lambda: victim.role() != "leader", 30, "the cut-off replica to stand by")
    finally:
        cutting.set()
        cutter.join(timeout=10)
    assert cut_count[0] > 0
    wait_until(lambda: converged(emulator, postgres_url), 90, "the others to finish the work")
    check_fenced(emulator, postgres_url, victim.proc.pid)


def test_a_replica_stopped_past_its_leases_makes_no_write_when_it_resumes(tmp_path, daemons, postgres_url,
                                                                         fenced_emulator):
    emulator = fenced_emulator
    group, victim = start_and_interrupt_after_writes(daemons, tmp_path, postgres_url, emulator)
    os.kill(victim.proc.pid, signal.SIGSTOP)
    try:
        # The others take its organizations over and write under their epochs while it sleeps, writes queued.
        others_took_over(group, victim)
    finally:
        os.kill(victim.proc.pid, signal.SIGCONT)
    # Awake, it believes for a moment that it leads; its queued writes are refused before they leave.
    wait_until(lambda: victim.events("leader.lost") or victim.events("reconcile.fenced")
               or victim.events("shards.released"), 30, "the resumed replica to notice its leases are gone")
    wait_until(lambda: converged(emulator, postgres_url), 90, "the others to finish the work")
    check_fenced(emulator, postgres_url, victim.proc.pid)
    assert victim.alive()


def test_a_replica_killed_mid_apply_leaves_nothing_bought_twice(tmp_path, daemons, postgres_url, fenced_emulator):
    emulator = fenced_emulator
    group, victim = start_and_interrupt_after_writes(daemons, tmp_path, postgres_url, emulator)
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(timeout=10)
    others_took_over(group, victim)
    wait_until(lambda: converged(emulator, postgres_url), 90, "the others to finish the work")
    check_fenced(emulator, postgres_url, victim.proc.pid)


def test_replicas_through_pgbouncer_in_transaction_pooling_mode_stay_fenced(tmp_path, daemons, postgres_url,
                                                                            fenced_emulator):
    from tests.pgbouncer import running_pgbouncer, through

    emulator = fenced_emulator
    with running_pgbouncer(pool_size=20) as port:
        pooled = through(postgres_url, port)
        group, victim = start_and_interrupt_after_writes(daemons, tmp_path, pooled, emulator)
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(timeout=10)
        others_took_over(group, victim)
        wait_until(lambda: converged(emulator, postgres_url), 90, "the others to finish the work")
        check_fenced(emulator, postgres_url, victim.proc.pid)
        assert not any(d.events("reconcile.error") for d in group if d is not victim)


def test_a_pinned_replica_holds_only_its_pins_and_every_replica_shows_what_it_owns(tmp_path, daemons, postgres_url,
                                                                                fenced_emulator):
    spec_dir = specs(tmp_path)
    pinned = daemons(spec_dir, postgres_url, fenced_emulator.url, extra=("--lease-ttl", LEASE_TTL, "--shard", "org-3"))
    rest = [daemons(spec_dir, postgres_url, fenced_emulator.url, extra=("--lease-ttl", LEASE_TTL)) for _ in range(2)]
    for d in (pinned, *rest):
        d.wait_healthy()
    wait_until(lambda: owned(pinned) == ["org-3"] and sorted(len(owned(d) or []) for d in rest) == [5, 6], 60,
               "the pin honoured and the rest divided")
    assert "org-3" not in {org for d in rest for org in owned(d) or []}
    metrics = pinned.get("/metrics").text
    assert "senderctl_owned_organizations 1.0" in metrics
    assert 'senderctl_organization_owned{organization="org-3"' in metrics
