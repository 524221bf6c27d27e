"""StateStore: the engine's bookkeeping (records, conditions, the operation journal, the apply lock)."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import itertools
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from controller.reconcile import crashpoints
from controller.state import lock
from controller.state.db import (
    check_current,
    check_sqlite_file,
    create_state_engine,
    database_problem,
    reading,
    sqlite_path,
    upgrade,
)
from controller.state.errors import Conflict, DuplicateOperation, StateError
from controller.state.lease import TASK_FENCE
from controller.state.records import Condition, Operation, Outcome, ResourceRecord, utcnow
from controller.state.sql import Executor, chunks, upsert
from controller.state.tables import ConditionRow, OperationRow, ProviderPhoneRow, ResourceRow

OPERATIONS = OperationRow.__table__  # type: ignore[attr-defined]
# The journal's statements, built once with their values bound at execution: apply runs a few per Bird
# write, and building a statement (and its cache key) cost more than SQLite running it.
_BEGIN = insert(OPERATIONS).returning(OPERATIONS.c.id)
_FINISH = (update(OPERATIONS)
           .where(OPERATIONS.c.id == bindparam("op_id"), OPERATIONS.c.status == "intent")
           .values(status=bindparam("outcome"), result=bindparam("result"), error=bindparam("error"),
                   finished_at=bindparam("finished_at")))
_OPERATION_OF = select(OPERATIONS.c.address, OPERATIONS.c.action, OPERATIONS.c.status).where(
    OPERATIONS.c.id == bindparam("op_id"))
_OPEN = select(OPERATIONS).where(OPERATIONS.c.status == "intent").order_by(OPERATIONS.c.id)
_OPEN_OF = (select(OPERATIONS).where(OPERATIONS.c.status == "intent", OPERATIONS.c.address == bindparam("address"))
            .order_by(OPERATIONS.c.id))
_KEYS_OF = select(OPERATIONS.c.key).where(OPERATIONS.c.address == bindparam("address"))
_RECORD_ROWS = select(ResourceRow.address, ResourceRow.kind, ResourceRow.bird_id, ResourceRow.spec_hash,
                      ResourceRow.spec, ResourceRow.data)
_RECORD_VERSIONS = select(ResourceRow.address, ResourceRow.updated_at, ResourceRow.spec_hash, ResourceRow.bird_id)
IN_CHUNK = 500  # addresses per IN (...) list: under SQLite's limit on bound parameters
RecordRow = tuple[str, str, "str | None", str, dict[str, Any], dict[str, Any]]


@dataclasses.dataclass
class RecordRowCache:
    """StateStore.record_rows' rows as last read, with each record's version then."""

    rows: dict[str, RecordRow] = dataclasses.field(default_factory=dict)
    versions: dict[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)


# Records that hold a number of the organization's pool: forgetting one leaves the number held.
NUMBER_KINDS = ("PhoneNumber", "NumberPool")
OUTCOMES = ("succeeded", "failed", "abandoned")
RECORD_COLUMNS = ("address", "kind", "bird_id", "natural_key", "spec_hash", "spec", "data", "created_at", "updated_at")
CONDITION_STATUSES = ("Ready", "Waiting", "Failed", "Paused")


@dataclasses.dataclass
class _Group:
    """A group commit in progress on one thread (StateStore.grouped)."""

    store: StateStore
    connection: Connection
    crash_points: list[tuple[str, contextvars.Context]] = dataclasses.field(default_factory=list)


_grouping = threading.local()


class StateStore:
    """The state database. Open with StateStore.open(url); close() when done."""

    # How many times this process changed the records, through any store (a daemon's reconcile opens its
    # own): a cache of them (the daemon's webhook directory) reads them again when this moved, rather than
    # wait out its refresh interval.
    records_changed = 0

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        # SQLite takes one writer at a time and makes the others poll (sleeping 1, 2, 5, 10 ... 100 ms
        # between tries): threads of one process that write at once (the daemon's webhook inbox, its
        # inbound routing and a reconcile) queue on this lock instead, which wakes the next one at once.
        self._writer = threading.RLock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        # A fenced daemon's lease (see controller.state.lease): every intent checks it in its transaction.
        self.fence: Any = None

    @classmethod
    def open(cls, url: str, *, read_only: bool = False) -> StateStore:
        """Connect (creating the default SQLite directory) and bring the schema to the latest migration.

        read_only: for commands that only read; a SQLite file is opened read-only (it may be on a
        read-only disk) and never migrated."""
        path = sqlite_path(url)
        if read_only and path is not None and not path.exists():
            return cls._nothing_recorded_yet(url, path)
        engine = create_state_engine(url, read_only=read_only)
        try:
            if read_only and path is not None and path.exists():
                try:
                    check_current(engine, url)
                except StateError as not_current:
                    # A new state another process is creating, or an older schema: migrate it when we can
                    # write (waiting for the other migration), else say why not.
                    engine.dispose()
                    try:
                        return cls.open(url)
                    except StateError:
                        raise not_current from None
            else:
                upgrade(engine, url)
        except StateError:
            engine.dispose()
            raise
        except DBAPIError as exc:
            engine.dispose()
            raise StateError(database_problem(url, exc)) from None
        return cls(engine, url)

    @classmethod
    def _nothing_recorded_yet(cls, url: str, path: Path) -> StateStore:
        """A read on a SQLite state that does not exist yet: an empty state in memory, so plan, status and
        the other reads answer as on a new state without leaving a file (or a directory) behind."""
        check_sqlite_file(path, create=False)
        engine = create_state_engine("sqlite://")
        upgrade(engine, "sqlite://")
        return cls(engine, url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StateStore({redact(self.url)!r})"

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any exception."""
        # The crash-safety tests may die right after any commit ("commit:<caller>:<Kind>").
        label = crashpoints.caller_name(2) if crashpoints.ARMED else ""
        with self._writer, self.session() as session, session.begin():
            yield session
        crashpoints.point("commit", label)

    @contextlib.contextmanager
    def connection_transaction(self) -> Iterator[Connection]:
        """transaction() on a Core connection, without an ORM session: for the journal's writes, which
        apply makes a few of per Bird write (an ORM session and flush cost more than the statements).
        Inside grouped() on this thread, it is part of the group's transaction."""
        label = crashpoints.caller_name(2) if crashpoints.ARMED else ""
        group: _Group | None = getattr(_grouping, "group", None)
        if group is not None and group.store is self:
            yield group.connection
            if crashpoints.ARMED:  # its crash point comes once the group has committed, named as here
                group.crash_points.append((label, contextvars.copy_context()))
            return
        with self._writer, self.engine.begin() as connection:
            yield connection
        crashpoints.point("commit", label)

    @contextlib.contextmanager
    def grouped(self) -> Iterator[None]:
        """Group commit: every connection_transaction() this thread opens in the block joins one transaction,
        committed when the block ends, or rolled back whole if it raises (the caller then runs each part
        on its own, so that one refused write fails only itself). A journal write's BEGIN and COMMIT cost
        more than its statements: apply's state writer commits the intents and records waiting together."""
        changed = StateStore.records_changed
        with self._writer, self.engine.begin() as connection:
            group = _grouping.group = _Group(self, connection)
            try:
                yield
            finally:
                _grouping.group = None
        if StateStore.records_changed != changed:
            # Moved again once committed: a cache that read the records meanwhile (the daemon's directory)
            # must not keep the version from before the commit.
            StateStore.records_changed += 1
        for label, context in group.crash_points:
            context.run(crashpoints.point, "commit", label)

    # --- resource records ----------------------------------------------------------------------
    def records(self) -> dict[str, ResourceRecord]:
        # Columns, not ORM objects: the identity map cost more than the rows.
        columns = [getattr(ResourceRow, name) for name in RECORD_COLUMNS]
        with reading(self.engine) as connection:  # Core rows: no ORM loading
            rows = connection.execute(select(*columns)).all()
        # Each row's JSON is decoded afresh: its dicts are the record's own, not copied again.
        return {row.address: ResourceRecord(**{**row._mapping, "spec": row.spec or {}, "data": row.data or {}})
                for row in rows}

    def record_rows(self, known: RecordRowCache | None = None) -> list[RecordRow]:
        """(address, kind, bird_id, spec_hash, spec, data) of every record: what a plan reads, as plain
        tuples (a plan reads all of them: at 20,000 records, building ResourceRecords cost more than the
        query).

        `known`: the rows an earlier call returned, kept by a long-running caller (the daemon). Only the
        records whose version (updated_at, spec_hash, bird_id) moved since are read whole again; the JSON
        of the others is not decoded again (most of a targeted reconcile's 0.24 s read at 20,000 records).
        Its rows are shared between plans: they are never changed in place."""
        with reading(self.engine) as connection:
            if known is None:
                return [(a, k, b, h, spec or {}, data or {})
                        for a, k, b, h, spec, data in connection.execute(_RECORD_ROWS)]
            versions = {address: tuple(version) for address, *version in connection.execute(_RECORD_VERSIONS)}
            stale = [address for address, version in versions.items() if known.versions.get(address) != version]
            fresh: dict[str, RecordRow] = {}
            for chunk in chunks(stale, IN_CHUNK):
                for a, k, b, h, spec, data in connection.execute(
                        _RECORD_ROWS.where(ResourceRow.address.in_(chunk))):  # type: ignore[attr-defined]
                    fresh[a] = (a, k, b, h, spec or {}, data or {})
        # A record changed between the two reads is taken as read then (newer, and read again next time);
        # one removed in between is left out.
        stale_set = set(stale)
        rows = {a: fresh.get(a) if a in stale_set else known.rows[a] for a in versions}
        known.rows = {a: row for a, row in rows.items() if row is not None}
        known.versions = {a: versions[a] for a in known.rows}
        return list(known.rows.values())

    def save_record(self, rec: ResourceRecord) -> None:
        with self.connection_transaction() as connection:
            save_record_in(connection, rec)
        StateStore.records_changed += 1

    def record(self, address: str) -> ResourceRecord | None:
        with self.session() as session:
            row = session.get(ResourceRow, address)
            return None if row is None else to_record(row)

    def remove(self, addresses: Iterable[str]) -> None:
        """Forget these records and their conditions, in one transaction (`senderctl state rm`)."""
        wanted = list(addresses)
        with self.transaction() as session:
            mark_forgotten(session, wanted)
            session.execute(delete(ResourceRow).where(ResourceRow.address.in_(wanted)))  # type: ignore[attr-defined]
            session.execute(delete(ConditionRow).where(ConditionRow.address.in_(wanted)))  # type: ignore[attr-defined]
        StateStore.records_changed += 1

    def rename(self, moves: Mapping[str, str]) -> None:
        """Give records new addresses, in one transaction (`senderctl state mv`): each record with its
        condition, and every other record's data that names an old address (a channel's numberAddress)."""
        with self.transaction() as session:
            for old, new in moves.items():
                if session.get(ResourceRow, new) is not None:
                    raise Conflict(f"{new} already exists in the state")
                row = session.get(ResourceRow, old)
                if row is None:
                    raise StateError(f"{old} is not in the state")
                moved = ResourceRow(**{**row.model_dump(), "address": new})
                session.delete(row)
                session.flush()  # the old row gives up its Bird id (one record per Bird object) before the new one
                session.add(moved)
                cond = session.get(ConditionRow, old)
                if cond is not None:
                    session.add(ConditionRow(**{**cond.model_dump(), "address": new}))
                    session.delete(cond)
            session.flush()
            for row in session.execute(select(ResourceRow)).scalars():
                data = _renamed(row.data or {}, moves)
                if data != (row.data or {}):
                    row.data = data
                    row.updated_at = utcnow()  # a changed record has a new version (record_rows' cache)
        StateStore.records_changed += 1

    def forget(self, address: str) -> None:
        with self.transaction() as session:
            mark_forgotten(session, [address])
            session.execute(delete(ResourceRow).where(ResourceRow.address == address))
            session.execute(delete(ConditionRow).where(ConditionRow.address == address))
        StateStore.records_changed += 1

    # --- conditions ----------------------------------------------------------------------------
    def conditions(self) -> dict[str, Condition]:
        with reading(self.engine) as connection, Session(bind=connection) as session:
            rows = session.execute(select(ConditionRow)).scalars().all()
            return {r.address: Condition(r.address, r.status, r.reason, r.since) for r in rows}  # type: ignore[arg-type]

    def condition_addresses(self) -> frozenset[str]:
        """The addresses with a condition (one column: a plan asks only which have been planned before)."""
        with reading(self.engine) as connection:
            return frozenset(connection.execute(select(ConditionRow.address)).scalars())

    def set_conditions(self, conds: Iterable[Condition]) -> None:
        wanted = {c.address: c for c in conds}  # the last one given for an address wins
        for c in wanted.values():
            if c.status not in CONDITION_STATUSES:
                raise ValueError(f"condition status {c.status!r} for {c.address}: use one of {CONDITION_STATUSES}")
        if not wanted:
            return
        with self.transaction() as session:
            current = {r.address: r for r in session.execute(
                select(ConditionRow).where(ConditionRow.address.in_(list(wanted)))).scalars()}  # type: ignore[attr-defined]
            values = []
            for c in wanted.values():
                old = current.get(c.address)
                unchanged = old is not None and (old.status, old.reason) == (c.status, c.reason)
                values.append({"address": c.address, "status": c.status, "reason": c.reason,
                               "since": old.since if unchanged else c.since})
            upsert(session, ConditionRow, values, keys=["address"])

    # --- the operation journal -----------------------------------------------------------------
    def begin(self, address: str, action: str, key: str, request: dict[str, Any]) -> int:
        """Commit an intent before the Bird write it describes; returns its id."""
        values = dict(address=address, action=action, key=key, request=request, status="intent",
                      started_at=utcnow())
        try:
            with self.connection_transaction() as connection:
                self._check_fence(connection, address)
                op_id = connection.execute(_BEGIN, values).scalar_one()
        except IntegrityError:
            raise DuplicateOperation(f"the journal already has an operation with key {key!r} ({address} {action}); "
                                     "each Bird write needs its own idempotency key") from None
        return int(op_id)

    def begin_write(self, address: str, action: str, base_key: str, request: dict[str, Any]) -> int:
        """begin() with the first free key of `base_key`'s series (`base_key`, `base_key.2`, ...: see
        keys_taken), chosen and taken in one transaction. Returns the intent's id."""
        try:
            with self.connection_transaction() as connection:
                self._check_fence(connection, address)
                used = set(connection.execute(_KEYS_OF, {"address": address}).scalars())
                key = next(k for k in itertools.chain([base_key], (f"{base_key}.{n}" for n in itertools.count(2)))
                           if k not in used)
                values = dict(address=address, action=action, key=key, request=request, status="intent",
                              started_at=utcnow())
                return int(connection.execute(_BEGIN, values).scalar_one())
        except IntegrityError:
            raise DuplicateOperation(f"the journal already has an operation with key {key!r} ({address} {action}); "
                                     "each Bird write needs its own idempotency key") from None

    def _check_fence(self, connection: Connection, address: str) -> None:
        """In an intent's transaction: LeaseLost (nothing written) unless this process still holds the lease
        of the address's shard; the lease row stays locked until the intent commits."""
        fence = self.fence if self.fence is not None else TASK_FENCE.get()
        if fence is not None:
            fence.check_in(connection, address)

    def settle(self, address: str, mine: Sequence[int], record: ResourceRecord | None = None,
               handover: Collection[str] = ()) -> None:
        """Close a change's writes in one transaction: this run's intents `mine` succeeded, the record is
        saved, and what earlier runs left open for the address is closed: "succeeded" when this run wrote
        nothing (it adopted what that write created), "abandoned" when it wrote anew. The record commits
        with the intents: never a closed intent without its record. `handover`: records this plan forgets,
        which give up the record's Bird id to it (a rename) instead of refusing the save."""
        with self.connection_transaction() as connection:
            for op_id in mine:
                self._close(connection, op_id, "succeeded", None, None)
            if record is not None:
                save_record_in(connection, record, handover)
            earlier = [r.id for r in connection.execute(_OPEN_OF, {"address": address}) if r.id not in mine]
            result = {"settledBy": "a later write" if mine else "adoption"}
            for op_id in earlier:
                self._close(connection, op_id, "abandoned" if mine else "succeeded", result, None)
        StateStore.records_changed += record is not None

    def settle_batch(self, mine: Sequence[int], records: Sequence[ResourceRecord]) -> None:
        """settle() for several records written by one Bird call (a purchase of up to 25 numbers): the call's
        intents `mine` succeeded and every record is saved, in one transaction; what earlier runs left open
        for each record's own address is closed as settle() closes it."""
        with self.connection_transaction() as connection:
            for op_id in mine:
                self._close(connection, op_id, "succeeded", None, None)
            for record in records:
                save_record_in(connection, record)
                earlier = [r.id for r in connection.execute(_OPEN_OF, {"address": record.address}) if r.id not in mine]
                for op_id in earlier:
                    self._close(connection, op_id, "abandoned", {"settledBy": "a later write"}, None)
        StateStore.records_changed += bool(records)

    @staticmethod
    def _close(connection: Connection, op_id: int, outcome: Outcome, result: dict[str, Any] | None,
               error: str | None) -> None:
        closed = connection.execute(_FINISH, {"op_id": op_id, "outcome": outcome, "result": result,
                                              "error": error, "finished_at": utcnow()})
        if closed.rowcount != 1:
            row = connection.execute(_OPERATION_OF, {"op_id": op_id}).first()
            if row is None:
                raise StateError(f"operation {op_id} is not in the journal")
            raise StateError(f"operation {op_id} ({row.address} {row.action}) already finished as {row.status}")

    def finish(self, op_id: int, outcome: Outcome, *, result: dict[str, Any] | None = None,
               error: str | None = None, record: ResourceRecord | None = None) -> None:
        """Record an intent's outcome, and optionally upsert its resource record, in one transaction."""
        if outcome not in OUTCOMES:
            raise ValueError(f"operation outcome {outcome!r}: use one of {OUTCOMES}")
        with self.connection_transaction() as connection:
            self._close(connection, op_id, outcome, result, error)
            if record is not None:
                save_record_in(connection, record)
        StateStore.records_changed += record is not None

    def open_operations(self, address: str | None = None) -> list[Operation]:
        """Intents not finished yet, oldest first (of one address when given: settling a change reads
        only its own, so an apply of N changes stays linear in N)."""
        with reading(self.engine) as connection:  # Core rows: read once per change applied
            rows = connection.execute(_OPEN) if address is None else connection.execute(_OPEN_OF, {"address": address})
            return [to_operation(r) for r in rows]

    def keys_taken(self, base: str, address: str) -> set[str]:
        """The journal's keys for one write of `address`: `base` and its retries `base.2`, `base.3`, ...
        (all of them, however long the history, so a retried write always gets a fresh key).

        Read through the address index and filtered here: a prefix LIKE on the key cannot use an index
        in SQLite (case-insensitive), so every write scanned the whole journal."""
        with reading(self.engine) as connection:
            keys = connection.execute(_KEYS_OF, {"address": address}).scalars().all()
        return {k for k in keys if k == base or k.startswith(f"{base}.")}

    def operations(self, address: str | None = None, limit: int = 100) -> list[Operation]:
        """The journal, newest first."""
        query = select(OperationRow).order_by(OperationRow.id.desc()).limit(limit)  # type: ignore[union-attr]
        if address is not None:
            query = query.where(OperationRow.address == address)
        with self.session() as session:
            return [to_operation(r) for r in session.execute(query).scalars().all()]

    # --- the apply lock ------------------------------------------------------------------------
    @contextlib.contextmanager
    def apply_lock(self, owner: str, timeout: float = 0.0, on_wait: lock.OnWait | None = None) -> Iterator[None]:
        """One apply at a time. timeout: seconds to wait (0: fail at once, negative: wait forever);
        on_wait(holder) is called once when the lock is busy and we wait. Raises StateLocked naming the
        holder and its lock id."""
        with lock.apply_lock(self.engine, self.url, owner, timeout, on_wait) as guard:
            self._lock_guard = guard
            try:
                yield
            finally:
                self._lock_guard = None

    def check_lock(self) -> None:
        """Before a Bird write: raise LockLost if the apply lock this store holds is gone."""
        guard = getattr(self, "_lock_guard", None)
        if guard is not None:
            guard.check()

    def lock_holder(self) -> lock.LockHolder | None:
        return lock.read_holder(self.engine)

    def force_unlock(self, lock_id: str | None = None, *, force: bool = False) -> bool:
        """Release the apply lock (see lock.force_unlock); True when there was one."""
        return lock.force_unlock(self.engine, self.url, lock_id, force=force)


