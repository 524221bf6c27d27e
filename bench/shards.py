"""Several daemon replicas on one PostgreSQL database: how evenly they share the organizations, how fast the
others take over when one dies, and whether a replica that lost its lease ever writes to Bird again.

    python bench/shards.py [--replicas 3] [--organizations 300] [--numbers 10] [--lease-ttl 6s]

Each organization has its own workspace and a NumberPool of --numbers numbers. Without an approved 10DLC
campaign an organization gets its first number only (the others wait, as the platform's rules say), so the
Bird writes are one purchase per organization; the figures are about who makes them. Steps:

1. start the replicas on a fresh database with the organizations only, and wait until they have divided
   them (organizations per replica: max/min);
2. add the pools, and SIGKILL the replica that wrote first once it has written;
3. measure the takeover: seconds from the SIGKILL until the others hold every organization (its leases
   expired and taken: lease_takeover_seconds), and until each has finished a reconcile begun after it took
   its share of the dead replica's (takeover_seconds; the bound asked for is 15 s);
4. wait until every organization holds its number, then count the Bird writes made under a lease epoch
   after that shard's next epoch began (the emulator logs each write with its replica and epoch): 0.

PostgreSQL: SENDERCTL_BENCH_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test) names a server
where a database can be created; it is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import free_port  # noqa: E402

ADMIN_URL = os.environ.get("SENDERCTL_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ACCESS_KEY = "bench-key"
RESELLER = "33333333-3333-4333-8333-333333333333"


def org_id(i: int) -> str:
    return str(uuid.UUID(int=(0x1111 << 112) | i, version=4))


def workspace_id(i: int) -> str:
    return str(uuid.UUID(int=(0x2222 << 112) | i, version=4))


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def write_world(path: Path, organizations: int, numbers: int) -> None:
    import yaml

    path.write_text(yaml.safe_dump({
        "organizations": [{"id": org_id(i), "resellers": [{"id": RESELLER, "status": "ACTIVE"}],
                           "stock": [{"country": "US", "type": "local", "count": numbers + 2}],
                           "workspaces": [{"id": workspace_id(i), "wallet": "1000.00"}]}
                          for i in range(organizations)],
        "accessKeys": [{"key": ACCESS_KEY, "organizations": [org_id(i) for i in range(organizations)]}],
    }, sort_keys=False))


def organization_docs(i: int) -> str:
    return f"""apiVersion: senderctl/v1
kind: Organization
metadata: {{name: org-{i:03d}}}
spec:
  birdOrganizationId: {org_id(i)}
  multiSmsNumbers: {{enabled: true, limit: 50, weeklyPrice: "2.99"}}
---
apiVersion: senderctl/v1
kind: Workspace
metadata: {{name: org-{i:03d}-main}}
spec: {{organization: org-{i:03d}, birdWorkspaceId: {workspace_id(i)}}}
"""


def pool_doc(i: int, numbers: int) -> str:
    return f"""apiVersion: senderctl/v1
