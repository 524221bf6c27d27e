"""Fenced leases on PostgreSQL: who may write to Bird for a shard, checked where it matters.

A lease is a row of `leases` per shard (the whole state, or one organization). Taking it bumps its
`epoch`, the fencing token; the holder renews it with short transactions of its own, and every
journal intent is written in a transaction that first checks, with the row locked FOR SHARE, that the
holder's epoch is still the lease's and that the lease outlives the intent's Bird call by a margin
(check_in). Bird is called only after that commit. A new holder can take a lease only once the
database server's clock has passed its expiry, and its epoch bump waits for any intent transaction
that holds the row, so every intent of an old epoch is committed before a new epoch begins.

Between its intents a holder also keeps a local deadline on the monotonic clock, taken *before* each
renewal was sent (so it always ends before the server's expiry), and the Bird client asks it right
before every write attempt (Fence.headers): a holder that was stopped, or lost its database, past its
lease sends nothing more, whatever its connection or its wall clock believes.

Every statement here is one short transaction (no session state), so leases work through PgBouncer
in transaction pooling mode.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from controller.state.errors import LockLost, StateLocked
from controller.state.lock import APPLY_LOCK_KEY

# The database server's clock, as naive UTC like every other timestamp of the state.
NOW = "(clock_timestamp() AT TIME ZONE 'UTC')"
STATEMENT_TIMEOUT_MS = 5000
# A transaction that holds a lease row (an intent's FOR SHARE check, a renewal's UPDATE) is ended by the
# server once its process has left it idle this long: a holder stopped inside one (SIGSTOP, a frozen VM)
# otherwise kept every other replica from taking its leases over until it woke. Such a transaction runs
# its few statements back to back; ended, it commits nothing, and no Bird write follows an uncommitted intent.
IDLE_HOLDING_A_LEASE_MS = 5000  # within the default lease TTL (6 s): no takeover waits longer for it
# An intent is written only while the lease outlives it by this much: the time its Bird call may take
# to leave this process after the intent's commit. The local deadline keeps the same margin.
INTENT_MARGIN_SECONDS = 1.0


class LeaseLost(LockLost):
    """This process's lease on a shard ended (expired, or another replica holds a newer epoch)."""


@dataclass(frozen=True)
class LeaseInfo:
    shard: str
    epoch: int
    holder: str | None
    expires_at: datetime
    acquired_at: datetime | None
    live: bool


@contextlib.contextmanager
def short_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that cannot hang: its statements give up after STATEMENT_TIMEOUT_MS."""
    with engine.begin() as conn:
        conn.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
        conn.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {IDLE_HOLDING_A_LEASE_MS}"))
        yield conn


def ensure(conn: Connection, shards: list[str]) -> None:
    for shard in shards:
        conn.execute(text("INSERT INTO leases (shard, epoch, holder, expires_at) VALUES (:s, 0, NULL, :t) "
                          "ON CONFLICT (shard) DO NOTHING"), {"s": shard, "t": datetime(1970, 1, 1)})


def acquire(engine: Engine, shard: str, holder: str, ttl: float) -> int | None:
    """Take the shard's lease when it is free or expired: the new epoch, or None when another holds it."""
    with short_transaction(engine) as conn:
        ensure(conn, [shard])
        epoch = conn.execute(text(
            f"UPDATE leases SET epoch = epoch + 1, holder = :h, expires_at = {NOW} + make_interval(secs => :ttl), "
            f"acquired_at = {NOW} WHERE shard = :s AND (holder IS NULL OR expires_at <= {NOW}) RETURNING epoch"),
            {"s": shard, "h": holder, "ttl": ttl}).scalar()
        if epoch is None:
            return None
        conn.execute(text(f"INSERT INTO lease_epochs (shard, epoch, holder, acquired_at) VALUES (:s, :e, :h, {NOW})"),
                     {"s": shard, "e": epoch, "h": holder})
        return int(epoch)


def renew(engine: Engine, held: dict[str, int], holder: str, ttl: float) -> set[str]:
    """Extend the leases `held` (shard -> epoch) still ours, in one statement; returns their shards."""
    if not held:
        return set()
    with short_transaction(engine) as conn:
        return renew_in(conn, held, holder, ttl)


def renew_in(conn: Connection, held: dict[str, int], holder: str, ttl: float) -> set[str]:
    rows = conn.execute(text(
        f"UPDATE leases SET expires_at = {NOW} + make_interval(secs => :ttl) "
        "WHERE holder = :h AND shard = ANY(:shards) RETURNING shard, epoch"),
        {"h": holder, "ttl": ttl, "shards": list(held)}).all()
    return {shard for shard, epoch in rows if held.get(shard) == epoch}


