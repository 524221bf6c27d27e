"""One active daemon per state.

PostgreSQL: leadership is a fenced lease (controller.state.lease): a row with an epoch that grows with
every new holder, renewed by short transactions; every journal intent checks the epoch in its own
transaction and every Bird write attempt checks the lease's local deadline, so a holder whose epoch
moved on makes no further Bird write. A leader that exits releases the lease at once; one that dies or
is cut off loses it when it expires (DEFAULT_LEASE_TTL).

SQLite: there are no replicas. The daemon holds an OS file lock beside the database file for its
whole life (released by the kernel if the process dies), and a second daemon refuses to start.

In both cases a `locks` row named "daemon" says who leads, for messages and /readyz.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from controller.state import lease, lock
from controller.state.db import check_sqlite_file, postgres_url, sqlite_path
from controller.state.errors import LockHolder, StateError
from controller.state.records import utcnow

LEADER_LOCK = "daemon"
# libpq: fail a connect fast, notice a dead peer within ~10 s. No startup options (PgBouncer refuses
# them): each lease transaction sets its own statement timeout.
PG_CONNECT_ARGS: dict[str, Any] = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5,
                                   "keepalives_interval": 2, "keepalives_count": 3}
# Seconds a lease lasts unless renewed (every third of it): a dead leader's work resumes elsewhere
# within about this long plus a standby's poll.
DEFAULT_LEASE_TTL = 6.0


class DaemonAlreadyRunning(StateError):
    """Another daemon holds this SQLite state."""

    def __init__(self, holder: LockHolder | None, where: str) -> None:
        self.holder = holder
        who = holder.describe() if holder else "another process (no owner record)"
        super().__init__(
            f"another senderctl daemon already runs on the state {where}: {who}. A SQLite state serves "
            "exactly one daemon; stop that one first, or keep the state in PostgreSQL "
            "(--state postgresql+psycopg://...) to run several replicas with one leader")


def identity() -> str:
    return f"senderctl daemon pid={os.getpid()} host={socket.gethostname()}"


class Leadership:
    """The interface the daemon uses; see open_leadership."""

    kind = "none"
    # What engine.apply checks writes against (a fenced lease), or None where one process owns the state.
    write_fence: Any = None
    # Seconds until another replica's lease or heartbeat lapses (see lease.Assignment), as of the last round.
    next_expiry: float | None = None

    def attach(self, engine: Engine) -> None:
        raise NotImplementedError

    def try_acquire(self) -> bool:
        raise NotImplementedError

    def still_leader(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def leader(self) -> LockHolder | None:
        raise NotImplementedError

    def set_shards(self, shards: list[str], shard_of: dict[str, str]) -> None:
        """The organizations the specs declare, and the organization of each resource address."""

    def balance(self) -> set[str]:
        """Take or give up shards; the shards this process may write for now (ALL: every organization)."""
        return {lease.ALL} if self.try_acquire() else set()


class SingleDaemon(Leadership):
    """SQLite: this process leads from the start, or the constructor raised DaemonAlreadyRunning.

    The file lock is taken before the database is opened, so a second daemon is refused at once
    (it never waits behind the first one's transactions); who holds it is written beside the lock."""

    kind = "sqlite"

    def __init__(self, url: str, owner: str) -> None:
        self.owner = owner
        self.engine: Engine | None = None
        path = sqlite_path(url)
        self._lock: FileLock | None = None
        self._owner_file: Path | None = None
        if path is None:  # in-memory: nothing another process could share
            return
        check_sqlite_file(path)  # a missing directory or a broken file is an error, not a new state
        self._lock = FileLock(str(path.with_name(path.name + ".daemon.lock")))
        self._owner_file = path.with_name(path.name + ".daemon.owner")
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise DaemonAlreadyRunning(read_owner_file(self._owner_file), str(path)) from None
        self._owner_file.write_text(json.dumps({"owner": owner, "pid": os.getpid(), "host": socket.gethostname(),
                                                "since": utcnow().isoformat()}))

    def attach(self, engine: Engine) -> None:
        self.engine = engine
        lock.write_holder(engine, self.owner, name=LEADER_LOCK)

    def try_acquire(self) -> bool:
        return True

    def still_leader(self) -> bool:
        return True

    def release(self) -> None:
        if self.engine is not None:
            with contextlib.suppress(Exception):
                lock.clear_holder(self.engine, LEADER_LOCK, pid=os.getpid())
        if self._lock is not None and self._lock.is_locked:
            if self._owner_file is not None:
                with contextlib.suppress(OSError):
                    self._owner_file.unlink()
            self._lock.release()

    def leader(self) -> LockHolder | None:
        return None if self.engine is None else lock.read_holder(self.engine, LEADER_LOCK)


def read_owner_file(path: Path) -> LockHolder | None:
    try:
        data = json.loads(path.read_text())
        return LockHolder(str(data["owner"]), data.get("pid"), data.get("host"),
                          datetime.fromisoformat(data["since"]) if data.get("since") else None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


class LeaseLeadership(Leadership):
    """PostgreSQL: organizations are shards, each with a fenced lease (controller.state.lease); the leases
    table is the assignment. Each balancing round (balance(), every --leader-poll) says this replica is
    alive, then takes free or expired leases up to its even share and gives up those above it, so N
    replicas converge on ceil(organizations / N) each; `--shard ORG` pins organizations to a replica.

    Leases are taken and renewed with short transactions on a connection pool of our own (so a busy state
    pool never delays a renewal), renewed by a thread of its own every ttl/3 (so a busy event loop never
    lets one lapse). No session state: it works through PgBouncer in transaction pooling mode, and a cut
    session costs nothing but a reconnect."""

    kind = "postgresql"

    def __init__(self, url: str, owner: str, ttl: float = DEFAULT_LEASE_TTL, pinned: tuple[str, ...] = ()) -> None:
        self.engine: Engine | None = None
        self.owner = owner
        self.ttl = ttl
        self.pinned = sorted(set(pinned))
        self.holder = replica_name()
        self.fence = lease.Fence(self.holder, ttl)
        self.shards: list[str] = [lease.ALL]
        self.shard_of: dict[str, str] = {}
        self.write_fence: lease.WriteFence | None = lease.WriteFence(self.fence, self._shard_of)
        psycopg_url, pooled = postgres_url(url)
        args = {**PG_CONNECT_ARGS, **({"prepare_threshold": None} if pooled else {})}
        self._lease_engine = create_engine(psycopg_url, poolclass=NullPool, connect_args=args)
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def attach(self, engine: Engine) -> None:
        self.engine = engine

    def set_shards(self, shards: list[str], shard_of: dict[str, str]) -> None:
        self.shards = sorted(shards) or [lease.ALL]
        self.shard_of = dict(shard_of)

    def _shard_of(self, address: str) -> str | None:
        held = self.fence.held()
        if lease.ALL in held:
            return lease.ALL
        return self.shard_of.get(address)

    def balance(self) -> set[str]:
        view = lease.heartbeat(self._lease_engine, self.holder, self.pinned, self.ttl)
        self.next_expiry = view.next_expiry
        may, quota = lease.share(self.shards, self.holder, view)
        held = self.fence.held()
        keep = [s for s in sorted(held) if s in may][:quota]
        extra = {s: e for s, e in held.items() if s not in keep}
        if extra:
            self.fence.drop(set(extra))  # first: no write may start once we begin giving them up
            lease.release(self._lease_engine, extra, self.holder)
        for shard in sorted(may - set(keep)):
            if len(keep) >= quota:
                break
            if view.holders.get(shard, self.holder) != self.holder:
                continue
            sent = time.monotonic()  # before the statement: the local deadline ends before the server's expiry
            epoch = lease.acquire(self._lease_engine, shard, self.holder, self.ttl)
            if epoch is not None:
                self.fence.took(shard, epoch, sent)
                keep.append(shard)
        if self._renewer is None or not self._renewer.is_alive():
            self._renewer = threading.Thread(target=self._renew_forever, name="lease-renewer", daemon=True)
            self._renewer.start()
        return set(keep)

    def try_acquire(self) -> bool:
        return bool(self.balance())

    def owned(self) -> set[str]:
        return set(self.fence.held())

    def epoch(self) -> int | None:
        held = self.fence.held()
        return max(held.values()) if held else None

    def still_leader(self) -> bool:
        """True while some lease is ours by the local clock (renewed in time, epoch unchanged)."""
        return bool(self.fence.held())

    def _renew_forever(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            held = self.fence.held()
            sent = time.monotonic()
            try:
                kept = lease.keep_alive(self._lease_engine, held, self.holder, self.ttl)
            except Exception:  # the database is unreachable: the leases lapse by themselves at their deadline
                continue
            if held:
                self.fence.renewed(kept, sent)

    def release(self) -> None:
        held = self.fence.held()
        self.fence.drop()  # first: no write may start once we begin giving the leases up
        with contextlib.suppress(Exception):
            if held:
                lease.release(self._lease_engine, held, self.holder)
            lease.leave(self._lease_engine, self.holder)

    def close(self) -> None:
        self._stop.set()
        self.release()
        if self._renewer is not None:
            self._renewer.join(timeout=self.ttl)
        self._lease_engine.dispose()

    def leader(self) -> LockHolder | None:
        """A live holder (for /readyz: someone leads); this replica when it holds a lease."""
        live = [info for info in lease.leases(self._lease_engine) if info.live and info.holder]
        if not live:
            return None
        info = next((i for i in live if i.holder == self.holder), live[0])
        host, _, pid = (info.holder or "").rpartition("/")
        return LockHolder(f"senderctl daemon {info.holder} (lease on {lease.shard_name(info.shard)}, epoch "
                          f"{info.epoch})", int(pid) if pid.isdigit() else None, host or None, info.acquired_at)


def replica_name() -> str:
    """This replica, as leases and Bird write headers name it: host (a pod's name on Kubernetes) and pid."""
    return f"{socket.gethostname()}/{os.getpid()}"


def open_leadership(url: str, owner: str | None = None, ttl: float = DEFAULT_LEASE_TTL,
                    pinned: tuple[str, ...] = ()) -> Leadership:
    """The leadership for the state at `url`, before the state is opened; attach(store.engine) after.
    SQLite: raises DaemonAlreadyRunning at once when another daemon has this state."""
    owner = owner or identity()
    try:
        backend = make_url(url).get_backend_name()
    except Exception:
        raise StateError(f"--state {url!r} is not a database URL; use e.g. sqlite:///.senderctl/state.db or "
                         "postgresql+psycopg://postgres@127.0.0.1:5432/senderctl") from None
    if backend == "postgresql":
        return LeaseLeadership(url, owner, ttl, pinned)
    return SingleDaemon(url, owner)
