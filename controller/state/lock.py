"""One apply at a time per state: a file lock beside a SQLite file, an advisory lock on PostgreSQL.

The lock itself lives in the operating system or in PostgreSQL, so it dies with its process; the
`locks` row only says who holds it, for the message another apply shows.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, delete, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from controller.state.db import is_pooled, pid_alive, reading, sqlite_path
from controller.state.errors import LockHolder, LockHolderAlive, LockLost, StateError, StateLocked
from controller.state.records import utcnow
from controller.state.tables import LockRow

APPLY_LOCK = "apply"
APPLY_LOCK_KEY = 0x5E4D_0002
POLL_SECONDS = 0.1
# Advisory locks live per database, but pg_locks shows every database on the server: every query of it
# is scoped to ours, so one team's force-unlock never ends another team's apply.
THIS_DATABASE = "database = (SELECT oid FROM pg_database WHERE datname = current_database())"

OnWait = Callable[[LockHolder | None], None]


class LockGuard:
    """Held while an apply runs; check() before each Bird write raises LockLost once the lock is gone."""

    def check(self) -> None:
        return None


class AdvisoryGuard(LockGuard):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def check(self) -> None:
        try:
            self.conn.execute(text("SELECT 1"))
        except Exception as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise LockLost(f"lost the connection to the state database that holds the apply lock ({reason}); "
                           "stopped before the next Bird write so that no second apply runs beside this one. What "
                           "finished is recorded; run apply again") from None


def read_holder(engine: Engine, name: str = APPLY_LOCK) -> LockHolder | None:
    with reading(engine) as connection, Session(bind=connection) as session:
        row = session.get(LockRow, name)
        return None if row is None else LockHolder(row.owner, row.pid, row.host, row.since)


def write_holder(engine: Engine, owner: str, backend_pid: int | None = None, name: str = APPLY_LOCK) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(LockRow).where(LockRow.name == name))
        session.add(LockRow(name=name, owner=owner, pid=os.getpid(), host=socket.gethostname(),
                            backend_pid=backend_pid, since=utcnow()))


def clear_holder(engine: Engine, name: str = APPLY_LOCK, *, pid: int | None = None) -> bool:
    """Delete the holder row (only this pid's, when pid is given). True when a row was deleted."""
    with Session(engine) as session, session.begin():
        statement = delete(LockRow).where(LockRow.name == name)
        if pid is not None:
            statement = statement.where(LockRow.pid == pid)
        return bool(session.execute(statement).rowcount)


def is_stale(holder: LockHolder | None) -> bool:
    """Left by a dead process: same host, and that pid no longer runs."""
    return (holder is not None and holder.host == socket.gethostname() and holder.pid is not None
            and not pid_alive(holder.pid))


@contextlib.contextmanager
def apply_lock(engine: Engine, url: str, owner: str, timeout: float, on_wait: OnWait | None = None) -> Iterator[LockGuard]:
    if engine.dialect.name == "postgresql":
        if is_pooled(url):
            raise StateError("this command takes the state's apply lock, a PostgreSQL session's advisory lock, which "
                             "PgBouncer in transaction pooling mode cannot keep (each transaction may run on another "
                             "session): run it against PostgreSQL itself (drop ?pooler=pgbouncer and use the server's "
                             "address); daemons keep using PgBouncer, fenced by their leases")
        with _advisory_lock(engine, owner, timeout, on_wait) as guard:
            yield guard
    else:
        with _file_lock(engine, url, owner, timeout, on_wait) as guard:
            yield guard


def lock_file(url: str) -> Path | None:
    path = sqlite_path(url)
    return None if path is None else path.with_name(path.name + ".apply.lock")


@contextlib.contextmanager
def _file_lock(engine: Engine, url: str, owner: str, timeout: float, on_wait: OnWait | None) -> Iterator[LockGuard]:
    path = lock_file(url)
    if path is None:  # in-memory SQLite: one process, nothing to share
        yield LockGuard()
        return
    lock = FileLock(str(path), timeout=-1 if timeout < 0 else timeout)
    try:
        # An OS file lock is released when its process dies, so a dead holder never blocks us.
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if timeout == 0:
                raise
            if on_wait is not None:
                on_wait(read_holder(engine))
            lock.acquire()
    except Timeout:
        raise StateLocked(read_holder(engine)) from None
    except OSError as exc:
        raise StateError(f"cannot create the lock file {path}: {exc.strerror or exc}; this command writes the state, "
                         f"so {path.parent} must be writable") from None
    try:
        write_holder(engine, owner)
        yield LockGuard()
    finally:
        with contextlib.suppress(Exception):
            clear_holder(engine, pid=os.getpid())
        lock.release()


@contextlib.contextmanager
def _advisory_lock(engine: Engine, owner: str, timeout: float, on_wait: OnWait | None) -> Iterator[LockGuard]:
    # A dedicated connection: the session-level advisory lock lives exactly as long as it does.
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        _acquire_advisory(engine, conn, timeout, on_wait)
        backend_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        write_holder(engine, owner, backend_pid=backend_pid)
        try:
            yield AdvisoryGuard(conn)
        finally:
            with contextlib.suppress(Exception):
                clear_holder(engine, pid=os.getpid())
            lost = _release_advisory(conn)
        if lost:
            # Only when the apply itself went through: its own error (if any) says more.
            raise StateError("the connection to the state database was lost during the apply, and the apply "
                             f"lock with it ({lost}); run apply again: it checks Bird and finishes what is missing")
    finally:
        with contextlib.suppress(Exception):
            conn.close()


def _release_advisory(conn: Connection) -> str | None:
    """Unlock; None when done, else why not. A session the server ended (a restart, an administrator)
    took its advisory lock with it, so there is nothing left to unlock."""
    try:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": APPLY_LOCK_KEY})
        return None
    except DBAPIError as exc:
        return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _acquire_advisory(engine: Engine, conn: Connection, timeout: float, on_wait: OnWait | None = None) -> None:
    deadline = time.monotonic() + timeout
    took_over = False
    announced = False
    while True:
        if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": APPLY_LOCK_KEY}).scalar_one():
            return
        holder = read_holder(engine)
        if not took_over and is_stale(holder):
            # The process is gone but its PostgreSQL session lingers: end that session.
            terminate_lock_sessions(conn)
            took_over = True
            continue
        if timeout >= 0 and time.monotonic() >= deadline:
            raise StateLocked(holder)
        if not announced and on_wait is not None:
            on_wait(holder)
            announced = True
        time.sleep(POLL_SECONDS)


def terminate_lock_sessions(conn: Connection) -> int:
    """End every PostgreSQL session holding the apply advisory lock; returns how many."""
    pids = conn.execute(
        text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
             f"AND objsubid = 1 AND {THIS_DATABASE} "
             "AND ((classid::bigint << 32) | objid::bigint) = :k AND pid <> pg_backend_pid()"),
        {"k": APPLY_LOCK_KEY},
    ).scalars().all()
    for pid in pids:
        conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    # Wait until the server has really dropped them, so the next try succeeds.
    for _ in range(50):
        if not conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                            {"p": list(pids)}).scalar_one():
            break
        time.sleep(POLL_SECONDS)
    return len(pids)