def keep_alive(engine: Engine, held: dict[str, int], holder: str, ttl: float) -> set[str]:
    """renew(), and this replica's heartbeat in the same transaction: the renewal thread keeps the replica
    counted among the live ones even while its event loop is busy planning (the balancing rounds run
    there), so the others never see it gone and take more than their share."""
    with short_transaction(engine) as conn:
        conn.execute(text(f"UPDATE replicas SET expires_at = {NOW} + make_interval(secs => :ttl) WHERE name = :h"),
                     {"h": holder, "ttl": ttl})
        return renew_in(conn, held, holder, ttl) if held else set()


def release(engine: Engine, held: dict[str, int], holder: str) -> None:
    """Give leases up at once (a clean shutdown, a rebalance): the next taker need not wait for expiry."""
    with short_transaction(engine) as conn:
        for shard, epoch in held.items():
            conn.execute(text(f"UPDATE leases SET holder = NULL, expires_at = {NOW} "
                              "WHERE shard = :s AND holder = :h AND epoch = :e"), {"s": shard, "h": holder, "e": epoch})


def check_in(conn: Connection, shard: str, holder: str, epoch: int, margin: float = INTENT_MARGIN_SECONDS) -> None:
    """Inside a journal intent's transaction: raise LeaseLost unless `epoch` is still the shard's and its
    lease lasts `margin` more seconds. The row stays locked (FOR SHARE) until the intent commits, so no
    new epoch can begin in between. The apply lock's key is taken shared for the transaction: a command's
    apply (which holds it exclusively) stops the daemons' writes while it runs (StateLocked)."""
    conn.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {IDLE_HOLDING_A_LEASE_MS}"))
    if not conn.execute(text("SELECT pg_try_advisory_xact_lock_shared(:k)"), {"k": APPLY_LOCK_KEY}).scalar_one():
        raise StateLocked(None, "(a `senderctl apply` or `import` holds its apply lock)")
    found = conn.execute(text(
        f"SELECT epoch FROM leases WHERE shard = :s AND holder = :h AND epoch = :e "
        f"AND expires_at > {NOW} + make_interval(secs => :m) FOR SHARE"),
        {"s": shard, "h": holder, "e": epoch, "m": margin}).scalar()
    if found is None:
        raise LeaseLost(f"the lease on {shard_name(shard)} (epoch {epoch}) is no longer this replica's: another "
                        "replica took over or the lease expired; stopped before the next Bird write. What finished is "
                        "recorded, and the replica that holds the lease now carries on")


def leases(engine: Engine) -> list[LeaseInfo]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT shard, epoch, holder, expires_at, acquired_at, expires_at > {NOW} AS live "
                                 "FROM leases ORDER BY shard")).all()
    return [LeaseInfo(*row) for row in rows]


def shard_name(shard: str) -> str:
    return "the whole state" if shard == ALL else f"organization {shard}"


ALL = "*"  # the shard of a daemon that leads every organization


class Fence:
    """The leases this process holds, for the writes it makes: check_in() in an intent's transaction,
    headers() right before each Bird write attempt. Thread-safe (renewals run on their own thread)."""

    def __init__(self, holder: str, ttl: float, margin: float = INTENT_MARGIN_SECONDS,
                 clock: Any = time.monotonic) -> None:
        self.holder = holder
        self.ttl = ttl
        self.margin = margin
        self.clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, tuple[int, float]] = {}  # shard -> (epoch, local deadline)

    def held(self) -> dict[str, int]:
        """shard -> epoch of the leases still valid by the local clock (expired ones are dropped)."""
        now = self.clock()
        with self._lock:
            for shard in [s for s, (_, deadline) in self._held.items() if deadline <= now]:
                del self._held[shard]
            return {shard: epoch for shard, (epoch, _) in self._held.items()}

    def took(self, shard: str, epoch: int, sent_at: float) -> None:
        with self._lock:
            self._held[shard] = (epoch, sent_at + self.ttl - self.margin)

    def renewed(self, shards: set[str], sent_at: float) -> None:
        with self._lock:
            for shard in list(self._held):
                epoch, _ = self._held[shard]
                if shard in shards:
                    self._held[shard] = (epoch, sent_at + self.ttl - self.margin)
                else:
                    del self._held[shard]

    def drop(self, shards: set[str] | None = None) -> None:
        with self._lock:
            for shard in list(self._held) if shards is None else shards:
                self._held.pop(shard, None)

    def epoch(self, shard: str) -> int | None:
        """The epoch held on `shard` while the local deadline has not passed, else None."""
        with self._lock:
            epoch, deadline = self._held.get(shard, (None, 0.0))
            return epoch if epoch is not None and self.clock() < deadline else None

    def require(self, shard: str) -> int:
        epoch = self.epoch(shard)
        if epoch is None:
            raise LeaseLost(f"this replica no longer holds the lease on {shard_name(shard)} (it expired or was "
                            "given up); stopped before the next Bird write. The replica that holds it now carries on")
        return epoch

    def check_in(self, conn: Connection, shard: str) -> None:
        check_in(conn, shard, self.holder, self.require(shard), self.margin)

    def headers(self, shard: str) -> dict[str, str]:
        """Right before a Bird write attempt: who sends it (LeaseLost when the lease lapsed locally)."""
        return {HOLDER_HEADER: f"{self.holder} shard={shard} epoch={self.require(shard)}"}