def _renamed(value: Any, moves: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _renamed(v, moves) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, moves) for v in value]
    return moves.get(value, value) if isinstance(value, str) else value


_HOLDER = select(ResourceRow.address).where(ResourceRow.bird_id == bindparam("bird_id"),
                                            ResourceRow.address != bindparam("address"))


def save_record_in(session: Executor, rec: ResourceRecord, handover: Collection[str] = ()) -> None:
    """Upsert the record. Its Bird id is held by no other record (one record per Bird object): one that
    `handover` names gives it up (the record is removed, as the plan forgets it); any other refuses the save."""
    if rec.bird_id:
        holder = session.execute(_HOLDER, {"bird_id": rec.bird_id, "address": rec.address}).scalar()
        if holder is not None and holder in handover:
            session.execute(delete(ResourceRow).where(ResourceRow.address == holder))
            session.execute(delete(ConditionRow).where(ConditionRow.address == holder))
        elif holder is not None:
            raise Conflict(f"{holder} already holds Bird object {rec.bird_id}, so {rec.address} cannot hold it too: "
                           "one spec per Bird object. Remove one of the two from the specs (or `senderctl state rm` "
                           "the record that should let go of it) and plan again")
    now = utcnow()
    values = {"address": rec.address, "kind": rec.kind, "bird_id": rec.bird_id, "natural_key": rec.natural_key,
              "spec_hash": rec.spec_hash, "spec": rec.spec or {}, "data": rec.data or {},
              "created_at": rec.created_at or now, "updated_at": now}
    upsert(session, ResourceRow, [values], keys=["address"], keep=["created_at"])