kind: NumberPool
metadata: {{name: org-{i:03d}-pool}}
spec: {{workspace: org-{i:03d}-main, count: {numbers}, select: {{country: US, type: local}}}}
"""


class Replica:
    def __init__(self, specs: Path, state_url: str, bird_url: str, workdir: Path, ttl: str, n: int) -> None:
        self.port = free_port()
        self.log = workdir / f"replica-{n}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "daemon", str(specs), "--listen", f"127.0.0.1:{self.port}", "--resync", "1h",
             "--state", state_url, "--bird-url", bird_url, "--lease-ttl", ttl, "--health-details", "loopback"],
            cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
            env={**os.environ, "BIRD_ACCESS_KEY": ACCESS_KEY})
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=5)

    def owned(self) -> list[str]:
        try:
            return list(self.http.get("/readyz").json().get("organizations") or [])
        except (httpx.HTTPError, ValueError):
            return []

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and item.get("event") == name:
                found.append(item)
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.http.close()


def event_time(item: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(item["ts"].replace("Z", "+00:00")).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--organizations", type=int, default=300)
    parser.add_argument("--numbers", type=int, default=10)
    parser.add_argument("--lease-ttl", default="6s")
    args = parser.parse_args()

    import psycopg
    from sqlalchemy import create_engine, text

    database = f"senderctl_shards_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    state_url = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{database}"
    workdir = Path(tempfile.mkdtemp(prefix="senderctl-shards-"))
    specs = workdir / "specs"
    specs.mkdir()
    for i in range(args.organizations):
        (specs / f"org-{i:03d}.yaml").write_text(organization_docs(i))
    write_world(workdir / "world.yaml", args.organizations, args.numbers)
    emulator_port = free_port()
    emulator = subprocess.Popen([sys.executable, "-m", "cli", "emulator", "--port", str(emulator_port),
                                 "--world", str(workdir / "world.yaml")], cwd=str(ROOT), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
    bird_url = f"http://127.0.0.1:{emulator_port}"
    bird = httpx.Client(base_url=bird_url, timeout=30)
    replicas: list[Replica] = []
    result: dict[str, Any] = {"replicas": args.replicas, "organizations": args.organizations,
                              "numbers_per_organization": args.numbers, "lease_ttl": args.lease_ttl}
    try:
        wait_until(lambda: _up(bird), 60, "the emulator")
        replicas = [Replica(specs, state_url, bird_url, workdir, args.lease_ttl, n) for n in range(args.replicas)]
        share = math.ceil(args.organizations / args.replicas)
        started = time.monotonic()
        wait_until(lambda: sum(len(r.owned()) for r in replicas) == args.organizations
                   and all(len(r.owned()) >= args.organizations // args.replicas for r in replicas),
                   180, "the replicas to divide the organizations")
        counts = [len(r.owned()) for r in replicas]
        result.update(organizations_per_replica=counts, max_over_min=round(max(counts) / max(1, min(counts)), 3),
                      seconds_to_divide=round(time.monotonic() - started, 1), share=share)

        # The work: every organization's pool; the replica that writes first dies once it has written.
        (specs / "pools.yaml").write_text("---\n".join(pool_doc(i, args.numbers) for i in range(args.organizations)))
        victim = wait_until(lambda: _first_writer(bird, replicas), 180, "a replica's first Bird write")
        lost = _held_by(state_url, victim)
        victim.proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        victim.proc.wait(timeout=10)
        others = [r for r in replicas if r is not victim]
        wait_until(lambda: sum(len(r.owned()) for r in others) == args.organizations, 120,
                   "the others to hold every organization")
        result["lease_takeover_seconds"] = round(time.time() - killed_at, 1)

        def reconciled_again() -> float | None:
            """When the last survivor finished a reconcile begun after it took its share of the dead one's."""
            finished = []
            for r in others:
                gained = [e for e in r.events("shards.acquired") if event_time(e) >= killed_at]
                if not gained:
                    continue
                took = event_time(gained[-1])
                done = [event_time(e) for e in r.events("reconcile.done") if event_time(e) > took
                        and e.get("scope") in ("organizations", "full")]
                if not done:
                    return None
                finished.append(done[0])
            return max(finished) if finished else None

        done_at = wait_until(reconciled_again, 180, "the dead replica's organizations to be reconciled again")
        result.update(killed_replica_organizations=len(lost), takeover_seconds=round(done_at - killed_at, 1),
                      organizations_per_survivor=[len(r.owned()) for r in others])

        wait_until(lambda: len(bird.get("/_emulator/state").json()["numbers"]) >= args.organizations, 300,
                   "every organization's first number")
        writes = bird.get("/_emulator/requests", params={"writes": "1"}).json()["writes"]
        engine = create_engine(state_url)
        with engine.connect() as conn:
            began: dict[tuple[str, int], float] = {
                (s, int(e)): float(t) for s, e, t in conn.execute(text(
                    "SELECT shard, epoch, extract(epoch FROM acquired_at) FROM lease_epochs"))}
        engine.dispose()
        late = unfenced = 0
        for w in writes:
            holder = w.get("holder")
            if not holder:
                unfenced += 1
                continue
            shard, _, epoch = holder.partition(" shard=")[2].partition(" epoch=")
            later = [t for (s, e), t in began.items() if s == shard and e > int(epoch)]
            late += bool(later and w["at"] >= min(later))
        numbers = len(bird.get("/_emulator/state").json()["numbers"])
        result.update(bird_writes=len(writes), writes_after_lost_lease=late, writes_without_holder=unfenced,
                      numbers_bought=numbers, bought_twice=numbers - args.organizations)
    finally:
        for r in replicas:
            r.stop()
        emulator.terminate()
        emulator.wait(timeout=15)
        bird.close()
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(json.dumps(result, indent=2))
    ok = (result["max_over_min"] <= 1.2 and result["takeover_seconds"] <= 15 and result["writes_after_lost_lease"] == 0
          and result["bought_twice"] == 0)
    print(f"organizations per replica {result['organizations_per_replica']} (max/min {result['max_over_min']}); "
          f"takeover after SIGKILL {result['takeover_seconds']} s; Bird writes after a lost lease "
          f"{result['writes_after_lost_lease']}; bought twice {result['bought_twice']}: {'OK' if ok else 'NOT MET'}")
    return 0 if ok else 1


def _held_by(state_url: str, replica: Replica) -> set[str]:
    """The organizations whose live lease the replica holds (read from the leases table)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(state_url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text(
                "SELECT shard FROM leases WHERE holder LIKE :h AND expires_at > (clock_timestamp() AT TIME ZONE 'UTC')"),
                {"h": f"%/{replica.proc.pid}"}).scalars())
    finally:
        engine.dispose()


def _up(bird: httpx.Client) -> bool:
    try:
        return bird.get("/_emulator/requests").status_code == 200
    except httpx.HTTPError:
        return False


def _first_writer(bird: httpx.Client, replicas: list[Replica]) -> Replica | None:
    writes = bird.get("/_emulator/requests", params={"writes": "1"}).json()["writes"]
    for w in writes:
        holder = w.get("holder") or ""
        for r in replicas:
            if holder.split(" ", 1)[0].endswith(f"/{r.proc.pid}"):
                return r
    return None


if __name__ == "__main__":
    sys.exit(main())