def lock_is_held(engine: Engine, url: str) -> bool:
    """Whether some process holds the apply lock itself (not just a record of it) on this state."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                f"AND {THIS_DATABASE} AND ((classid::bigint << 32) | objid::bigint) = :k"),
                {"k": APPLY_LOCK_KEY}).scalar_one())
    path = lock_file(url)
    return path is not None and _held_by_another(path)


def holder_alive(holder: LockHolder) -> bool:
    """True unless the holder is known to be gone: on this host, its pid no longer runs. A holder on
    another host cannot be checked from here, so it counts as alive."""
    if holder.host == socket.gethostname() and holder.pid is not None:
        return pid_alive(holder.pid)
    return True


def force_unlock(engine: Engine, url: str, lock_id: str | None = None, *, force: bool = False) -> bool:
    """Release the apply lock: clear its record and break the lock itself (on PostgreSQL end the session
    of this database that holds the advisory lock; beside a SQLite file remove the lock file, so the
    next apply locks a new one). True when something was released.

    lock_id must name the current holding (StateError otherwise); a holder that still runs and still
    holds the lock is refused (LockHolderAlive) unless force."""
    holder = read_holder(engine)
    held = lock_is_held(engine, url)
    if lock_id is not None and holder is not None and holder.lock_id != lock_id:
        raise StateError(f"lock id {lock_id} does not name the current lock: it is held by {holder.describe()}; "
                         "nothing was released")
    if lock_id is not None and holder is None:
        if held:
            raise StateError(f"lock id {lock_id} does not name the current lock: the lock is held by a process that "
                             "left no record (it is starting or ending); nothing was released")
        return False
    if held and holder is not None and holder_alive(holder) and not force:
        raise LockHolderAlive(
            f"the lock is held by {holder.describe()}, which is still running; releasing it would let another apply "
            "run beside it. Stop that process (it releases the lock as it ends), or run force-unlock again with "
            "--force if it is hung")
    released = False
    if held:
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                released = terminate_lock_sessions(conn) > 0
        else:
            path = lock_file(url)
            if path is not None:
                path.unlink(missing_ok=True)
                released = True
    return clear_holder(engine) or released


def _held_by_another(path: Path) -> bool:
    if not path.exists():
        return False
    probe = FileLock(str(path), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False

