"""One active daemon per state.

PostgreSQL: leadership is a session-level advisory lock on a dedicated connection. PostgreSQL drops
the lock the moment that session ends — the leader exits, is killed, or its connection is cut — so
a standby's next try succeeds; TCP keepalives bound how long a silently dead peer holds it.

SQLite: there are no replicas. The daemon holds an OS file lock beside the database file for its
whole life (released by the kernel if the process dies), and a second daemon refuses to start.

In both cases a `locks` row named "daemon" says who leads, for messages and /readyz.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

from filelock import FileLock, Timeout
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from controller.state import lock
from controller.state.db import sqlite_path
from controller.state.errors import LockHolder, StateError

LEADER_LOCK = "daemon"
LEADER_LOCK_KEY = 0x5E4D_0003  # beside the apply (…0002) and migration (…0001) keys
# libpq: fail a connect fast, notice a dead peer within ~10 s, never let a check hang.
PG_CONNECT_ARGS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                   "keepalives_count": 3, "options": "-c statement_timeout=5000"}


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

    def try_acquire(self) -> bool:
        raise NotImplementedError

    def still_leader(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def leader(self) -> LockHolder | None:
        raise NotImplementedError


class SingleDaemon(Leadership):
    """SQLite: this process leads from the start, or open_leadership raised DaemonAlreadyRunning."""

    kind = "sqlite"

    def __init__(self, engine: Engine, url: str, owner: str) -> None:
        self.engine = engine
        self.owner = owner
        path = sqlite_path(url)
        self._lock = None if path is None else FileLock(str(path.with_name(path.name + ".daemon.lock")))
        if self._lock is not None:
            try:
                self._lock.acquire(timeout=0)
            except Timeout:
                raise DaemonAlreadyRunning(lock.read_holder(engine, LEADER_LOCK), str(path)) from None
        lock.write_holder(engine, owner, name=LEADER_LOCK)

    def try_acquire(self) -> bool:
        return True

    def still_leader(self) -> bool:
        return True

    def release(self) -> None:
        with contextlib.suppress(Exception):
            lock.clear_holder(self.engine, LEADER_LOCK, pid=os.getpid())
        if self._lock is not None and self._lock.is_locked:
            self._lock.release()

    def leader(self) -> LockHolder | None:
        return lock.read_holder(self.engine, LEADER_LOCK)


class AdvisoryLeadership(Leadership):
    """PostgreSQL: pg_try_advisory_lock on a connection of our own, kept open while we lead."""

    kind = "postgresql"

    def __init__(self, engine: Engine, url: str, owner: str) -> None:
        self.engine = engine
        self.owner = owner
        rendered = make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        self._lock_engine = create_engine(rendered, poolclass=NullPool, connect_args=PG_CONNECT_ARGS)
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self.still_leader()
        conn = self._lock_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK_KEY}).scalar_one():
                conn.close()
                return False
            backend_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            lock.write_holder(self.engine, self.owner, backend_pid=backend_pid, name=LEADER_LOCK)
        except Exception:
            with contextlib.suppress(Exception):
                conn.close()
            raise
        self._conn = conn
        return True

    def still_leader(self) -> bool:
        """True while our session (and so the lock) is alive; on any failure we no longer lead."""
        if self._conn is None:
            return False
        try:
            held = self._conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = :k"),
                {"k": LEADER_LOCK_KEY}).scalar_one()
        except Exception:
            held = 0
        if not held:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        with contextlib.suppress(Exception):
            lock.clear_holder(self.engine, LEADER_LOCK, pid=os.getpid())
        with contextlib.suppress(Exception):
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK_KEY})
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        self.release()
        self._lock_engine.dispose()

    def leader(self) -> LockHolder | None:
        return lock.read_holder(self.engine, LEADER_LOCK)


def open_leadership(store: Any, owner: str | None = None) -> Leadership:
    """The leadership for this state. SQLite: raises DaemonAlreadyRunning when another daemon has it."""
    owner = owner or identity()
    if store.engine.dialect.name == "postgresql":
        return AdvisoryLeadership(store.engine, store.url, owner)
    return SingleDaemon(store.engine, store.url, owner)
