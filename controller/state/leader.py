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
import json
import os
import socket
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from controller.state import lock
from controller.state.db import check_sqlite_file, sqlite_path
from controller.state.errors import LockHolder, StateError
from controller.state.records import utcnow

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


class AdvisoryLeadership(Leadership):
    """PostgreSQL: pg_try_advisory_lock on a connection of our own, kept open while we lead."""

    kind = "postgresql"

    def __init__(self, url: str, owner: str) -> None:
        self.engine: Engine | None = None
        self.owner = owner
        rendered = make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        self._lock_engine = create_engine(rendered, poolclass=NullPool, connect_args=PG_CONNECT_ARGS)
        self._conn: Connection | None = None

    def attach(self, engine: Engine) -> None:
        self.engine = engine

    def try_acquire(self) -> bool:
        assert self.engine is not None, "attach() the state's engine first"
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
                f"AND {lock.THIS_DATABASE} AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = :k"),
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
        if self.engine is not None:
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
        return None if self.engine is None else lock.read_holder(self.engine, LEADER_LOCK)


def open_leadership(url: str, owner: str | None = None) -> Leadership:
    """The leadership for the state at `url`, before the state is opened; attach(store.engine) after.
    SQLite: raises DaemonAlreadyRunning at once when another daemon has this state."""
    owner = owner or identity()
    try:
        backend = make_url(url).get_backend_name()
    except Exception:
        raise StateError(f"--state {url!r} is not a database URL; use e.g. sqlite:///.senderctl/state.db or "
                         "postgresql+psycopg://postgres@127.0.0.1:5432/senderctl") from None
    if backend == "postgresql":
        return AdvisoryLeadership(url, owner)
    return SingleDaemon(url, owner)
