"""One apply at a time per state: a file lock beside a SQLite file, an advisory lock on PostgreSQL.

The lock itself lives in the operating system or in PostgreSQL, so it dies with its process; the
`locks` row only says who holds it, for the message another apply shows.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, delete, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from controller.state.db import pid_alive, sqlite_path
from controller.state.errors import LockHolder, StateError, StateLocked
from controller.state.records import utcnow
from controller.state.tables import LockRow

APPLY_LOCK = "apply"
APPLY_LOCK_KEY = 0x5E4D_0002
POLL_SECONDS = 0.1


def read_holder(engine: Engine, name: str = APPLY_LOCK) -> LockHolder | None:
    with Session(engine) as session:
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
def apply_lock(engine: Engine, url: str, owner: str, timeout: float) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, owner, timeout):
            yield
    else:
        with _file_lock(engine, url, owner, timeout):
            yield


def lock_file(url: str) -> Path | None:
    path = sqlite_path(url)
    return None if path is None else path.with_name(path.name + ".apply.lock")


@contextlib.contextmanager
def _file_lock(engine: Engine, url: str, owner: str, timeout: float) -> Iterator[None]:
    path = lock_file(url)
    if path is None:  # in-memory SQLite: one process, nothing to share
        yield
        return
    lock = FileLock(str(path), timeout=-1 if timeout < 0 else timeout)
    try:
        # An OS file lock is released when its process dies, so a dead holder never blocks us.
        lock.acquire()
    except Timeout:
        raise StateLocked(read_holder(engine)) from None
    try:
        write_holder(engine, owner)
        yield
    finally:
        with contextlib.suppress(Exception):
            clear_holder(engine, pid=os.getpid())
        lock.release()


@contextlib.contextmanager
def _advisory_lock(engine: Engine, owner: str, timeout: float) -> Iterator[None]:
    # A dedicated connection: the session-level advisory lock lives exactly as long as it does.
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        _acquire_advisory(engine, conn, timeout)
        backend_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        write_holder(engine, owner, backend_pid=backend_pid)
        try:
            yield
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


def _acquire_advisory(engine: Engine, conn: Connection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    took_over = False
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
        time.sleep(POLL_SECONDS)


def terminate_lock_sessions(conn: Connection) -> int:
    """End every PostgreSQL session holding the apply advisory lock; returns how many."""
    pids = conn.execute(
        text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
             "AND objsubid = 1 "
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


def force_unlock(engine: Engine, url: str) -> bool:
    """Clear the lock record and break the lock itself: on PostgreSQL end the session that holds
    the advisory lock; beside a SQLite file remove the lock file, so the next apply locks a new one
    (a holder that is alive but hung keeps an OS lock on the old file only)."""
    released = False
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            released = terminate_lock_sessions(conn) > 0
    else:
        path = lock_file(url)
        if path is not None and _held_by_another(path):
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