# Names the replica and the epoch a Bird write was sent under (Bird ignores it; the emulator logs it).
HOLDER_HEADER = "Senderctl-Holder"


# The shard of the write this task is making (set by the intent's check_in, read by the Bird client).
CURRENT_SHARD: contextvars.ContextVar[str] = contextvars.ContextVar("senderctl_lease_shard", default=ALL)


# The fence of this task's journal intents when its store has none of its own (a platform API purchase,
# whose store the API's other requests share): see OrganizationLease.
TASK_FENCE: contextvars.ContextVar[Any] = contextvars.ContextVar("senderctl_task_fence", default=None)


class WriteFence:
    """What engine.apply is given: the Fence, and which shard each address's writes belong to."""

    def __init__(self, fence: Fence, shard_of: Callable[[str], str | None]) -> None:
        self.fence = fence
        self.shard_of = shard_of

    def check_in(self, conn: Connection, address: str) -> None:
        """An address of no known organization (a record the specs no longer declare) is written only while
        every lease this replica held when the reconcile began is still its own."""
        shard = self.shard_of(address)
        shards = [shard] if shard is not None else sorted(self.fence.held()) or [ALL]
        for each in shards:
            self.fence.check_in(conn, each)
        CURRENT_SHARD.set(shards[0])  # this task's next Bird write is this intent's

    def before_write(self) -> dict[str, str]:
        return self.fence.headers(CURRENT_SHARD.get())


# --- shards by organization: the leases table is the assignment table ---------------------------------


@dataclass(frozen=True)
class Assignment:
    """One balancing round's view: the live replicas and who holds which shard now."""

    replicas: dict[str, list[str]]  # live replica -> the shards an operator pinned to it
    holders: dict[str, str]  # shard -> its live holder
    # Seconds until the next lease or replica of another holder expires unless renewed (None: there is
    # none): a dead replica's organizations are free then, and the next round may take them.
    next_expiry: float | None = None


def heartbeat(engine: Engine, holder: str, pinned: list[str], ttl: float) -> Assignment:
    """Say this replica is alive (until now + ttl) and read the live replicas and the live leases."""
    with short_transaction(engine) as conn:
        conn.execute(text(
            f"INSERT INTO replicas (name, pinned, started_at, expires_at) VALUES (:n, CAST(:p AS json), {NOW}, "
            f"{NOW} + make_interval(secs => :ttl)) ON CONFLICT (name) DO UPDATE SET "
            "expires_at = EXCLUDED.expires_at, pinned = EXCLUDED.pinned"),
            {"n": holder, "p": json.dumps(pinned), "ttl": ttl})
        conn.execute(text(f"DELETE FROM replicas WHERE expires_at < {NOW} - interval '1 hour'"))
        replicas = {name: list(p or []) for name, p in conn.execute(text(
            f"SELECT name, pinned FROM replicas WHERE expires_at > {NOW}"))}
        holders = dict(conn.execute(text(
            f"SELECT shard, holder FROM leases WHERE holder IS NOT NULL AND expires_at > {NOW}")).all())
        soonest = conn.execute(text(
            f"SELECT extract(epoch FROM min(expires_at) - {NOW}) FROM (SELECT expires_at FROM replicas "
            f"WHERE name <> :n AND expires_at > {NOW} UNION ALL SELECT expires_at FROM leases "
            f"WHERE holder <> :n AND expires_at > {NOW}) AS others"), {"n": holder}).scalar()
    return Assignment(replicas, holders, None if soonest is None else float(soonest))


def leave(engine: Engine, holder: str) -> None:
    with short_transaction(engine) as conn:
        conn.execute(text("DELETE FROM replicas WHERE name = :n"), {"n": holder})