def to_record(row: ResourceRow) -> ResourceRecord:
    return ResourceRecord(address=row.address, kind=row.kind, bird_id=row.bird_id, natural_key=row.natural_key,
                          spec_hash=row.spec_hash, spec=dict(row.spec or {}), data=dict(row.data or {}),
                          created_at=row.created_at, updated_at=row.updated_at)


def to_operation(row: Any) -> Operation:
    """An Operation from an ORM row or a Core row of the operations table (the same attribute names)."""
    assert row.id is not None
    return Operation(id=row.id, address=row.address, action=row.action, key=row.key, request=dict(row.request or {}),
                     status=row.status, result=row.result, error=row.error,  # type: ignore[arg-type]
                     started_at=row.started_at, finished_at=row.finished_at)


def redact(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


def mark_forgotten(session: Session, addresses: Sequence[str]) -> None:
    """The numbers these records held stay in the organization's pool (still owned and billed on Bird):
    note which record forgot each and when, so that the next spec selecting it adopts it and says so."""
    rows = session.execute(select(ResourceRow.address, ResourceRow.data).where(
        ResourceRow.address.in_(list(addresses)), ResourceRow.kind.in_(NUMBER_KINDS))).all()  # type: ignore[attr-defined]
    now = utcnow()
    for address, data in rows:
        number = (data or {}).get("number")
        if number:
            session.execute(update(ProviderPhoneRow)
                            .where(ProviderPhoneRow.number == number,  # type: ignore[arg-type]
                                   ProviderPhoneRow.released_at.is_(None))  # type: ignore[union-attr]
                            .values(forgotten_by=address, forgotten_at=now))