def share(shards: list[str], me: str, view: Assignment) -> tuple[set[str], int]:
    """Which shards this replica should hold (pure): (the shards it may take, how many it should hold).

    An operator's pins come first: a pinned shard belongs to its live pinning replica, and a replica with
    pins holds only those. The other shards are divided among the replicas without pins, at most
    ceil(n / replicas) each: every replica converges on the same even split, whatever order they run in."""
    pinned_to = {shard: name for name, pins in sorted(view.replicas.items()) for shard in pins}
    mine = view.replicas.get(me, [])
    if mine:
        wanted = {s for s in shards if pinned_to.get(s) == me}
        return wanted, len(wanted)
    free_shards = [s for s in shards if s not in pinned_to]
    sharing = [name for name, pins in view.replicas.items() if not pins] or [me]
    if me not in sharing:
        sharing.append(me)
    return set(free_shards), -(-len(free_shards) // len(sharing))


# --- platform API purchases: bound to their organization's lease ---------------------------------------


class OrganizationMoving(LeaseLost):
    """No replica holds the organization's lease now (a takeover is under way): retry shortly."""


class OrganizationLease:
    """A platform API purchase's fence. The API runs on every replica, and the one that serves a purchase
    need not own its organization; so the purchase is bound to the organization's lease epoch as it stood
    when it began (bind), whoever holds it. Each of its intents commits only while that epoch is still the
    organization's and lasts `margin` more seconds (its row locked FOR SHARE meanwhile, as check_in), and
    its Bird write leaves only before the expiry read then (a local monotonic deadline). So no purchase
    write crosses a change of owner: the new owner's epoch begins after the last intent of the old one
    committed and after every such write was sent, exactly as for the owner's own writes."""

    def __init__(self, shard: str, epoch: int, margin: float = INTENT_MARGIN_SECONDS,
                 clock: Any = time.monotonic) -> None:
        self.shard = shard
        self.epoch = epoch
        self.margin = margin
        self.clock = clock
        self._deadline = 0.0

    def check_in(self, conn: Connection, _address: str) -> None:
        sent = self.clock()
        conn.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {IDLE_HOLDING_A_LEASE_MS}"))
        left = conn.execute(text(
            f"SELECT extract(epoch FROM expires_at - {NOW}) FROM leases WHERE shard = :s AND epoch = :e "
            f"AND holder IS NOT NULL AND expires_at > {NOW} + make_interval(secs => :m) FOR SHARE"),
            {"s": self.shard, "e": self.epoch, "m": self.margin}).scalar()
        if left is None:
            raise OrganizationMoving(f"{shard_name(self.shard)} changed owner (lease epoch {self.epoch} ended) "
                                     "while the purchase was under way; stopped before its Bird write")
        self._deadline = sent + float(left) - self.margin

    def before_write(self) -> dict[str, str]:
        if self.clock() >= self._deadline:
            raise OrganizationMoving(f"the lease of {shard_name(self.shard)} (epoch {self.epoch}) may have ended "
                                     "since the purchase's intent; stopped before its Bird write")
        return {HOLDER_HEADER: f"{API_HOLDER_PREFIX}{_replica()} shard={self.shard} epoch={self.epoch}"}


# Names a platform API purchase's writes in the Senderctl-Holder header (the lease's holder is another replica).
API_HOLDER_PREFIX = "platform-api:"


def _replica() -> str:
    import os
    import socket

    return f"{socket.gethostname()}/{os.getpid()}"


def bind(engine: Engine, organization: str) -> OrganizationLease | None:
    """The fence of a purchase for `organization` beginning now: its live lease (or the whole state's).
    None where no daemon fences this state (SQLite, or no daemon replica is alive and none ever held this
    organization): the purchase's own row lease and journal are its only guard, as before. OrganizationMoving when daemons share the state and
    none holds this organization now (a takeover is under way)."""
    if engine.dialect.name != "postgresql":
        return None
    with short_transaction(engine) as conn:
        rows = conn.execute(text(
            f"SELECT shard, epoch, holder IS NOT NULL AND expires_at > {NOW} + make_interval(secs => :m) "
            "FROM leases WHERE shard IN (:org, :all)"),
            {"org": organization, "all": ALL, "m": INTENT_MARGIN_SECONDS}).all()
        fenced = rows or conn.execute(text(f"SELECT 1 FROM replicas WHERE expires_at > {NOW} LIMIT 1")).first()
    live = {shard: int(epoch) for shard, epoch, is_live in rows if is_live}
    for shard in (organization, ALL):
        if shard in live:
            return OrganizationLease(shard, live[shard])
    if not fenced:
        return None
    raise OrganizationMoving(f"no replica holds the lease of organization {organization} now (another replica is "
                             "taking it over)")
